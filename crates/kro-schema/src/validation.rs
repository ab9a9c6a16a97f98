//! Checking an object against a CRD's structural schema, as the API server
//! checks an object it is asked to create: types (with `nullable` and
//! `x-kubernetes-int-or-string`), unknown fields (refused, as `kubectl`'s
//! default strict field validation refuses them; kept under
//! `x-kubernetes-preserve-unknown-fields`), `required`, `enum`, bounds
//! (`minimum`, `maximum`, their exclusive forms, `multipleOf`), lengths,
//! item and property counts, `pattern`, the uniqueness of `set` and `map`
//! lists, and the `x-kubernetes-validations` rules, which the caller
//! evaluates (this crate has no CEL).
//!
//! Apply the schema's defaults first ([`crate::defaulting`]): the API
//! server validates the defaulted object.

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool, ValidationRule,
};
use serde_json::{Map, Value};

/// The message of a required field that is missing.
pub const REQUIRED: &str = "Required value";

/// The message of a field the schema does not have.
pub const UNKNOWN_FIELD: &str = "unknown field";

/// Deeper than any real schema; stops hostile recursion.
const MAX_DEPTH: usize = 64;

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A field's path, as the API server writes it: `spec.ports[1].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

impl Path {
    fn with(&self, step: Step) -> Path {
        let mut steps = self.0.clone();
        steps.push(step);
        Path(steps)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => write!(f, "{key}")?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// One field the object gets wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field.
    pub path: Path,
    /// What is wrong, in the API server's words.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Evaluates one `x-kubernetes-validations` rule with `self` bound to the
/// value; `Ok(None)` when it holds, `Ok(Some(message))` when it does not,
/// `Err` when it cannot be evaluated.
pub type RuleCheck<'a> = dyn FnMut(&ValidationRule, &Value) -> Result<Option<String>, String> + 'a;

/// Every error of `object` (an instance) against its CRD's root schema:
/// `spec` and the top-level fields. `metadata` is the API server's to
/// check, and `status` is not taken on create, so neither is checked.
pub fn validate_object(
    root: &JSONSchemaProps,
    object: &Value,
    rules: &mut RuleCheck<'_>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(fields) = object.as_object() else {
        errors.push(FieldError {
            path: Path::default(),
            message: format!("Invalid value: {}: must be an object", kind(object)),
        });
        return errors;
    };
    let mut validator = Validator {
        errors: &mut errors,
        rules,
    };
    for name in root.required.iter().flatten() {
        if name != "status" && !fields.contains_key(name) {
            validator.error(
                &Path::default().with(Step::Key(name.clone())),
                REQUIRED.into(),
            );
        }
    }
    for (name, value) in fields {
        let path = Path::default().with(Step::Key(name.clone()));
        match name.as_str() {
            "apiVersion" | "kind" | "metadata" | "status" => {}
            _ => match root.properties.as_ref().and_then(|p| p.get(name)) {
                Some(schema) => validator.value(schema, value, &path, 0),
                None if root.x_kubernetes_preserve_unknown_fields == Some(true) => {}
                None => validator.error(&path, UNKNOWN_FIELD.into()),
            },
        }
    }
    errors
}

/// Every error of `value` against `schema`, paths relative to `value`.
pub fn validate(
    schema: &JSONSchemaProps,
    value: &Value,
    rules: &mut RuleCheck<'_>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    Validator {
        errors: &mut errors,
        rules,
    }
    .value(schema, value, &Path::default(), 0);
    errors
}

struct Validator<'e, 'r, 'c> {
    errors: &'e mut Vec<FieldError>,
    rules: &'r mut RuleCheck<'c>,
}

