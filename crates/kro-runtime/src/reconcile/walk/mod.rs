//! The walk of a pass: each resource in topological order, deciding
//! whether it is included, computing its desired objects and observing the
//! current ones. Nothing is written here; the apply step does that.

mod external;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use kro_cel::Value;
use kro_cel::library::kro::{RUNTIME_VARIABLE, runtime_value};
use kro_graph::builder::types::SCHEMA;
use kro_graph::builder::{Context, GraphResource, NodeKind};
use serde_json::Value as Json;

use super::outcome::ReconcileError;
use super::pass::Pass;
use super::readiness::{self, Readiness};
use super::scope::ReadyOnly;
use crate::cluster::{Cluster, ObjectKey};
use crate::desired::{DesiredError, conditions_hold};
use crate::state::NodeState;

use external::{external_collection_step, external_step};
use render::{collection_step, resource_step};

/// One object a resource wants applied.
#[derive(Debug, Clone)]
pub(super) struct DesiredObject {
    pub key: ObjectKey,
    /// The object to apply, with kro's labels and annotations.
    pub object: Json,
    /// The object as observed before the pass, if it exists.
    pub current: Option<Json>,
}

/// What the walk decided for one resource.
#[derive(Debug, Clone)]
pub(super) struct NodeRun {
    pub id: String,
    pub kind: NodeKind,
    pub state: NodeState,
    pub reason: Option<String>,
    /// The objects to apply (resources and collections only).
    pub desired: Vec<DesiredObject>,
    /// Whether the desired objects were computed: false when the resource
    /// is skipped, waiting or failed.
    pub rendered: bool,
    /// Whether dependents may use it: observed and ready, or skipped.
    pub ready: bool,
}

impl NodeRun {
    /// Sets the node's state from a readiness verdict.
    pub(super) fn judge(&mut self, readiness: Readiness) {
        (self.state, self.reason) = match readiness {
            Readiness::Ready => (NodeState::Synced, None),
            Readiness::Waiting(reason) => (NodeState::WaitingForReadiness, Some(reason)),
            Readiness::Failed(reason) => (NodeState::Error, Some(reason)),
        };
    }
}

/// The result of the walk.
pub(super) struct Walked {
    pub nodes: Vec<NodeRun>,
    /// Some resource waits for data: pruning would delete objects that
    /// are only missing for now.
    pub pending: bool,
    /// A child is being deleted by someone else: nothing is applied until
    /// it is gone (applying would recreate it half-way through).
    pub child_deleting: Option<String>,
    /// The UIDs of the external objects read: never pruned, even when
    /// they carry this instance's ApplySet label (a resource turned from a
    /// template into an externalRef).
    pub external_uids: BTreeSet<String>,
    /// `schema`, `runtime` and every observed resource, as CEL values.
    pub bindings: BTreeMap<String, Value>,
}

/// How one resource ended in the walk, before its objects are applied.
enum Step {
    Skipped(String),
    Waiting(String),
    Failed(String),
    Rendered(Vec<DesiredObject>),
    /// An external reference was read (or not found), and judged.
    Read(Readiness),
}

pub(super) async fn run<C: Cluster>(pass: &mut Pass<'_, C>) -> Result<Walked, ReconcileError> {
    let graph = pass.graph;
    let waves: BTreeMap<&str, usize> = graph.dependencies.deletion_waves().into_iter().collect();
    let mut walked = Walked::start(pass);
    for resource in graph
        .topological_order
        .iter()
        .filter_map(|id| graph.resource(id))
    {
        let id = resource.structure.id.as_str();
        let wave = waves.get(id).copied().unwrap_or(1);
        let step = step(pass, resource, &mut walked, wave).await?;
        walked.record(resource, step, &mut pass.outcome.cel_evaluations);
        if walked.child_deleting.is_some() {
            break;
        }
    }
    Ok(walked)
}

impl Walked {
    /// Nothing walked yet: only `schema` and `runtime` are bound.
    fn start<C: Cluster>(pass: &Pass<'_, C>) -> Self {
        let bindings = BTreeMap::from([
            (
                SCHEMA.to_owned(),
                pass.graph.instance_types.value_of(&pass.instance),
            ),
            (RUNTIME_VARIABLE.to_owned(), runtime_value()),
        ]);
        Walked {
            nodes: Vec::new(),
            pending: false,
            child_deleting: None,
            external_uids: BTreeSet::new(),
            bindings,
        }
    }

