//! What a pass returns: an [`Outcome`] (data, for the operator to act on),
//! or a [`ReconcileError`] when the pass itself could not complete.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;
use thiserror::Error;

use crate::cluster::{ClusterError, ObjectKey, ResourceType};
use crate::state::NodeState;

/// When the operator should run the next pass for this instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Requeue {
    /// Not on a timer: the next change to the instance, its children or
    /// the objects it reads will trigger it.
    #[default]
    None,
    /// After this delay: data is pending, the cluster was changed, or a
    /// deletion wave is in progress.
    After(Duration),
    /// A resource failed: retry with backoff.
    Backoff,
}

/// What became of one resource (node) of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// The resource id.
    pub id: String,
    /// Its state after the pass.
    pub state: NodeState,
    /// Why it is in that state, when it is not done.
    pub reason: Option<String>,
}

/// What an external reference of the instance resolved to, so that the
/// operator can route changes of those objects to the instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRead {
    /// The type read.
    pub resource: ResourceType,
    /// The namespace read; `None` for cluster-scoped types and for
    /// selectors over all namespaces.
    pub namespace: Option<String>,
    /// The object or objects read.
    pub target: ExternalTarget,
    /// The objects a selector matched in this pass (empty for a read by
    /// name), so that the operator still routes an object's next change
    /// to the instance when the object no longer matches.
    pub matched: Vec<ObjectKey>,
}

/// One object by name, or every object matching a selector.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternalTarget {
    /// One object.
    Name(String),
    /// Objects matching the selector.
    Selector(LabelSelector),
}

/// A condition of the instance that changed status in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionTransition {
    /// The condition type.
    pub condition_type: String,
    /// The previous status, if the condition existed.
    pub from: Option<String>,
    /// The new status.
    pub to: String,
    /// The new reason.
    pub reason: String,
    /// The new message.
    pub message: String,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// When to run again.
    pub requeue: Requeue,
    /// Each resource's state, in topological order.
    pub nodes: Vec<NodeReport>,
    /// The objects applied in this pass, as sent (unchanged objects are
    /// not sent and not listed).
    pub applied: Vec<Value>,
    /// The desired objects of this pass, applied or unchanged, in
    /// topological order: what `kro render` prints.
    pub desired: Vec<Value>,
    /// The objects deleted: pruned orphans or, during deletion, children.
    pub deleted: Vec<ObjectKey>,
    /// The objects released (kro's labels removed, left in place): members
    /// whose deletion policy is `orphan`, and members read through an
    /// `externalRef`.
    pub released: Vec<ObjectKey>,
    /// The status written, if it changed.
    pub status: Option<Value>,
    /// The status the instance has after the pass, written or not.
    pub computed_status: Value,
    /// Conditions whose status changed.
    pub transitions: Vec<ConditionTransition>,
    /// The external objects the instance read.
    pub external_reads: Vec<ExternalRead>,
    /// How many writes the pass made (applies, deletes, status writes).
    pub writes: usize,
    /// How many CEL expressions the pass evaluated.
    pub cel_evaluations: usize,
    /// The instance's finalizer was released: deletion is complete.
    pub finalized: bool,
}

/// Why a pass could not complete. Failures of single resources are not
/// errors of the pass: they show in the node states and the status, and
/// the outcome asks for a retry with backoff.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ReconcileError {
    /// The instance object lacks what every object has.
    #[error("instance {instance}: {message}")]
    InvalidInstance {
        /// The instance, `namespace/name` or `name`.
        instance: String,
        /// What is wrong.
        message: String,
    },
    /// A call to the cluster failed.
    #[error("instance {instance}: {action}: {source}")]
    Cluster {
        /// The instance, `namespace/name` or `name`.
        instance: String,
        /// What the pass was doing, with the object concerned.
        action: String,
        /// The cluster's error.
        #[source]
        source: ClusterError,
    },
}
