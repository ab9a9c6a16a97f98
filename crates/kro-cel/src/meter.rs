//! The runtime cost model: what one evaluation may spend, in time and in
//! memory, and the [`Meter`] that charges it as evaluation proceeds.
//!
//! One budget of cost units ([`Limits::cost_budget`]) pays for three kinds
//! of work, so that it bounds both the time and the memory of an
//! evaluation:
//!
//! - every evaluated node costs 1, every comprehension iteration 1 more;
//! - reading: [`READ_PER_UNIT`] bytes (or elements) read by a function
//!   (searching, hashing, parsing, comparing strings), and
//!   [`VISITS_PER_UNIT`] values visited one by one (equality, membership,
//!   sorting, conversion to JSON) cost 1;
//! - producing: [`ALLOCATED_BYTES_PER_UNIT`] bytes of any string, list or
//!   map produced cost 1, charged *before* the value is allocated, and a
//!   value above its size limit ([`Limits::max_string_size`],
//!   [`Limits::max_collection_size`]) is refused before it is allocated.
//!
//! Because everything produced is paid for first, the memory one
//! evaluation allocates is at most `cost_budget × ALLOCATED_BYTES_PER_UNIT`
//! (16 MiB with the defaults), whatever the expression.
//!
//! Two more bounds apply to evaluations run through an [`Allowance`] (as
//! the runtime runs them): a cost budget shared by a series of
//! evaluations (one reconcile of an instance), and a wall-clock deadline
//! per evaluation, which the meter checks every [`CLOCK_CHECK_UNITS`]
//! units, so that reading the clock costs nothing measurable.
//!
//! Deep values are where the work hides: a value can hold the same list
//! many times over (`cel.bind(l, [x, x], [l, l])` doubles at each step
//! without copying), so walking it can be exponentially more work than
//! building it. Every walk (equality, `%s`, `json.marshal`, the conversion
//! of a result to JSON) therefore counts the values it visits in [`Steps`]
//! and stops when the budget, or the size of its output, runs out.

pub(crate) mod allowance;
mod text;

use std::mem::size_of;
use std::time::{Duration, Instant};

use crate::error::{EvalError, SizeKind};
use crate::regexes::{EvaluationRegexes, ProgramRegexes};
use crate::value::steps::{Exhausted, Steps};
use crate::value::{Key, Value};

pub use text::Text;

/// Bytes or elements read (searched, hashed, parsed, compared as bytes)
/// that one cost unit pays for.
pub const READ_PER_UNIT: u64 = 100;

/// Values visited one at a time (compared, looked up, sorted, converted)
/// that one cost unit pays for.
pub const VISITS_PER_UNIT: u64 = 4;

/// Bytes of produced strings, lists and maps that one cost unit pays for.
pub const ALLOCATED_BYTES_PER_UNIT: u64 = 16;

// A byte read inside a walk costs what it costs outside.
const _: () = assert!(READ_PER_UNIT == VISITS_PER_UNIT * crate::value::steps::BYTES_PER_STEP);

/// Units charged between two looks at the clock when a deadline is set:
/// 0.1 to 0.5 ms of work.
pub const CLOCK_CHECK_UNITS: u64 = 10_000;

/// Bytes a list element takes.
pub(crate) const LIST_ELEMENT_BYTES: u64 = size_of::<Value>() as u64;

/// Bytes a map entry takes: key, value, its hash and its index slot.
pub(crate) const MAP_ENTRY_BYTES: u64 =
    (size_of::<Key>() + size_of::<Value>() + 2 * size_of::<usize>()) as u64;

/// The default [`Limits::static_cost_limit`]: a thousand times the
/// default runtime budget, ten to twenty seconds of work or 16 GB
/// allocated. An expression above it really blows up on the largest inputs
/// the API server accepts (a loop over an unbounded list inside another);
/// one that reads its inputs a few times over stays well below it, whatever
/// their size (see docs/cel.md for the figures).
pub const DEFAULT_STATIC_COST_LIMIT: u64 = 1_000_000_000;

/// The default [`Limits::static_total_cost_limit`]: ten expressions at the
/// static limit, as the API server allows a CRD ten times what it allows
/// one of its rules.
pub const DEFAULT_STATIC_TOTAL_COST_LIMIT: u64 = 10 * DEFAULT_STATIC_COST_LIMIT;

