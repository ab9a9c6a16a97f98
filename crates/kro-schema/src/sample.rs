//! A sample object for a schema: what `kro generate instance` prints, so an
//! author can start from an instance the CRD accepts.
//!
//! Every required field and every field with a default is filled in (the
//! default, shown so the author sees it); optional fields without one are
//! left out. Values respect the schema where it can be done without search:
//! the first enum value, bounds, lengths, item counts, and, for a pattern,
//! the first of a few common candidates that matches (otherwise a
//! placeholder the author must change).

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::{Map, Value, json};

/// Schemas nested deeper than this get an empty object.
const MAX_DEPTH: usize = 32;

/// Candidates tried, in order, for a string with a pattern.
const PATTERN_CANDIDATES: &[&str] = &[
    "example",
    "example-1",
    "a",
    "abc",
    "1",
    "v1.0.0",
    "example.com",
    "https://example.com",
    "x",
];

/// A sample value for `schema`.
pub fn sample_value(schema: &JSONSchemaProps) -> Value {
    sample(schema, 0)
}

fn sample(schema: &JSONSchemaProps, depth: usize) -> Value {
    // An object's `default: {}` only lets defaulting reach its fields:
    // show those fields instead.
    let defaults_children =
        schema.properties.is_some() && schema.default.as_ref().is_some_and(|d| d.0 == json!({}));
    if let Some(default) = schema.default.as_ref().filter(|_| !defaults_children) {
        return default.0.clone();
    }
    if let Some(first) = schema.enum_.as_ref().and_then(|values| values.first()) {
        return first.0.clone();
    }
    if depth > MAX_DEPTH {
        return json!({});
    }
    match schema.type_.as_deref() {
        Some("string") => Value::String(sample_string(schema)),
        Some("integer") => json!(sample_number(schema).round() as i64),
        Some("number") => json!(sample_number(schema)),
        Some("boolean") => json!(false),
        Some("array") => {
            let count = schema.min_items.unwrap_or(0).max(0);
            let item = match &schema.items {
                Some(JSONSchemaPropsOrArray::Schema(item)) => sample(item, depth + 1),
                _ => json!({}),
            };
            Value::Array((0..count.min(16)).map(|_| item.clone()).collect())
        }
        Some("object") | None => sample_object(schema, depth),
        Some(_) => Value::Null,
    }
}

fn sample_object(schema: &JSONSchemaProps, depth: usize) -> Value {
    let empty = BTreeMap::new();
    let properties = schema.properties.as_ref().unwrap_or(&empty);
    let required = schema.required.as_deref().unwrap_or_default();
    let mut object = Map::new();
    for (name, property) in properties {
        let wanted = required.contains(name)
            || property.default.is_some()
            || has_required_descendants(property);
        if wanted {
            object.insert(name.clone(), sample(property, depth + 1));
        }
    }
    if object.is_empty()
        && let Some(JSONSchemaPropsOrBool::Schema(_)) = &schema.additional_properties
    {
        return json!({});
    }
    Value::Object(object)
}

/// Whether an optional object still needs writing because something under
/// it is required or defaulted (shown so the author sees the defaults).
fn has_required_descendants(schema: &JSONSchemaProps) -> bool {
    schema.required.as_ref().is_some_and(|r| !r.is_empty())
        || schema.properties.as_ref().is_some_and(|properties| {
            properties
                .values()
                .any(|p| p.default.is_some() || has_required_descendants(p))
        })
}

fn sample_number(schema: &JSONSchemaProps) -> f64 {
    match (schema.minimum, schema.maximum) {
        (Some(minimum), _) => minimum,
        (None, Some(maximum)) if maximum < 0.0 => maximum,
        _ => 0.0,
    }
}

fn sample_string(schema: &JSONSchemaProps) -> String {
    let min = usize::try_from(schema.min_length.unwrap_or(0)).unwrap_or(0);
    let max = schema
        .max_length
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(usize::MAX);
    let fits = |s: &str| (min..=max).contains(&s.chars().count());
    if let Some(pattern) = &schema.pattern {
        let regex = Regex::new(pattern).ok();
        let matching = PATTERN_CANDIDATES.iter().find(|candidate| {
            fits(candidate) && regex.as_ref().is_some_and(|r| r.is_match(candidate))
        });
        if let Some(candidate) = matching {
            return (*candidate).to_owned();
        }
    }
    match schema.format.as_deref() {
        Some("date-time") => return "2026-01-01T00:00:00Z".to_owned(),
        Some("date") => return "2026-01-01".to_owned(),
        _ => {}
    }
    let mut value = "example".to_owned();
    while value.chars().count() < min {
        value.push('x');
    }
    value.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::sample_value;
    use crate::{openapi::to_json_schema, parse_spec};

    fn sample(spec: serde_json::Value) -> serde_json::Value {
        let field = parse_spec(Some(&spec), None).unwrap();
        sample_value(&to_json_schema(&field))
    }

    #[test]
    fn required_and_defaulted_fields_are_filled() {
        let value = sample(json!({
            "name": "string | required=true",
            "image": "string | default=nginx",
            "replicas": "integer | default=3",
            "optional": "string",
            "ingress": { "enabled": "boolean | default=false" }
        }));
        assert_eq!(
            value,
            json!({ "image": "nginx", "ingress": { "enabled": false }, "name": "example", "replicas": 3 })
        );
    }

    #[test]
    fn values_respect_enums_bounds_lengths_and_patterns() {
        let value = sample(json!({
            "size": r#"string | required=true enum="small,large""#,
            "port": "integer | required=true minimum=1024 maximum=65535",
            "code": "string | required=true minLength=10",
            "host": r#"string | required=true pattern="^[a-z]+\\.com$""#,
            "tags": "[]string | required=true minItems=2",
            "weird": r#"string | required=true pattern="^Z{3}$""#
        }));
        assert_eq!(value["size"], "small");
        assert_eq!(value["port"], 1024);
        assert_eq!(value["code"].as_str().unwrap().len(), 10);
        assert_eq!(value["tags"], json!(["example", "example"]));
        assert_eq!(
            value["weird"], "example",
            "no candidate matches: a placeholder to change"
        );
        assert_eq!(value["host"], "example.com");
    }
}
