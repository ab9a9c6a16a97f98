//! The apply step of a pass: apply the desired objects and judge readiness
//! on what the API server stored. The ApplySet around it (the inventory
//! widened before, the pruning after) is `applyset`'s. Every object that
//! reaches it was claimed by the walk (`ownership::claim`): it did not
//! exist, or it is the instance's, or its resource may adopt it. Members
//! the walk read through an `externalRef` are released first.

use std::collections::{BTreeMap, BTreeSet};

use kro_cel::{Allowance, Value};
use kro_graph::api::field_managers;
use kro_graph::builder::{Graph, NodeKind};
use serde_json::Value as Json;

use super::applyset;
use super::outcome::{NodeReport, ReconcileError, Requeue};
use super::pass::Pass;
use super::readiness;
use super::unchanged::{is_unchanged, stamp};
use super::walk::{DesiredObject, NodeRun, Walked};
use crate::cluster::{Cluster, ObjectKey, ResourceType};
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
        members_read,
        mut bindings,
    } = walked;
    release_members_read(pass, &nodes, members_read).await?;
    pass.outcome.requeue = if child_deleting.is_some() {
        // Applying now could recreate the child half-way through.
        Requeue::After(pass.options.requeue_interval)
    } else if mark_conflicts(&mut nodes) {
        Requeue::Backoff
    } else {
        let applies = Applies {
            live_uids: external_uids,
            mutated: false,
        };
        apply_and_prune(pass, &mut nodes, &mut bindings, applies, pending).await?
    };
    pass.outcome.nodes = reports(&nodes);
    Ok(Applied {
        nodes,
        bindings,
        child_deleting,
    })
}

/// Releases the members of this instance's ApplySet that an
/// `externalRef` read (the RGD turned them from children into external
/// objects): from then on neither pruning nor the instance's deletion can
/// delete them. One a resource of this pass also renders stays a member.
async fn release_members_read<C: Cluster>(
    pass: &mut Pass<'_, C>,
    nodes: &[NodeRun],
    members_read: Vec<(ObjectKey, String)>,
) -> Result<(), ReconcileError> {
    for (key, uid) in members_read {
        let rendered = nodes.iter().flat_map(|n| &n.desired).any(|d| d.key == key);
        if !rendered {
            // Recreated meanwhile: the next pass reads the new object.
            applyset::release(pass, &key, &uid).await?;
        }
    }
    Ok(())
}

/// What the applies of a pass leave for pruning and the requeue.
struct Applies {
    /// The UIDs of the objects applied (or unchanged) and read: the members
    /// pruning keeps.
    live_uids: BTreeSet<String>,
    /// The API server changed an object.
    mutated: bool,
}

/// Widens the inventory, applies every rendered node and judges it on what
/// was stored, then prunes when nothing waited or failed. Returns when to
/// run again.
async fn apply_and_prune<C: Cluster>(
    pass: &mut Pass<'_, C>,
    nodes: &mut [NodeRun],
    bindings: &mut BTreeMap<String, Value>,
    mut applies: Applies,
    pending: bool,
) -> Result<Requeue, ReconcileError> {
    let inventories = applyset::widen(pass, nodes).await?;
    for node in nodes.iter_mut().filter(|n| n.rendered) {
        let stored = apply_node(pass, node, &mut applies).await;
        if node.state == NodeState::Error {
            continue;
        }
        judge_stored(pass.graph, node, &stored, bindings, &mut pass.allowance);
    }
    // An object that could not be applied left its resource in error. The
    // prune comes only after a pass where nothing waited, or it could
    // delete what is only missing for now.
    let again = Requeue::After(pass.options.requeue_interval);
    Ok(if nodes.iter().any(|n| n.state == NodeState::Error) {
        Requeue::Backoff
    } else if pending {
        again
    } else if !applyset::prune(pass, &inventories, nodes, &applies.live_uids).await? {
        // An object was recreated meanwhile: pruning must be tried again.
        again
    } else if applies.mutated {
        again
    } else {
        Requeue::None
    })
}

/// Applies a rendered node's objects and returns them as stored. One that
/// cannot be applied fails the node; the others are still applied.
async fn apply_node<C: Cluster>(
    pass: &mut Pass<'_, C>,
    node: &mut NodeRun,
    applies: &mut Applies,
) -> Vec<Json> {
    let mut stored = Vec::with_capacity(node.desired.len());
    for desired in &mut node.desired {
        match apply_object(pass, desired).await {
            Ok((object, changed)) => {
                applies.mutated |= changed;
                if let Some(uid) = object["metadata"]["uid"].as_str() {
                    applies.live_uids.insert(uid.to_owned());
                }
                stored.push(object);
            }
            Err(reason) => {
                node.state = NodeState::Error;
                node.reason = Some(reason);
            }
        }
    }
    stored
}

/// Applies one object, unless it is unchanged. Returns it as stored and
/// whether the API server changed it, or why it could not be applied.
async fn apply_object<C: Cluster>(
    pass: &mut Pass<'_, C>,
    desired: &mut DesiredObject,
) -> Result<(Json, bool), String> {
    stamp(&mut desired.object);
    pass.outcome.desired.push(desired.object.clone());
    if let Some(current) = &desired.current
        && is_unchanged(&desired.object, current)
    {
        return Ok((current.clone(), false));
    }
    let applied = pass
        .cluster
        .apply(
            &desired.key.resource,
            &desired.object,
            field_managers::CHILDREN,
        )
        .await;
    pass.outcome.writes += 1;
    let applied = applied.map_err(|error| format!("apply {}: {error}", desired.key))?;
    pass.outcome.applied.push(desired.object.clone());
    let changed = changed(desired.current.as_ref(), &applied);
    Ok((applied, changed))
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
fn judge_stored(
    graph: &Graph,
    node: &mut NodeRun,
    stored: &[Json],
    bindings: &mut BTreeMap<String, Value>,
    allowance: &mut Allowance,
) {
    let Some(resource) = graph.resource(&node.id) else {
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
        allowance,
    ));
}
