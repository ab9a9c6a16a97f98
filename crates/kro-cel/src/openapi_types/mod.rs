//! CEL types from Kubernetes OpenAPI schemas.
//!
//! kro type-checks every expression against the schemas of the resources it
//! reads: `deployment.spec.replicas` is an `int`, `service.spec.ports` a list
//! of objects. This module turns an OpenAPI v3 schema (as `JSONSchemaProps`,
//! references already inlined) into a [`Type`] plus the [`ObjectType`]s it
//! refers to, with the API server's conventions:
//!
//! - object properties become an object type with typed fields, named after
//!   a root name and the path (`__type_deployment.spec.template`, `@idx` for
//!   list elements, `@elem` for map values), so names are deterministic;
//! - `additionalProperties` becomes `map(string, T)`;
//! - `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-int-or-string`
//!   become `dyn`;
//! - string formats `byte`, `date`, `date-time` and `duration` become
//!   `bytes`, `timestamp`, `timestamp` and `duration`;
//! - the size of the values at every place is recorded ([`SchemaSize`]:
//!   from `maxItems`, `maxLength`, `maxProperties` and `enum`, else from
//!   the size of the largest object) for the static cost estimate;
//! - `x-kubernetes-list-type` `set` and `map` are recorded ([`ListKind`]),
//!   and the lists [`SchemaTypes::value_of`] makes compare regardless of
//!   order and merge on `+`, as in the API server;
//! - property names that are CEL keywords or hold `.`, `-`, `/` or `__` are
//!   escaped ([`escape_field_name`]); a reserved word such as `namespace` is
//!   declared both as written and escaped (`__namespace__`);
//! - a resource's (and an embedded resource's) `apiVersion` and `kind` are
//!   strings and its `metadata` is typed as `ObjectMeta`.

mod convert;
mod escape;
mod object_meta;
mod sizes;
#[cfg(test)]
pub(crate) mod tests;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;

pub use escape::{escape_field_name, is_reserved, unescape_field_name};
pub use sizes::{MAX_OBJECT_BYTES, MAX_OBJECT_VALUES, SchemaSize};

pub use crate::value::ListKind;

use crate::decls::{Env, ObjectType};
use crate::template::{FieldPath, Segment};
use crate::types::Type;

/// The CEL view of one schema: its type and the object types it declares.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaTypes {
    /// The name the paths of `objects` and `list_kinds` start with.
    root_name: String,
    root: Type,
    objects: IndexMap<String, ObjectType>,
    /// Shared with the list values [`SchemaTypes::value_of`] makes.
    list_kinds: BTreeMap<String, Arc<ListKind>>,
    /// The size of the values at every place, with its type path.
    sizes: Vec<(String, SchemaSize)>,
}

impl SchemaTypes {
    /// Converts the schema of a whole Kubernetes object (a resource):
    /// `apiVersion`, `kind` and `metadata` are always typed. `root_name`
    /// names the root object type; kro uses `__type_<resource id>`.
    pub fn of_resource(root_name: &str, schema: &JSONSchemaProps) -> SchemaTypes {
        let mut converter = convert::Converter::new();
        let root = converter.convert(schema, root_name, true, 0);
        converter.finish(root_name, root)
    }

    /// Converts the schema of an RGD's instance as expressions see it
    /// through `schema`: `apiVersion`, `kind`, `metadata` (ObjectMeta,
    /// without `namespace` for a cluster-scoped kind) and `spec`; `status`
    /// is never visible to expressions, so it is not part of the type.
    pub fn of_instance(
        root_name: &str,
        spec: &JSONSchemaProps,
        cluster_scoped: bool,
    ) -> SchemaTypes {
        let root = JSONSchemaProps {
            type_: Some("object".into()),
            properties: Some([("spec".to_string(), spec.clone())].into_iter().collect()),
            ..JSONSchemaProps::default()
        };
        let mut types = SchemaTypes::of_resource(root_name, &root);
        if cluster_scoped
            && let Some(meta) = types.objects.get_mut(&format!("{root_name}.metadata"))
        {
            meta.fields.shift_remove("namespace");
            meta.fields.shift_remove("__namespace__");
        }
        types
    }

    /// Converts any schema (a resource's `spec`, a field...).
    pub fn of_schema(root_name: &str, schema: &JSONSchemaProps) -> SchemaTypes {
        let mut converter = convert::Converter::new();
        let root = converter.convert(schema, root_name, false, 0);
        converter.finish(root_name, root)
    }

    /// The type of the whole value.
    pub fn root(&self) -> &Type {
        &self.root
    }

    /// The declared object types, children before parents (the root last).
    pub fn objects(&self) -> impl Iterator<Item = &ObjectType> {
        self.objects.values()
    }

    /// A declared object type by name.
    pub fn object(&self, name: &str) -> Option<&ObjectType> {
        self.objects.get(name)
    }

    /// The list kind of the list whose type path is `name`
    /// (`__type_deployment.spec.template.spec.containers`), when the schema
    /// sets one.
    pub fn list_kind(&self, name: &str) -> Option<&ListKind> {
        self.list_kinds.get(name).map(|k| &**k)
    }

    /// Declares every object type in `env`, and the sizes of their values
    /// for the static cost estimate.
    pub fn declare(&self, env: &mut Env) {
        for object in self.objects.values() {
            env.add_object_type(object.clone());
        }
        env.add_schema_sizes(self.sizes.iter().map(|(name, size)| (name.as_str(), *size)));
    }

    /// The type of the value at `path` (template field paths use the
    /// property names as written, not escaped), or `dyn` where the schema
    /// does not say: inside preserved unknown fields, int-or-string, or a
    /// path the schema does not have.
    pub fn type_at(&self, path: &FieldPath) -> Type {
        let mut current = self.root.clone();
        for segment in path.segments() {
            current = match (segment, &current) {
                (Segment::Key(key), Type::Object(name)) => {
                    let field = escape_field_name(key).and_then(|f| {
                        self.objects
                            .get(&**name)
                            .and_then(|o| o.fields.get(&f).cloned())
                    });
                    match field {
                        Some(t) => t,
                        None => return Type::Dyn,
                    }
                }
                (Segment::Key(_), Type::Map(_, value)) => (**value).clone(),
                (Segment::Index(_), Type::List(element)) => (**element).clone(),
                _ => return Type::Dyn,
            };
        }
        current
    }

    /// Whether the schema has a field at `path` (used to report template
    /// fields the target kind does not know). Paths through `dyn` parts
    /// always exist.
    pub fn has_path(&self, path: &FieldPath) -> bool {
        let mut current = self.root.clone();
        for segment in path.segments() {
            current = match (segment, &current) {
                (Segment::Key(key), Type::Object(name)) => {
                    let field = escape_field_name(key).and_then(|f| {
                        self.objects
                            .get(&**name)
                            .and_then(|o| o.fields.get(&f).cloned())
                    });
                    match field {
                        Some(t) => t,
                        None => return false,
                    }
                }
                (Segment::Key(_), Type::Map(_, value)) => (**value).clone(),
                (Segment::Index(_), Type::List(element)) => (**element).clone(),
                (_, Type::Dyn) => return true,
                _ => return false,
            };
        }
        true
    }
}
