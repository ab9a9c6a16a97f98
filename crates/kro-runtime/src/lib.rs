//! One reconcile of one kro instance.
//!
//! Given a resource graph from `kro-graph` and an instance of its kind, this
//! crate decides what to apply and in which order: it evaluates templates,
//! honours `includeWhen`, `readyWhen`, `forEach` and `externalRef`, projects
//! status back into the instance, and deletes in reverse order. It talks to
//! the cluster only through a small trait, so it has no network code of its
//! own and can be driven by the operator, the CLI or a test.

pub mod cluster;
pub mod collection;
pub mod desired;
pub mod reconcile;
#[cfg(feature = "scenarios")]
pub mod scenarios;
pub mod state;

#[cfg(test)]
mod test_graphs;

pub use reconcile::{
    ConditionTransition, EvaluationLimits, ExternalRead, ExternalTarget, NodeReport, Options,
    Outcome, ReconcileError, Requeue, reconcile,
};