    /// Records how `resource` ended in the walk as its node.
    fn record(&mut self, resource: &GraphResource, step: Step, evaluations: &mut usize) {
        let mut node = NodeRun {
            id: resource.structure.id.clone(),
            kind: resource.structure.kind,
            state: NodeState::InProgress,
            reason: None,
            desired: Vec::new(),
            rendered: false,
            ready: false,
        };
        match step {
            Step::Skipped(reason) => {
                node.state = NodeState::Skipped;
                node.reason = Some(reason);
                node.ready = true;
            }
            Step::Waiting(reason) => {
                self.pending = true;
                node.reason = Some(reason);
            }
            Step::Failed(reason) => {
                node.state = NodeState::Error;
                node.reason = Some(reason);
            }
            Step::Rendered(desired) => {
                // A failing readyWhen only holds dependents back here: the
                // apply step judges the node on what it stores.
                let observed = desired.iter().map(|d| d.current.as_ref());
                node.ready = readiness::of(resource, observed, &self.bindings, evaluations)
                    == Readiness::Ready;
                node.desired = desired;
                node.rendered = true;
            }
            Step::Read(readiness) => {
                node.judge(readiness);
                self.pending |= node.state == NodeState::WaitingForReadiness;
                node.ready = node.state == NodeState::Synced;
            }
        }
        self.nodes.push(node);
    }
}

impl From<DesiredError> for Step {
    /// A desired state that cannot be computed yet waits; one that cannot
    /// be computed at all fails its resource.
    fn from(error: DesiredError) -> Self {
        if error.is_pending() {
            Step::Waiting(error.to_string())
        } else {
            Step::Failed(error.to_string())
        }
    }
}

/// Processes one resource: inclusion, dependencies, desired state,
/// observation. Observed objects are bound for the resources after it.
async fn step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> Result<Step, ReconcileError> {
    if let Some(held) = held_back(pass, resource, walked) {
        return Ok(held);
    }
    match resource.structure.kind {
        NodeKind::Resource => resource_step(pass, resource, walked, wave).await,
        NodeKind::Collection => collection_step(pass, resource, walked, wave).await,
        NodeKind::External => external_step(pass, resource, walked).await,
        NodeKind::ExternalCollection => external_collection_step(pass, resource, walked).await,
    }
}

/// How the resource ends before anything of its own is computed: skipped
/// with a dependency or by its `includeWhen`, or waiting for a dependency.
/// `None` when it goes on.
fn held_back<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &Walked,
) -> Option<Step> {
    let previous = |dependency: &str| walked.nodes.iter().find(|n| n.id == dependency);
    if let Some(skipped) = resource
        .dependencies
        .iter()
        .find(|d| previous(d).is_some_and(|n| n.state == NodeState::Skipped))
    {
        return Some(Step::Skipped(format!(
            "depends on {skipped:?}, which is skipped"
        )));
    }
    // An includeWhen reading a resource that is not ready yet waits, as
    // upstream: judged on a half-ready object, it could skip (and prune) a
    // resource that should stay.
    let not_ready: Vec<&str> = resource
        .dependencies
        .iter()
        .filter(|d| previous(d).is_some_and(|n| !n.ready))
        .map(String::as_str)
        .collect();
    let ready_only = ReadyOnly {
        base: &walked.bindings,
        hidden: &not_ready,
    };
    let included = conditions_hold(
        resource,
        Context::IncludeWhen,
        &ready_only,
        &mut pass.outcome.cel_evaluations,
    );
    if let Some(excluded) = excluded(resource, included) {
        return Some(excluded);
    }
    not_ready
        .first()
        .map(|waiting| Step::Waiting(format!("waiting for {waiting:?} to be ready")))
}

/// What an `includeWhen` verdict makes of the resource, unless it is
/// included.
fn excluded(resource: &GraphResource, included: Result<bool, DesiredError>) -> Option<Step> {
    match included {
        Ok(true) => None,
        Ok(false) => Some(Step::Skipped("includeWhen is false".to_owned())),
        // Data missing from the instance alone will not arrive by waiting:
        // an includeWhen reading only `schema` fails, as upstream, rather
        // than hold pruning off forever.
        Err(error @ DesiredError::Pending { .. }) if reads_only_schema(resource) => {
            Some(Step::Failed(format!("includeWhen: {error}")))
        }
        Err(DesiredError::Pending { .. }) => Some(Step::Waiting(
            "includeWhen waits for data of its dependencies".to_owned(),
        )),
        Err(error) => Some(Step::Failed(format!("includeWhen: {error}"))),
    }
}

/// Whether every `includeWhen` of the resource reads no variable but
/// `schema`.
fn reads_only_schema(resource: &GraphResource) -> bool {
    resource
        .expressions
        .iter()
        .filter(|e| e.context == Context::IncludeWhen)
        .all(|e| {
            kro_cel::references::referenced_variables(&e.compiled.checked().expr)
                .iter()
                .all(|name| name == "schema")
        })
}
