//! Comprehensions (every macro): the loop's cost from its range's length
//! and its step's cost, charged with the largest element only as often as
//! such elements fit in the range, and the accumulator of `map`, `filter`
//! and `transformMap` grown by what each step adds.

use std::sync::Arc;

use super::{Cost, Est, Estimator, Growth, Local, Outcome, element_of, elements_path};
use crate::ast::{Comprehension, ExprKind, Literal};
use crate::cost::TooLarge;
use crate::cost::bound::Bound;
use crate::macros::ACCU;
use crate::types::Type;

impl Estimator<'_> {
    pub(super) fn comprehension(&mut self, c: &Comprehension) -> Est {
        let range = self.visit(&c.iter_range);
        let init = self.visit(&c.accu_init);
        let range_ty = self.type_of(&c.iter_range);
        let always = matches!(c.loop_cond.kind, ExprKind::Literal(Literal::Bool(true)));
        let (min_n, max_n) = (
            if always { range.value.min_len } else { 0 },
            range.value.len,
        );
        if max_n > 0 {
            self.note_len(&range.value);
        }
        let growth = match (&c.accu_init.kind, c.accu_var == ACCU) {
            (ExprKind::List { elements, .. }, true) if elements.is_empty() => Some(Growth {
                map: false,
                added: None,
            }),
            (ExprKind::Map(entries), true) if entries.is_empty() => Some(Growth {
                map: true,
                added: None,
            }),
            _ => None,
        };
        let grows = growth.is_some();
        let map_accumulator = matches!(c.accu_init.kind, ExprKind::Map(_));
        self.locals.push(Local {
            name: c.accu_var.clone(),
            bound: init.value.clone(),
            path: None,
            growth,
        });
        let variables = self.iteration_variables(c, &range, range_ty);
        self.loop_depth += 1;
        let full = self.body(c, &variables.largest, grows);
        // The same step with the smallest elements, to tell what a step
        // costs whatever its element from what grows with the element.
        let least = (max_n > 0 && variables.sized && self.loop_depth <= AMORTIZED_DEPTH)
            .then(|| self.body(c, &variables.smallest, grows));
        self.loop_depth -= 1;
        self.locals.pop();
        let largest = variables.largest_elements(&range.value, max_n);
        let amortized = |full: u64, least: Option<u64>| match least {
            Some(least) => amortize(max_n, largest, least, full),
            None => full.saturating_mul(max_n),
        };
        let loop_cost = Cost {
            min: min_n.saturating_mul(least.as_ref().map_or(full.cost.min, |l| l.cost.min)),
            max: amortized(full.cost.max, least.as_ref().map(|l| l.cost.max)),
        };
        let final_bound = match &full.added {
            Some(added) if grows => {
                let conditional = matches!(
                    &c.loop_step.kind,
                    ExprKind::Call { function, .. } if function == "_?_:_"
                );
                let least_added = least.as_ref().and_then(|l| l.added.as_ref());
                let mut out = self.grown(added, map_accumulator, conditional, min_n, max_n);
                out.value.values =
                    amortized(added.values, least_added.map(|l| l.values)).saturating_add(1);
                out.value.bytes = amortized(added.bytes, least_added.map(|l| l.bytes));
                out
            }
            None if grows => self.grown(&Bound::nothing(), map_accumulator, false, 0, 0),
            _ if max_n > 0 => Outcome::free(init.value.join(&full.step)),
            _ => Outcome::free(init.value.clone()),
        };
        self.locals.push(Local {
            name: c.accu_var.clone(),
            bound: final_bound.value.clone(),
            path: None,
            growth: None,
        });
        let result = self.visit(&c.result);
        self.locals.pop();
        let cost = Cost::fixed(1)
            .plus(range.cost)
            .plus(init.cost)
            .plus(loop_cost)
            .plus(result.cost);
        let in_loop = if min_n > 0 { full.fails } else { None };
        Est {
            cost,
            value: result.value,
            fails: range
                .fails
                .or(init.fails)
                .or(in_loop)
                .or(final_bound.fails)
                .or(result.fails),
            path: None,
        }
    }

    /// The variables a loop over `range` binds, at their largest and at
    /// their smallest.
    fn iteration_variables(
        &mut self,
        c: &Comprehension,
        range: &Est,
        range_ty: Option<&Type>,
    ) -> IterationVariables {
        let element_path = range.path.as_ref().map(elements_path);
        let element_ty = match range_ty {
            Some(Type::List(t)) => Some(&**t),
            Some(Type::Map(_, v)) => Some(&**v),
            _ => None,
        };
        let element = self.element(&range.value, element_ty, element_path.as_ref());
        let key = match range_ty {
            Some(Type::List(_)) => Bound::scalar(),
            Some(Type::Map(..)) => Self::key(&range.value),
            _ => Self::key(&range.value).join(&element),
        };
        let is_list = matches!(range_ty, Some(Type::List(_)));
        let largest: Vec<(String, Bound, Option<Arc<str>>)> = match &c.iter_var2 {
            Some(second) => vec![
                (c.iter_var.clone(), key, None),
                (second.clone(), element, element_path),
            ],
            None if is_list => vec![(c.iter_var.clone(), element, element_path)],
            None => vec![(c.iter_var.clone(), key, element_path)],
        };
        let sized = largest
            .iter()
            .any(|(_, b, _)| b.bytes > 0 || b.values > 1 || b.len > 0);
        let smallest = largest
            .iter()
            .map(|(name, _, path)| (name.clone(), Bound::scalar(), path.clone()))
            .collect();
        IterationVariables {
            largest,
            smallest,
            sized,
        }
    }

    /// One step of a loop with its variables bound to `variables`.
    fn body(
        &mut self,
        c: &Comprehension,
        variables: &[(String, Bound, Option<Arc<str>>)],
        grows: bool,
    ) -> Body {
        let scope = self.locals.len();
        for (name, bound, path) in variables {
            self.push_local(name, bound.clone(), path.clone());
        }
        let cond = self.visit(&c.loop_cond);
        let step = self.visit(&c.loop_step);
        self.locals.truncate(scope);
        let added = if grows { self.take_growth() } else { None };
        Body {
            cost: Cost::fixed(1).plus(cond.cost).plus(step.cost),
            step: step.value,
            added,
            fails: cond.fails.or(step.fails),
        }
    }

    /// What the steps seen so far added to the innermost accumulator.
    fn take_growth(&mut self) -> Option<Bound> {
        let local = self.locals.iter_mut().rev().find(|l| l.name == ACCU)?;
        local.growth.as_mut()?.added.take()
    }

    fn push_local(&mut self, name: &str, bound: Bound, path: Option<Arc<str>>) {
        self.locals.push(Local {
            name: name.to_string(),
            bound,
            path,
            growth: None,
        });
    }

    /// The accumulator of a `map`, `filter` (or of a `transformMap` when
    /// `map`) after `min_n` to `max_n` steps that each add `added` (only
    /// some of them when `conditional`). Its allocation was charged step
    /// by step.
    fn grown(
        &self,
        added: &Bound,
        map: bool,
        conditional: bool,
        min_n: u64,
        max_n: u64,
    ) -> Outcome {
        let least = if conditional {
            0
        } else {
            min_n.saturating_mul(added.min_len)
        };
        let most = max_n.saturating_mul(added.len);
        let mut out = if map {
            self.produce_map(least, most, Self::key(added), element_of(added))
        } else {
            self.produce_list(least, most, element_of(added))
        };
        let steps = if conditional { 0 } else { min_n };
        out.value.min_bytes = steps.saturating_mul(added.min_bytes);
        out.cost = Cost::default();
        out
    }
}

