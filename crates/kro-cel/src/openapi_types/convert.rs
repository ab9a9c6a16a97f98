//! The walk from an OpenAPI schema to CEL types.

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

use super::escape::{escape_field_name, is_reserved};
use super::object_meta::{VALIDATED_LENGTHS, object_meta_schema};
use super::sizes::SchemaSize;
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
    /// The size bound of every place converted, with its type path.
    sizes: Vec<(String, SchemaSize)>,
}

impl Converter {
    pub(crate) fn new() -> Self {
        Converter {
            objects: IndexMap::new(),
            list_kinds: BTreeMap::new(),
            sizes: Vec::new(),
        }
    }

    pub(crate) fn finish(self, root_name: &str, root: Type) -> SchemaTypes {
        SchemaTypes {
            root_name: root_name.to_string(),
            root,
            objects: self.objects,
            list_kinds: self.list_kinds,
            sizes: self.sizes,
        }
    }

    /// The type of `schema`, declaring object types named after `name`
    /// and recording the size of its values under `name`.
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
        self.convert_sized(schema, name.to_string(), resource, depth)
            .0
    }

    /// [`Converter::convert`], with the size it records.
    fn convert_sized(
        &mut self,
        schema: &JSONSchemaProps,
        name: String,
        resource: bool,
        depth: usize,
    ) -> (Type, SchemaSize) {
        let (ty, size) = self.convert_named(schema, &name, resource, depth);
        self.sizes.push((name, size));
        (ty, size)
    }

    fn convert_named(
        &mut self,
        schema: &JSONSchemaProps,
        name: &str,
        resource: bool,
        depth: usize,
    ) -> (Type, SchemaSize) {
        if depth > MAX_DEPTH {
            return (Type::Dyn, SchemaSize::UNKNOWN);
        }
        // int-or-string holds either, so only run-time checks can help.
        if schema.x_kubernetes_int_or_string == Some(true) {
            return (Type::Dyn, SchemaSize::string(schema));
        }
        let resource = resource || schema.x_kubernetes_embedded_resource == Some(true);
        match schema_kind(schema) {
            Kind::Array => self.array(schema, name, depth),
            Kind::Object => self.object(schema, name, resource, depth),
            Kind::String => {
                let ty = match schema.format.as_deref() {
                    Some("byte") => Type::Bytes,
                    Some("date" | "date-time") => return (Type::Timestamp, SchemaSize::SCALAR),
                    Some("duration") => return (Type::Duration, SchemaSize::SCALAR),
                    _ => Type::String,
                };
                (ty, SchemaSize::string(schema))
            }
            Kind::Integer => (Type::Int, SchemaSize::SCALAR),
            Kind::Number => (Type::Double, SchemaSize::SCALAR),
            Kind::Boolean => (Type::Bool, SchemaSize::SCALAR),
            Kind::Unknown => (Type::Dyn, SchemaSize::UNKNOWN),
        }
    }

    fn array(&mut self, schema: &JSONSchemaProps, name: &str, depth: usize) -> (Type, SchemaSize) {
        let element_name = format!("{name}.{LIST_ELEMENT}");
        let (element, item_size, item_json) = match &schema.items {
            Some(JSONSchemaPropsOrArray::Schema(items)) => {
                let embedded = items.x_kubernetes_embedded_resource == Some(true);
                let (element, size) = self.convert_sized(items, element_name, embedded, depth + 1);
                (element, size, smallest_json(items))
            }
            // Tuple-typed arrays are not structural; Kubernetes never serves them.
            Some(JSONSchemaPropsOrArray::Schemas(_)) | None => (Type::Dyn, SchemaSize::UNKNOWN, 1),
        };
        let size = SchemaSize::list(schema, item_size, item_json);
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
        (Type::list(element), size)
    }

    fn object(
        &mut self,
        schema: &JSONSchemaProps,
        name: &str,
        resource: bool,
        depth: usize,
    ) -> (Type, SchemaSize) {
        if let Some(additional) = &schema.additional_properties {
            let value_name = format!("{name}.{MAP_VALUE}");
            let (value, value_size, value_json) = match additional {
                JSONSchemaPropsOrBool::Schema(s) => {
                    let embedded = s.x_kubernetes_embedded_resource == Some(true);
                    let (value, size) = self.convert_sized(s, value_name, embedded, depth + 1);
                    (value, size, smallest_json(s))
                }
                JSONSchemaPropsOrBool::Bool(_) => (Type::Dyn, SchemaSize::UNKNOWN, 1),
            };
            let size = SchemaSize::map(schema, value_size, value_json);
            return (Type::map(Type::String, value), size);
        }
        let properties = schema.properties.as_ref().filter(|p| !p.is_empty());
        // Unknown fields are kept: any field may be read, so only `dyn`
        // describes it (kro lets such objects be accessed freely).
        if schema.x_kubernetes_preserve_unknown_fields == Some(true) {
            return (Type::Dyn, SchemaSize::UNKNOWN);
        }
        let Some(properties) = properties else {
            if resource {
                let mut sizes = Vec::new();
                let ty = self.declare(name, IndexMap::new(), Some(&mut sizes), depth);
                return (ty, SchemaSize::object(sizes.into_iter()));
            }
            // An object with no declared properties (such as `fieldsV1`)
            // carries data the schema does not describe.
            let size = SchemaSize::map(schema, SchemaSize::UNKNOWN, 1);
            return (Type::map(Type::String, Type::Dyn), size);
        };
        let mut fields = IndexMap::with_capacity(properties.len());
        let mut sizes = Vec::with_capacity(properties.len());
        for (property, sub) in properties {
            let Some(field) = escape_field_name(property) else {
                // Not readable, but part of the value all the same.
                sizes.push((property.as_str(), SchemaSize::UNKNOWN));
                continue;
            };
            let path = format!("{name}.{field}");
            let (ty, size) = self.convert_sized(sub, path, false, depth + 1);
            sizes.push((property.as_str(), size));
            // A reserved word is reachable both as written (kro's examples
            // use `schema.metadata.namespace`, which plain JSON values
            // answer) and escaped as the API server spells it.
            if is_reserved(property) {
                fields.insert(property.clone(), ty.clone());
                self.sizes.push((format!("{name}.{property}"), size));
            }
            fields.insert(field, ty);
        }
        if !resource {
            let ty = self.declare(name, fields, None, depth);
            return (ty, SchemaSize::object(sizes.into_iter()));
        }
        let mut added = Vec::new();
        let ty = self.declare(name, fields, Some(&mut added), depth);
        // What `declare` typed replaces what the properties said.
        sizes.retain(|(property, _)| !added.iter().any(|(field, _)| field == property));
        sizes.extend(added);
        (ty, SchemaSize::object(sizes.into_iter()))
    }

    /// Declares the object type `name`. For a resource (when `added` is
    /// given), adds the fields every Kubernetes object has, and their sizes
    /// to `added`.
    fn declare(
        &mut self,
        name: &str,
        mut fields: IndexMap<String, Type>,
        added: Option<&mut Vec<(&'static str, SchemaSize)>>,
        depth: usize,
    ) -> Type {
        if let Some(added) = added {
            let free_string = SchemaSize::string(&JSONSchemaProps::default());
            for field in ["apiVersion", "kind"] {
                fields.insert(field.into(), Type::String);
                self.sizes.push((format!("{name}.{field}"), free_string));
                added.push((field, free_string));
            }
            let typed_metadata = fields
                .get("metadata")
                .is_some_and(|t| matches!(t, Type::Object(_)));
            if !typed_metadata {
                let path = format!("{name}.metadata");
                let (meta, size) = match object_meta_schema() {
                    Some(meta) => self.convert_sized(meta, path, false, depth + 1),
                    None => (Type::Dyn, SchemaSize::UNKNOWN),
                };
                fields.insert("metadata".into(), meta);
                added.push(("metadata", size));
            }
            self.validated_metadata(name);
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

    /// Bounds the metadata fields of the resource `name` as the API server
    /// validates them.
    fn validated_metadata(&mut self, name: &str) {
        let prefix = format!("{name}.metadata.");
        for (path, size) in &mut self.sizes {
            let Some(field) = path.strip_prefix(&prefix) else {
                continue;
            };
            if let Some((_, length)) = VALIDATED_LENGTHS.iter().find(|(f, _)| *f == field) {
                *size = SchemaSize::validated_text(*length);
            }
        }
    }
}

/// Bytes of the smallest JSON a value of `schema` can have (`0`, `""`,
/// `[]`...), which bounds how many of them fit in an object.
fn smallest_json(schema: &JSONSchemaProps) -> u64 {
    if schema.x_kubernetes_int_or_string == Some(true) {
        return 1;
    }
    match schema_kind(schema) {
        Kind::Integer | Kind::Number | Kind::Unknown => 1,
        Kind::Boolean => 4,
        Kind::Array | Kind::Object | Kind::String => 2,
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