/// Limits applied to programs built from an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Runtime cost budget per evaluation; `None` for unlimited (the size
    /// limits below still apply).
    pub cost_budget: Option<u64>,
    /// The most an expression's worst-case cost may be in the static
    /// estimate (see `cost.rs`) for it to be accepted when its RGD is
    /// built; `None` for no limit.
    pub static_cost_limit: Option<u64>,
    /// The most the worst cases of a set of expressions checked together
    /// (all those of an RGD) may add up to; `None` for no limit.
    pub static_total_cost_limit: Option<u64>,
    /// Largest string or bytes value an operation may produce, in bytes.
    pub max_string_size: usize,
    /// Largest list (in elements) or map (in entries) an operation may
    /// produce.
    pub max_collection_size: usize,
    /// Largest expression result converted to JSON (a template field, a
    /// status field, `Value::to_json`), in bytes of compact JSON.
    pub max_result_size: usize,
}

impl Default for Limits {
    /// A budget of 1,000,000 units (about 16 MiB allocated at most), strings
    /// up to 3 MiB, collections up to 1,000,000 elements, results up to
    /// 3 MiB of JSON: twice the largest object the API server stores
    /// (1.5 MiB), so that nothing a template can use is refused.
    fn default() -> Self {
        Limits {
            cost_budget: Some(1_000_000),
            static_cost_limit: Some(DEFAULT_STATIC_COST_LIMIT),
            static_total_cost_limit: Some(DEFAULT_STATIC_TOTAL_COST_LIMIT),
            max_string_size: 3 << 20,
            max_collection_size: 1_000_000,
            max_result_size: crate::value::DEFAULT_RESULT_SIZE,
        }
    }
}

/// Which budget an evaluation runs out of first, for the error that says
/// so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    /// The evaluation's own budget ([`Limits::cost_budget`]).
    Expression(u64),
    /// What is left of a budget shared with other evaluations (see
    /// [`Allowance`]), whose whole is given.
    Shared(u64),
}

impl Cap {
    fn error(self) -> EvalError {
        match self {
            Cap::Expression(limit) => EvalError::CostExceeded { limit },
            Cap::Shared(limit) => EvalError::TotalCostExceeded { limit },
        }
    }
}

/// When an evaluation must stop, and the timeout that set it.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    timeout: Duration,
}

/// The cost spent so far by one evaluation, its budget and its size limits.
///
/// The evaluator charges nodes and iterations; a function that reads more
/// than its arguments, walks values or produces a string, list or map
/// receives the meter and charges that work itself, before doing it.
pub struct Meter<'p> {
    spent: u64,
    budget: u64,
    cap: Cap,
    /// The spending at which [`Meter::charge`] stops to look further than
    /// its addition: the budget, or sooner when the clock is due.
    checkpoint: u64,
    deadline: Option<Deadline>,
    limits: Limits,
    regexes: EvaluationRegexes<'p>,
}

impl Meter<'static> {
    /// A meter for `limits`, with no compiled regular expressions to share
    /// (for calling a function implementation directly).
    pub fn new(limits: &Limits) -> Meter<'static> {
        Meter::with_regexes(limits, None)
    }
}

impl<'p> Meter<'p> {
    /// A meter whose regular expressions come from (and go to) a program's cache.
    pub(crate) fn with_regexes(limits: &Limits, program: Option<&'p ProgramRegexes>) -> Meter<'p> {
        let budget = limits.cost_budget.unwrap_or(u64::MAX);
        Meter::capped(limits, budget, Cap::Expression(budget), None, program)
    }

    /// A meter stopping at `budget` (the limit `cap` names), and at
    /// `timeout` from now when one is given.
    fn capped(
        limits: &Limits,
        budget: u64,
        cap: Cap,
        timeout: Option<Duration>,
        program: Option<&'p ProgramRegexes>,
    ) -> Meter<'p> {
        // A timeout too long to add to the clock is no timeout.
        let deadline = timeout.and_then(|timeout| {
            Instant::now()
                .checked_add(timeout)
                .map(|at| Deadline { at, timeout })
        });
        let mut meter = Meter {
            spent: 0,
            budget,
            cap,
            checkpoint: budget,
            deadline,
            limits: *limits,
            regexes: EvaluationRegexes::new(program),
        };
        meter.set_checkpoint();
        meter
    }

    /// The next checkpoint: the budget, or the next look at the clock.
    fn set_checkpoint(&mut self) {
        self.checkpoint = match self.deadline {
            Some(_) => self
                .budget
                .min(self.spent.saturating_add(CLOCK_CHECK_UNITS)),
            None => self.budget,
        };
    }

