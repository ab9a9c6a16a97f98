//! The children of an instance as its ApplySet finds them (by label, in
//! the inventory's kinds and namespaces), their deletion or release, and
//! pruning (each pruned member disposed of as its deletion policy says).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_graph::api::metadata::{self, CHILD_ANNOTATIONS, CHILD_LABELS, GroupKind};
use kro_graph::api::{DeletionPolicy, field_managers};
use kro_graph::builder::GraphResource;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::inventory::{Inventories, Inventory, annotations_of, record};
use crate::cluster::{Cluster, Deleted, ListScope, ObjectKey, ResourceType, Stripped};
use crate::reconcile::outcome::ReconcileError;
use crate::reconcile::ownership::deletion_policy;
use crate::reconcile::pass::Pass;
use crate::reconcile::walk::NodeRun;

/// Disposes of the members this pass did not apply (`live_uids` holds
/// those it applied or read: deleted, released or kept as their deletion
/// policy says), when there can be any, then shrinks the inventory to
/// what the pass rendered. Returns false when an object was recreated
/// meanwhile (its UID changed) and pruning must be tried again.
pub(in crate::reconcile) async fn prune<C: Cluster>(
    pass: &mut Pass<'_, C>,
    inventories: &Inventories,
    nodes: &[NodeRun],
    live_uids: &BTreeSet<String>,
) -> Result<bool, ReconcileError> {
    if !prune_needed(pass, inventories, nodes) {
        // The same children as after the last complete prune: nothing can
        // have become an orphan, and the lists are skipped.
        return Ok(true);
    }
    if !delete_orphans(pass, &inventories.projected, nodes, live_uids).await? {
        return Ok(false);
    }
    pass.applied_set = Some(applied_set_hash(nodes));
    record(pass, &inventories.rendered).await?;
    Ok(true)
}

/// A hash of the identities of every object rendered in this pass.
fn applied_set_hash(nodes: &[NodeRun]) -> String {
    let mut keys: Vec<String> = nodes
        .iter()
        .flat_map(|n| &n.desired)
        .map(|d| d.key.to_string())
        .collect();
    keys.sort();
    format!(
        "sha256:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(keys.join("\n").as_bytes()))
    )
}

/// Whether this pass must look for orphans: only objects rendered before
/// and not now can be orphans, so a pass rendering exactly the set the
/// last complete prune left (recorded on the instance), with an inventory
/// already shrunk to it, has none.
fn prune_needed<C: Cluster>(
    pass: &Pass<'_, C>,
    inventories: &Inventories,
    nodes: &[NodeRun],
) -> bool {
    // Compared as written: the parent's own namespace is not recorded.
    annotations_of(pass, &inventories.recorded) != annotations_of(pass, &inventories.rendered)
        || pass.applied_set.as_deref() != Some(applied_set_hash(nodes).as_str())
}

/// Disposes of the ApplySet members that were not applied in this pass,
/// each as its deletion policy says, in reverse topological order of the
/// resource that made them. Returns false when an object was recreated
/// meanwhile.
async fn delete_orphans<C: Cluster>(
    pass: &mut Pass<'_, C>,
    inventory: &Inventory,
    nodes: &[NodeRun],
    live_uids: &BTreeSet<String>,
) -> Result<bool, ReconcileError> {
    let mut orphans: Vec<(ObjectKey, Json, Option<String>)> = members(pass, inventory, nodes)
        .await?
        .into_iter()
        .filter(|(_, object)| {
            object["metadata"]["uid"]
                .as_str()
                .is_some_and(|uid| !live_uids.contains(uid))
        })
        .map(|(key, object)| {
            let node = object["metadata"]["labels"][metadata::NODE_ID]
                .as_str()
                .map(str::to_owned);
            (key, object, node)
        })
        .collect();
    // Unknown resource ids first, then dependents before dependencies.
    let position = |node: &Option<String>| {
        node.as_ref()
            .and_then(|id| pass.graph.topological_order.iter().position(|o| o == id))
            .map_or(usize::MAX, |p| p)
    };
    orphans.sort_by_key(|(key, _, node)| (std::cmp::Reverse(position(node)), key.clone()));
    let mut complete = true;
    for (key, object, _) in orphans {
        complete &= dispose(pass, &key, &object).await?;
    }
    Ok(complete)
}

/// Deletes one child if its UID is still `uid`; false when it was
/// recreated meanwhile.
pub(in crate::reconcile) async fn delete<C: Cluster>(
    pass: &mut Pass<'_, C>,
    key: &ObjectKey,
    uid: &str,
) -> Result<bool, ReconcileError> {
    let deleted = pass
        .cluster
        .delete(key, uid)
        .await
        .map_err(|e| pass.cluster_error(format!("delete {key}"), e))?;
    Ok(match deleted {
        Deleted::Yes => {
            pass.outcome.writes += 1;
            pass.outcome.deleted.push(key.clone());
            true
        }
        Deleted::AlreadyGone => true,
        Deleted::UidChanged => false,
    })
}

