//! The static cost estimate: bounds on what evaluating an expression may
//! cost under the runtime model of `meter.rs`, computed from the checked
//! tree before anything runs, so that an RGD whose expressions can blow up
//! is refused when it is built.
//!
//! Sizes flow through the tree ([`bound`]): a literal's size is known, an
//! input's comes from its schema's `maxItems`, `maxLength` and
//! `maxProperties` (see [`crate::openapi_types::SchemaSize`]) or, without
//! them, from the size of the largest object the API server accepts; each
//! operation then gets the size of what it produces from the sizes of its
//! arguments (`s + s` twice as long, `map` a list of what its body makes,
//! `lists.range(n)` n elements, `join` the text of all its elements), and
//! is charged as the meter charges it: nodes and iterations, bytes read,
//! values visited, bytes produced. Produced values never exceed their size
//! limits (the meter refuses them first), and comprehensions multiply
//! their body's cost by the length of their range, nested ones compounding.
//!
//! The estimate has a worst case ([`CostEstimate::max`]) and a best case
//! ([`CostEstimate::min`], every loop over an input empty, every
//! short-circuit taken), and notes a value every evaluation produces above
//! its size limit. [`check`] turns them into a verdict: refused when the
//! worst case is above [`Limits::static_cost_limit`], when even the best
//! case is above the runtime budget, or when evaluation always produces
//! something too large, since such an expression can never succeed.
//!
//! The functions of the libraries are estimated by the [`CallRule`] each
//! library declares with its functions (`estimator/rules.rs`); a function without one
//! is assumed to produce as much as all its arguments together.

pub(crate) mod bound;
mod estimator;
#[cfg(test)]
mod tests;
mod units;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use crate::check::CheckedExpr;
use crate::decls::Env;
use crate::error::SizeKind;
use crate::meter::Limits;
use crate::openapi_types::SchemaSize;

pub(crate) use bound::Bound;
pub(crate) use estimator::rules::CallRule;

/// What the estimate knows of the size of an expression's inputs: the
/// places of the declared schemas, by type path, and the variables whose
/// declarer bounded them.
#[derive(Debug, Clone, Default)]
pub(crate) struct InputSizes {
    /// Only ever looked up (hashing a path beats comparing its long
    /// common prefixes), never iterated.
    pub(crate) schema: Arc<HashMap<Arc<str>, SchemaSize>>,
    pub(crate) variables: Arc<BTreeMap<String, Bound>>,
}

/// Bounds on the size of a value, as the estimate computes them: what
/// [`Env::add_variable_size`] declares for a variable whose values come
/// from another expression (a `forEach` iterator from its list).
#[derive(Debug, Clone)]
pub struct ValueSize(pub(crate) Bound);

impl ValueSize {
    /// A value with no size: a number, a boolean, an opaque handle.
    pub fn scalar() -> ValueSize {
        ValueSize(Bound::scalar())
    }
}

/// Static bounds on the runtime cost of an expression.
#[derive(Debug, Clone)]
pub struct CostEstimate {
    /// The least an evaluation that succeeds can cost: loops over inputs
    /// empty, every short-circuit taken.
    pub min: u64,
    /// The most any evaluation can cost, inputs at their largest.
    pub max: u64,
    /// The inputs whose size no schema bounds and that the worst case
    /// depends on, by path.
    pub unbounded: Vec<UnboundedInput>,
    /// A value every evaluation produces that is larger than its size
    /// limit: evaluation always fails.
    pub always_too_large: Option<TooLarge>,
    /// Bounds on the result.
    pub result: ValueSize,
}

impl CostEstimate {
    /// True when the worst case is above `budget`.
    pub fn exceeds(&self, budget: u64) -> bool {
        self.max > budget
    }

    /// Bounds on the elements of the result, when it is a list (what a
    /// `forEach` iterator takes).
    pub fn element_size(&self) -> ValueSize {
        ValueSize(estimator::element_of(&self.result.0))
    }
}

