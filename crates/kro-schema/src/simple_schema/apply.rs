//! Applying markers to a field: each marker checks that it fits the field's
//! type and that its value parses as what it needs, then the field as a
//! whole is checked (bounds in order, list keys, a valid default).

use serde_json::Value;

use super::markers::{Marker, MarkerKey};
use crate::error::{MarkerProblem, SchemaError};
use crate::ir::{Field, FieldType, IMMUTABLE_RULE, ListType, ValidationRule};

/// The message of the rule added by `immutable=true`.
pub const IMMUTABLE_MESSAGE: &str = "field is immutable";
/// The message of rules added by `validation=`, as upstream.
pub const VALIDATION_MESSAGE: &str = "validation failed";

/// Applies `markers` in order to `field`, then checks the result.
pub fn apply_markers(field: &mut Field, markers: &[Marker], path: &str) -> Result<(), SchemaError> {
    for marker in markers {
        apply_marker(field, marker)
            .map_err(|problem| SchemaError::marker(path, marker.key, problem))?;
    }
    check_field(field, path)
}

fn apply_marker(field: &mut Field, marker: &Marker) -> Result<(), MarkerProblem> {
    let value = marker.value.as_str();
    match marker.key {
        MarkerKey::Required => field.required = parse_bool(value)?,
        MarkerKey::Default => field.default = Some(parse_default(&field.ty, value)?),
        MarkerKey::Description => field.description = Some(value.to_owned()),
        // Accepted on any type and written to the CRD as given, as upstream
        // does: the API server accepts bounds on a non-numeric field and
        // applies them to numbers only, so they never restrict it.
        MarkerKey::Minimum => field.minimum = Some(parse_f64(value)?),
        MarkerKey::Maximum => field.maximum = Some(parse_f64(value)?),
        MarkerKey::Enum => field.enum_values = Some(parse_enum(&field.ty, value)?),
        MarkerKey::Pattern => {
            applies_to(field, "string", |ty| matches!(ty, FieldType::String))?;
            field.pattern = Some(parse_pattern(value)?);
        }
        MarkerKey::MinLength => {
            applies_to(field, "string", |ty| matches!(ty, FieldType::String))?;
            field.min_length = Some(parse_count(value)?);
        }
        MarkerKey::MaxLength => {
            applies_to(field, "string", |ty| matches!(ty, FieldType::String))?;
            field.max_length = Some(parse_count(value)?);
        }
        MarkerKey::MinItems => {
            applies_to(field, "array", is_array)?;
            field.min_items = Some(parse_count(value)?);
        }
        MarkerKey::MaxItems => {
            applies_to(field, "array", is_array)?;
            field.max_items = Some(parse_count(value)?);
        }
        MarkerKey::UniqueItems => {
            applies_to(field, "array", is_array)?;
            // As upstream, uniqueness is expressed as a set list type, which
            // the API server can check cheaply, not as `uniqueItems` (which
            // structural schemas forbid).
            if parse_bool(value)? {
                set_list_type(field, ListType::Set)?;
            }
        }
        MarkerKey::ListType => {
            applies_to(field, "array", is_array)?;
            let list_type = ListType::parse(value)
                .ok_or_else(|| invalid("one of atomic, set or map", value))?;
            set_list_type(field, list_type)?;
        }
        MarkerKey::ListMapKey => {
            applies_to(field, "array", is_array)?;
            add_list_map_key(field, value)?;
        }
        MarkerKey::Immutable => {
            if parse_bool(value)? {
                make_immutable(field);
            }
        }
        MarkerKey::Validation => {
            if value.trim().is_empty() {
                return Err(invalid("a CEL expression", value));
            }
            field.validations.push(ValidationRule {
                rule: value.to_owned(),
                message: VALIDATION_MESSAGE.to_owned(),
            });
        }
    }
    Ok(())
}

/// A `pattern=` value: a regular expression the API server can use.
fn parse_pattern(value: &str) -> Result<String, MarkerProblem> {
    if value.is_empty() {
        return Err(invalid("a non-empty regular expression", value));
    }
    if let Err(e) = regex::Regex::new(value) {
        return Err(invalid(
            &format!("a valid regular expression ({})", last_line(&e.to_string())),
            value,
        ));
    }
    Ok(value.to_owned())
}

/// One more `listMapKey=`: a field name, each given once.
fn add_list_map_key(field: &mut Field, value: &str) -> Result<(), MarkerProblem> {
    if value.is_empty() {
        return Err(invalid("the name of a field of the list items", value));
    }
    if field.list_map_keys.iter().any(|key| key == value) {
        return Err(MarkerProblem::Conflict(format!(
            "listMapKey `{value}` is given twice"
        )));
    }
    field.list_map_keys.push(value.to_owned());
    Ok(())
}