/// Loops nested deeper than this are estimated with every element at its
/// largest (each level estimates its step twice).
const AMORTIZED_DEPTH: usize = 6;

/// One step of a loop, as estimated.
struct Body {
    /// The iteration, the condition and the step.
    cost: Cost,
    /// The step's value.
    step: Bound,
    /// What the step adds to a growing accumulator.
    added: Option<Bound>,
    fails: Option<TooLarge>,
}

/// The variables of a loop: name, bound and path.
struct IterationVariables {
    largest: Vec<(String, Bound, Option<Arc<str>>)>,
    smallest: Vec<(String, Bound, Option<Arc<str>>)>,
    /// Whether the largest have a size at all.
    sized: bool,
}

impl IterationVariables {
    /// How many of the `n` elements of `range` can be at their largest at
    /// once: the elements together are no larger than the range.
    fn largest_elements(&self, range: &Bound, n: u64) -> u64 {
        let (mut bytes, mut values) = (0u64, 0u64);
        for (_, b, _) in &self.largest {
            bytes = bytes.saturating_add(b.bytes);
            values = values.saturating_add(b.values);
        }
        let mut k = n;
        if bytes > 0 {
            k = k.min(range.bytes.div_ceil(bytes));
        }
        if values > 1 {
            k = k.min(range.values.div_ceil(values));
        }
        k
    }
}

/// The total over `n` steps of something that is `least` for the
/// smallest element and `full` for the largest, of which at most `largest`
/// steps see: the rest is no more than the smallest case (for work that
/// grows with its element at least linearly, as loops over it do).
fn amortize(n: u64, largest: u64, least: u64, full: u64) -> u64 {
    let spread = n
        .saturating_mul(least)
        .saturating_add(largest.saturating_mul(full.saturating_sub(least)));
    spread.min(n.saturating_mul(full))
}
