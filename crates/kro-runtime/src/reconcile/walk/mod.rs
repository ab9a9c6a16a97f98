//! The walk of a pass: each resource in topological order, deciding
//! whether it is included, computing its desired objects and observing the
//! current ones. Nothing is written here; the apply step does that.

mod external;
mod render;
mod walked;

use std::collections::BTreeMap;

use kro_graph::builder::types::SCHEMA;
use kro_graph::builder::{Context, GraphResource, NodeKind};

use super::outcome::ReconcileError;
use super::pass::Pass;
use super::scope::ReadyOnly;
use crate::cluster::Cluster;
use crate::desired::{DesiredError, conditions_hold};
use crate::state::NodeState;

use external::{external_collection_step, external_step};
use render::{collection_step, resource_step};
use walked::Step;
pub(super) use walked::{DesiredObject, NodeRun, Walked};

/// Walks every resource in topological order, each seeing the objects
/// observed before it; stops early when a child is being deleted.
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
        walked.record(resource, step, &mut pass.allowance);
        if walked.child_deleting.is_some() {
            break;
        }
    }
    Ok(walked)
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
        &mut pass.allowance,
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
                .all(|name| name == SCHEMA)
        })
}
