//! The static cost estimate: bounds on the runtime cost of an expression
//! (see `meter.rs` for the runtime model), computed from the checked tree.
//!
//! Sizes of literals are known; other lists, maps and strings are assumed
//! to hold [`crate::Limits::assumed_size`] elements or bytes, so nested
//! loops over unknown data multiply quickly, which is the point: such
//! expressions are the ones to look at. Every node counts 1, every
//! iteration 1 more, and a call the reading of its arguments, as at run
//! time; the finer charges of the runtime (values visited, bytes produced)
//! are not modelled yet.

use crate::ast::{Expr, ExprKind, Literal};
use crate::check::CheckedExpr;
use crate::meter::{Limits, READ_PER_UNIT};
use crate::types::Type;

/// Static bounds on the runtime cost of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostEstimate {
    /// Cost when every short-circuit is taken and loops over unknown data are empty.
    pub min: u64,
    /// Cost when nothing short-circuits and unknown collections have the assumed size.
    pub max: u64,
}

impl CostEstimate {
    fn constant(c: u64) -> Self {
        CostEstimate { min: c, max: c }
    }

    fn add(self, o: CostEstimate) -> Self {
        CostEstimate {
            min: self.min.saturating_add(o.min),
            max: self.max.saturating_add(o.max),
        }
    }

    /// True when the worst case is above `budget`.
    pub fn exceeds(&self, budget: u64) -> bool {
        self.max > budget
    }
}

/// Estimates the cost of a checked expression under `limits`.
pub fn estimate(checked: &CheckedExpr, limits: &Limits) -> CostEstimate {
    Estimator { checked, limits }.cost(&checked.expr)
}

struct Estimator<'a> {
    checked: &'a CheckedExpr,
    limits: &'a Limits,
}

impl Estimator<'_> {
    /// Known or assumed (min, max) size of the value of `e`.
    fn size(&self, e: &Expr) -> (u64, u64) {
        match &e.kind {
            ExprKind::Literal(Literal::String(s)) => (s.len() as u64, s.len() as u64),
            ExprKind::Literal(Literal::Bytes(b)) => (b.len() as u64, b.len() as u64),
            ExprKind::List { elements, .. } => (0, elements.len() as u64),
            ExprKind::Map(entries) => (0, entries.len() as u64),
            ExprKind::Call {
                target,
                function,
                args,
            } if args.len() == 1
                && (function == "lists.range"
                    || (function == "range"
                        && matches!(target.as_deref().map(|t| &t.kind), Some(ExprKind::Ident(n)) if n == "lists"))) =>
            {
                match &args[0].kind {
                    ExprKind::Literal(Literal::Int(n)) => {
                        let n = u64::try_from(*n).unwrap_or(0);
                        (n, n)
                    }
                    _ => (0, self.limits.assumed_size),
                }
            }
            _ => match self.checked.type_of(e.id) {
                Some(Type::String | Type::Bytes | Type::List(_) | Type::Map(..) | Type::Dyn) => {
                    (0, self.limits.assumed_size)
                }
                _ => (0, 0),
            },
        }
    }

    fn cost(&self, e: &Expr) -> CostEstimate {
        let one = CostEstimate::constant(1);
        match &e.kind {
            ExprKind::Literal(_) | ExprKind::Ident(_) => one,
            ExprKind::Select { operand, .. } => one.add(self.cost(operand)),
            ExprKind::Call {
                target,
                function,
                args,
            } => {
                let parts: Vec<CostEstimate> = target
                    .iter()
                    .map(|t| self.cost(t))
                    .chain(args.iter().map(|a| self.cost(a)))
                    .collect();
                match (function.as_str(), parts.as_slice()) {
                    ("_&&_" | "_||_", [l, r]) => CostEstimate {
                        min: 1 + l.min,
                        max: 1u64.saturating_add(l.max).saturating_add(r.max),
                    },
                    ("_?_:_", [c, t, f]) => CostEstimate {
                        min: 1 + c.min + t.min.min(f.min),
                        max: 1u64.saturating_add(c.max).saturating_add(t.max.max(f.max)),
                    },
                    _ => {
                        let size: u64 = target
                            .iter()
                            .map(|t| &**t)
                            .chain(args.iter())
                            .map(|a| self.size(a).1)
                            .fold(0u64, u64::saturating_add);
                        let base = parts.into_iter().fold(one, CostEstimate::add);
                        CostEstimate {
                            min: base.min,
                            max: base.max.saturating_add(size / READ_PER_UNIT),
                        }
                    }
                }
            }
            ExprKind::List { elements, .. } => elements
                .iter()
                .map(|x| self.cost(x))
                .fold(one, CostEstimate::add),
            ExprKind::Map(entries) => entries
                .iter()
                .map(|en| self.cost(&en.key).add(self.cost(&en.value)))
                .fold(one, CostEstimate::add),
            ExprKind::Struct { fields, .. } => fields
                .iter()
                .map(|f| self.cost(&f.value))
                .fold(one, CostEstimate::add),
            ExprKind::Comprehension(c) => {
                let (min_n, max_n) = self.size(&c.iter_range);
                let per = CostEstimate::constant(1)
                    .add(self.cost(&c.loop_cond))
                    .add(self.cost(&c.loop_step));
                one.add(self.cost(&c.iter_range))
                    .add(self.cost(&c.accu_init))
                    .add(self.cost(&c.result))
                    .add(CostEstimate {
                        min: per.min.saturating_mul(min_n),
                        max: per.max.saturating_mul(max_n),
                    })
            }
        }
    }
}
