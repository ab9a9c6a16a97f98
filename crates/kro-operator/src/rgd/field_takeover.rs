//! Taking over the fields of an instance CRD that another kro wrote, such
//! as upstream kro before a cluster switched to us.
//!
//! Server-side apply removes only fields the applier owned and stopped
//! sending. A CRD created or merge-patched by upstream is owned by upstream's
//! field manager: the schema is replaced whole by our apply (the API server
//! treats it as one value), but a label or annotation upstream copied from
//! the RGD's `schema.metadata` would stay upstream's, and stay on the CRD
//! after the RGD drops it. Before our first apply, the CRD's field
//! ownership is therefore handed to our manager, as `kubectl` does when it
//! upgrades client-side-applied objects: afterwards the CRD holds exactly
//! what we apply. A CRD we have applied before is left as it is, so fields
//! that others add later stay theirs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use serde_json::{Map, Value, json};

/// The merge patch that hands the main resource's fields of `existing` to
/// `manager` as an apply, or `None` when `manager` applied it before or
/// nobody else owns any of it. The patch carries the resource version, so
/// it is refused if the CRD changed since it was read.
pub fn takeover_patch(existing: &CustomResourceDefinition, manager: &str) -> Option<Value> {
    let entries = existing
        .metadata
        .managed_fields
        .as_deref()
        .unwrap_or_default();
    let (main, subresources): (Vec<&ManagedFieldsEntry>, Vec<&ManagedFieldsEntry>) = entries
        .iter()
        .partition(|entry| entry.subresource.as_deref().unwrap_or_default().is_empty());
    let applied_by_us = main.iter().any(|entry| {
        entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some("Apply")
    });
    let foreign = main
        .iter()
        .any(|entry| entry.manager.as_deref() != Some(manager));
    if applied_by_us || !foreign {
        return None;
    }
    let mut owned = Value::Object(Map::new());
    for entry in &main {
        if let Some(FieldsV1(fields)) = &entry.fields_v1 {
            union(&mut owned, fields);
        }
    }
    let ours = ManagedFieldsEntry {
        api_version: Some("apiextensions.k8s.io/v1".to_owned()),
        fields_type: Some("FieldsV1".to_owned()),
        fields_v1: Some(FieldsV1(owned)),
        manager: Some(manager.to_owned()),
        operation: Some("Apply".to_owned()),
        subresource: None,
        time: main.iter().filter_map(|entry| entry.time.clone()).max(),
    };
    let mut managed_fields = vec![ours];
    managed_fields.extend(subresources.into_iter().cloned());
    Some(json!({
        "metadata": {
            "resourceVersion": existing.metadata.resource_version,
            "managedFields": managed_fields,
        }
    }))
}

/// Adds the field set `more` to `into`. Field sets are trees of objects
/// (`{"f:spec": {"f:group": {}}}`), so their union is a deep merge.
fn union(into: &mut Value, more: &Value) {
    let (Value::Object(into), Value::Object(more)) = (into, more) else {
        return;
    };
    for (key, subtree) in more {
        match into.get_mut(key) {
            Some(existing) => union(existing, subtree),
            None => {
                into.insert(key.clone(), subtree.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(entries: Value) -> CustomResourceDefinition {
        serde_json::from_value(json!({
            "metadata": { "name": "webs.kro.run", "resourceVersion": "42", "managedFields": entries },
            "spec": { "group": "kro.run", "scope": "Namespaced",
                "names": { "kind": "Web", "plural": "webs" }, "versions": [] }
        }))
        .expect("a CRD")
    }

    fn entry(manager: &str, operation: &str, subresource: Option<&str>, fields: Value) -> Value {
        let mut entry = json!({ "manager": manager, "operation": operation,
            "apiVersion": "apiextensions.k8s.io/v1", "fieldsType": "FieldsV1", "fieldsV1": fields });
        if let Some(subresource) = subresource {
            entry["subresource"] = json!(subresource);
        }
        entry
    }

    #[test]
    fn upstreams_fields_become_ours_and_the_status_owner_stays() {
        let existing = crd(json!([
            entry(
                "kro",
                "Update",
                None,
                json!({ "f:spec": { "f:group": {}, "f:versions": {} } })
            ),
            entry(
                "kro",
                "Update",
                None,
                json!({ "f:metadata": { "f:labels": { "f:kro.run/owned": {} } },
                "f:spec": { "f:scope": {} } })
            ),
            entry(
                "kube-apiserver",
                "Update",
                Some("status"),
                json!({ "f:status": {} })
            ),
        ]));
        let patch = takeover_patch(&existing, "kro.run/operator").expect("a takeover");
        assert_eq!(patch["metadata"]["resourceVersion"], "42");
        let managed = patch["metadata"]["managedFields"]
            .as_array()
            .expect("entries");
        assert_eq!(managed.len(), 2, "{managed:?}");
        assert_eq!(managed[0]["manager"], "kro.run/operator");
        assert_eq!(managed[0]["operation"], "Apply");
        assert_eq!(
            managed[0]["fieldsV1"],
            json!({ "f:metadata": { "f:labels": { "f:kro.run/owned": {} } },
                "f:spec": { "f:group": {}, "f:versions": {}, "f:scope": {} } })
        );
        assert_eq!(managed[1]["manager"], "kube-apiserver");
        assert_eq!(managed[1]["subresource"], "status");
    }

    #[test]
    fn a_crd_we_applied_or_nobody_else_touched_is_left_alone() {
        let ours = entry("kro.run/operator", "Apply", None, json!({ "f:spec": {} }));
        let edit = entry(
            "kubectl-edit",
            "Update",
            None,
            json!({ "f:spec": { "f:x": {} } }),
        );
        assert_eq!(
            takeover_patch(&crd(json!([ours.clone(), edit])), "kro.run/operator"),
            None
        );
        assert_eq!(
            takeover_patch(&crd(json!([ours])), "kro.run/operator"),
            None
        );
        let status_only = entry("kube-apiserver", "Update", Some("status"), json!({}));
        assert_eq!(
            takeover_patch(&crd(json!([status_only])), "kro.run/operator"),
            None
        );
    }
}
