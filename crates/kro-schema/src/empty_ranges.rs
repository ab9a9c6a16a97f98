//! Bounds that no value can satisfy: `minimum` above `maximum`, or a
//! `minLength`, `minItems` or `minProperties` above its maximum.
//!
//! Upstream kro and the API server accept such a schema (the CRD is
//! created; every instance that sets the field is then refused), so an RGD
//! that has one is not refused here either. It is almost always a typo,
//! though, so the CLI and the operator report each one as a warning.

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

/// One field whose lower bound is above its upper bound.
#[derive(Debug, Clone, PartialEq)]
pub struct EmptyRange {
    /// The field, as `spec.replicas` or `spec.ports[]`.
    pub path: String,
    /// The lower bound's keyword (`minimum`, `minLength`, ...).
    pub lower: &'static str,
    /// The lower bound.
    pub min: f64,
    /// The upper bound's keyword (`maximum`, `maxLength`, ...).
    pub upper: &'static str,
    /// The upper bound.
    pub max: f64,
}

impl fmt::Display for EmptyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} is greater than {} {}, so no value is valid for this field",
            self.path, self.lower, self.min, self.upper, self.max
        )
    }
}

/// Every empty range in the `spec` of an instance CRD (its first version,
/// the one RGDs generate).
pub fn in_instance_spec(crd: &CustomResourceDefinition) -> Vec<EmptyRange> {
    crd.spec
        .versions
        .first()
        .and_then(|version| version.schema.as_ref())
        .and_then(|validation| validation.open_api_v3_schema.as_ref())
        .and_then(|root| root.properties.as_ref())
        .and_then(|properties| properties.get("spec"))
        .map_or_else(Vec::new, |spec| empty_ranges(spec, "spec"))
}

/// Every empty range in `schema` and the schemas below it, in the order of
/// the fields (properties sorted by name), `root` naming `schema` itself.
pub fn empty_ranges(schema: &JSONSchemaProps, root: &str) -> Vec<EmptyRange> {
    let mut found = Vec::new();
    let mut pending = vec![(root.to_string(), schema)];
    while let Some((path, schema)) = pending.pop() {
        for (lower, min, upper, max) in ranges_of(schema) {
            if min > max {
                found.push(EmptyRange {
                    path: path.clone(),
                    lower,
                    min,
                    upper,
                    max,
                });
            }
        }
        // Pushed in reverse so that they pop in order.
        let mut children = Vec::new();
        if let Some(properties) = &schema.properties {
            children.extend(
                properties
                    .iter()
                    .map(|(name, child)| (format!("{path}.{name}"), child)),
            );
        }
        if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
            children.push((format!("{path}[]"), item.as_ref()));
        }
        if let Some(JSONSchemaPropsOrBool::Schema(value)) = &schema.additional_properties {
            children.push((format!("{path}[*]"), value.as_ref()));
        }
        pending.extend(children.into_iter().rev());
    }
    found
}

type Bounds = (&'static str, f64, &'static str, f64);

/// The (lower, upper) bound pairs a schema sets both ends of.
fn ranges_of(schema: &JSONSchemaProps) -> Vec<Bounds> {
    let count = |n: Option<i64>| n.map(|n| n as f64);
    [
        ("minimum", schema.minimum, "maximum", schema.maximum),
        (
            "minLength",
            count(schema.min_length),
            "maxLength",
            count(schema.max_length),
        ),
        (
            "minItems",
            count(schema.min_items),
            "maxItems",
            count(schema.max_items),
        ),
        (
            "minProperties",
            count(schema.min_properties),
            "maxProperties",
            count(schema.max_properties),
        ),
    ]
    .into_iter()
    .filter_map(|(lower, min, upper, max)| Some((lower, min?, upper, max?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{openapi::to_json_schema, parse_spec};

    fn ranges(spec: serde_json::Value) -> Vec<String> {
        let field = parse_spec(Some(&spec), None).expect("the schema parses");
        empty_ranges(&to_json_schema(&field), "spec")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_kind_of_empty_range_is_found_with_its_path() {
        assert_eq!(
            ranges(json!({
                "replicas": "integer | minimum=5 maximum=1",
                "name": "string | minLength=5 maxLength=2",
                "ports": "[]integer | minItems=3 maxItems=1",
                "nested": {"deep": "[]string"},
            })),
            [
                "spec.name: minLength 5 is greater than maxLength 2, so no value is valid for this field",
                "spec.ports: minItems 3 is greater than maxItems 1, so no value is valid for this field",
                "spec.replicas: minimum 5 is greater than maximum 1, so no value is valid for this field",
            ]
        );
    }

    #[test]
    fn equal_or_one_sided_bounds_are_fine() {
        assert!(
            ranges(json!({
                "a": "integer | minimum=1 maximum=1",
                "b": "string | minLength=2",
                "c": "[]string | maxItems=0",
            }))
            .is_empty()
        );
    }

    #[test]
    fn ranges_below_lists_and_maps_are_found() {
        let mut schema = JSONSchemaProps::default();
        let mut item = JSONSchemaProps {
            minimum: Some(3.0),
            maximum: Some(2.0),
            ..JSONSchemaProps::default()
        };
        schema.items = Some(JSONSchemaPropsOrArray::Schema(Box::new(item.clone())));
        item.max_length = Some(1);
        item.min_length = Some(2);
        item.minimum = None;
        schema.additional_properties = Some(JSONSchemaPropsOrBool::Schema(Box::new(item)));
        let found: Vec<String> = empty_ranges(&schema, "spec")
            .iter()
            .map(|r| format!("{} {}", r.path, r.lower))
            .collect();
        assert_eq!(found, ["spec[] minimum", "spec[*] minLength"]);
    }
}
