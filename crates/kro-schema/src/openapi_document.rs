//! OpenAPI v3 documents as the Kubernetes API server serves them, one per
//! group version (`/openapi/v3/apis/<group>/<version>`), and the kinds
//! they describe.
//!
//! The server's documents refer to shared types with `$ref`; kro needs each
//! kind's schema self-contained, to type-check expressions against it and
//! to convert it to CEL types. [`OpenApiDocument::kind_schema`] inlines the
//! references.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::kinds::Gvk;
use crate::kinds::ResourceType;

/// What is known about a served kind: enough to type-check objects of it
/// and to address them.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSchema {
    /// The kind, where it is served and its scope.
    pub resource_type: ResourceType,
    /// The schema of a whole object, self-contained (no `$ref`).
    pub schema: JSONSchemaProps,
}

/// A document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid OpenAPI document {source_name}: {message}")]
pub struct DocumentError {
    /// Which document (a file or group version).
    pub source_name: String,
    /// What is wrong with it.
    pub message: String,
}

const REF_PREFIX: &str = "#/components/schemas/";

/// Where a kind is served, learnt from the document's list paths.
#[derive(Debug, Clone)]
struct Served {
    plural: String,
    namespaced: bool,
    /// The component holding the kind's schema.
    component: String,
}

/// A parsed OpenAPI v3 document, indexed by the kinds it serves.
#[derive(Debug, Clone)]
pub struct OpenApiDocument {
    name: String,
    components: Map<String, Value>,
    kinds: BTreeMap<Gvk, Served>,
}

