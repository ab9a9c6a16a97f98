//! What a series of evaluations may spend together: the [`Allowance`] of
//! one reconcile of an instance.
//!
//! Each evaluation keeps its own [`Limits`] (its cost budget, the sizes it
//! may produce) and gets a wall-clock deadline; on top of that, every
//! evaluation and every result kept from it (a template field's JSON, an
//! interpolated string) draws from one shared budget, so that an RGD with
//! many expressions, or a `forEach` repeating them, cannot multiply what
//! one evaluation may cost. Results are charged as produced values are
//! ([`ALLOCATED_BYTES_PER_UNIT`] bytes a unit), so the memory one series
//! keeps is bounded by its total too.

use std::time::Duration;

use serde_json::Value as Json;

use super::{ALLOCATED_BYTES_PER_UNIT, Cap, Limits, Meter};
use crate::error::{EvalError, SizeKind};
use crate::regexes::ProgramRegexes;
use crate::result_json::{ConversionError, to_template_json_counted};
use crate::template::{RenderError, Rendered, Template, TemplateExpression};
use crate::value::Value;

/// The budgets of a series of evaluations and what they spent so far.
#[derive(Debug, Clone)]
pub struct Allowance {
    limits: Limits,
    total: Option<u64>,
    timeout: Option<Duration>,
    spent: u64,
    evaluations: usize,
}

impl Allowance {
    /// Evaluations under `limits` each, with no shared budget and no
    /// deadline.
    pub fn new(limits: Limits) -> Allowance {
        Allowance {
            limits,
            total: None,
            timeout: None,
            spent: 0,
            evaluations: 0,
        }
    }

    /// Shares a budget of `total` units (`None`: unlimited) between the
    /// evaluations and the results they keep.
    pub fn with_total(mut self, total: Option<u64>) -> Allowance {
        self.total = total;
        self
    }

