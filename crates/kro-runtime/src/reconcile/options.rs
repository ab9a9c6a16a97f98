//! The settings of a pass that come from the operator's configuration.

use std::time::Duration;

use kro_cel::{Allowance, Limits};

/// Settings of a pass that come from the operator's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The UID of the RGD, written into the instance's labels.
    pub rgd_uid: String,
    /// How long to wait before the next pass when data is pending or the
    /// cluster was changed.
    pub requeue_interval: Duration,
    /// The largest `forEach` collection a resource may expand to.
    pub max_collection_size: usize,
    /// What the CEL evaluations of the pass may spend.
    pub evaluation: EvaluationLimits,
    /// The time written into condition transitions (RFC 3339); `None`
    /// means the system clock. Tests and `kro render` fix it.
    pub now: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rgd_uid: String::new(),
            requeue_interval: Duration::from_secs(3),
            max_collection_size: 1000,
            evaluation: EvaluationLimits::default(),
            now: None,
        }
    }
}

/// What the CEL evaluations of one pass of one instance may spend: each
/// evaluation its own [`Limits`] and a deadline, all of them together
/// (their results included) one per-reconcile budget. An expression that
/// runs out fails its resource (or status field) with an error naming the
/// limit, which puts the instance in `ERROR` and retries it with backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationLimits {
    /// The limits of each evaluation: its cost budget (per expression) and
    /// the largest string, list, map and result it may produce.
    pub expression: Limits,
    /// The cost budget of a whole pass, shared by its evaluations and the
    /// results they keep; `None`: unlimited.
    pub reconcile_budget: Option<u64>,
    /// How long one evaluation may run, by the wall clock; `None`: no
    /// deadline.
    pub timeout: Option<Duration>,
}

impl EvaluationLimits {
    /// `--cel-reconcile-cost-budget`'s default: four expressions' worth,
    /// at most 64 MiB allocated by a pass (1/16 of the operator's default
    /// memory limit, 1 GiB).
    pub const DEFAULT_RECONCILE_BUDGET: u64 = 4_000_000;

    /// `--cel-evaluation-timeout`'s default: 20 to 100 times what an
    /// evaluation that spends its whole budget takes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

    /// A fresh allowance for one pass.
    pub fn allowance(&self) -> Allowance {
        Allowance::new(self.expression)
            .with_total(self.reconcile_budget)
            .with_timeout(self.timeout)
    }
}

impl Default for EvaluationLimits {
    /// kro-cel's default limits per expression (a budget of 1,000,000
    /// units, results up to 3 MiB), [`Self::DEFAULT_RECONCILE_BUDGET`] and
    /// [`Self::DEFAULT_TIMEOUT`].
    fn default() -> Self {
        EvaluationLimits {
            expression: Limits::default(),
            reconcile_budget: Some(Self::DEFAULT_RECONCILE_BUDGET),
            timeout: Some(Self::DEFAULT_TIMEOUT),
        }
    }
}
