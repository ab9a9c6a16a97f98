//! The structural checks of an RGD: everything before type checking.

mod lifecycle;

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_cel::template::{FieldPath, FoundTemplate, Template, TemplateExpression, scan, scan_value};
use serde_json::{Value, json};

use super::{BuildOptions, Errors};
use crate::api::{ExternalRef, Lifecycle, Resource, ResourceGraphDefinition, Scope};
use crate::error::{BuildErrorKind, BuildErrors};
use crate::naming::{check_iterator, check_resource_id};
use crate::resolver::{Gvk, KindSchema, SchemaResolver};

/// Label and annotation prefixes that templates may not use: kro writes
/// them itself.
const RESERVED_PREFIXES: [&str; 2] = ["kro.run/", "internal.kro.run/"];

/// How a resource takes part in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// One object created from a template.
    Resource,
    /// One object per element of the `forEach` product.
    Collection,
    /// One existing object, read by name.
    External,
    /// Existing objects, read by label selector.
    ExternalCollection,
}

/// One resource that passed the structural checks.
#[derive(Debug, Clone)]
pub struct ResourceStructure {
    /// Position in `spec.resources`.
    pub index: usize,
    /// The resource id.
    pub id: String,
    /// How it takes part in the graph.
    pub kind: NodeKind,
    /// The kind of object it creates or reads, with its schema.
    pub schema: Arc<KindSchema>,
    /// The template, or for an externalRef the object it describes
    /// (`apiVersion`, `kind`, `metadata`).
    pub object: Value,
    /// The `${...}` in `object`'s values, with paths relative to `object`.
    pub templates: Vec<FoundTemplate>,
    /// `includeWhen` expressions.
    pub include_when: Vec<TemplateExpression>,
    /// `readyWhen` expressions.
    pub ready_when: Vec<TemplateExpression>,
    /// `forEach` iterators: name and list expression, in order.
    pub for_each: Vec<(String, TemplateExpression)>,
    /// The lifecycle policies its template's annotations declare; `None`
    /// for an externalRef, which kro never writes or deletes.
    pub lifecycle: Option<Lifecycle>,
}

/// An RGD that passed the structural checks.
#[derive(Debug, Clone)]
pub struct Structure {
    /// The RGD's name.
    pub rgd: String,
    /// The instance CRD, with an empty status schema (inferred later from
    /// the status expressions).
    pub instance_crd: CustomResourceDefinition,
    /// Whether instances are cluster-scoped.
    pub instance_scope: Scope,
    /// The resources, in declaration order.
    pub resources: Vec<ResourceStructure>,
}

/// Runs every structural check on `rgd`. Returns all problems found, not
/// only the first; a resource with a problem is left out of further checks
/// that depend on it.
pub fn check_structure(
    rgd: &ResourceGraphDefinition,
    resolver: &dyn SchemaResolver,
    options: &BuildOptions,
) -> Result<Structure, BuildErrors> {
    let name = rgd.metadata.name.clone().unwrap_or_default();
    let mut errors = Errors::new(&name);
    let root = FieldPath::root().key("spec");

    let instance_scope = rgd.spec.schema.scope_or_default();
    let instance_crd = instance_crd(rgd, &root, &mut errors);
    let checks = ResourceChecks {
        ids: rgd.spec.resources.iter().map(|r| r.id.as_str()).collect(),
        instance_scope,
        resolver,
        options,
    };
    let mut seen = BTreeSet::new();
    let mut resources = Vec::new();
    for (index, resource) in rgd.spec.resources.iter().enumerate() {
        let path = root.key("resources").index(index);
        if !seen.insert(resource.id.as_str()) {
            errors.push(
                Some(&resource.id),
                path.key("id"),
                BuildErrorKind::DuplicateId {
                    id: resource.id.clone(),
                },
            );
            continue;
        }
        if let Some(checked) = checks.check(index, resource, &path, &mut errors) {
            resources.push(checked);
        }
    }

    match instance_crd {
        Some(instance_crd) if errors.is_empty() => Ok(Structure {
            rgd: name,
            instance_crd,
            instance_scope,
            resources,
        }),
        _ => Err(errors.into_errors()),
    }
}

