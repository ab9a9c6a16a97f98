//! The ordered intermediate representation of a schema.
//!
//! `JSONSchemaProps.properties` is a `BTreeMap`, which forgets the order the
//! author declared fields in. Error messages, documentation and the CEL type
//! environment all read better in declaration order, so parsing produces
//! this representation and [`crate::openapi`] converts it at the very end.

use indexmap::IndexMap;
use serde_json::Value;

/// One field of a schema, with everything its markers said about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Field {
    /// The field's type.
    pub ty: FieldType,
    /// Whether the parent object must contain this field.
    pub required: bool,
    /// `description`.
    pub description: Option<String>,
    /// `default`, always a value of the field's type.
    pub default: Option<Value>,
    /// `enum`: the allowed values, if restricted.
    pub enum_values: Option<Vec<Value>>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `pattern`: a regular expression strings must match.
    pub pattern: Option<String>,
    /// `minLength`, in characters.
    pub min_length: Option<i64>,
    /// `maxLength`, in characters.
    pub max_length: Option<i64>,
    /// `minItems`.
    pub min_items: Option<i64>,
    /// `maxItems`.
    pub max_items: Option<i64>,
    /// `listType` (also set by `uniqueItems=true`).
    pub list_type: Option<ListType>,
    /// `listMapKey`s, in the order written.
    pub list_map_keys: Vec<String>,
    /// `x-kubernetes-validations` from `immutable` and `validation`.
    pub validations: Vec<ValidationRule>,
}

impl Field {
    /// A field of the given type with no markers.
    pub fn new(ty: FieldType) -> Field {
        Field {
            ty,
            ..Field::default()
        }
    }
}

/// The type of a [`Field`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum FieldType {
    /// `string`
    String,
    /// `integer` (64-bit)
    Integer,
    /// `boolean`
    Boolean,
    /// `float` / `number`
    Number,
    /// `object`: any object, unknown fields preserved. Also the type of a
    /// field before parsing decides it.
    #[default]
    Object,
    /// `[]T`
    Array(Box<Field>),
    /// `map[string]V`
    Map(Box<Field>),
    /// A nested map of fields, or a struct custom type: fields in
    /// declaration order.
    Struct(IndexMap<String, Field>),
}

impl FieldType {
    /// The name authors know the type by, for messages: `string`, `[]Port`
    /// shows as `array`.
    pub fn describe(&self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Number => "float",
            FieldType::Object => "object",
            FieldType::Array(_) => "array",
            FieldType::Map(_) => "map",
            FieldType::Struct(_) => "struct",
        }
    }

    /// Whether values of this type are scalars (allowed in `listType=set`).
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            FieldType::String | FieldType::Integer | FieldType::Boolean | FieldType::Number
        )
    }
}

/// The number of nodes (fields, list items, map values) in a field's tree,
/// and its depth, both counted only up to a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeSize {
    /// Nodes, the field itself included.
    pub nodes: usize,
    /// Levels, 1 for a scalar.
    pub depth: usize,
}

impl Field {
    /// Measures the tree, giving up (`None`) once it has more than
    /// `max_nodes` nodes, so the cost is bounded whatever the input.
    /// Iterative, so deep trees cannot overflow the stack.
    pub fn tree_size(&self, max_nodes: usize) -> Option<TreeSize> {
        let mut size = TreeSize { nodes: 0, depth: 0 };
        let mut pending: Vec<(&Field, usize)> = vec![(self, 1)];
        while let Some((field, depth)) = pending.pop() {
            size.nodes += 1;
            if size.nodes > max_nodes {
                return None;
            }
            size.depth = size.depth.max(depth);
            match &field.ty {
                FieldType::Array(item) | FieldType::Map(item) => pending.push((item, depth + 1)),
                FieldType::Struct(children) => {
                    pending.extend(children.values().map(|child| (child, depth + 1)));
                }
                _ => {}
            }
        }
        Some(size)
    }
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// The list is replaced as a whole on apply.
    Atomic,
    /// Items are unique scalars, merged as a set.
    Set,
    /// Items are objects identified by their `listMapKey`s.
    Map,
}

impl ListType {
    /// The value written in the schema.
    pub fn as_str(self) -> &'static str {
        match self {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        }
    }

    /// Parses `atomic`, `set` or `map`.
    pub fn parse(text: &str) -> Option<ListType> {
        match text {
            "atomic" => Some(ListType::Atomic),
            "set" => Some(ListType::Set),
            "map" => Some(ListType::Map),
            _ => None,
        }
    }
}