/// The `x-kubernetes-group-version-kind` of a schema (a list) or of an
/// operation (a single entry).
fn gvks(value: &Value) -> Vec<Gvk> {
    let entry_gvk = |entry: &Value| {
        Some(Gvk::new(
            entry.get("group")?.as_str()?,
            entry.get("version")?.as_str()?,
            entry.get("kind")?.as_str()?,
        ))
    };
    match value.get("x-kubernetes-group-version-kind") {
        Some(Value::Array(entries)) => entries.iter().filter_map(entry_gvk).collect(),
        Some(entry) => entry_gvk(entry).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The component of each kind: the one whose own GVK list names it.
/// Shared types such as DeleteOptions list many kinds; a kind's own type
/// lists just its versions, so the shortest list wins.
fn component_of(components: &Map<String, Value>) -> BTreeMap<Gvk, String> {
    let mut best: BTreeMap<Gvk, (usize, String)> = BTreeMap::new();
    for (component, schema) in components {
        let listed = gvks(schema);
        for gvk in &listed {
            let better = best.get(gvk).is_none_or(|(len, _)| listed.len() < *len);
            if better {
                best.insert(gvk.clone(), (listed.len(), component.clone()));
            }
        }
    }
    best.into_iter()
        .map(|(gvk, (_, component))| (gvk, component))
        .collect()
}

/// The kinds the document's paths list (a `get` with
/// `x-kubernetes-action: list`), with their plural, scope and component.
fn served_kinds(
    paths: &Map<String, Value>,
    component_of: &BTreeMap<Gvk, String>,
) -> BTreeMap<Gvk, Served> {
    let mut kinds = BTreeMap::new();
    for (path, item) in paths {
        let Some(get) = item.get("get") else { continue };
        if get.get("x-kubernetes-action").and_then(Value::as_str) != Some("list") {
            continue;
        }
        let Some(plural) = path.rsplit('/').next() else {
            continue;
        };
        let namespaced = path.contains("/namespaces/{namespace}/");
        for gvk in gvks(get) {
            let Some(component) = component_of.get(&gvk) else {
                continue;
            };
            let served = kinds.entry(gvk).or_insert_with(|| Served {
                plural: plural.to_owned(),
                namespaced,
                component: component.clone(),
            });
            served.namespaced |= namespaced;
        }
    }
    kinds
}

impl OpenApiDocument {
    /// Parses a document; `name` identifies it in errors.
    pub fn parse(name: &str, document: Value) -> Result<Self, DocumentError> {
        let invalid = |message: &str| DocumentError {
            source_name: name.to_owned(),
            message: message.to_owned(),
        };
        let Value::Object(mut document) = document else {
            return Err(invalid("not a JSON object"));
        };
        let components = match document
            .get_mut("components")
            .and_then(|c| c.get_mut("schemas"))
        {
            Some(Value::Object(schemas)) => std::mem::take(schemas),
            _ => return Err(invalid("no components.schemas")),
        };
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("no paths"))?;

        let kinds = served_kinds(paths, &component_of(&components));
        Ok(Self {
            name: name.to_owned(),
            components,
            kinds,
        })
    }

    /// The kinds this document serves, in order.
    pub fn kinds(&self) -> impl Iterator<Item = &Gvk> {
        self.kinds.keys()
    }

    /// The self-contained schema of a served kind, or `None` if this
    /// document does not serve it.
    pub fn kind_schema(&self, gvk: &Gvk) -> Option<Result<KindSchema, DocumentError>> {
        let served = self.kinds.get(gvk)?;
        Some(
            self.component_schema(&served.component)
                .map(|schema| KindSchema {
                    resource_type: ResourceType::new(
                        gvk.clone(),
                        served.plural.clone(),
                        served.namespaced,
                    ),
                    schema,
                }),
        )
    }

    /// The self-contained schema of a named component, such as
    /// `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`.
    pub fn component_schema(&self, component: &str) -> Result<JSONSchemaProps, DocumentError> {
        let inlined = self.inline_component(component, &mut Vec::new());
        serde_json::from_value(inlined).map_err(|e| DocumentError {
            source_name: self.name.clone(),
            message: format!("schema {component}: {e}"),
        })
    }

    /// A component with every reference replaced by its target. A
    /// reference back to a component that is being inlined (only the
    /// schema-of-schemas types are recursive) becomes a schemaless object,
    /// which expressions see as `dyn`.
    fn inline_component(&self, component: &str, in_progress: &mut Vec<String>) -> Value {
        let schemaless = || serde_json::json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
        if in_progress.iter().any(|c| c == component) {
            return schemaless();
        }
        let Some(schema) = self.components.get(component) else {
            return schemaless();
        };
        in_progress.push(component.to_owned());
        let inlined = self.inline(schema, in_progress);
        in_progress.pop();
        inlined
    }

    fn inline(&self, schema: &Value, in_progress: &mut Vec<String>) -> Value {
        let Value::Object(map) = schema else {
            return schema.clone();
        };
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            return self.inline_component(target.trim_start_matches(REF_PREFIX), in_progress);
        }
        // `allOf: [{$ref}]` is how the API server attaches a description or
        // default to a referenced type: inline the target, keep the rest.
        if let Some(Value::Array(all_of)) = map.get("allOf")
            && let [Value::Object(only)] = all_of.as_slice()
            && let Some(target) = only.get("$ref").and_then(Value::as_str)
        {
            let mut merged =
                match self.inline_component(target.trim_start_matches(REF_PREFIX), in_progress) {
                    Value::Object(target) => target,
                    _ => Map::new(),
                };
            for (key, value) in map {
                if key != "allOf" {
                    merged.insert(key.clone(), value.clone());
                }
            }
            return Value::Object(merged);
        }
        let mut out = Map::with_capacity(map.len());
        for (key, value) in map {
            let value = match key.as_str() {
                "properties" | "patternProperties" | "definitions" => match value {
                    Value::Object(children) => Value::Object(
                        children
                            .iter()
                            .map(|(name, child)| (name.clone(), self.inline(child, in_progress)))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "items" | "additionalProperties" | "not" => self.inline(value, in_progress),
                "allOf" | "anyOf" | "oneOf" => match value {
                    Value::Array(schemas) => Value::Array(
                        schemas
                            .iter()
                            .map(|s| self.inline(s, in_progress))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                // Everything else is data (defaults, enums, examples) or a
                // plain keyword: copied, never searched for references.
                _ => value.clone(),
            };
            out.insert(key.clone(), value);
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Gvk, OpenApiDocument};

    fn document() -> OpenApiDocument {
        OpenApiDocument::parse(
            "test",
            json!({
                "paths": {
                    "/apis/example.com/v1/namespaces/{namespace}/widgets": { "get": {
                        "x-kubernetes-action": "list",
                        "x-kubernetes-group-version-kind": { "group": "example.com", "version": "v1", "kind": "Widget" }
                    }},
                    "/apis/example.com/v1/widgets": { "get": {
                        "x-kubernetes-action": "list",
                        "x-kubernetes-group-version-kind": { "group": "example.com", "version": "v1", "kind": "Widget" }
                    }}
                },
                "components": { "schemas": {
                    "com.example.v1.Widget": {
                        "type": "object",
                        "x-kubernetes-group-version-kind": [{ "group": "example.com", "version": "v1", "kind": "Widget" }],
                        "properties": {
                            "spec": { "description": "the spec", "default": {},
                                      "allOf": [{ "$ref": "#/components/schemas/com.example.v1.WidgetSpec" }] },
                            "parts": { "type": "array", "items": { "$ref": "#/components/schemas/com.example.v1.Widget" } }
                        }
                    },
                    "com.example.v1.WidgetSpec": {
                        "type": "object", "description": "shared",
                        "properties": { "size": { "type": "integer", "enum": [{ "$ref": "not a schema" }] } }
                    }
                }}
            }),
        )
        .unwrap()
    }

    #[test]
    fn inlines_references_keeping_the_referencing_description() {
        let doc = document();
        let gvk = Gvk::from_api_version("example.com/v1", "Widget");
        assert_eq!(doc.kinds().collect::<Vec<_>>(), [&gvk]);
        let widget = doc.kind_schema(&gvk).unwrap().unwrap();
        assert_eq!(
            (
                widget.resource_type.plural.as_str(),
                widget.resource_type.namespaced
            ),
            ("widgets", true)
        );
        let properties = widget.schema.properties.unwrap();
        let spec = &properties["spec"];
        assert_eq!(spec.description.as_deref(), Some("the spec"));
        let size = &spec.properties.as_ref().unwrap()["size"];
        assert_eq!(size.type_.as_deref(), Some("integer"));
        let enum_values = serde_json::to_value(&size.enum_).unwrap();
        assert_eq!(
            enum_values,
            json!([{ "$ref": "not a schema" }]),
            "data is never resolved"
        );
    }

    #[test]
    fn recursion_ends_in_a_schemaless_object() {
        let doc = document();
        let widget = doc
            .kind_schema(&Gvk::from_api_version("example.com/v1", "Widget"))
            .unwrap()
            .unwrap();
        let parts = &widget.schema.properties.unwrap()["parts"];
        let item = serde_json::to_value(parts.items.as_ref().unwrap()).unwrap();
        assert_eq!(
            item,
            json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        let error = OpenApiDocument::parse("doc.json", json!([1])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid OpenAPI document doc.json: not a JSON object"
        );
        let error = OpenApiDocument::parse("doc.json", json!({ "paths": {} })).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid OpenAPI document doc.json: no components.schemas"
        );
        assert!(
            document()
                .kind_schema(&Gvk::from_api_version("example.com/v1", "Gadget"))
                .is_none()
        );
    }
}
