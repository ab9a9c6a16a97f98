//! The CEL evaluation limits of `kro render` and `kro eval`: the operator's
//! flags, with the same names, defaults and meaning, so that what a render
//! refuses is what the operator refuses.

use std::time::Duration;

use clap::Args;
use kro_cel::{Allowance, Limits};
use kro_runtime::EvaluationLimits;

/// `--cel-cost-budget`, `--cel-reconcile-cost-budget`,
/// `--cel-max-result-size` and `--cel-evaluation-timeout`.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// The cost budget of one CEL expression's evaluation, in cost units
    /// (docs/cel.md, "Cost model"); 0: unlimited.
    #[arg(long, value_name = "UNITS", default_value_t = default_cost_budget())]
    cel_cost_budget: u64,

    /// The cost budget of all the evaluations of one reconcile (every
    /// expression of the instance, and the results they keep); 0:
    /// unlimited.
    #[arg(long, value_name = "UNITS", default_value_t = EvaluationLimits::DEFAULT_RECONCILE_BUDGET)]
    cel_reconcile_cost_budget: u64,

    /// The largest result of one expression, as JSON, in bytes: a template
    /// field, a status field, an interpolated string.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_result_size,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    cel_max_result_size: usize,

    /// How long one evaluation may run, by the wall clock (`500ms`, `2s`);
    /// 0: no deadline.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_timeout)]
    cel_evaluation_timeout: Duration,
}

fn default_cost_budget() -> u64 {
    Limits::default().cost_budget.unwrap_or(0)
}

/// A duration as the operator's flags take them (`1s`, `250ms`, `1m30s`),
/// or `0`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = |e: &dyn std::fmt::Display| format!("invalid duration {text:?}: {e}");
    let duration: jiff::SignedDuration = text.parse().map_err(|e| invalid(&e))?;
    Duration::try_from(duration).map_err(|e| invalid(&e))
}

/// `0` means none.
fn unless_zero(n: u64) -> Option<u64> {
    (n != 0).then_some(n)
}

impl LimitArgs {
    /// The limits of a reconcile, as the runtime takes them.
    pub fn evaluation(&self) -> EvaluationLimits {
        EvaluationLimits {
            expression: Limits {
                cost_budget: unless_zero(self.cel_cost_budget),
                max_result_size: self.cel_max_result_size,
                ..Limits::default()
            },
            reconcile_budget: unless_zero(self.cel_reconcile_cost_budget),
            timeout: (!self.cel_evaluation_timeout.is_zero())
                .then_some(self.cel_evaluation_timeout),
        }
    }

    /// What the evaluations of one command may spend, all together.
    pub fn allowance(&self) -> Allowance {
        self.evaluation().allowance()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        limits: LimitArgs,
    }

    fn parse(args: &[&str]) -> Result<EvaluationLimits, clap::Error> {
        Command::try_parse_from(std::iter::once("kro").chain(args.iter().copied()))
            .map(|c| c.limits.evaluation())
    }

    #[test]
    fn the_defaults_are_the_runtimes() {
        assert_eq!(parse(&[]).expect("no flags"), EvaluationLimits::default());
    }

    #[test]
    fn zero_turns_a_budget_or_the_deadline_off() {
        let limits = parse(&[
            "--cel-cost-budget=0",
            "--cel-reconcile-cost-budget=0",
            "--cel-evaluation-timeout=0",
            "--cel-max-result-size=1000",
        ])
        .expect("parses");
        assert_eq!(limits.expression.cost_budget, None);
        assert_eq!(limits.reconcile_budget, None);
        assert_eq!(limits.timeout, None);
        assert_eq!(limits.expression.max_result_size, 1000);
        let limits = parse(&["--cel-evaluation-timeout=250ms"]).expect("parses");
        assert_eq!(limits.timeout, Some(Duration::from_millis(250)));
        for bad in [
            "--cel-max-result-size=0",
            "--cel-evaluation-timeout=soon",
            "--cel-evaluation-timeout=-1s",
            "--cel-cost-budget=-1",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad}");
        }
    }
}