/// Disposes of a member that is to go, as its deletion policy says.
/// Returns false when it was recreated meanwhile (its UID changed).
async fn dispose<C: Cluster>(
    pass: &mut Pass<'_, C>,
    key: &ObjectKey,
    object: &Json,
) -> Result<bool, ReconcileError> {
    let uid = object["metadata"]["uid"].as_str().unwrap_or_default();
    match deletion_policy(object) {
        DeletionPolicy::Delete => delete(pass, key, uid).await,
        DeletionPolicy::Orphan => release(pass, key, uid).await,
        DeletionPolicy::Retain => Ok(true),
    }
}

/// Removes kro's labels and annotations from a member (if its UID is still
/// `uid`): it is no longer a member, so neither pruning nor the deletion
/// of any instance will find it again. Returns false when it was
/// recreated meanwhile.
pub(in crate::reconcile) async fn release<C: Cluster>(
    pass: &mut Pass<'_, C>,
    key: &ObjectKey,
    uid: &str,
) -> Result<bool, ReconcileError> {
    let stripped = pass
        .cluster
        .strip_metadata(
            key,
            uid,
            &CHILD_LABELS,
            &CHILD_ANNOTATIONS,
            field_managers::INSTANCE_METADATA,
        )
        .await
        .map_err(|e| pass.cluster_error(format!("release {key}"), e))?;
    Ok(match stripped {
        Stripped::Yes => {
            pass.outcome.writes += 1;
            pass.outcome.released.push(key.clone());
            true
        }
        Stripped::AlreadyGone => true,
        Stripped::UidChanged => false,
    })
}

/// Every member of the instance's ApplySet in the inventory's kinds and
/// namespaces, found by the `applyset.kubernetes.io/part-of` label.
pub(in crate::reconcile) async fn members<C: Cluster>(
    pass: &Pass<'_, C>,
    inventory: &Inventory,
    nodes: &[NodeRun],
) -> Result<Vec<(ObjectKey, Json)>, ReconcileError> {
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([(
            metadata::APPLYSET_PART_OF.to_owned(),
            pass.identity.applyset_id(),
        )])),
        ..LabelSelector::default()
    };
    let mut found = Vec::new();
    for group_kind in &inventory.group_kinds {
        let Some(resource) = find_type(pass, nodes, group_kind).await? else {
            continue;
        };
        let namespaces = member_namespaces(pass, inventory, &resource);
        for namespace in namespaces {
            let scope = match &namespace {
                Some(namespace) => ListScope::Namespace(namespace),
                None => ListScope::AllNamespaces,
            };
            let listed = pass
                .cluster
                .list(&resource, scope, &selector)
                .await
                .map_err(|e| {
                    pass.cluster_error(format!("list the members of kind {resource}"), e)
                })?;
            for object in listed {
                let key = ObjectKey {
                    resource: resource.clone(),
                    namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
                    name: object["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                };
                found.push((key, object));
            }
        }
    }
    Ok(found)
}

/// Where members of type `resource` may be: the instance's namespace (or
/// `default`) and the inventory's others for namespaced kinds; everywhere
/// for the others.
fn member_namespaces<C: Cluster>(
    pass: &Pass<'_, C>,
    inventory: &Inventory,
    resource: &ResourceType,
) -> Vec<Option<String>> {
    if !resource.namespaced {
        return vec![None];
    }
    let parent = pass
        .identity
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let others = inventory.namespaces.iter().filter(|n| **n != parent);
    std::iter::once(&parent)
        .chain(others)
        .cloned()
        .map(Some)
        .collect()
}

/// The type of a recorded group-kind: from the graph when it names it,
/// otherwise from the cluster (the RGD may have dropped the resource).
async fn find_type<C: Cluster>(
    pass: &Pass<'_, C>,
    nodes: &[NodeRun],
    group_kind: &GroupKind,
) -> Result<Option<ResourceType>, ReconcileError> {
    let known = nodes
        .iter()
        .filter_map(|n| pass.graph.resource(&n.id))
        .chain(&pass.graph.resources)
        .map(GraphResource::resource_type)
        .find(|t| t.gvk.group == group_kind.group && t.gvk.kind == group_kind.kind);
    if let Some(known) = known {
        return Ok(Some(known.clone()));
    }
    pass.cluster
        .find_type(&group_kind.group, &group_kind.kind)
        .await
        .map_err(|e| pass.cluster_error(format!("find the type of {group_kind}"), e))
}