/// Adds the immutability rule, once however often it is asked for.
fn make_immutable(field: &mut Field) {
    if !field.validations.iter().any(|r| r.rule == IMMUTABLE_RULE) {
        field.validations.push(ValidationRule {
            rule: IMMUTABLE_RULE.to_owned(),
            message: IMMUTABLE_MESSAGE.to_owned(),
        });
    }
}

/// Rules that compare with the previous value (`immutable=true`, or any
/// rule using `oldSelf`) are only allowed where the API server can match an
/// old value to a new one. Inside the items of a list that is not
/// `listType=map` it cannot, and it refuses the whole CRD; we say so here,
/// naming the list. Walks the list and map wrappers of `field` (structs
/// were checked when they were built).
pub(super) fn check_transition_rules(field: &Field, path: &str) -> Result<(), SchemaError> {
    let mut current = field;
    loop {
        match &current.ty {
            FieldType::Array(item) => {
                if current.list_type != Some(ListType::Map)
                    && let Some(rule) = find_transition_rule(item)
                {
                    let key = if rule == IMMUTABLE_RULE {
                        MarkerKey::Immutable
                    } else {
                        MarkerKey::Validation
                    };
                    return Err(SchemaError::marker(
                        path,
                        key,
                        MarkerProblem::Conflict(format!(
                            "the rule `{rule}` inside the items of this list needs the list to have \
                             listType=map (with listMapKey): the API server cannot match items of \
                             other lists between updates"
                        )),
                    ));
                }
                current = item;
            }
            FieldType::Map(value) => current = value,
            _ => return Ok(()),
        }
    }
}

/// The first rule using `oldSelf` anywhere in `field`'s tree.
fn find_transition_rule(field: &Field) -> Option<&str> {
    let mut pending = vec![field];
    while let Some(field) = pending.pop() {
        if let Some(rule) = field
            .validations
            .iter()
            .find(|r| r.rule.contains("oldSelf"))
        {
            return Some(&rule.rule);
        }
        match &field.ty {
            FieldType::Array(item) | FieldType::Map(item) => pending.push(item),
            FieldType::Struct(children) => pending.extend(children.values()),
            _ => {}
        }
    }
    None
}

/// Checks that need every marker applied first.
fn check_field(field: &Field, path: &str) -> Result<(), SchemaError> {
    let conflict = |(key, message): (MarkerKey, String)| {
        SchemaError::marker(path, key, MarkerProblem::Conflict(message))
    };
    check_list_type(field, path)?;
    if !field.list_map_keys.is_empty() && field.list_type != Some(ListType::Map) {
        let now = field.list_type.map_or("unset", ListType::as_str);
        return Err(conflict((
            MarkerKey::ListMapKey,
            format!("listMapKey needs listType=map, but listType is {now}"),
        )));
    }
    if let Some(default) = &field.default
        && let Err(reason) = field.check_value(default)
    {
        return Err(SchemaError::marker(
            path,
            MarkerKey::Default,
            MarkerProblem::InvalidDefault {
                value: default.to_string(),
                reason,
            },
        ));
    }
    Ok(())
}

/// A set needs scalar items; a map list, items with usable keys.
fn check_list_type(field: &Field, path: &str) -> Result<(), SchemaError> {
    let FieldType::Array(item) = &field.ty else {
        return Ok(());
    };
    match field.list_type {
        Some(ListType::Set) if !item.ty.is_scalar() => Err(SchemaError::marker(
            path,
            MarkerKey::ListType,
            MarkerProblem::Conflict(format!(
                "a set list needs string, integer, float or boolean items, not {}",
                item.ty.describe()
            )),
        )),
        Some(ListType::Map) => check_list_map(item, &field.list_map_keys, path),
        _ => Ok(()),
    }
}

/// A map list needs struct items whose key fields exist and always have a
/// value (required, or defaulted), which the API server insists on.
fn check_list_map(item: &Field, keys: &[String], path: &str) -> Result<(), SchemaError> {
    let conflict = |message: String| {
        SchemaError::marker(path, MarkerKey::ListType, MarkerProblem::Conflict(message))
    };
    let FieldType::Struct(fields) = &item.ty else {
        return Err(conflict(format!(
            "a map list needs struct items, not {}",
            item.ty.describe()
        )));
    };
    if keys.is_empty() {
        return Err(conflict(
            "listType=map needs at least one listMapKey".to_owned(),
        ));
    }
    for key in keys {
        let problem = match fields.get(key) {
            None => format!("listMapKey `{key}` is not a field of the list items"),
            Some(f) if !f.ty.is_scalar() => {
                format!(
                    "listMapKey `{key}` must be a scalar field, not {}",
                    f.ty.describe()
                )
            }
            Some(f) if !f.required && f.default.is_none() => {
                format!("listMapKey `{key}` must be required or have a default")
            }
            Some(_) => continue,
        };
        return Err(SchemaError::marker(
            path,
            MarkerKey::ListMapKey,
            MarkerProblem::Conflict(problem),
        ));
    }
    Ok(())
}