impl Validator<'_, '_, '_> {
    fn error(&mut self, path: &Path, message: String) {
        self.errors.push(FieldError {
            path: path.clone(),
            message,
        });
    }

    fn invalid(&mut self, path: &Path, value: &Value, why: String) {
        self.error(path, format!("Invalid value: {}: {why}", shown(value)));
    }

    fn value(&mut self, schema: &JSONSchemaProps, value: &Value, path: &Path, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if value.is_null() {
            if schema.nullable != Some(true) {
                let expected = schema.type_.as_deref().unwrap_or("a value");
                self.invalid(path, value, format!("must be of type {expected}"));
            }
            return;
        }
        if !self.type_matches(schema, value, path) {
            return;
        }
        self.enumerated(schema, value, path);
        match value {
            Value::Number(_) => self.number(schema, value, path),
            Value::String(text) => self.string(schema, value, text, path),
            Value::Array(items) => self.array(schema, items, path, depth),
            Value::Object(fields) => self.object(schema, fields, path, depth),
            Value::Bool(_) | Value::Null => {}
        }
        for rule in schema.x_kubernetes_validations.iter().flatten() {
            self.rule(rule, value, path);
        }
    }

    /// Whether `value` is of the schema's type; an error when not.
    fn type_matches(&mut self, schema: &JSONSchemaProps, value: &Value, path: &Path) -> bool {
        if schema.x_kubernetes_int_or_string == Some(true) {
            let ok = value.is_string() || value.as_i64().is_some() || value.as_u64().is_some();
            if !ok {
                self.invalid(path, value, "must be an integer or a string".into());
            }
            return ok;
        }
        let Some(expected) = schema.type_.as_deref() else {
            return true;
        };
        let ok = match expected {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "number" => value.is_number(),
            "integer" => {
                value.is_i64()
                    || value.is_u64()
                    || value
                        .as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
            }
            _ => true,
        };
        if !ok {
            self.invalid(path, value, format!("must be of type {expected}"));
        }
        ok
    }

    fn enumerated(&mut self, schema: &JSONSchemaProps, value: &Value, path: &Path) {
        let Some(allowed) = &schema.enum_ else { return };
        if allowed.iter().any(|a| &a.0 == value) {
            return;
        }
        let listed: Vec<String> = allowed.iter().map(|a| shown(&a.0)).collect();
        self.error(
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                shown(value),
                listed.join(", ")
            ),
        );
    }

    fn number(&mut self, schema: &JSONSchemaProps, value: &Value, path: &Path) {
        let Some(n) = value.as_f64() else { return };
        if let Some(min) = schema.minimum {
            if schema.exclusive_minimum == Some(true) && n <= min {
                self.invalid(
                    path,
                    value,
                    format!("should be greater than {}", number(min)),
                );
            } else if n < min {
                self.invalid(
                    path,
                    value,
                    format!("should be greater than or equal to {}", number(min)),
                );
            }
        }
        if let Some(max) = schema.maximum {
            if schema.exclusive_maximum == Some(true) && n >= max {
                self.invalid(path, value, format!("should be less than {}", number(max)));
            } else if n > max {
                self.invalid(
                    path,
                    value,
                    format!("should be less than or equal to {}", number(max)),
                );
            }
        }
        if let Some(factor) = schema.multiple_of
            && factor > 0.0
            && (n / factor).fract().abs() > f64::EPSILON
        {
            self.invalid(
                path,
                value,
                format!("should be a multiple of {}", number(factor)),
            );
        }
    }

    fn string(&mut self, schema: &JSONSchemaProps, value: &Value, text: &str, path: &Path) {
        let length = text.chars().count() as i64;
        if let Some(min) = schema.min_length
            && length < min
        {
            self.invalid(path, value, format!("should be at least {min} chars long"));
        }
        if let Some(max) = schema.max_length
            && length > max
        {
            self.error(path, format!("Too long: may not be more than {max} bytes"));
        }
        if let Some(pattern) = &schema.pattern {
            match regex::Regex::new(pattern) {
                Ok(regex) if !regex.is_match(text) => {
                    self.invalid(path, value, format!("should match '{pattern}'"));
                }
                Ok(_) => {}
                Err(e) => self.error(
                    path,
                    format!("the schema's pattern '{pattern}' does not compile: {e}"),
                ),
            }
        }
    }

    fn array(&mut self, schema: &JSONSchemaProps, items: &[Value], path: &Path, depth: usize) {
        let count = items.len() as i64;
        if let Some(min) = schema.min_items
            && count < min
        {
            self.invalid(
                path,
                &Value::from(count),
                format!("should have at least {min} items"),
            );
        }
        if let Some(max) = schema.max_items
            && count > max
        {
            self.error(
                path,
                format!("Too many: {count}: must have at most {max} items"),
            );
        }
        match schema.x_kubernetes_list_type.as_deref() {
            Some("set") => {
                for (index, item) in items.iter().enumerate() {
                    if items[..index].contains(item) {
                        self.error(
                            &path.with(Step::Index(index)),
                            format!("Duplicate value: {}", shown(item)),
                        );
                    }
                }
            }
            Some("map") => {
                let keys = schema
                    .x_kubernetes_list_map_keys
                    .as_deref()
                    .unwrap_or_default();
                let key_of = |item: &Value| -> Vec<Value> {
                    keys.iter()
                        .map(|k| item.get(k).cloned().unwrap_or(Value::Null))
                        .collect()
                };
                for (index, item) in items.iter().enumerate() {
                    let key = key_of(item);
                    if items[..index].iter().any(|earlier| key_of(earlier) == key) {
                        self.error(
                            &path.with(Step::Index(index)),
                            format!("Duplicate value: {}", shown(&Value::Array(key))),
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some(JSONSchemaPropsOrArray::Schema(item_schema)) = &schema.items {
            for (index, item) in items.iter().enumerate() {
                self.value(item_schema, item, &path.with(Step::Index(index)), depth + 1);
            }
        }
    }

    fn object(
        &mut self,
        schema: &JSONSchemaProps,
        fields: &Map<String, Value>,
        path: &Path,
        depth: usize,
    ) {
        let count = fields.len() as i64;
        if let Some(min) = schema.min_properties
            && count < min
        {
            self.error(
                path,
                format!("Invalid value: {count}: should have at least {min} properties"),
            );
        }
        if let Some(max) = schema.max_properties
            && count > max
        {
            self.error(
                path,
                format!("Too many: {count}: must have at most {max} properties"),
            );
        }
        for name in schema.required.iter().flatten() {
            if !fields.contains_key(name) {
                self.error(&path.with(Step::Key(name.clone())), REQUIRED.into());
            }
        }
        let properties = schema.properties.as_ref();
        for (name, value) in fields {
            let child = path.with(Step::Key(name.clone()));
            if let Some(property) = properties.and_then(|p| p.get(name)) {
                self.value(property, value, &child, depth + 1);
                continue;
            }
            match &schema.additional_properties {
                Some(JSONSchemaPropsOrBool::Schema(values)) => {
                    self.value(values, value, &child, depth + 1)
                }
                Some(JSONSchemaPropsOrBool::Bool(true)) => {}
                _ if schema.x_kubernetes_preserve_unknown_fields == Some(true) => {}
                // A schema without properties takes anything (an embedded
                // resource, a free-form object).
                _ if properties.is_none() && schema.type_.as_deref() != Some("object") => {}
                _ => self.error(&child, UNKNOWN_FIELD.into()),
            }
        }
    }

    fn rule(&mut self, rule: &ValidationRule, value: &Value, path: &Path) {
        let at = match rule.field_path.as_deref() {
            Some(field_path) => field_path
                .trim_start_matches('.')
                .split('.')
                .filter(|k| !k.is_empty())
                .fold(path.clone(), |p, k| p.with(Step::Key(k.to_owned()))),
            None => path.clone(),
        };
        match (self.rules)(rule, value) {
            Ok(None) => {}
            Ok(Some(message)) => self.invalid(&at, value, message),
            Err(why) => self.error(
                &at,
                format!(
                    "Invalid value: the rule `{}` could not be evaluated: {why}",
                    rule.rule
                ),
            ),
        }
    }
}

/// A value as the API server's messages show it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `10`, not `10.0`.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::openapi::to_json_schema;
    use crate::parse_spec;

    fn spec_schema(spec: Value) -> JSONSchemaProps {
        to_json_schema(&parse_spec(Some(&spec), None).expect("a valid SimpleSchema"))
    }

    fn errors(schema: &JSONSchemaProps, value: Value) -> Vec<String> {
        let mut no_rules = |_: &ValidationRule, _: &Value| Ok(None);
        validate(schema, &value, &mut no_rules)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn bounds_enums_lengths_patterns_and_required_fields() {
        let schema = spec_schema(json!({
            "replicas": "integer | minimum=1 maximum=10",
            "size": "string | enum=\"small,large\"",
            "name": "string | required=true minLength=2 maxLength=5 pattern=\"^[a-z]+$\"",
        }));
        assert_eq!(
            errors(
                &schema,
                json!({"name": "abc", "replicas": 3, "size": "small"})
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&schema, json!({"replicas": 99, "size": "huge", "extra": 1})),
            [
                "name: Required value",
                "replicas: Invalid value: 99: should be less than or equal to 10",
                "size: Unsupported value: \"huge\": supported values: \"small\", \"large\"",
                "extra: unknown field",
            ]
        );
        assert_eq!(
            errors(&schema, json!({"name": "ABCDEFG"})),
            [
                "name: Too long: may not be more than 5 bytes",
                "name: Invalid value: \"ABCDEFG\": should match '^[a-z]+$'",
            ]
        );
        assert_eq!(
            errors(&schema, json!({"name": "ab", "replicas": "three"})),
            ["replicas: Invalid value: \"three\": must be of type integer"]
        );
    }

    #[test]
    fn lists_and_maps_are_checked_item_by_item() {
        let schema = spec_schema(json!({
            "ports": "[]integer | maxItems=2",
            "labels": "map[string]string",
        }));
        assert_eq!(
            errors(&schema, json!({"ports": [1, "x", 3], "labels": {"a": 1}})),
            [
                "ports: Too many: 3: must have at most 2 items",
                "ports[1]: Invalid value: \"x\": must be of type integer",
                "labels.a: Invalid value: 1: must be of type string",
            ]
        );
    }

    #[test]
    fn rules_are_handed_the_value_they_sit_on() {
        let mut schema = spec_schema(json!({"min": "integer", "max": "integer"}));
        schema.x_kubernetes_validations = Some(vec![ValidationRule {
            rule: "self.min <= self.max".into(),
            message: Some("min must not exceed max".into()),
            ..ValidationRule::default()
        }]);
        let mut seen = Vec::new();
        let mut check = |rule: &ValidationRule, value: &Value| {
            seen.push(value.clone());
            Ok((value["min"].as_i64() > value["max"].as_i64())
                .then(|| rule.message.clone().unwrap_or_default()))
        };
        let found: Vec<String> = validate(&schema, &json!({"min": 5, "max": 1}), &mut check)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [": Invalid value: \"object\": min must not exceed max"]
        );
        assert_eq!(seen, [json!({"min": 5, "max": 1})]);
    }
}