/// One `x-kubernetes-validations` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRule {
    /// The CEL expression.
    pub rule: String,
    /// The message the API server returns when it is false.
    pub message: String,
}

/// The rule `immutable=true` adds.
pub const IMMUTABLE_RULE: &str = "self == oldSelf";

impl Field {
    /// Checks that `value` is valid for this field: its type, enum, bounds,
    /// pattern, lengths, list sizes and set uniqueness, required children,
    /// and no unknown fields in structs. CEL rules are left to the API
    /// server.
    ///
    /// Used to refuse defaults the API server would refuse later, with a
    /// message that names the field.
    pub fn check_value(&self, value: &Value) -> Result<(), String> {
        self.check_at(value, "")
    }

    fn check_at(&self, value: &Value, at: &str) -> Result<(), String> {
        match (&self.ty, value) {
            (FieldType::String, Value::String(text)) => {
                self.check_text(text).map_err(|what| located(at, what))?;
            }
            (FieldType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (FieldType::Number, Value::Number(_)) | (FieldType::Boolean, Value::Bool(_)) => {}
            (FieldType::Object, Value::Object(_)) => {}
            (FieldType::Array(item), Value::Array(items)) => {
                self.check_list(items).map_err(|what| located(at, what))?;
                for (i, element) in items.iter().enumerate() {
                    item.check_at(element, &format!("{at}[{i}]"))?;
                }
            }
            (FieldType::Map(item), Value::Object(entries)) => {
                for (key, element) in entries {
                    item.check_at(element, &join(at, key))?;
                }
            }
            (FieldType::Struct(fields), Value::Object(entries)) => {
                check_struct(fields, entries, at)?;
            }
            (ty, other) => {
                return Err(located(
                    at,
                    format!(
                        "expected {}, found {}",
                        ty.describe(),
                        crate::error::json_kind(other)
                    ),
                ));
            }
        }
        self.check_enum_and_bounds(value)
            .map_err(|what| located(at, what))
    }

    /// A string's length and pattern.
    fn check_text(&self, text: &str) -> Result<(), String> {
        let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
        if let Some(min) = self.min_length.filter(|min| length < *min) {
            return Err(format!("shorter than minLength {min}"));
        }
        if let Some(max) = self.max_length.filter(|max| length > *max) {
            return Err(format!("longer than maxLength {max}"));
        }
        if let Some(pattern) = &self.pattern {
            match regex::Regex::new(pattern) {
                Ok(re) if !re.is_match(text) => {
                    return Err(format!("does not match pattern `{pattern}`"));
                }
                Ok(_) => {}
                Err(_) => return Err(format!("pattern `{pattern}` is invalid")),
            }
        }
        Ok(())
    }

    /// A list's size, and the uniqueness of a set's items (not the items
    /// themselves).
    fn check_list(&self, items: &[Value]) -> Result<(), String> {
        let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if let Some(min) = self.min_items.filter(|min| count < *min) {
            return Err(format!("fewer than minItems {min} items"));
        }
        if let Some(max) = self.max_items.filter(|max| count > *max) {
            return Err(format!("more than maxItems {max} items"));
        }
        if self.list_type == Some(ListType::Set) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].contains(a) {
                    return Err(format!("duplicate item {a} in a set"));
                }
            }
        }
        Ok(())
    }

    /// The enum and the numeric bounds, whatever the type.
    fn check_enum_and_bounds(&self, value: &Value) -> Result<(), String> {
        if let Some(allowed) = &self.enum_values
            && !allowed.contains(value)
        {
            return Err(format!("{value} is not one of the enum values"));
        }
        if let Some(number) = value.as_f64() {
            if let Some(min) = self.minimum.filter(|min| number < *min) {
                return Err(format!("{value} is below minimum {min}"));
            }
            if let Some(max) = self.maximum.filter(|max| number > *max) {
                return Err(format!("{value} is above maximum {max}"));
            }
        }
        Ok(())
    }
}

/// The fields of a struct value: each present one checked, required ones
/// present, and no others.
fn check_struct(
    fields: &IndexMap<String, Field>,
    entries: &serde_json::Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    for (name, field) in fields {
        match entries.get(name) {
            Some(element) => field.check_at(element, &join(at, name))?,
            None if field.required => {
                return Err(located(at, format!("missing required field `{name}`")));
            }
            None => {}
        }
    }
    if let Some(unknown) = entries.keys().find(|key| !fields.contains_key(*key)) {
        return Err(located(at, format!("unknown field `{unknown}`")));
    }
    Ok(())
}