/// The instance CRD `spec.schema` describes (with an empty status
/// schema), or an error at `spec.schema`.
fn instance_crd(
    rgd: &ResourceGraphDefinition,
    root: &FieldPath,
    errors: &mut Errors<'_>,
) -> Option<CustomResourceDefinition> {
    // The typed schema always serialises; nothing to report otherwise.
    let schema = serde_json::to_value(&rgd.spec.schema).ok()?;
    match kro_schema::instance_crd::crd_from_rgd_schema(&schema, None) {
        Ok(crd) => Some(crd),
        Err(error) => {
            errors.push(None, root.key("schema"), error);
            None
        }
    }
}

/// What the checks of one resource need to know about the whole RGD.
struct ResourceChecks<'a> {
    /// Every resource id, duplicates included: iterators may not shadow
    /// them.
    ids: Vec<&'a str>,
    instance_scope: Scope,
    resolver: &'a dyn SchemaResolver,
    options: &'a BuildOptions,
}

impl ResourceChecks<'_> {
    /// Checks resource `index` at `path`: its id, its object and kind, the
    /// schema of that kind, scope and metadata rules, and where its
    /// expressions are. `None` when anything was wrong.
    fn check(
        &self,
        index: usize,
        resource: &Resource,
        path: &FieldPath,
        errors: &mut Errors<'_>,
    ) -> Option<ResourceStructure> {
        let id = resource.id.as_str();
        let before = errors.count();
        if let Err(error) = check_resource_id(id) {
            errors.push(Some(id), path.key("id"), error);
        }
        let (object, object_path, kind) = object_and_kind(resource, path, errors)?;
        let schema = self.resolve(&object, &object_path, id, errors)?;
        check_scope(
            &object,
            &object_path,
            id,
            &schema,
            kind,
            self.instance_scope,
            errors,
        );
        if matches!(kind, NodeKind::Resource | NodeKind::Collection) {
            check_reserved_metadata(&object, &object_path, id, errors);
        }
        let lifecycle = lifecycle::of_resource(resource, &object, &object_path, errors);

        let templates = scan_templates(&object, &object_path, id, errors);
        let include_when =
            standalone_list(&resource.include_when, &path.key("includeWhen"), id, errors);
        let ready_when = standalone_list(&resource.ready_when, &path.key("readyWhen"), id, errors);
        let for_each = check_for_each(
            resource,
            &path.key("forEach"),
            &self.ids,
            self.options,
            errors,
        );

        (errors.count() == before).then(|| ResourceStructure {
            index,
            id: id.to_owned(),
            kind,
            schema,
            object,
            templates,
            include_when,
            ready_when,
            for_each,
            lifecycle,
        })
    }

    /// The schema of the kind `object` names, once its `apiVersion`, `kind`
    /// and `metadata` are well formed.
    fn resolve(
        &self,
        object: &Value,
        object_path: &FieldPath,
        id: &str,
        errors: &mut Errors<'_>,
    ) -> Option<Arc<KindSchema>> {
        let gvk = check_object_fields(object, object_path, id, errors)?;
        match self.resolver.resolve(&gvk) {
            Ok(schema) => Some(schema),
            Err(error) => {
                errors.push(Some(id), object_path.key("apiVersion"), error);
                None
            }
        }
    }
}

/// The object a resource creates or reads (its template, or the object its
/// externalRef describes), where that object is, and how the resource takes
/// part in the graph. `None` when it has neither or both.
fn object_and_kind(
    resource: &Resource,
    path: &FieldPath,
    errors: &mut Errors<'_>,
) -> Option<(Value, FieldPath, NodeKind)> {
    match (&resource.template, &resource.external_ref) {
        (Some(template), None) => {
            let kind = if resource.for_each.is_empty() {
                NodeKind::Resource
            } else {
                NodeKind::Collection
            };
            Some((template.clone(), path.key("template"), kind))
        }
        (None, Some(external)) => {
            let kind = external_kind(resource, external, path, errors);
            Some((external_object(external), path.key("externalRef"), kind))
        }
        _ => {
            errors.push(
                Some(&resource.id),
                path.clone(),
                BuildErrorKind::TemplateOrExternalRef,
            );
            None
        }
    }
}