    /// The cost spent so far.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What is left of the budget.
    fn remaining(&self) -> u64 {
        self.budget.saturating_sub(self.spent)
    }

    /// Charges `units`; fails once the budget is exceeded or the deadline
    /// has passed.
    #[inline(always)]
    pub fn charge(&mut self, units: u64) -> Result<(), EvalError> {
        self.spent = self.spent.saturating_add(units);
        if self.spent > self.checkpoint {
            return self.at_checkpoint();
        }
        Ok(())
    }

    /// Past the checkpoint: over the budget, or time to look at the clock.
    #[cold]
    fn at_checkpoint(&mut self) -> Result<(), EvalError> {
        if self.spent > self.budget {
            return Err(self.exceeded());
        }
        if let Some(deadline) = self.deadline
            && Instant::now() >= deadline.at
        {
            return Err(EvalError::DeadlineExceeded {
                limit: deadline.timeout,
            });
        }
        self.set_checkpoint();
        Ok(())
    }

    #[cold]
    fn exceeded(&self) -> EvalError {
        self.cap.error()
    }

    /// Charges reading `n` bytes or elements.
    pub fn read(&mut self, n: usize) -> Result<(), EvalError> {
        self.charge(n as u64 / READ_PER_UNIT)
    }

    /// Charges reading the bytes of a string or bytes value (nothing for
    /// other values): hashing it as a map key, comparing it.
    pub(crate) fn read_text(&mut self, v: &Value) -> Result<(), EvalError> {
        self.read(text_len(v))
    }

    /// Charges visiting `n` values one by one.
    pub fn visit(&mut self, n: u64) -> Result<(), EvalError> {
        self.charge(n / VISITS_PER_UNIT)
    }

    /// Before producing a string or bytes value of `bytes` bytes: refuses it
    /// above `max_string_size`, else charges it.
    pub fn reserve_string(&mut self, bytes: usize) -> Result<(), EvalError> {
        check(SizeKind::String, bytes, self.limits.max_string_size)?;
        self.charge_allocation(bytes as u64)
    }

    /// Before producing a list of `len` elements: refuses it above
    /// `max_collection_size`, else charges it.
    pub fn reserve_list(&mut self, len: usize) -> Result<(), EvalError> {
        self.grow_list(len, len)
    }

    /// Before growing a list to `len` elements by allocating `added` of them
    /// (the rest are there already): refuses it above
    /// `max_collection_size`, else charges the added elements.
    pub fn grow_list(&mut self, len: usize, added: usize) -> Result<(), EvalError> {
        check(SizeKind::Collection, len, self.limits.max_collection_size)?;
        self.charge_allocation((added as u64).saturating_mul(LIST_ELEMENT_BYTES))
    }

    /// Before producing a map of `len` entries: refuses it above
    /// `max_collection_size`, else charges it.
    pub fn reserve_map(&mut self, len: usize) -> Result<(), EvalError> {
        self.grow_map(len, len)
    }

    /// [`Meter::grow_list`] for a map.
    pub fn grow_map(&mut self, len: usize, added: usize) -> Result<(), EvalError> {
        check(SizeKind::Collection, len, self.limits.max_collection_size)?;
        self.charge_allocation((added as u64).saturating_mul(MAP_ENTRY_BYTES))
    }

    /// Charges reading the arguments of a call: their bytes, elements and
    /// entries (the top level only; functions that go deeper charge their
    /// walk).
    pub(crate) fn read_arguments(&mut self, args: &[Value]) -> Result<(), EvalError> {
        let total: usize = args
            .iter()
            .map(|v| match v {
                Value::String(s) => s.len(),
                Value::Bytes(b) => b.len(),
                Value::List(l) => l.len(),
                Value::Map(m) => m.len(),
                _ => 0,
            })
            .sum();
        self.read(total)
    }

    fn charge_allocation(&mut self, bytes: u64) -> Result<(), EvalError> {
        self.charge(bytes.div_ceil(ALLOCATED_BYTES_PER_UNIT))
    }

    /// The largest string a writer that learns its output's size while
    /// writing may produce: the string limit, or less when the budget
    /// cannot pay for that much. Charge what was written with
    /// [`Meter::reserve_string`] afterwards; it fits.
    pub fn string_allowance(&self) -> usize {
        let affordable = self.remaining().saturating_mul(ALLOCATED_BYTES_PER_UNIT);
        self.limits
            .max_string_size
            .min(usize::try_from(affordable).unwrap_or(usize::MAX))
    }