/// `what` went wrong at `at` (the root when empty).
fn located(at: &str, what: String) -> String {
    if at.is_empty() {
        what
    } else {
        format!("{at}: {what}")
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn string_field() -> Field {
        Field {
            min_length: Some(2),
            max_length: Some(4),
            pattern: Some("^[a-z]+$".to_owned()),
            ..Field::new(FieldType::String)
        }
    }

    #[test]
    fn strings_are_checked_against_lengths_and_pattern() {
        let field = string_field();
        assert_eq!(field.check_value(&json!("abc")), Ok(()));
        assert_eq!(
            field.check_value(&json!("a")),
            Err("shorter than minLength 2".to_owned())
        );
        assert_eq!(
            field.check_value(&json!("abcde")),
            Err("longer than maxLength 4".to_owned())
        );
        assert_eq!(
            field.check_value(&json!("AB")),
            Err("does not match pattern `^[a-z]+$`".to_owned())
        );
        assert_eq!(
            field.check_value(&json!(1)),
            Err("expected string, found a number".to_owned())
        );
    }

    #[test]
    fn numbers_are_checked_against_bounds_and_enum() {
        let field = Field {
            minimum: Some(1.0),
            maximum: Some(10.0),
            enum_values: Some(vec![json!(1), json!(5)]),
            ..Field::new(FieldType::Integer)
        };
        assert_eq!(field.check_value(&json!(5)), Ok(()));
        assert_eq!(
            field.check_value(&json!(4)),
            Err("4 is not one of the enum values".to_owned())
        );
        assert_eq!(
            field.check_value(&json!(1.5)),
            Err("expected integer, found a number".to_owned())
        );
        let bounded = Field {
            minimum: Some(1.0),
            maximum: Some(10.0),
            ..Field::new(FieldType::Number)
        };
        assert_eq!(
            bounded.check_value(&json!(0.5)),
            Err("0.5 is below minimum 1".to_owned())
        );
        assert_eq!(
            bounded.check_value(&json!(11)),
            Err("11 is above maximum 10".to_owned())
        );
    }

    #[test]
    fn structs_need_required_fields_and_refuse_unknown_ones() {
        let mut fields = IndexMap::new();
        fields.insert(
            "name".to_owned(),
            Field {
                required: true,
                ..Field::new(FieldType::String)
            },
        );
        fields.insert(
            "ports".to_owned(),
            Field {
                list_type: Some(ListType::Set),
                max_items: Some(2),
                ..Field::new(FieldType::Array(Box::new(Field::new(FieldType::Integer))))
            },
        );
        let field = Field::new(FieldType::Struct(fields));
        assert_eq!(
            field.check_value(&json!({"name": "a", "ports": [1]})),
            Ok(())
        );
        assert_eq!(
            field.check_value(&json!({})),
            Err("missing required field `name`".to_owned())
        );
        assert_eq!(
            field.check_value(&json!({"name": "a", "other": 1})),
            Err("unknown field `other`".to_owned())
        );
        assert_eq!(
            field.check_value(&json!({"name": "a", "ports": [1, 1]})),
            Err("ports: duplicate item 1 in a set".to_owned())
        );
        assert_eq!(
            field.check_value(&json!({"name": "a", "ports": [1, 2, 3]})),
            Err("ports: more than maxItems 2 items".to_owned())
        );
        assert_eq!(
            field.check_value(&json!({"name": "a", "ports": ["x"]})),
            Err("ports[0]: expected integer, found a string".to_owned())
        );
    }

    #[test]
    fn maps_and_objects() {
        let map = Field::new(FieldType::Map(Box::new(Field::new(FieldType::Boolean))));
        assert_eq!(map.check_value(&json!({"a": true})), Ok(()));
        assert_eq!(
            map.check_value(&json!({"a": 1})),
            Err("a: expected boolean, found a number".to_owned())
        );
        let object = Field::new(FieldType::Object);
        assert_eq!(object.check_value(&json!({"any": [1]})), Ok(()));
        assert_eq!(
            object.check_value(&json!([])),
            Err("expected object, found a list".to_owned())
        );
    }
}
