//! Schema evolution: what changes between the CRD kro last applied and the
//! one it is about to apply, and which of those changes would break
//! existing instances or their clients.
//!
//! The operator refuses breaking updates unless the RGD explicitly allows
//! them; this module only lists the changes, each with a path, a kind, and a
//! message a person can act on.

use std::collections::BTreeSet;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, JSONSchemaProps,
    JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};

/// What kind of change was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// The API group changed: a different API altogether.
    GroupChanged,
    /// The kind changed.
    KindChanged,
    /// Namespaced became cluster-scoped or back.
    ScopeChanged,
    /// The version name changed.
    VersionChanged,
    /// The version stopped being served.
    VersionNoLongerServed,
    /// The status subresource was removed.
    StatusSubresourceRemoved,
    /// Short names, categories or printer columns changed.
    PresentationChanged,
    /// A field was removed.
    FieldRemoved,
    /// A field was added that instances may omit.
    OptionalFieldAdded,
    /// A field was added that instances must set.
    RequiredFieldAdded,
    /// A field's type changed.
    TypeChanged,
    /// An existing field became required.
    BecameRequired,
    /// A field stopped being required.
    NoLongerRequired,
    /// A required field lost its default, so instances relying on it fail.
    DefaultRemovedFromRequired,
    /// A default was added, changed or removed (for an optional field).
    DefaultChanged,
    /// Enum values were removed.
    EnumNarrowed,
    /// An enum now restricts a field that had none. Not breaking, as
    /// upstream kro counts it: stored instances stay readable, and only a
    /// write of a value outside the enum is refused.
    EnumAdded,
    /// Enum values were added, or the enum was lifted.
    EnumWidened,
    /// A pattern was added or changed.
    PatternTightened,
    /// A pattern was removed.
    PatternRemoved,
    /// A minimum, maximum, length or item bound was added or made stricter.
    BoundTightened,
    /// A bound was removed or relaxed.
    BoundRelaxed,
    /// A list's item schema was removed.
    ItemsRemoved,
    /// An object stopped keeping unknown fields, which the API server will
    /// now drop.
    UnknownFieldsNoLongerPreserved,
    /// Unknown fields are now kept.
    UnknownFieldsPreserved,
    /// The description changed.
    DescriptionChanged,
    /// `x-kubernetes-validations` changed (e.g. `immutable` added). The API
    /// server checks rules only when objects are written, so existing data
    /// stays readable.
    ValidationRulesChanged,
    /// `x-kubernetes-list-type` or its keys changed.
    ListTypeChanged,
}

impl ChangeKind {
    /// Whether a change of this kind can break existing instances or the
    /// clients that write them.
    pub fn is_breaking(self) -> bool {
        matches!(
            self,
            ChangeKind::GroupChanged
                | ChangeKind::KindChanged
                | ChangeKind::ScopeChanged
                | ChangeKind::VersionChanged
                | ChangeKind::VersionNoLongerServed
                | ChangeKind::StatusSubresourceRemoved
                | ChangeKind::FieldRemoved
                | ChangeKind::RequiredFieldAdded
                | ChangeKind::TypeChanged
                | ChangeKind::BecameRequired
                | ChangeKind::DefaultRemovedFromRequired
                | ChangeKind::EnumNarrowed
                | ChangeKind::PatternTightened
                | ChangeKind::BoundTightened
                | ChangeKind::ItemsRemoved
                | ChangeKind::UnknownFieldsNoLongerPreserved
        )
    }
}

/// One difference between two CRDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where: `spec.names.kind` for CRD-level changes, or a schema path
    /// such as `spec.ports[].name`.
    pub path: String,
    /// What kind of change.
    pub kind: ChangeKind,
    /// A sentence for people.
    pub message: String,
}

