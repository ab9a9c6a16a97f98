//! The walk from an OpenAPI schema to CEL types.

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

use super::escape::{escape_field_name, is_reserved};
use super::object_meta::object_meta_schema;
use super::{ListKind, SchemaTypes};
use crate::decls::ObjectType;
use crate::types::Type;

/// Deeper schemas are not produced by the API server; past this depth a
/// subtree becomes `dyn` rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

/// Suffix of the type name of list elements (kro's convention).
pub(crate) const LIST_ELEMENT: &str = "@idx";
/// Suffix of the type name of map values (kro's convention).
pub(crate) const MAP_VALUE: &str = "@elem";

pub(crate) struct Converter {
    objects: IndexMap<String, ObjectType>,
    list_kinds: BTreeMap<String, Arc<ListKind>>,
}

impl Converter {
    pub(crate) fn new() -> Self {
        Converter {
            objects: IndexMap::new(),
            list_kinds: BTreeMap::new(),
        }
    }

    pub(crate) fn finish(self, root_name: &str, root: Type) -> SchemaTypes {
        SchemaTypes {
            root_name: root_name.to_string(),
            root,
            objects: self.objects,
            list_kinds: self.list_kinds,
        }
    }

    /// The type of `schema`, declaring object types named after `name`.
    /// `resource` marks the root of a Kubernetes object (the whole
    /// resource, or an `x-kubernetes-embedded-resource`), whose
    /// `apiVersion`, `kind` and `metadata` are always typed.
    pub(crate) fn convert(
        &mut self,
        schema: &JSONSchemaProps,
        name: &str,
        resource: bool,
        depth: usize,
    ) -> Type {
        if depth > MAX_DEPTH {
            return Type::Dyn;
        }
        // int-or-string holds either, so only run-time checks can help.
        if schema.x_kubernetes_int_or_string == Some(true) {
            return Type::Dyn;
        }
        let resource = resource || schema.x_kubernetes_embedded_resource == Some(true);
        match schema_kind(schema) {
            Kind::Array => self.array(schema, name, depth),
            Kind::Object => self.object(schema, name, resource, depth),
            Kind::String => match schema.format.as_deref() {
                Some("byte") => Type::Bytes,
                Some("date" | "date-time") => Type::Timestamp,
                Some("duration") => Type::Duration,
                _ => Type::String,
            },
            Kind::Integer => Type::Int,
            Kind::Number => Type::Double,
            Kind::Boolean => Type::Bool,
            Kind::Unknown => Type::Dyn,
        }
    }

    fn array(&mut self, schema: &JSONSchemaProps, name: &str, depth: usize) -> Type {
        let element_name = format!("{name}.{LIST_ELEMENT}");
        let element = match &schema.items {
            Some(JSONSchemaPropsOrArray::Schema(items)) => {
                let embedded = items.x_kubernetes_embedded_resource == Some(true);
                self.convert(items, &element_name, embedded, depth + 1)
            }
            // Tuple-typed arrays are not structural; Kubernetes never serves them.
            Some(JSONSchemaPropsOrArray::Schemas(_)) | None => Type::Dyn,
        };
        let kind = match schema.x_kubernetes_list_type.as_deref() {
            Some("set") => Some(ListKind::Set),
            Some("map") => Some(ListKind::Map {
                // Values hold properties under their escaped names, and a
                // property that cannot be escaped under its own name.
                keys: schema
                    .x_kubernetes_list_map_keys
                    .iter()
                    .flatten()
                    .map(|k| Arc::from(escape_field_name(k).unwrap_or_else(|| k.clone())))
                    .collect(),
            }),
            _ => None,
        };
        if let Some(kind) = kind {
            self.list_kinds.insert(name.to_string(), Arc::new(kind));
        }
        Type::list(element)
    }

    fn object(
        &mut self,
        schema: &JSONSchemaProps,
        name: &str,
        resource: bool,
        depth: usize,
    ) -> Type {
        if let Some(additional) = &schema.additional_properties {
            let value = match additional {
                JSONSchemaPropsOrBool::Schema(s) => {
                    let embedded = s.x_kubernetes_embedded_resource == Some(true);
                    self.convert(s, &format!("{name}.{MAP_VALUE}"), embedded, depth + 1)
                }
                JSONSchemaPropsOrBool::Bool(_) => Type::Dyn,
            };
            return Type::map(Type::String, value);
        }
        let properties = schema.properties.as_ref().filter(|p| !p.is_empty());
        // Unknown fields are kept: any field may be read, so only `dyn`
        // describes it (kro lets such objects be accessed freely).
        if schema.x_kubernetes_preserve_unknown_fields == Some(true) {
            return Type::Dyn;
        }
        let Some(properties) = properties else {
            if resource {
                return self.declare(name, IndexMap::new(), true, depth);
            }
            // An object with no declared properties (such as `fieldsV1`)
            // carries data the schema does not describe.
            return Type::map(Type::String, Type::Dyn);
        };
        let mut fields = IndexMap::with_capacity(properties.len());
        for (property, sub) in properties {
            let Some(field) = escape_field_name(property) else {
                continue;
            };
            let ty = self.convert(sub, &format!("{name}.{field}"), false, depth + 1);
            // A reserved word is reachable both as written (kro's examples
            // use `schema.metadata.namespace`, which plain JSON values
            // answer) and escaped as the API server spells it.
            if is_reserved(property) {
                fields.insert(property.clone(), ty.clone());
            }
            fields.insert(field, ty);
        }
        self.declare(name, fields, resource, depth)
    }

    /// Declares the object type `name`, adding the fields every
    /// Kubernetes object has when `resource` is set.
    fn declare(
        &mut self,
        name: &str,
        mut fields: IndexMap<String, Type>,
        resource: bool,
        depth: usize,
    ) -> Type {
        if resource {
            fields.insert("apiVersion".into(), Type::String);
            fields.insert("kind".into(), Type::String);
            let typed_metadata = fields
                .get("metadata")
                .is_some_and(|t| matches!(t, Type::Object(_)));
            if !typed_metadata {
                let meta = match object_meta_schema() {
                    Some(meta) => {
                        self.convert(&meta, &format!("{name}.metadata"), false, depth + 1)
                    }
                    None => Type::Dyn,
                };
                fields.insert("metadata".into(), meta);
            }
        }
        self.objects.insert(
            name.to_string(),
            ObjectType {
                name: name.to_string(),
                fields,
            },
        );
        Type::object(name)
    }
}

enum Kind {
    Array,
    Object,
    String,
    Integer,
    Number,
    Boolean,
    Unknown,
}

/// The kind of value a schema describes: its `type`, or, when that is
/// missing, what its keywords imply.
fn schema_kind(schema: &JSONSchemaProps) -> Kind {
    match schema.type_.as_deref() {
        Some("array") => Kind::Array,
        Some("object") => Kind::Object,
        Some("string") => Kind::String,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some(_) => Kind::Unknown,
        None if schema.properties.is_some() || schema.additional_properties.is_some() => {
            Kind::Object
        }
        None if schema.items.is_some() => Kind::Array,
        None => Kind::Unknown,
    }
}
