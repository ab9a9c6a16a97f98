//! The apply step of a pass: apply the desired objects and judge readiness
//! on what the API server stored. The ApplySet around it (the inventory
//! widened before, the pruning after) is `applyset`'s.

use std::collections::BTreeMap;

use kro_cel::Value;
use kro_graph::api::field_managers;
use kro_graph::builder::NodeKind;
use serde_json::Value as Json;

use super::applyset;
use super::outcome::{NodeReport, ReconcileError, Requeue};
use super::pass::Pass;
use super::readiness;
use super::unchanged::{is_unchanged, stamp};
use super::walk::{NodeRun, Walked};
use crate::cluster::{Cluster, ResourceType};
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

    let inventories = applyset::widen(pass, &nodes).await?;

    let mut mutated = false;
    let mut live_uids = external_uids;
    for node in nodes.iter_mut().filter(|n| n.rendered) {
        let mut stored = Vec::with_capacity(node.desired.len());
        for desired in &mut node.desired {
            stamp(&mut desired.object);
            pass.outcome.desired.push(desired.object.clone());
            if let Some(reason) = applyset::other_applyset(desired.current.as_ref(), pass) {
                node.state = NodeState::Error;
                node.reason = Some(format!("{}: {reason}", desired.key));
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
        judge_stored(pass, node, &stored, &mut bindings, &mut evaluations);
        pass.outcome.cel_evaluations += evaluations;
    }

    // An apply that failed left its resource in error.
    if nodes.iter().any(|n| n.state == NodeState::Error) {
        requeue = Requeue::Backoff;
    } else if pending || !applyset::prune(pass, &inventories, &nodes, &live_uids).await? {
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

fn changed(before: Option<&Json>, after: &Json) -> bool {
    let version = |o: &Json| o["metadata"]["resourceVersion"].clone();
    before.is_none_or(|before| version(before) != version(after))
}

/// Binds a rendered node's objects as stored, for the status, and judges
/// its readiness on them.
fn judge_stored<C: Cluster>(
    pass: &Pass<'_, C>,
    node: &mut NodeRun,
    stored: &[Json],
    bindings: &mut BTreeMap<String, Value>,
    evaluations: &mut usize,
) {
    let Some(resource) = pass.graph.resource(&node.id) else {
        return;
    };
    let bound = match node.kind {
        NodeKind::Collection => Some(Value::list(
            stored.iter().map(|o| resource.types.value_of(o)).collect(),
        )),
        _ => stored.first().map(|object| resource.types.value_of(object)),
    };
    if let Some(bound) = bound {
        bindings.insert(node.id.clone(), bound);
    }
    node.judge(readiness::of(
        resource,
        stored.iter().map(Some),
        bindings,
        evaluations,
    ));
}