/// How an externalRef takes part: one object by name, or many by
/// selector. It may not have a `forEach`, and needs exactly one of the two.
fn external_kind(
    resource: &Resource,
    external: &ExternalRef,
    path: &FieldPath,
    errors: &mut Errors<'_>,
) -> NodeKind {
    let id = resource.id.as_str();
    if !resource.for_each.is_empty() {
        errors.push(
            Some(id),
            path.key("forEach"),
            BuildErrorKind::ExternalRefWithForEach,
        );
    }
    match (&external.metadata.name, &external.metadata.selector) {
        (Some(_), None) => NodeKind::External,
        (None, Some(_)) => NodeKind::ExternalCollection,
        _ => {
            errors.push(
                Some(id),
                path.key("externalRef").key("metadata"),
                BuildErrorKind::ExternalRefNameOrSelector,
            );
            NodeKind::External
        }
    }
}

/// The `${...}` in `object`'s values; each malformed one is an error
/// (and then none is kept).
fn scan_templates(
    object: &Value,
    object_path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Vec<FoundTemplate> {
    match scan_value(object) {
        Ok(found) => found,
        Err(scan_errors) => {
            for error in scan_errors {
                errors.push(Some(id), object_path.join(&error.path), error.error);
            }
            Vec::new()
        }
    }
}

/// Every kind an RGD's resources name, sorted and without duplicates: the
/// schemas a build will ask its resolver for, for a resolver that fetches
/// them to fetch first. Read leniently, before any check: a resource whose
/// `apiVersion` or `kind` is not a string names no kind.
pub fn referenced_kinds(rgd: &ResourceGraphDefinition) -> Vec<Gvk> {
    let mut kinds: Vec<Gvk> = rgd
        .spec
        .resources
        .iter()
        .filter_map(
            |resource| match (&resource.template, &resource.external_ref) {
                (Some(template), _) => Some(Gvk::from_api_version(
                    template.get("apiVersion")?.as_str()?,
                    template.get("kind")?.as_str()?,
                )),
                (None, Some(external)) => {
                    Some(Gvk::from_api_version(&external.api_version, &external.kind))
                }
                (None, None) => None,
            },
        )
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The object an externalRef describes, shaped like a template so that the
/// same checks and expression scanning apply.
fn external_object(external: &ExternalRef) -> Value {
    let mut metadata = serde_json::Map::new();
    if let Some(name) = &external.metadata.name {
        metadata.insert("name".to_owned(), json!(name));
    }
    if let Some(namespace) = &external.metadata.namespace {
        metadata.insert("namespace".to_owned(), json!(namespace));
    }
    if let Some(selector) = &external.metadata.selector {
        metadata.insert(
            "selector".to_owned(),
            serde_json::to_value(selector).unwrap_or(Value::Null),
        );
    }
    json!({ "apiVersion": external.api_version, "kind": external.kind, "metadata": metadata })
}

/// Checks `apiVersion`, `kind` and `metadata`, and returns the GVK. The
/// GVK must be literal: the graph's shape may not depend on instance data.
fn check_object_fields(
    object: &Value,
    path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Option<Gvk> {
    let before = errors.count();
    let api_version = literal_field(object, "apiVersion", path, id, errors);
    let kind = literal_field(object, "kind", path, id, errors);
    let metadata_problem = match object.get("metadata") {
        Some(Value::Object(_)) => None,
        None => Some("field not found"),
        Some(_) => Some("must be a map"),
    };
    if let Some(problem) = metadata_problem {
        errors.push(
            Some(id),
            path.key("metadata"),
            BuildErrorKind::ObjectField {
                field: "metadata",
                problem,
            },
        );
    }
    match (api_version, kind) {
        (Some(api_version), Some(kind)) if errors.count() == before => {
            Some(Gvk::from_api_version(&api_version, &kind))
        }
        _ => None,
    }
}

/// The text of `object`'s `field`, which must be a string without
/// expressions.
fn literal_field(
    object: &Value,
    field: &'static str,
    path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Option<String> {
    let problem = match object.get(field) {
        Some(Value::String(text)) if !text.contains("${") => return Some(text.clone()),
        Some(Value::String(_)) => "must be a literal string, without expressions",
        Some(_) => "must be a string",
        None => "field not found",
    };
    errors.push(
        Some(id),
        path.key(field),
        BuildErrorKind::ObjectField { field, problem },
    );
    None
}

fn check_scope(
    object: &Value,
    path: &FieldPath,
    id: &str,
    schema: &KindSchema,
    kind: NodeKind,
    instance_scope: Scope,
    errors: &mut Errors<'_>,
) {
    let namespace = object
        .pointer("/metadata/namespace")
        .filter(|ns| !ns.is_null());
    let namespace_path = path.key("metadata").key("namespace");
    if !schema.resource_type.namespaced && namespace.is_some() {
        errors.push(
            Some(id),
            namespace_path,
            BuildErrorKind::ClusterScopedWithNamespace {
                kind: schema.resource_type.gvk.kind.clone(),
            },
        );
    } else if schema.resource_type.namespaced
        && instance_scope == Scope::Cluster
        && namespace.and_then(Value::as_str).is_none_or(str::is_empty)
        // A selector without a namespace reads every namespace.
        && kind != NodeKind::ExternalCollection
    {
        errors.push(
            Some(id),
            namespace_path,
            BuildErrorKind::NamespaceRequired {
                kind: schema.resource_type.gvk.kind.clone(),
            },
        );
    }
}

fn check_reserved_metadata(object: &Value, path: &FieldPath, id: &str, errors: &mut Errors<'_>) {
    for what in ["labels", "annotations"] {
        let Some(Value::Object(entries)) = object.pointer(&format!("/metadata/{what}")) else {
            continue;
        };
        for key in entries.keys() {
            if let Some(prefix) = RESERVED_PREFIXES
                .into_iter()
                .find(|prefix| key.starts_with(prefix))
            {
                errors.push(
                    Some(id),
                    path.key("metadata").key(what).key(key.clone()),
                    BuildErrorKind::ReservedMetadata {
                        what,
                        prefix,
                        key: key.clone(),
                    },
                );
            }
        }
    }
}

/// One standalone `${...}` expression, or an error at `path`.
fn standalone(
    text: &str,
    path: FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Option<TemplateExpression> {
    match scan(text) {
        Ok(Template::Standalone(expression)) => Some(expression),
        Ok(_) => {
            errors.push(Some(id), path, BuildErrorKind::StandaloneOnly);
            None
        }
        Err(error) => {
            errors.push(Some(id), path, error);
            None
        }
    }
}

fn standalone_list(
    texts: &[String],
    path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Vec<TemplateExpression> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(i, text)| standalone(text, path.index(i), id, errors))
        .collect()
}

fn check_for_each(
    resource: &Resource,
    path: &FieldPath,
    ids: &[&str],
    options: &BuildOptions,
    errors: &mut Errors<'_>,
) -> Vec<(String, TemplateExpression)> {
    let id = resource.id.as_str();
    if resource.for_each.len() > options.max_collection_dimensions {
        errors.push(
            Some(id),
            path.clone(),
            BuildErrorKind::TooManyDimensions {
                count: resource.for_each.len(),
                max: options.max_collection_dimensions,
            },
        );
    }
    let mut names = BTreeSet::new();
    let mut iterators = Vec::new();
    for (i, entry) in resource.for_each.iter().enumerate() {
        let entry_path = path.index(i);
        let [(name, text)] = entry.iter().collect::<Vec<_>>()[..] else {
            errors.push(
                Some(id),
                entry_path,
                BuildErrorKind::IteratorCount { count: entry.len() },
            );
            continue;
        };
        let name_path = entry_path.key(name.clone());
        if let Err(error) = check_iterator(name) {
            errors.push(Some(id), name_path.clone(), error);
        }
        if !names.insert(name.as_str()) {
            errors.push(
                Some(id),
                name_path.clone(),
                BuildErrorKind::DuplicateIterator { name: name.clone() },
            );
        }
        if ids.contains(&name.as_str()) {
            errors.push(
                Some(id),
                name_path.clone(),
                BuildErrorKind::IteratorShadowsResource { name: name.clone() },
            );
        }
        if let Some(expression) = standalone(text, name_path, id, errors) {
            iterators.push((name.clone(), expression));
        }
    }
    iterators
}

#[cfg(test)]
mod tests;
