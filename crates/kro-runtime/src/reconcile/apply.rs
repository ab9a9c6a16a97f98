//! The apply step of a pass: record the inventory, apply the desired
//! objects, judge readiness on what the API server stored, and prune what
//! the instance no longer renders.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_cel::Value;
use kro_graph::api::field_managers;
use kro_graph::api::metadata::{self, GroupKind};
use kro_graph::builder::{GraphResource, NodeKind};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::instance::{Inventory, Pass};
use super::unchanged::{is_unchanged, stamp};
use super::walk::{NodeRun, Walked, collection_ready, ready_when_holds};
use super::{NodeReport, ReconcileError, Requeue};
use crate::cluster::{Cluster, Deleted, ListScope, ObjectKey, ResourceType};
use crate::state::NodeState;

/// What the status step needs from the walk and the applies.
pub(super) struct Applied {
    pub nodes: Vec<NodeRun>,
    /// `schema`, `runtime` and every resource as now stored.
    pub bindings: BTreeMap<String, Value>,
    /// A child is being deleted by someone else.
    pub child_deleting: Option<String>,
}

pub(super) async fn run<C: Cluster>(
    pass: &mut Pass<'_, C>,
    walked: Walked,
) -> Result<Applied, ReconcileError> {
    let Walked {
        mut nodes,
        pending,
        child_deleting,
        external_uids,
        mut bindings,
    } = walked;
    let mut requeue = Requeue::None;
    if child_deleting.is_some() {
        pass.outcome.requeue = Requeue::After(pass.options.requeue_interval);
        pass.outcome.nodes = reports(&nodes);
        return Ok(Applied {
            nodes,
            bindings,
            child_deleting,
        });
    }
    if mark_conflicts(&mut nodes) {
        pass.outcome.requeue = Requeue::Backoff;
        pass.outcome.nodes = reports(&nodes);
        return Ok(Applied {
            nodes,
            bindings,
            child_deleting,
        });
    }

    // The inventory must name every kind and namespace before objects of
    // them exist: a crash after the apply must not hide them from pruning
    // and deletion.
    let recorded = pass.recorded_inventory().ok().flatten().unwrap_or_default();
    let rendered = inventory_of(&nodes);
    let projected = Inventory {
        group_kinds: &recorded.group_kinds | &rendered.group_kinds,
        namespaces: &recorded.namespaces | &rendered.namespaces,
    };
    pass.write_metadata(&projected).await?;

    let mut mutated = false;
    let mut failed = false;
    let mut live_uids = external_uids;
    for node in nodes.iter_mut().filter(|n| n.rendered) {
        let mut stored = Vec::with_capacity(node.desired.len());
        for desired in &mut node.desired {
            stamp(&mut desired.object);
            pass.outcome.desired.push(desired.object.clone());
            if let Some(reason) = other_applyset(desired.current.as_ref(), pass) {
                node.state = NodeState::Error;
                node.reason = Some(format!("{}: {reason}", desired.key));
                failed = true;
                continue;
            }
            let result = match &desired.current {
                Some(current) if is_unchanged(&desired.object, current) => current.clone(),
                _ => {
                    let applied = pass
                        .cluster
                        .apply(
                            &desired.key.resource,
                            &desired.object,
                            field_managers::CHILDREN,
                        )
                        .await;
                    pass.outcome.writes += 1;
                    match applied {
                        Ok(applied) => {
                            pass.outcome.applied.push(desired.object.clone());
                            mutated |= changed(desired.current.as_ref(), &applied);
                            applied
                        }
                        Err(error) => {
                            node.state = NodeState::Error;
                            node.reason = Some(format!("apply {}: {error}", desired.key));
                            failed = true;
                            continue;
                        }
                    }
                }
            };
            if let Some(uid) = result["metadata"]["uid"].as_str() {
                live_uids.insert(uid.to_owned());
            }
            stored.push(result);
        }
        if node.state == NodeState::Error {
            continue;
        }
        let mut evaluations = 0;
        judge_readiness(pass, node, &stored, &mut bindings, &mut evaluations);
        pass.outcome.cel_evaluations += evaluations;
    }

    if pending || failed || nodes.iter().any(|n| n.state == NodeState::Error) {
        requeue = if failed || nodes.iter().any(|n| n.state == NodeState::Error) {
            Requeue::Backoff
        } else {
            Requeue::After(pass.options.requeue_interval)
        };
    } else if !prune_needed(pass, &recorded, &rendered, &nodes) {
        // The same children as after the last complete prune: nothing can
        // have become an orphan, and the lists are skipped.
    } else if prune(pass, &projected, &nodes, &live_uids).await? {
        pass.applied_set = Some(applied_set_hash(&nodes));
        pass.write_metadata(&rendered).await?;
    } else {
        requeue = Requeue::After(pass.options.requeue_interval);
    }
    if requeue == Requeue::None && mutated {
        requeue = Requeue::After(pass.options.requeue_interval);
    }
    pass.outcome.requeue = requeue;
    pass.outcome.nodes = reports(&nodes);
    Ok(Applied {
        nodes,
        bindings,
        child_deleting,
    })
}

fn reports(nodes: &[NodeRun]) -> Vec<NodeReport> {
    nodes
        .iter()
        .map(|n| NodeReport {
            id: n.id.clone(),
            state: n.state,
            reason: n.reason.clone(),
        })
        .collect()
}