    /// Stops each evaluation after `timeout` of wall-clock time (`None`:
    /// no deadline).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Allowance {
        self.timeout = timeout;
        self
    }

    /// The limits of each evaluation.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The units spent so far, by evaluations and results.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// The evaluations run so far.
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }

    /// What the shared budget still pays for; `None` when there is none.
    fn left(&self) -> Option<u64> {
        self.total.map(|total| total.saturating_sub(self.spent))
    }

    /// The error of a spent shared budget.
    fn spent_error(&self) -> EvalError {
        EvalError::TotalCostExceeded {
            limit: self.total.unwrap_or(u64::MAX),
        }
    }

    /// The meter of the next evaluation: its own budget, or what is left of
    /// the shared one when that is less, and its deadline.
    pub(crate) fn meter<'p>(&self, program: Option<&'p ProgramRegexes>) -> Meter<'p> {
        let own = self.limits.cost_budget.unwrap_or(u64::MAX);
        let (budget, cap) = match (self.left(), self.total) {
            (Some(left), Some(total)) if left < own => (left, Cap::Shared(total)),
            _ => (own, Cap::Expression(own)),
        };
        Meter::capped(&self.limits, budget, cap, self.timeout, program)
    }

    /// Counts an evaluation and what it spent.
    pub(crate) fn settle_evaluation(&mut self, units: u64) {
        self.evaluations += 1;
        self.settle(units);
    }

    fn settle(&mut self, units: u64) {
        self.spent = self.spent.saturating_add(units);
    }

    /// The largest result (JSON or text) that may still be produced:
    /// [`Limits::max_result_size`], or less when the shared budget cannot
    /// pay for that much.
    pub fn result_allowance(&self) -> usize {
        let size = self.limits.max_result_size;
        match self.left() {
            Some(left) => {
                let affordable = left.saturating_mul(ALLOCATED_BYTES_PER_UNIT);
                size.min(usize::try_from(affordable).unwrap_or(usize::MAX))
            }
            None => size,
        }
    }

    /// Charges a result of `bytes` bytes kept after its evaluation.
    pub fn charge_result(&mut self, bytes: usize) -> Result<(), EvalError> {
        self.settle((bytes as u64).div_ceil(ALLOCATED_BYTES_PER_UNIT));
        match self.total {
            Some(total) if self.spent > total => Err(self.spent_error()),
            _ => Ok(()),
        }
    }

    /// A template or status result as JSON
    /// ([`crate::result_json::to_template_json`]), no larger than
    /// [`Allowance::result_allowance`], and charged.
    pub fn to_template_json(&mut self, value: &Value) -> Result<Option<Json>, ConversionError> {
        let allowed = self.result_allowance();
        let (converted, size) = to_template_json_counted(value, allowed);
        if let Err(ConversionError::TooLarge { .. }) = converted
            && allowed < self.limits.max_result_size
        {
            return Err(ConversionError::TotalCostExceeded {
                limit: self.total.unwrap_or(u64::MAX),
            });
        }
        // `size` is at most what is left: the charge cannot fail.
        self.settle(size.div_ceil(ALLOCATED_BYTES_PER_UNIT));
        converted
    }

    /// Renders `template` ([`Template::render_within`]) with text no larger
    /// than [`Allowance::result_allowance`], and charges the text. `eval`
    /// evaluates each expression, with this allowance; `limited` turns the
    /// error of a limit (the text's size, the shared budget) into the
    /// caller's.
    pub fn render<'t, E>(
        &mut self,
        template: &'t Template,
        mut eval: impl FnMut(&mut Allowance, &TemplateExpression) -> Result<Option<Value>, E>,
        limited: impl Fn(EvalError) -> E,
    ) -> Result<Option<Rendered<'t>>, RenderError<E>> {
        let allowed = self.result_allowance();
        let budget_bound = allowed < self.limits.max_result_size;
        let spent_error = self.spent_error();
        let rendered = template.render_within(
            allowed,
            |expression| eval(self, expression),
            |error| match error {
                EvalError::TooLarge {
                    kind: SizeKind::Result,
                    ..
                } if budget_bound => limited(spent_error),
                other => limited(other),
            },
        )?;
        if let Some(Rendered::Text(text)) = &rendered {
            self.charge_result(text.len())
                .map_err(|error| RenderError::Eval(limited(error)))?;
        }
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Env, Type};

    fn limits(cost_budget: u64) -> Limits {
        Limits {
            cost_budget: Some(cost_budget),
            ..Limits::default()
        }
    }

    /// `l.map(i, i).size()` over a list of `n` integers.
    fn mapping(n: i64) -> (crate::Compiled, Vec<(&'static str, Value)>) {
        let env = Env::standard().with_variable("l", Type::list(Type::Int));
        let compiled = env.compile("l.map(i, i).size()").expect("compiles");
        let list = Value::list((0..n).map(Value::Int).collect());
        (compiled, vec![("l", list)])
    }

    #[test]
    fn evaluations_share_the_total() {
        let (compiled, activation) = mapping(100);
        let mut allowance = Allowance::new(limits(100_000)).with_total(Some(10_000));
        let mut evaluations = 0;
        let error = loop {
            match compiled.eval_within(&activation, &mut allowance) {
                Ok(_) => evaluations += 1,
                Err(error) => break error,
            }
        };
        assert!(evaluations >= 2, "{evaluations}");
        assert_eq!(allowance.evaluations(), evaluations + 1);
        assert_eq!(error, EvalError::TotalCostExceeded { limit: 10_000 });
        assert!(allowance.spent() > 10_000);
        // Spent is spent: the next one fails at its first node.
        assert_eq!(
            compiled.eval_within(&activation, &mut allowance).err(),
            Some(EvalError::TotalCostExceeded { limit: 10_000 })
        );
    }

    #[test]
    fn each_evaluation_keeps_its_own_budget() {
        let (compiled, activation) = mapping(1_000);
        let mut allowance = Allowance::new(limits(100)).with_total(Some(10_000));
        assert_eq!(
            compiled.eval_within(&activation, &mut allowance).err(),
            Some(EvalError::CostExceeded { limit: 100 })
        );
    }

    #[test]
    fn the_deadline_stops_an_evaluation() {
        let (compiled, activation) = mapping(100_000);
        let unlimited = Limits {
            cost_budget: None,
            ..Limits::default()
        };
        let mut allowance = Allowance::new(unlimited).with_timeout(Some(Duration::ZERO));
        let error = compiled
            .eval_within(&activation, &mut allowance)
            .expect_err("past its deadline");
        assert_eq!(
            error,
            EvalError::DeadlineExceeded {
                limit: Duration::ZERO
            }
        );
        assert!(error.is_limit());
        assert_eq!(
            EvalError::DeadlineExceeded {
                limit: Duration::from_millis(1500)
            }
            .to_string(),
            "operation cancelled: evaluation deadline exceeded (evaluation timeout of 1.5s)"
        );
        // The clock is read every CLOCK_CHECK_UNITS units, not before.
        let (small, activation) = mapping(10);
        let mut allowance = Allowance::new(unlimited).with_timeout(Some(Duration::ZERO));
        assert!(matches!(
            small.eval_within(&activation, &mut allowance),
            Ok(Value::Int(10))
        ));
    }

    #[test]
    fn results_are_charged_to_the_total() {
        let text = Value::from("x".repeat(16_000));
        let mut allowance = Allowance::new(Limits::default()).with_total(Some(1_500));
        assert_eq!(allowance.result_allowance(), 24_000);
        let json = allowance.to_template_json(&text).expect("fits");
        assert_eq!(json, Some(Json::String("x".repeat(16_000))));
        // 16,002 bytes counted: 1,001 units.
        assert_eq!(allowance.spent(), 1_001);
        assert_eq!(
            allowance.to_template_json(&text),
            Err(ConversionError::TotalCostExceeded { limit: 1_500 })
        );
    }

    #[test]
    fn rendered_text_is_limited_and_charged() {
        let template = crate::template::scan("${a}-${a}").expect("scans");
        let part = Value::from("y".repeat(8_000));
        let mut allowance = Allowance::new(Limits::default()).with_total(Some(1_500));
        let render = |allowance: &mut Allowance| {
            allowance.render(
                &template,
                |_, _| Ok::<_, EvalError>(Some(part.clone())),
                |error| error,
            )
        };
        match render(&mut allowance) {
            Ok(Some(Rendered::Text(text))) => assert_eq!(text.len(), 16_001),
            other => panic!("{other:?}"),
        }
        assert_eq!(allowance.spent(), 1_001);
        assert_eq!(
            render(&mut allowance).map(|_| ()),
            Err(RenderError::Eval(EvalError::TotalCostExceeded {
                limit: 1_500
            }))
        );
    }
}