impl Change {
    /// Whether this change is breaking; see [`ChangeKind::is_breaking`].
    pub fn is_breaking(&self) -> bool {
        self.kind.is_breaking()
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// All changes from `old` to `new`, CRD-level first, then the schema in
/// path order. Deterministic.
pub fn compare_crds(old: &CustomResourceDefinition, new: &CustomResourceDefinition) -> Vec<Change> {
    let mut changes = Changes::default();
    let (o, n) = (&old.spec, &new.spec);
    if o.group != n.group {
        changes.push(
            "spec.group",
            ChangeKind::GroupChanged,
            format!("group changed from `{}` to `{}`", o.group, n.group),
        );
    }
    if o.names.kind != n.names.kind {
        changes.push(
            "spec.names.kind",
            ChangeKind::KindChanged,
            format!("kind changed from `{}` to `{}`", o.names.kind, n.names.kind),
        );
    }
    if o.scope != n.scope {
        changes.push(
            "spec.scope",
            ChangeKind::ScopeChanged,
            format!("scope changed from {} to {}", o.scope, n.scope),
        );
    }
    if o.names.short_names != n.names.short_names || o.names.categories != n.names.categories {
        changes.push(
            "spec.names",
            ChangeKind::PresentationChanged,
            "short names or categories changed".to_owned(),
        );
    }
    match (o.versions.first(), n.versions.first()) {
        (Some(ov), Some(nv)) => compare_versions(ov, nv, &mut changes),
        (Some(ov), None) => changes.push(
            "spec.versions",
            ChangeKind::VersionChanged,
            format!("version `{}` was removed", ov.name),
        ),
        _ => {}
    }
    changes.0
}

/// How many breaking changes [`summarize_breaking`] spells out.
const SUMMARY_SHOWN: usize = 3;

/// One line for a status condition: the first few breaking changes, then
/// how many more there are. `None` when no change is breaking.
pub fn summarize_breaking(changes: &[Change]) -> Option<String> {
    let breaking: Vec<&Change> = changes.iter().filter(|c| c.is_breaking()).collect();
    if breaking.is_empty() {
        return None;
    }
    let shown: Vec<String> = breaking
        .iter()
        .take(SUMMARY_SHOWN)
        .map(|c| c.to_string())
        .collect();
    let mut summary = format!("breaking changes: {}", shown.join("; "));
    if breaking.len() > SUMMARY_SHOWN {
        summary.push_str(&format!("; and {} more", breaking.len() - SUMMARY_SHOWN));
    }
    Some(summary)
}

fn compare_versions(
    old: &CustomResourceDefinitionVersion,
    new: &CustomResourceDefinitionVersion,
    changes: &mut Changes,
) {
    if old.name != new.name {
        changes.push(
            "spec.versions[0].name",
            ChangeKind::VersionChanged,
            format!("version changed from `{}` to `{}`", old.name, new.name),
        );
    }
    if old.served && !new.served {
        changes.push(
            "spec.versions[0].served",
            ChangeKind::VersionNoLongerServed,
            format!("version `{}` is no longer served", new.name),
        );
    }
    let had_status = old
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some());
    let has_status = new
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some());
    if had_status && !has_status {
        changes.push(
            "spec.versions[0].subresources.status",
            ChangeKind::StatusSubresourceRemoved,
            "the status subresource was removed".to_owned(),
        );
    }
    if old.additional_printer_columns != new.additional_printer_columns {
        changes.push(
            "spec.versions[0].additionalPrinterColumns",
            ChangeKind::PresentationChanged,
            "printer columns changed".to_owned(),
        );
    }
    let schema = |v: &CustomResourceDefinitionVersion| {
        v.schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.clone())
            .unwrap_or_default()
    };
    compare_schemas(&schema(old), &schema(new), "", changes);
}

/// All changes between two OpenAPI schemas; `path` is the path of the
/// schemas themselves (empty for a CRD root).
pub fn diff_schemas(old: &JSONSchemaProps, new: &JSONSchemaProps, path: &str) -> Vec<Change> {
    let mut changes = Changes::default();
    compare_schemas(old, new, path, &mut changes);
    changes.0
}

