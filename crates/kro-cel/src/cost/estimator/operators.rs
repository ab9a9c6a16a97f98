//! The operators the evaluator runs itself (`&&`, `?:`, `==`, `+`,
//! indexing, `in`, the map insertion of `transformMap`), estimated as the
//! evaluator charges them; a `+` onto the accumulator of `map` or `filter`
//! appends in place, as it does at run time.

use super::{Cost, Est, Estimator, Outcome, elements_path, is_accumulator, is_composite};
use crate::ast::Expr;
use crate::cost::bound::{Bound, Parts};
use crate::cost::estimator::element_of;
use crate::cost::units;
use crate::macros::ACCU;
use crate::types::Type;

impl Estimator<'_> {
    /// The operators the evaluator runs itself (see `plan.rs`), or `None`
    /// for a library call.
    pub(super) fn operator(&mut self, e: &Expr, function: &str, args: &[Expr]) -> Option<Est> {
        let est = match (function, args) {
            ("_&&_" | "_||_", [l, r]) => {
                let (l, r) = (self.visit(l), self.visit(r));
                Est {
                    cost: Cost::between(1 + l.cost.min, 1 + l.cost.max + r.cost.max),
                    value: Bound::scalar(),
                    fails: l.fails,
                    path: None,
                }
            }
            ("_?_:_", [c, t, f]) => {
                let (c, t, f) = (self.visit(c), self.visit(t), self.visit(f));
                Est {
                    cost: Cost::between(
                        1 + c.cost.min + t.cost.min.min(f.cost.min),
                        1 + c.cost.max + t.cost.max.max(f.cost.max),
                    ),
                    value: t.value.join(&f.value),
                    fails: c.fails.or(t.fails.and(f.fails)),
                    path: None,
                }
            }
            ("!_" | "@not_strictly_false", [a]) => {
                let a = self.visit(a);
                self.binary(a, None, Outcome::free(Bound::scalar()))
            }
            ("_==_" | "_!=_", [a, b]) => {
                let composite = is_composite(self.type_of(a)) || is_composite(self.type_of(b));
                let (a, b) = (self.visit(a), self.visit(b));
                let work = if composite {
                    self.note_deep(&a.value);
                    self.note_deep(&b.value);
                    units::visits(a.value.walk_steps().min(b.value.walk_steps()))
                } else {
                    self.note_len(&a.value);
                    units::read(a.value.len.min(b.value.len))
                };
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(a, Some(b), outcome)
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", [a, b]) => {
                let (a, b) = (self.visit(a), self.visit(b));
                self.note_len(&a.value);
                let work = units::read(a.value.len.min(b.value.len));
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(a, Some(b), outcome)
            }
            ("_-_" | "_*_" | "_/_" | "_%_", [a, b]) => {
                let (a, b) = (self.visit(a), self.visit(b));
                self.binary(a, Some(b), Outcome::free(Bound::scalar()))
            }
            ("_+_", [a, b]) => self.add(e, a, b),
            ("_[_]", [c, i]) => {
                let elem_ty = self.type_of(e);
                let (c, i) = (self.visit(c), self.visit(i));
                let path = c.path.as_ref().map(elements_path);
                let element = self.element(&c.value, elem_ty, path.as_ref());
                // A map key is hashed.
                let outcome = Outcome::free(element).plus(Cost::fixed(units::read(i.value.len)));
                let mut est = self.binary(c, Some(i), outcome);
                est.path = path;
                est
            }
            ("@in", [x, c]) => {
                let in_list = !matches!(self.type_of(c), Some(Type::Map(..)));
                let (x, c) = (self.visit(x), self.visit(c));
                let work = if in_list {
                    self.note_deep(&c.value);
                    units::visits(c.value.walk_steps())
                } else {
                    units::read(x.value.len)
                };
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(x, Some(c), outcome)
            }
            ("cel.@mapInsert", [m, rest @ ..]) if !rest.is_empty() => self.map_insert(m, rest),
            _ => return None,
        };
        Some(est)
    }

    /// A node of one or two evaluated operands and what its operator adds.
    fn binary(&mut self, a: Est, b: Option<Est>, outcome: Outcome) -> Est {
        let mut cost = Cost::fixed(1).plus(a.cost).plus(outcome.cost);
        let mut fails = a.fails;
        if let Some(b) = b {
            cost = cost.plus(b.cost);
            fails = fails.or(b.fails);
        }
        Est {
            cost,
            value: outcome.value,
            fails: fails.or(outcome.fails),
            path: None,
        }
    }

    /// `a + b`: numbers, a concatenation of strings (or bytes), or of lists
    /// (in place when `a` is the accumulator of `map` or `filter`).
    fn add(&mut self, e: &Expr, a: &Expr, b: &Expr) -> Est {
        let accumulates = is_accumulator(a);
        let result_ty = self.type_of(e);
        let (a, b) = (self.visit(a), self.visit(b));
        let (x, y) = (&a.value, &b.value);
        let outcome = match result_ty {
            Some(Type::List(element_ty)) => {
                if accumulates && self.grow(y, false) {
                    // Only the appended elements are allocated.
                    let appended =
                        Cost::between(units::list_elements(y.min_len), units::list_elements(y.len));
                    Outcome::free(x.clone()).plus(appended)
                } else {
                    self.concatenate_lists(x, y, Some(element_ty))
                }
            }
            Some(Type::String | Type::Bytes) => self.concatenate_text(x, y),
            Some(ty) if !is_composite(Some(ty)) => Outcome::free(Bound::scalar()),
            _ => {
                // Unknown at check time: the costlier of the two.
                let text = self.concatenate_text(x, y);
                let list = self.concatenate_lists(x, y, None);
                Outcome {
                    cost: Cost::between(
                        text.cost.min.min(list.cost.min),
                        text.cost.max.max(list.cost.max),
                    ),
                    value: text.value.join(&list.value),
                    fails: text.fails.and(list.fails),
                }
            }
        };
        self.binary(a, Some(b), outcome)
    }

    fn concatenate_text(&mut self, x: &Bound, y: &Bound) -> Outcome {
        self.note_len(x);
        self.note_len(y);
        self.produce_string(
            x.min_len.saturating_add(y.min_len),
            x.len.saturating_add(y.len),
        )
    }

    fn concatenate_lists(&mut self, x: &Bound, y: &Bound, element_ty: Option<&Type>) -> Outcome {
        self.note_len(x);
        self.note_len(y);
        let element = self
            .element(x, element_ty, None)
            .join(&self.element(y, element_ty, None));
        let mut out = self.produce_list(
            x.min_len.saturating_add(y.min_len),
            x.len.saturating_add(y.len),
            element,
        );
        out.value.values = x.values.saturating_add(y.values);
        out.value.bytes = x.bytes.saturating_add(y.bytes);
        out.value.min_bytes = x.min_bytes.saturating_add(y.min_bytes);
        // Lists of a schema may be `set` or `map` lists, which merge by
        // key: a walk over both.
        if matches!(x.parts, Parts::Schema(_)) || matches!(y.parts, Parts::Schema(_)) {
            let walk = units::visits(2 * x.values.saturating_add(y.values));
            out = out.plus(Cost::between(0, walk));
        }
        out
    }

    /// `cel.@mapInsert(m, k, v)` or `cel.@mapInsert(m, entries)`: in place
    /// when `m` is the accumulator of `transformMap`.
    fn map_insert(&mut self, m: &Expr, rest: &[Expr]) -> Est {
        let accumulates = is_accumulator(m);
        let map = self.visit(m);
        let parts: Vec<Est> = rest.iter().map(|x| self.visit(x)).collect();
        let added = match parts.as_slice() {
            [k, v] => Bound::map(1, 1, k.value.clone(), v.value.clone()),
            [entries] => entries.value.clone(),
            _ => Bound::nothing(),
        };
        let outcome = if accumulates && self.grow(&added, true) {
            Outcome::free(map.value.clone()).plus(Cost::between(
                units::map_entries(added.min_len),
                units::map_entries(added.len),
            ))
        } else {
            self.note_len(&map.value);
            let value = element_of(&map.value).join(&element_of(&added));
            let key = Self::key(&map.value).join(&Self::key(&added));
            self.produce_map(
                map.value.min_len.max(added.min_len),
                map.value.len.saturating_add(added.len),
                key,
                value,
            )
        };
        let mut cost = Cost::fixed(1).plus(map.cost).plus(outcome.cost);
        let mut fails = map.fails.or(outcome.fails);
        for p in &parts {
            cost = cost.plus(p.cost);
            fails = fails.or(p.fails);
        }
        Est {
            cost,
            value: outcome.value,
            fails,
            path: None,
        }
    }

    /// Records what one step adds to the innermost accumulator (a list, or
    /// a map when `map`); false when that accumulator does not grow so.
    fn grow(&mut self, added: &Bound, map: bool) -> bool {
        let Some(local) = self.locals.iter_mut().rev().find(|l| l.name == ACCU) else {
            return false;
        };
        match &mut local.growth {
            Some(growth) if growth.map == map => {
                growth.added = Some(match &growth.added {
                    Some(before) => before.join(added),
                    None => added.clone(),
                });
                true
            }
            _ => false,
        }
    }
}
