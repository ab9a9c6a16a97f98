//! Applying a schema's defaults to an object, as the API server does when
//! it stores it: every absent field with a default gets it, at every depth
//! the object reaches (and, through `default: {}`, below absent objects).
//! The CLI uses it to render an instance offline exactly as the cluster
//! would see it.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

/// Deeper than any real schema; stops hostile recursion.
const MAX_DEPTH: usize = 64;

/// Fills in `value`'s absent fields from `schema`'s defaults.
pub fn apply_defaults(schema: &JSONSchemaProps, value: &mut Value) {
    apply(schema, value, 0);
}

fn apply(schema: &JSONSchemaProps, value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(properties) = &schema.properties {
                for (name, property) in properties {
                    if !map.contains_key(name)
                        && let Some(default) = &property.default
                    {
                        map.insert(name.clone(), default.0.clone());
                    }
                    if let Some(child) = map.get_mut(name) {
                        apply(property, child, depth + 1);
                    }
                }
            }
            if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
                for child in map.values_mut() {
                    apply(values, child, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
                for child in items {
                    apply(item, child, depth + 1);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::apply_defaults;
    use crate::{openapi::to_json_schema, parse_spec};

    fn defaulted(spec: serde_json::Value, mut value: serde_json::Value) -> serde_json::Value {
        let schema = to_json_schema(&parse_spec(Some(&spec), None).unwrap());
        apply_defaults(&schema, &mut value);
        value
    }

    #[test]
    fn absent_fields_get_their_defaults_at_every_depth() {
        let spec = json!({
            "name": "string",
            "image": "string | default=nginx",
            "ingress": { "enabled": "boolean | default=false", "host": "string" },
            "ports": "[]integer",
            "env": "map[string]string"
        });
        assert_eq!(
            defaulted(spec.clone(), json!({ "name": "a" })),
            json!({ "name": "a", "image": "nginx", "ingress": { "enabled": false } }),
            "default: {{}} on ingress lets its defaults reach in"
        );
        assert_eq!(
            defaulted(
                spec,
                json!({ "image": "custom", "ingress": { "enabled": true } })
            ),
            json!({ "image": "custom", "ingress": { "enabled": true } }),
            "given values are kept"
        );
    }

    #[test]
    fn list_items_and_map_values_are_defaulted() {
        let spec = json!({
            "servers": "[]Server",
            "byName": "map[string]Server"
        });
        let types = json!({ "Server": { "host": "string", "port": "integer | default=80" } });
        let schema = to_json_schema(&parse_spec(Some(&spec), Some(&types)).unwrap());
        let mut value = json!({ "servers": [{ "host": "a" }, { "host": "b", "port": 81 }], "byName": { "x": {} } });
        super::apply_defaults(&schema, &mut value);
        assert_eq!(
            value,
            json!({ "servers": [{ "host": "a", "port": 80 }, { "host": "b", "port": 81 }], "byName": { "x": { "port": 80 } } })
        );
    }
}