#[derive(Default)]
struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, path: &str, kind: ChangeKind, message: String) {
        let path = if path.is_empty() { "(root)" } else { path };
        self.0.push(Change {
            path: path.to_owned(),
            kind,
            message,
        });
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn type_name(schema: &JSONSchemaProps) -> &str {
    schema.type_.as_deref().unwrap_or("unspecified")
}

fn compare_schemas(
    old: &JSONSchemaProps,
    new: &JSONSchemaProps,
    path: &str,
    changes: &mut Changes,
) {
    if old.type_ != new.type_ {
        changes.push(
            path,
            ChangeKind::TypeChanged,
            format!("type changed from {} to {}", type_name(old), type_name(new)),
        );
        // Everything below a changed type is moot.
        return;
    }
    compare_node(old, new, path, changes);
    compare_properties(old, new, path, changes);
    match (&old.items, &new.items) {
        (Some(JSONSchemaPropsOrArray::Schema(o)), Some(JSONSchemaPropsOrArray::Schema(n))) => {
            compare_schemas(o, n, &format!("{path}[]"), changes);
        }
        (Some(_), None) => changes.push(
            path,
            ChangeKind::ItemsRemoved,
            "the list item schema was removed".to_owned(),
        ),
        _ => {}
    }
    if let (Some(JSONSchemaPropsOrBool::Schema(o)), Some(JSONSchemaPropsOrBool::Schema(n))) =
        (&old.additional_properties, &new.additional_properties)
    {
        compare_schemas(o, n, &format!("{path}[*]"), changes);
    }
}

/// What changed in one schema node of the same type, its children aside.
fn compare_node(old: &JSONSchemaProps, new: &JSONSchemaProps, path: &str, changes: &mut Changes) {
    if old.description != new.description {
        changes.push(
            path,
            ChangeKind::DescriptionChanged,
            "description changed".to_owned(),
        );
    }
    let old_preserve = old.x_kubernetes_preserve_unknown_fields == Some(true);
    let new_preserve = new.x_kubernetes_preserve_unknown_fields == Some(true);
    if old_preserve && !new_preserve {
        changes.push(
            path,
            ChangeKind::UnknownFieldsNoLongerPreserved,
            "no longer keeps unknown fields: fields not in the new schema will be dropped"
                .to_owned(),
        );
    } else if !old_preserve && new_preserve {
        changes.push(
            path,
            ChangeKind::UnknownFieldsPreserved,
            "now keeps unknown fields".to_owned(),
        );
    }
    compare_enums(old, new, path, changes);
    compare_patterns(old, new, path, changes);
    compare_bounds(old, new, path, changes);
    if old.x_kubernetes_validations != new.x_kubernetes_validations {
        changes.push(
            path,
            ChangeKind::ValidationRulesChanged,
            "validation rules changed (checked when objects are next written)".to_owned(),
        );
    }
    if old.x_kubernetes_list_type != new.x_kubernetes_list_type
        || old.x_kubernetes_list_map_keys != new.x_kubernetes_list_map_keys
    {
        changes.push(
            path,
            ChangeKind::ListTypeChanged,
            "list type or list map keys changed".to_owned(),
        );
    }
}

/// Fields removed, added, or kept (and then compared), in the order of the
/// old fields, then of the new ones.
fn compare_properties(
    old: &JSONSchemaProps,
    new: &JSONSchemaProps,
    path: &str,
    changes: &mut Changes,
) {
    let empty = Default::default();
    let old_props = old.properties.as_ref().unwrap_or(&empty);
    let new_props = new.properties.as_ref().unwrap_or(&empty);
    let required = |s: &JSONSchemaProps| -> BTreeSet<String> {
        s.required.iter().flatten().cloned().collect()
    };
    let (old_required, new_required) = (required(old), required(new));

    for (name, old_prop) in old_props {
        let at = child(path, name);
        match new_props.get(name) {
            Some(new_prop) => {
                let was_required = old_required.contains(name);
                let is_required = new_required.contains(name);
                compare_kept_field(old_prop, new_prop, was_required, is_required, &at, changes);
            }
            None => changes.push(
                &at,
                ChangeKind::FieldRemoved,
                "field was removed".to_owned(),
            ),
        }
    }
    for (name, new_prop) in new_props {
        if old_props.contains_key(name) {
            continue;
        }
        let at = child(path, name);
        if new_required.contains(name) && new_prop.default.is_none() {
            changes.push(
                &at,
                ChangeKind::RequiredFieldAdded,
                "new required field without a default: existing instances lack it".to_owned(),
            );
        } else {
            changes.push(
                &at,
                ChangeKind::OptionalFieldAdded,
                "field was added".to_owned(),
            );
        }
    }
}

/// A field in both schemas: whether it is required (before, after), its
/// default, then its schema.
fn compare_kept_field(
    old: &JSONSchemaProps,
    new: &JSONSchemaProps,
    was_required: bool,
    is_required: bool,
    at: &str,
    changes: &mut Changes,
) {
    if is_required && !was_required {
        changes.push(
            at,
            ChangeKind::BecameRequired,
            "field became required".to_owned(),
        );
    } else if !is_required && was_required {
        changes.push(
            at,
            ChangeKind::NoLongerRequired,
            "field is no longer required".to_owned(),
        );
    }
    if old.default != new.default {
        if is_required && old.default.is_some() && new.default.is_none() {
            changes.push(
                at,
                ChangeKind::DefaultRemovedFromRequired,
                "default removed from a required field: instances that relied on it become invalid"
                    .to_owned(),
            );
        } else {
            changes.push(at, ChangeKind::DefaultChanged, "default changed".to_owned());
        }
    }
    compare_schemas(old, new, at, changes);
}

fn compare_enums(old: &JSONSchemaProps, new: &JSONSchemaProps, path: &str, changes: &mut Changes) {
    let show = |values: &[&serde_json::Value]| {
        values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (&old.enum_, &new.enum_) {
        (Some(o), Some(n)) => {
            let removed: Vec<&serde_json::Value> =
                o.iter().filter(|v| !n.contains(v)).map(|v| &v.0).collect();
            let added: Vec<&serde_json::Value> =
                n.iter().filter(|v| !o.contains(v)).map(|v| &v.0).collect();
            if !removed.is_empty() {
                changes.push(
                    path,
                    ChangeKind::EnumNarrowed,
                    format!("enum values removed: {}", show(&removed)),
                );
            }
            if !added.is_empty() {
                changes.push(
                    path,
                    ChangeKind::EnumWidened,
                    format!("enum values added: {}", show(&added)),
                );
            }
        }
        (None, Some(n)) => {
            let values: Vec<&serde_json::Value> = n.iter().map(|v| &v.0).collect();
            changes.push(
                path,
                ChangeKind::EnumAdded,
                format!(
                    "values are now restricted to: {} (instances holding another value are \
                     refused on their next write)",
                    show(&values)
                ),
            );
        }
        (Some(_), None) => changes.push(
            path,
            ChangeKind::EnumWidened,
            "enum restriction removed".to_owned(),
        ),
        (None, None) => {}
    }
}

fn compare_patterns(
    old: &JSONSchemaProps,
    new: &JSONSchemaProps,
    path: &str,
    changes: &mut Changes,
) {
    match (&old.pattern, &new.pattern) {
        (o, Some(n)) if o.as_ref() != Some(n) => changes.push(
            path,
            ChangeKind::PatternTightened,
            match o {
                Some(o) => format!("pattern changed from `{o}` to `{n}`"),
                None => format!("pattern `{n}` added"),
            },
        ),
        (Some(o), None) => changes.push(
            path,
            ChangeKind::PatternRemoved,
            format!("pattern `{o}` removed"),
        ),
        _ => {}
    }
}

fn compare_bounds(old: &JSONSchemaProps, new: &JSONSchemaProps, path: &str, changes: &mut Changes) {
    // (name, old, new, whether a larger value is stricter)
    let bounds: [(&str, Option<f64>, Option<f64>, bool); 6] = [
        ("minimum", old.minimum, new.minimum, true),
        ("maximum", old.maximum, new.maximum, false),
        (
            "minLength",
            old.min_length.map(|v| v as f64),
            new.min_length.map(|v| v as f64),
            true,
        ),
        (
            "maxLength",
            old.max_length.map(|v| v as f64),
            new.max_length.map(|v| v as f64),
            false,
        ),
        (
            "minItems",
            old.min_items.map(|v| v as f64),
            new.min_items.map(|v| v as f64),
            true,
        ),
        (
            "maxItems",
            old.max_items.map(|v| v as f64),
            new.max_items.map(|v| v as f64),
            false,
        ),
    ];
    for (name, o, n, larger_is_stricter) in bounds {
        let message = match (o, n) {
            (None, Some(n)) => (ChangeKind::BoundTightened, format!("{name} {n} added")),
            (Some(o), None) => (ChangeKind::BoundRelaxed, format!("{name} {o} removed")),
            (Some(o), Some(n)) if o != n => {
                let stricter = (n > o) == larger_is_stricter;
                let kind = if stricter {
                    ChangeKind::BoundTightened
                } else {
                    ChangeKind::BoundRelaxed
                };
                (kind, format!("{name} changed from {o} to {n}"))
            }
            _ => continue,
        };
        changes.push(path, message.0, message.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance_crd::crd_from_rgd_schema;
    use serde_json::{Value, json};

    fn crd(schema: Value) -> CustomResourceDefinition {
        crd_from_rgd_schema(&schema, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn with_spec(spec: Value) -> CustomResourceDefinition {
        crd(json!({ "apiVersion": "v1alpha1", "kind": "App", "spec": spec }))
    }

    /// (path, kind, breaking) of every change.
    fn diff(old: Value, new: Value) -> Vec<(String, ChangeKind, bool)> {
        compare_crds(&with_spec(old), &with_spec(new))
            .into_iter()
            .map(|c| (c.path.clone(), c.kind, c.is_breaking()))
            .collect()
    }

    fn one(path: &str, kind: ChangeKind) -> Vec<(String, ChangeKind, bool)> {
        vec![(path.to_owned(), kind, kind.is_breaking())]
    }

    #[test]
    fn identical_crds_have_no_changes() {
        let spec = json!({ "a": "string | required=true", "b": { "c": "[]integer | maxItems=3" } });
        assert_eq!(diff(spec.clone(), spec), []);
    }

    #[test]
    fn removed_and_added_fields() {
        assert_eq!(
            diff(
                json!({ "a": "string", "b": "string" }),
                json!({ "a": "string" })
            ),
            one("spec.b", ChangeKind::FieldRemoved)
        );
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string", "b": "string" })
            ),
            one("spec.b", ChangeKind::OptionalFieldAdded)
        );
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string", "b": "string | required=true" })
            ),
            one("spec.b", ChangeKind::RequiredFieldAdded)
        );
        let changes = compare_crds(
            &with_spec(json!({ "a": "string" })),
            &with_spec(json!({ "a": "string", "b": "string | required=true" })),
        );
        assert!(changes[0].is_breaking());
        assert_eq!(
            changes[0].to_string(),
            "spec.b: new required field without a default: existing instances lack it"
        );
    }

    #[test]
    fn type_changes_stop_the_comparison_below() {
        assert_eq!(
            diff(json!({ "a": { "x": "string" } }), json!({ "a": "integer" })),
            one("spec.a", ChangeKind::TypeChanged)
        );
        assert_eq!(
            diff(json!({ "l": "[]string" }), json!({ "l": "[]integer" })),
            one("spec.l[]", ChangeKind::TypeChanged)
        );
        assert_eq!(
            diff(
                json!({ "m": "map[string]string" }),
                json!({ "m": "map[string]boolean" })
            ),
            one("spec.m[*]", ChangeKind::TypeChanged)
        );
    }

    #[test]
    fn required_changes() {
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | required=true" })
            ),
            one("spec.a", ChangeKind::BecameRequired)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | required=true" }),
                json!({ "a": "string" })
            ),
            one("spec.a", ChangeKind::NoLongerRequired)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | required=true default=x" }),
                json!({ "a": "string | required=true" })
            ),
            one("spec.a", ChangeKind::DefaultRemovedFromRequired)
        );
        assert_eq!(
            diff(
                json!({ "a": "integer | default=42" }),
                json!({ "a": "integer | default=52" })
            ),
            one("spec.a", ChangeKind::DefaultChanged)
        );
    }

    #[test]
    fn enums() {
        assert_eq!(
            diff(
                json!({ "a": "string | enum=\"x,y\"" }),
                json!({ "a": "string | enum=\"x\"" })
            ),
            one("spec.a", ChangeKind::EnumNarrowed)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | enum=\"x\"" }),
                json!({ "a": "string | enum=\"x,y\"" })
            ),
            one("spec.a", ChangeKind::EnumWidened)
        );
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | enum=\"x\"" })
            ),
            one("spec.a", ChangeKind::EnumAdded)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | enum=\"x\"" }),
                json!({ "a": "string" })
            ),
            one("spec.a", ChangeKind::EnumWidened)
        );
        let changes = compare_crds(
            &with_spec(json!({ "a": "integer | enum=\"1,2,3\"" })),
            &with_spec(json!({ "a": "integer | enum=\"1\"" })),
        );
        assert_eq!(changes[0].message, "enum values removed: 2, 3");
    }

    #[test]
    fn an_enum_on_a_field_that_had_none_is_listed_but_not_breaking() {
        let changes = compare_crds(
            &with_spec(json!({ "tier": "string" })),
            &with_spec(json!({ "tier": "string | enum=\"gold,silver\"" })),
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::EnumAdded);
        assert!(!changes[0].is_breaking());
        assert_eq!(
            changes[0].message,
            "values are now restricted to: \"gold\", \"silver\" (instances holding another value \
             are refused on their next write)"
        );
    }

    #[test]
    fn patterns_and_bounds() {
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | pattern=^a" })
            ),
            one("spec.a", ChangeKind::PatternTightened)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | pattern=^a" }),
                json!({ "a": "string | pattern=^b" })
            ),
            one("spec.a", ChangeKind::PatternTightened)
        );
        assert_eq!(
            diff(
                json!({ "a": "string | pattern=^a" }),
                json!({ "a": "string" })
            ),
            one("spec.a", ChangeKind::PatternRemoved)
        );
        assert_eq!(
            diff(
                json!({ "a": "integer | minimum=1" }),
                json!({ "a": "integer | minimum=2" })
            ),
            one("spec.a", ChangeKind::BoundTightened)
        );
        assert_eq!(
            diff(
                json!({ "a": "integer | maximum=10" }),
                json!({ "a": "integer | maximum=20" })
            ),
            one("spec.a", ChangeKind::BoundRelaxed)
        );
        assert_eq!(
            diff(
                json!({ "a": "integer | minimum=1 maximum=10" }),
                json!({ "a": "integer" })
            ),
            vec![
                ("spec.a".to_owned(), ChangeKind::BoundRelaxed, false),
                ("spec.a".to_owned(), ChangeKind::BoundRelaxed, false),
            ]
        );
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | maxLength=5" })
            ),
            one("spec.a", ChangeKind::BoundTightened)
        );
        assert_eq!(
            diff(
                json!({ "a": "[]string | minItems=2" }),
                json!({ "a": "[]string | minItems=1" })
            ),
            one("spec.a", ChangeKind::BoundRelaxed)
        );
        assert_eq!(
            diff(
                json!({ "a": "[]string" }),
                json!({ "a": "[]string | maxItems=1" })
            ),
            one("spec.a", ChangeKind::BoundTightened)
        );
    }

    #[test]
    fn non_breaking_annotations() {
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | description=hi" })
            ),
            one("spec.a", ChangeKind::DescriptionChanged)
        );
        assert_eq!(
            diff(
                json!({ "a": "string" }),
                json!({ "a": "string | immutable=true" })
            ),
            one("spec.a", ChangeKind::ValidationRulesChanged)
        );
        assert_eq!(
            diff(
                json!({ "a": "[]string" }),
                json!({ "a": "[]string | listType=set" })
            ),
            one("spec.a", ChangeKind::ListTypeChanged)
        );
    }

    #[test]
    fn schemaless_objects_becoming_structured_is_breaking() {
        let changes = diff(json!({ "o": "object" }), json!({ "o": { "x": "string" } }));
        assert_eq!(
            changes,
            vec![
                (
                    "spec.o".to_owned(),
                    ChangeKind::UnknownFieldsNoLongerPreserved,
                    true
                ),
                ("spec.o.x".to_owned(), ChangeKind::OptionalFieldAdded, false),
            ]
        );
    }

    #[test]
    fn crd_level_changes() {
        let base = json!({ "apiVersion": "v1alpha1", "kind": "App" });
        let changed = |patch: Value| {
            let mut schema = base.clone();
            if let (Value::Object(s), Value::Object(p)) = (&mut schema, patch) {
                s.extend(p);
            }
            compare_crds(&crd(base.clone()), &crd(schema))
                .into_iter()
                .map(|c| (c.path, c.kind, c.kind.is_breaking()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            changed(json!({ "group": "other.io" })),
            vec![("spec.group".to_owned(), ChangeKind::GroupChanged, true)]
        );
        assert_eq!(
            changed(json!({ "scope": "Cluster" })),
            vec![("spec.scope".to_owned(), ChangeKind::ScopeChanged, true)]
        );
        assert_eq!(
            changed(json!({ "kind": "Web" })),
            vec![("spec.names.kind".to_owned(), ChangeKind::KindChanged, true)]
        );
        assert_eq!(
            changed(json!({ "apiVersion": "v1" })),
            vec![(
                "spec.versions[0].name".to_owned(),
                ChangeKind::VersionChanged,
                true
            )]
        );
        assert_eq!(
            changed(json!({ "shortNames": ["ap"] })),
            vec![(
                "spec.names".to_owned(),
                ChangeKind::PresentationChanged,
                false
            )]
        );
        assert_eq!(
            changed(
                json!({ "additionalPrinterColumns": [{ "name": "X", "type": "string", "jsonPath": ".spec.x" }] })
            ),
            vec![(
                "spec.versions[0].additionalPrinterColumns".to_owned(),
                ChangeKind::PresentationChanged,
                false
            )]
        );
    }

    #[test]
    fn breaking_changes_are_summarised() {
        let changes = compare_crds(
            &with_spec(
                json!({ "a": "string", "b": "string", "c": "string", "d": "string", "e": "string" }),
            ),
            &with_spec(json!({ "f": "string" })),
        );
        assert_eq!(
            summarize_breaking(&changes).as_deref(),
            Some(
                "breaking changes: spec.a: field was removed; spec.b: field was removed; \
                 spec.c: field was removed; and 2 more"
            )
        );
        let harmless = compare_crds(
            &with_spec(json!({ "a": "string" })),
            &with_spec(json!({ "a": "string", "b": "string" })),
        );
        assert_eq!(harmless.len(), 1);
        assert_eq!(summarize_breaking(&harmless), None);
    }

    #[test]
    fn served_and_status_subresource() {
        let old = crd(json!({ "apiVersion": "v1", "kind": "App" }));
        let mut new = old.clone();
        new.spec.versions[0].served = false;
        new.spec.versions[0].subresources = None;
        let kinds: Vec<ChangeKind> = compare_crds(&old, &new)
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::VersionNoLongerServed,
                ChangeKind::StatusSubresourceRemoved
            ]
        );
    }

    #[test]
    fn status_schema_changes_count_too() {
        let old = crd(json!({ "apiVersion": "v1", "kind": "App" }));
        let mut new = old.clone();
        let root = new.spec.versions[0]
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .expect("schema");
        let status = root
            .properties
            .as_mut()
            .and_then(|p| p.get_mut("status"))
            .expect("status");
        status.properties.as_mut().expect("props").remove("state");
        assert_eq!(
            compare_crds(&old, &new)
                .into_iter()
                .map(|c| (c.path, c.kind))
                .collect::<Vec<_>>(),
            [("status.state".to_owned(), ChangeKind::FieldRemoved)]
        );
    }
}
