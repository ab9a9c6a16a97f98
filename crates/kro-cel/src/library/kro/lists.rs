//! kro's index-mutation functions for lists: `lists.setAtIndex`,
//! `lists.insertAtIndex` and `lists.removeAtIndex`. Each returns a new list,
//! reserved before it is copied.

use crate::cost::CallRule;
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

pub(crate) fn install(env: &mut Env) {
    env.define_metered(
        "lists.setAtIndex",
        &["(list(T), int, T) -> list(T)"],
        |a, m| match a {
            [Value::List(l), Value::Int(i), v] => {
                let i = index(*i, l.len(), false)
                    .ok_or_else(|| out_of_bounds("setAtIndex", *i, l.len(), ")"))?;
                m.reserve_list(l.len())?;
                let mut out = (**l).clone();
                out[i] = v.clone();
                Ok(Value::list(out))
            }
            _ => Err(EvalError::no_overload("lists.setAtIndex", a)),
        },
    );
    env.define_metered(
        "lists.insertAtIndex",
        &["(list(T), int, T) -> list(T)"],
        |a, m| match a {
            [Value::List(l), Value::Int(i), v] => {
                let i = index(*i, l.len(), true)
                    .ok_or_else(|| out_of_bounds("insertAtIndex", *i, l.len(), "]"))?;
                m.reserve_list(l.len() + 1)?;
                let mut out = (**l).clone();
                out.insert(i, v.clone());
                Ok(Value::list(out))
            }
            _ => Err(EvalError::no_overload("lists.insertAtIndex", a)),
        },
    );
    env.define_metered(
        "lists.removeAtIndex",
        &["(list(T), int) -> list(T)"],
        |a, m| match a {
            [Value::List(l), Value::Int(i)] => {
                let i = index(*i, l.len(), false)
                    .ok_or_else(|| out_of_bounds("removeAtIndex", *i, l.len(), ")"))?;
                m.reserve_list(l.len())?;
                let mut out = (**l).clone();
                out.remove(i);
                Ok(Value::list(out))
            }
            _ => Err(EvalError::no_overload("lists.removeAtIndex", a)),
        },
    );
    let copies = |added, replaces| CallRule::CopiesList { added, replaces };
    env.set_cost_rule("lists.setAtIndex", copies(0, true));
    env.set_cost_rule("lists.insertAtIndex", copies(1, true));
    env.set_cost_rule("lists.removeAtIndex", copies(0, false));
}

/// `i` as an index into a list of `len` (or one past the end when `end_ok`).
fn index(i: i64, len: usize, end_ok: bool) -> Option<usize> {
    let i = usize::try_from(i).ok()?;
    (i < len || (end_ok && i == len)).then_some(i)
}

fn out_of_bounds(f: &str, i: i64, len: usize, close: &str) -> EvalError {
    EvalError::InvalidArgument(format!(
        "lists.{f}: index {i} out of bounds [0, {len}{close}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn set_at_index() {
        truthy("lists.setAtIndex([1, 2, 3], 1, 99) == [1, 99, 3]");
        truthy("lists.setAtIndex(['a', 'b', 'c'], 0, 'z') == ['z', 'b', 'c']");
        fails(
            "lists.setAtIndex([1], 1, 5)",
            "lists.setAtIndex: index 1 out of bounds [0, 1)",
        );
        fails("lists.setAtIndex([1], -1, 5)", "out of bounds");
        fails("lists.setAtIndex([1], 0, 'x')", "no matching overload");
    }

    #[test]
    fn insert_at_index() {
        truthy("lists.insertAtIndex([1, 2, 3], 1, 99) == [1, 99, 2, 3]");
        truthy("lists.insertAtIndex([1, 2, 3], 0, 99) == [99, 1, 2, 3]");
        truthy("lists.insertAtIndex([1, 2, 3], 3, 99) == [1, 2, 3, 99]");
        truthy("lists.insertAtIndex([], 0, 1) == [1]");
        fails(
            "lists.insertAtIndex([1], 2, 5)",
            "lists.insertAtIndex: index 2 out of bounds [0, 1]",
        );
    }

    #[test]
    fn remove_at_index() {
        truthy("lists.removeAtIndex([1, 2, 3], 1) == [1, 3]");
        truthy("lists.removeAtIndex([1, 2, 3], 0) == [2, 3]");
        truthy("lists.removeAtIndex([1, 2, 3], 2) == [1, 2]");
        fails(
            "lists.removeAtIndex([], 0)",
            "lists.removeAtIndex: index 0 out of bounds [0, 0)",
        );
    }
}
