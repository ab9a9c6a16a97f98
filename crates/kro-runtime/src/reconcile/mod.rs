//! One reconcile pass of one instance: everything the operator decides for
//! an instance, as a library function over the [`Cluster`] trait.
//!
//! A pass reads the instance, makes sure kro manages it (finalizer, labels,
//! ApplySet inventory), walks the graph in topological order to compute the
//! desired objects and observe the current ones, applies what can be
//! applied, prunes what this instance no longer renders, and writes the
//! status. An instance being deleted takes the deletion path instead, which
//! needs nothing but the inventory recorded on the instance. The pass
//! reports what it did in an [`Outcome`], including when to run again.
//!
//! Ordering is enforced across passes, as upstream does: a resource is
//! applied only once every resource it depends on was observed ready at
//! the start of its turn, so a dependent usually follows its dependency in
//! the next pass (triggered by the watch event on the dependency or by the
//! requeue after a change).

mod apply;
mod applyset;
mod deletion;
mod options;
mod outcome;
mod ownership;
mod pass;
mod readiness;
mod scope;
mod status;
mod unchanged;
mod walk;

use kro_graph::builder::Graph;
use serde_json::Value;

use crate::cluster::Cluster;
use pass::Pass;

pub use options::{EvaluationLimits, Options};
pub use outcome::{
    ConditionTransition, ExternalRead, ExternalTarget, NodeReport, Outcome, ReconcileError, Requeue,
};

/// Runs one pass for `instance` (as read from the cluster) of `graph`'s
/// kind.
pub async fn reconcile<C: Cluster>(
    graph: &Graph,
    instance: &Value,
    cluster: &C,
    options: &Options,
) -> Result<Outcome, ReconcileError> {
    let now = options.now.clone().unwrap_or_else(kro_graph::api::now);
    let mut pass = Pass::new(graph, instance, cluster, options, now)?;
    if pass.is_deleting() {
        deletion::run(&mut pass).await?;
        return Ok(pass.finish());
    }
    match applyset::ensure_managed(&mut pass).await? {
        Err(problem) => {
            status::write_unmanaged(&mut pass, problem).await?;
            pass.outcome.requeue = Requeue::Backoff;
        }
        Ok(()) if pass.is_suspended() => status::write_suspended(&mut pass).await?,
        Ok(()) => {
            let result = async {
                let walked = walk::run(&mut pass).await?;
                let applied = apply::run(&mut pass, walked).await?;
                status::write(&mut pass, &applied).await
            }
            .await;
            if let Err(error) = result {
                // The status says why, even though the pass stopped; a
                // failure to write it too changes nothing to the error.
                let _ = status::write_failed(&mut pass, error.to_string()).await;
                return Err(error);
            }
        }
    }
    Ok(pass.finish())
}

#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod tests;
