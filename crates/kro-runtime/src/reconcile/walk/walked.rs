//! What the walk produces: a [`NodeRun`] for each resource, made from the
//! [`Step`] its processing ended in, and the bindings and flags the apply
//! step needs.

use std::collections::{BTreeMap, BTreeSet};

use kro_cel::library::kro::{RUNTIME_VARIABLE, runtime_value};
use kro_cel::{Allowance, Value};
use kro_graph::builder::types::SCHEMA;
use kro_graph::builder::{GraphResource, NodeKind};
use serde_json::Value as Json;

use crate::cluster::{Cluster, ObjectKey};
use crate::desired::DesiredError;
use crate::reconcile::pass::Pass;
use crate::reconcile::readiness::{self, Readiness};
use crate::state::NodeState;

/// One object a resource wants applied.
#[derive(Debug, Clone)]
pub(in crate::reconcile) struct DesiredObject {
    pub key: ObjectKey,
    /// The object to apply, with kro's labels and annotations.
    pub object: Json,
    /// The object as observed before the pass, if it exists.
    pub current: Option<Json>,
}

/// What the walk decided for one resource.
#[derive(Debug, Clone)]
pub(in crate::reconcile) struct NodeRun {
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
    pub(in crate::reconcile) fn judge(&mut self, readiness: Readiness) {
        (self.state, self.reason) = match readiness {
            Readiness::Ready => (NodeState::Synced, None),
            Readiness::Waiting(reason) => (NodeState::WaitingForReadiness, Some(reason)),
            Readiness::Failed(reason) => (NodeState::Error, Some(reason)),
        };
    }
}

/// The result of the walk.
pub(in crate::reconcile) struct Walked {
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
    /// The external objects read that are members of this instance's
    /// ApplySet (children before the RGD turned them external), with their
    /// UIDs: the apply step releases them, so that no later prune or
    /// deletion deletes them.
    pub members_read: Vec<(ObjectKey, String)>,
    /// `schema`, `runtime` and every observed resource, as CEL values.
    pub bindings: BTreeMap<String, Value>,
}

/// How one resource ended in the walk, before its objects are applied.
pub(super) enum Step {
    Skipped(String),
    Waiting(String),
    Failed(String),
    Rendered(Vec<DesiredObject>),
    /// An external reference was read (or not found), and judged.
    Read(Readiness),
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

impl Walked {
    /// Nothing walked yet: only `schema` and `runtime` are bound.
    pub(super) fn start<C: Cluster>(pass: &Pass<'_, C>) -> Self {
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
            members_read: Vec::new(),
            bindings,
        }
    }

    /// Records how `resource` ended in the walk as its node.
    pub(super) fn record(
        &mut self,
        resource: &GraphResource,
        step: Step,
        allowance: &mut Allowance,
    ) {
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
                node.ready = readiness::of(resource, observed, &self.bindings, allowance)
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