/// An input the worst case depends on whose size its schema does not
/// bound: only the size of the largest object does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnboundedInput {
    /// The input as the expression reads it (`schema.spec.items`,
    /// `schema.spec.items[*].name`).
    pub path: String,
    /// What would bound it: `maxItems`, `maxLength`, `maxProperties`, or
    /// bounds on what it holds.
    pub missing: &'static str,
}

impl fmt::Display for UnboundedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (no {})", self.path, self.missing)
    }
}

/// A value that would be larger than its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// Which limit.
    pub kind: SizeKind,
    /// Its smallest size.
    pub at_least: u64,
    /// The limit.
    pub limit: u64,
}

/// How an expression's result is used, which decides what must fit
/// [`Limits::max_result_size`] once converted to JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultUse {
    /// Converted whole: a template or status field, a condition.
    Whole,
    /// A list whose elements are converted one by one: a `forEach`.
    EachElement,
}

/// Why the static estimate refuses an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaticCostError {
    /// The worst case is above the static limit.
    #[error(
        "the worst-case cost of this expression is {}, above the static limit of {}{}",
        grouped(*.estimate),
        grouped(*.limit),
        unbounded_hint(.unbounded)
    )]
    TooCostly {
        /// The worst-case cost.
        estimate: u64,
        /// [`Limits::static_cost_limit`].
        limit: u64,
        /// The inputs without schema bounds it depends on.
        unbounded: Vec<UnboundedInput>,
    },
    /// Every evaluation costs more than the runtime budget.
    #[error(
        "every evaluation of this expression costs at least {}, above the runtime cost budget of {}",
        grouped(*.least),
        grouped(*.budget)
    )]
    AlwaysOverBudget {
        /// The least an evaluation costs.
        least: u64,
        /// [`Limits::cost_budget`].
        budget: u64,
    },
    /// Every evaluation produces a value above its size limit.
    #[error(
        "every evaluation of this expression produces {} of at least {} {}, above the limit of {} (Limits::{})",
        .0.kind.noun(),
        grouped(.0.at_least),
        .0.kind.unit(),
        grouped(.0.limit),
        .0.kind.setting()
    )]
    AlwaysTooLarge(TooLarge),
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The inputs to bound, and how, for the message of
/// [`StaticCostError::TooCostly`].
fn unbounded_hint(unbounded: &[UnboundedInput]) -> String {
    if unbounded.is_empty() {
        return String::new();
    }
    let inputs: Vec<String> = unbounded.iter().map(ToString::to_string).collect();
    format!(
        "; it depends on inputs whose size the schema does not bound: {}. Add maxItems, maxLength or maxProperties to their schema, or read less of them",
        inputs.join(", ")
    )
}

/// Estimates the cost of `checked`, compiled in `env`.
pub fn estimate(checked: &CheckedExpr, env: &Env) -> CostEstimate {
    estimator::estimate(checked, &env.limits, &env.functions, &env.input_sizes)
}

/// The verdict of `limits` on an estimate of an expression whose result is
/// used as `result`: refused when it can never succeed, or when its worst
/// case is above the static limit.
pub fn check(
    estimate: &CostEstimate,
    limits: &Limits,
    result: ResultUse,
) -> Result<(), StaticCostError> {
    if let Some(too_large) = estimate.always_too_large {
        return Err(StaticCostError::AlwaysTooLarge(too_large));
    }
    // The JSON of a value is at least as long as the text it holds.
    let converted = match result {
        ResultUse::Whole => estimate.result.0.min_bytes,
        ResultUse::EachElement => estimator::element_of(&estimate.result.0).min_bytes,
    };
    let result_limit = limits.max_result_size as u64;
    if converted > result_limit {
        return Err(StaticCostError::AlwaysTooLarge(TooLarge {
            kind: SizeKind::Result,
            at_least: converted,
            limit: result_limit,
        }));
    }
    if let Some(budget) = limits.cost_budget
        && estimate.min > budget
    {
        return Err(StaticCostError::AlwaysOverBudget {
            least: estimate.min,
            budget,
        });
    }
    if let Some(limit) = limits.static_cost_limit
        && estimate.max > limit
    {
        return Err(StaticCostError::TooCostly {
            estimate: estimate.max,
            limit,
            unbounded: estimate.unbounded.clone(),
        });
    }
    Ok(())
}