    /// Charges producing `bytes` bytes spread over several strings (the
    /// parts of a `split`), each of which is no larger than one that
    /// exists already.
    pub fn reserve_bytes(&mut self, bytes: usize) -> Result<(), EvalError> {
        self.charge_allocation(bytes as u64)
    }

    /// Empty text that may grow as far as [`Meter::string_allowance`]; turn
    /// it into a value with [`Meter::finish_text`].
    pub fn text(&self) -> Text {
        let allowance = self.string_allowance();
        if allowance < self.limits.max_string_size {
            Text::budgeted(allowance, self.cap)
        } else {
            Text::sized(SizeKind::String, allowance)
        }
    }

    /// The string value of `text`, charged.
    pub fn finish_text(&mut self, text: Text) -> Result<Value, EvalError> {
        self.reserve_string(text.len())?;
        Ok(Value::from(text.into_string()))
    }

    /// Runs a walk over values with as many [`Steps`] as the remaining
    /// budget pays for, then charges the steps taken.
    pub(crate) fn walk<T>(
        &mut self,
        f: impl FnOnce(&mut Steps) -> Result<T, Exhausted>,
    ) -> Result<T, EvalError> {
        let mut steps = Steps::new(self.remaining().saturating_mul(VISITS_PER_UNIT));
        let outcome = f(&mut steps);
        self.visit(steps.taken())?;
        outcome.map_err(|Exhausted| self.exceeded())
    }

    /// CEL equality, charged per value visited.
    pub fn equals(&mut self, a: &Value, b: &Value) -> Result<bool, EvalError> {
        self.walk(|steps| a.equals_within(b, steps))
    }

    /// The compiled regular expression for `pattern`: compiled at most once
    /// per evaluation (and shared with later evaluations of the same
    /// program), each compilation charged.
    pub fn regex(&mut self, pattern: &str) -> Result<std::sync::Arc<regex::Regex>, EvalError> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re);
        }
        self.charge(crate::regexes::compile_cost(pattern))?;
        self.regexes.compile(pattern)
    }
}

/// The length of a string or bytes value; 0 for other values.
pub(crate) fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// Refuses `size` above `limit`.
fn check(kind: SizeKind, size: usize, limit: usize) -> Result<(), EvalError> {
    if size > limit {
        return Err(EvalError::TooLarge {
            kind,
            size: size as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(budget: u64) -> Limits {
        Limits {
            cost_budget: Some(budget),
            ..Limits::default()
        }
    }

    #[test]
    fn sizes_are_those_documented() {
        // docs/cel.md gives these figures.
        assert_eq!(LIST_ELEMENT_BYTES, 48);
        assert_eq!(MAP_ENTRY_BYTES, 88);
    }

    #[test]
    fn reservations_are_refused_before_they_are_charged() {
        let mut m = Meter::new(&limits(1_000));
        let too_long = m.limits().max_string_size + 1;
        assert!(matches!(
            m.reserve_string(too_long),
            Err(EvalError::TooLarge {
                kind: SizeKind::String,
                ..
            })
        ));
        assert_eq!(m.spent(), 0);
        m.reserve_string(1_600).unwrap();
        assert_eq!(m.spent(), 100);
        assert!(matches!(
            m.reserve_list(1_000),
            Err(EvalError::CostExceeded { limit: 1_000 })
        ));
    }

    #[test]
    fn the_string_allowance_is_what_the_budget_pays_for() {
        let mut m = Meter::new(&limits(1_000));
        assert_eq!(m.string_allowance(), 16_000);
        m.charge(500).unwrap();
        assert_eq!(m.string_allowance(), 8_000);
        let unlimited = Meter::new(&Limits {
            cost_budget: None,
            ..Limits::default()
        });
        assert_eq!(unlimited.string_allowance(), 3 << 20);
    }

    #[test]
    fn walks_stop_when_the_budget_runs_out() {
        let big = Value::list((0..100_000).map(Value::Int).collect());
        let mut m = Meter::new(&limits(1_000));
        assert!(matches!(
            m.equals(&big, &big.clone()),
            Err(EvalError::CostExceeded { .. })
        ));
        let mut m = Meter::new(&limits(1_000_000));
        assert!(m.equals(&big, &big.clone()).unwrap());
        assert_eq!(m.spent(), 100_001 / VISITS_PER_UNIT);
    }
}