fn set_list_type(field: &mut Field, list_type: ListType) -> Result<(), MarkerProblem> {
    match field.list_type {
        Some(existing) if existing != list_type => Err(MarkerProblem::Conflict(format!(
            "listType is already {} (uniqueItems=true means set), cannot make it {}",
            existing.as_str(),
            list_type.as_str()
        ))),
        _ => {
            field.list_type = Some(list_type);
            Ok(())
        }
    }
}

fn is_array(ty: &FieldType) -> bool {
    matches!(ty, FieldType::Array(_))
}

fn applies_to(
    field: &Field,
    expected: &'static str,
    fits: impl Fn(&FieldType) -> bool,
) -> Result<(), MarkerProblem> {
    if fits(&field.ty) {
        Ok(())
    } else {
        Err(MarkerProblem::NotApplicable {
            expected,
            actual: field.ty.describe().to_owned(),
        })
    }
}

fn invalid(expected: &str, value: &str) -> MarkerProblem {
    MarkerProblem::InvalidValue {
        expected: expected.to_owned(),
        value: value.to_owned(),
    }
}

/// The regex crate's errors span several lines, the last naming the
/// problem (`error: unclosed character class`).
fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// The spellings Go's `strconv.ParseBool` accepts, which upstream RGDs may
/// use; we always emit canonical `true`/`false`.
pub(crate) fn parse_bool(value: &str) -> Result<bool, MarkerProblem> {
    match value {
        "true" | "True" | "TRUE" | "t" | "T" | "1" => Ok(true),
        "false" | "False" | "FALSE" | "f" | "F" | "0" => Ok(false),
        _ => Err(invalid("a boolean (true or false)", value)),
    }
}

fn parse_i64(value: &str) -> Result<i64, MarkerProblem> {
    value
        .parse::<i64>()
        .map_err(|_| invalid("a 64-bit integer", value))
}

fn parse_count(value: &str) -> Result<i64, MarkerProblem> {
    match value.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(invalid("a non-negative integer", value)),
    }
}

fn parse_f64(value: &str) -> Result<f64, MarkerProblem> {
    match value.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(invalid("a finite number", value)),
    }
}

/// Parses a default as a value of the field's type, so that what reaches
/// the CRD is always valid JSON of the right type (upstream pastes the text
/// in as is, so `default=True` or a string holding `"` broke the CRD).
fn parse_default(ty: &FieldType, value: &str) -> Result<Value, MarkerProblem> {
    Ok(match ty {
        FieldType::String => Value::String(value.to_owned()),
        FieldType::Integer => Value::from(parse_i64(value)?),
        FieldType::Boolean => Value::Bool(parse_bool(value)?),
        FieldType::Number => {
            let n = parse_f64(value)?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| invalid("a finite number", value))?
        }
        FieldType::Object | FieldType::Array(_) | FieldType::Map(_) | FieldType::Struct(_) => {
            let expected = match ty {
                FieldType::Array(_) => "a JSON list, like [\"a\", \"b\"]",
                _ => "a JSON object, like {\"key\": \"value\"}",
            };
            serde_json::from_str(value).map_err(|_| invalid(expected, value))?
        }
    })
}

fn parse_enum(ty: &FieldType, value: &str) -> Result<Vec<Value>, MarkerProblem> {
    if !matches!(ty, FieldType::String | FieldType::Integer) {
        return Err(MarkerProblem::NotApplicable {
            expected: "string and integer",
            actual: ty.describe().to_owned(),
        });
    }
    let mut values: Vec<Value> = Vec::new();
    for item in value.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(invalid(
                "a comma-separated list of values with no empty entries",
                value,
            ));
        }
        let parsed = match ty {
            FieldType::Integer => Value::from(
                item.parse::<i64>()
                    .map_err(|_| invalid("comma-separated 64-bit integers", item))?,
            ),
            _ => Value::String(item.to_owned()),
        };
        // Duplicates would make no difference to validation; drop them so
        // the schema stays tidy.
        if !values.contains(&parsed) {
            values.push(parsed);
        }
    }
    Ok(values)
}