/// Two resources rendering the same object would fight over it on every
/// pass: both are failed instead. Returns whether there was a conflict.
fn mark_conflicts(nodes: &mut [NodeRun]) -> bool {
    // Keyed name first: names differ early, types rarely do.
    type Identity<'a> = (&'a str, &'a Option<String>, &'a ResourceType);
    let mut owners: BTreeMap<Identity<'_>, &str> = BTreeMap::new();
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for node in nodes.iter() {
        for desired in &node.desired {
            let key = &desired.key;
            let identity = (key.name.as_str(), &key.namespace, &key.resource);
            match owners.get(&identity) {
                Some(owner) if *owner != node.id => {
                    conflicts.push(((*owner).to_owned(), node.id.clone()))
                }
                _ => {
                    owners.insert(identity, &node.id);
                }
            }
        }
    }
    if conflicts.is_empty() {
        return false;
    }
    let message = conflicts
        .iter()
        .map(|(a, b)| format!("resourceID: {a} conflicts with resourceID: {b}"))
        .collect::<Vec<_>>()
        .join(", ");
    for node in nodes.iter_mut() {
        if conflicts
            .iter()
            .any(|(a, b)| *a == node.id || *b == node.id)
        {
            node.state = NodeState::Error;
            node.reason = Some(format!("found resources with conflicts: {message}"));
        }
    }
    true
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
    recorded: &Inventory,
    rendered: &Inventory,
    nodes: &[NodeRun],
) -> bool {
    // Compared as written: the parent's own namespace is not recorded.
    pass.inventory_annotations(recorded) != pass.inventory_annotations(rendered)
        || pass.applied_set.as_deref() != Some(applied_set_hash(nodes).as_str())
}

/// The kinds and namespaces of everything rendered in this pass.
fn inventory_of(nodes: &[NodeRun]) -> Inventory {
    let mut inventory = Inventory::default();
    for desired in nodes.iter().flat_map(|n| &n.desired) {
        inventory.group_kinds.insert(GroupKind {
            group: desired.key.resource.gvk.group.clone(),
            kind: desired.key.resource.gvk.kind.clone(),
        });
        if let Some(namespace) = &desired.key.namespace {
            inventory.namespaces.insert(namespace.clone());
        }
    }
    inventory
}

/// Why an existing object may not be taken over: it belongs to another
/// ApplySet (objects without the label are adopted).
fn other_applyset<C: Cluster>(current: Option<&Json>, pass: &Pass<'_, C>) -> Option<String> {
    let label = current?["metadata"]["labels"][metadata::APPLYSET_PART_OF].as_str()?;
    (label != pass.identity.applyset_id())
        .then(|| format!("resource belongs to a different ApplySet ({label}); it is left alone"))
}

fn changed(before: Option<&Json>, after: &Json) -> bool {
    let version = |o: &Json| o["metadata"]["resourceVersion"].clone();
    before.is_none_or(|before| version(before) != version(after))
}

/// Sets a rendered node's state from the objects as stored, and binds them
/// for the status.
fn judge_readiness<C: Cluster>(
    pass: &Pass<'_, C>,
    node: &mut NodeRun,
    stored: &[Json],
    bindings: &mut BTreeMap<String, Value>,
    evaluations: &mut usize,
) {
    let Some(resource) = pass.graph.resource(&node.id) else {
        return;
    };
    let ready = match node.kind {
        NodeKind::Collection => {
            bindings.insert(
                node.id.clone(),
                Value::list(stored.iter().map(|o| resource.types.value_of(o)).collect()),
            );
            collection_ready(resource, stored.iter().map(Some), bindings, evaluations)
        }
        _ => match stored.first() {
            Some(object) => {
                bindings.insert(node.id.clone(), resource.types.value_of(object));
                ready_when_holds(resource, bindings, None, evaluations)
            }
            None => Ok(false),
        },
    };
    match ready {
        Ok(true) => {
            node.state = NodeState::Synced;
            node.reason = None;
        }
        Ok(false) => {
            node.state = NodeState::WaitingForReadiness;
            node.reason = Some(format!("readyWhen of {:?} does not hold yet", node.id));
        }
        Err(error) => {
            node.state = NodeState::Error;
            node.reason = Some(error);
        }
    }
}

/// Deletes the ApplySet members that were not applied in this pass, in
/// reverse topological order of the resource that made them. Returns false
/// when an object was recreated meanwhile (its UID changed) and pruning
/// must be tried again.
async fn prune<C: Cluster>(
    pass: &mut Pass<'_, C>,
    inventory: &Inventory,
    nodes: &[NodeRun],
    live_uids: &BTreeSet<String>,
) -> Result<bool, ReconcileError> {
    let mut orphans: Vec<(ObjectKey, String, Option<String>)> = members(pass, inventory, nodes)
        .await?
        .into_iter()
        .filter_map(|(key, object)| {
            let uid = object["metadata"]["uid"].as_str()?;
            let node = object["metadata"]["labels"][metadata::NODE_ID]
                .as_str()
                .map(str::to_owned);
            (!live_uids.contains(uid)).then(|| (key, uid.to_owned(), node))
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
    for (key, uid, _) in orphans {
        complete &= delete(pass, &key, &uid).await?;
    }
    Ok(complete)
}

/// Deletes one child if its UID is still `uid`; false when it was
/// recreated meanwhile.
pub(super) async fn delete<C: Cluster>(
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

/// Every member of the instance's ApplySet in the inventory's kinds and
/// namespaces, found by the `applyset.kubernetes.io/part-of` label.
pub(super) async fn members<C: Cluster>(
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
        let namespaces: Vec<Option<String>> = if resource.namespaced {
            let parent = pass
                .identity
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned());
            std::iter::once(parent.clone())
                .chain(
                    inventory
                        .namespaces
                        .iter()
                        .filter(|n| **n != parent)
                        .cloned(),
                )
                .map(Some)
                .collect()
        } else {
            vec![None]
        };
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

/// The type of a recorded group-kind: from the graph when it names it,
/// otherwise from the cluster (the RGD may have dropped the resource).
pub(super) async fn find_type<C: Cluster>(
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
