//! Converting the [`ir`](crate::ir) to OpenAPI v3 `JSONSchemaProps`, the
//! last step before the schema goes into a CRD.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSON, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool, ValidationRule,
};

use crate::ir::{Field, FieldType};

/// The OpenAPI schema of `field`. Types are fully inlined (no `$ref`), and
/// `required` lists are sorted so the output is the same on every run.
pub fn to_json_schema(field: &Field) -> JSONSchemaProps {
    let mut schema = constraints(field);
    let type_name = match &field.ty {
        FieldType::String => "string",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
        FieldType::Number => "number",
        FieldType::Object => {
            schema.x_kubernetes_preserve_unknown_fields = Some(true);
            "object"
        }
        FieldType::Array(item) => {
            schema.items = Some(JSONSchemaPropsOrArray::Schema(Box::new(to_json_schema(
                item,
            ))));
            "array"
        }
        FieldType::Map(value) => {
            schema.additional_properties = Some(JSONSchemaPropsOrBool::Schema(Box::new(
                to_json_schema(value),
            )));
            "object"
        }
        FieldType::Struct(children) => {
            let properties: BTreeMap<String, JSONSchemaProps> = children
                .iter()
                .map(|(name, child)| (name.clone(), to_json_schema(child)))
                .collect();
            let mut required: Vec<String> = children
                .iter()
                .filter(|(_, child)| child.required)
                .map(|(name, _)| name.clone())
                .collect();
            required.sort();
            schema.properties = Some(properties);
            schema.required = (!required.is_empty()).then_some(required);
            "object"
        }
    };
    schema.type_ = Some(type_name.to_owned());
    schema
}

/// Everything the markers of `field` say, whatever its type: description,
/// default, enum, bounds, list type and validation rules.
fn constraints(field: &Field) -> JSONSchemaProps {
    JSONSchemaProps {
        description: field.description.clone(),
        default: field.default.clone().map(JSON),
        enum_: field
            .enum_values
            .as_ref()
            .map(|values| values.iter().cloned().map(JSON).collect()),
        minimum: field.minimum,
        maximum: field.maximum,
        pattern: field.pattern.clone(),
        min_length: field.min_length,
        max_length: field.max_length,
        min_items: field.min_items,
        max_items: field.max_items,
        x_kubernetes_list_type: field.list_type.map(|t| t.as_str().to_owned()),
        x_kubernetes_list_map_keys: (!field.list_map_keys.is_empty())
            .then(|| field.list_map_keys.clone()),
        x_kubernetes_validations: (!field.validations.is_empty()).then(|| {
            field
                .validations
                .iter()
                .map(|v| ValidationRule {
                    rule: v.rule.clone(),
                    message: Some(v.message.clone()),
                    ..ValidationRule::default()
                })
                .collect()
        }),
        ..JSONSchemaProps::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_spec;
    use serde_json::{Value, json};

    /// The schema as JSON, the form the API server and authors see.
    fn spec_json(spec: Value, types: Option<Value>) -> Value {
        let field = parse_spec(Some(&spec), types.as_ref())
            .unwrap_or_else(|e| panic!("{spec} should parse: {e}"));
        serde_json::to_value(to_json_schema(&field)).expect("schema serialises")
    }

    #[test]
    fn every_type() {
        let schema = spec_json(
            json!({
                "s": "string",
                "i": "integer",
                "b": "boolean",
                "f": "float",
                "n": "number",
                "o": "object",
                "l": "[]string",
                "m": "map[string]integer",
                "nested": { "x": "string" },
            }),
            None,
        );
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "b": { "type": "boolean" },
                    "f": { "type": "number" },
                    "i": { "type": "integer" },
                    "l": { "type": "array", "items": { "type": "string" } },
                    "m": { "type": "object", "additionalProperties": { "type": "integer" } },
                    "n": { "type": "number" },
                    "nested": { "type": "object", "properties": { "x": { "type": "string" } } },
                    "o": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                    "s": { "type": "string" },
                }
            })
        );
    }

    #[test]
    fn every_marker_reaches_the_schema() {
        let schema = spec_json(
            json!({
                "name": r#"string | required=true description="The name" pattern="^[a-z]+$" minLength=1 maxLength=10 enum="abc,def" default=abc immutable=true"#,
                "size": "integer | minimum=1 maximum=5 default=2 validation=\"self % 2 == 0\"",
                "tags": "[]string | minItems=1 maxItems=3 uniqueItems=true default=[\"a\"]",
                "ports": "[]Port | listType=map listMapKey=name",
            }),
            Some(json!({ "Port": { "name": "string | required=true", "number": "integer" } })),
        );
        assert_eq!(
            schema["properties"]["name"],
            json!({
                "type": "string",
                "description": "The name",
                "pattern": "^[a-z]+$",
                "minLength": 1,
                "maxLength": 10,
                "enum": ["abc", "def"],
                "default": "abc",
                "x-kubernetes-validations": [{ "rule": "self == oldSelf", "message": "field is immutable" }],
            })
        );
        assert_eq!(
            schema["properties"]["size"],
            json!({
                "type": "integer", "minimum": 1.0, "maximum": 5.0, "default": 2,
                "x-kubernetes-validations": [{ "rule": "self % 2 == 0", "message": "validation failed" }],
            })
        );
        assert_eq!(
            schema["properties"]["tags"],
            json!({
                "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 3,
                "x-kubernetes-list-type": "set", "default": ["a"],
            })
        );
        assert_eq!(
            schema["properties"]["ports"],
            json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": { "name": { "type": "string" }, "number": { "type": "integer" } },
                },
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            })
        );
        assert_eq!(schema["required"], json!(["name"]));
    }

    #[test]
    fn required_lists_are_sorted() {
        let schema = spec_json(
            json!({
                "zeta": "string | required=true",
                "alpha": "string | required=true",
                "mid": "string | required=true",
            }),
            None,
        );
        assert_eq!(schema["required"], json!(["alpha", "mid", "zeta"]));
    }

    #[test]
    fn defaults_cascade_through_objects_without_required_children() {
        let schema = spec_json(
            json!({
                "outer": {
                    "inner": { "port": "integer | default=80" },
                    "name": "string",
                },
                "strict": {
                    "port": "integer | default=80",
                    "host": "string | required=true",
                },
            }),
            None,
        );
        assert_eq!(schema["default"], json!({}), "spec itself defaults to {{}}");
        assert_eq!(schema["properties"]["outer"]["default"], json!({}));
        assert_eq!(
            schema["properties"]["outer"]["properties"]["inner"]["default"],
            json!({})
        );
        assert_eq!(
            schema["properties"]["strict"].get("default"),
            None,
            "a required child means {{}} would be invalid"
        );
    }

    #[test]
    fn struct_types_cascade_too() {
        let schema = spec_json(
            json!({ "retry": "Retry" }),
            Some(json!({ "Retry": { "attempts": "integer | default=3" } })),
        );
        assert_eq!(schema["properties"]["retry"]["default"], json!({}));
    }
}
