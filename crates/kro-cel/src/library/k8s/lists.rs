//! The Kubernetes `lists` library: `isSorted`, `sum`, `min`, `max`,
//! `indexOf`, `lastIndexOf`.

use crate::cost::CallRule;
use std::cmp::Ordering;

use jiff::SignedDuration;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::{Meter, text_len};
use crate::value::Value;

/// Element types the API server declares these functions for.
const COMPARABLE: &[&str] = &[
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
];

pub(crate) fn install(env: &mut Env) {
    let sigs = |f: &dyn Fn(&str) -> String| COMPARABLE.iter().map(|t| f(t)).collect::<Vec<_>>();
    let sorted_sigs = sigs(&|t| format!("list({t}).() -> bool"));
    overload(env, "isSorted", &refs(&sorted_sigs), |a, m| match a {
        [Value::List(l)] => Some(compared(l, m).and_then(|()| is_sorted(l))),
        _ => None,
    });
    overload(
        env,
        "sum",
        &[
            "list(int).() -> int",
            "list(uint).() -> uint",
            "list(double).() -> double",
            "list(google.protobuf.Duration).() -> google.protobuf.Duration",
        ],
        |a, _| match a {
            [Value::List(l)] => Some(sum(l)),
            _ => None,
        },
    );
    let min_max = sigs(&|t| format!("list({t}).() -> {t}"));
    overload(env, "min", &refs(&min_max), |a, m| match a {
        [Value::List(l)] => Some(compared(l, m).and_then(|()| extreme(l, "min", Ordering::Less))),
        _ => None,
    });
    overload(env, "max", &refs(&min_max), |a, m| match a {
        [Value::List(l)] => {
            Some(compared(l, m).and_then(|()| extreme(l, "max", Ordering::Greater)))
        }
        _ => None,
    });
    overload(env, "indexOf", &["list(A).(A) -> int"], |a, m| match a {
        [Value::List(l), x] => Some(find(l.iter().enumerate(), x, m)),
        _ => None,
    });
    overload(
        env,
        "lastIndexOf",
        &["list(A).(A) -> int"],
        |a, m| match a {
            [Value::List(l), x] => Some(find(l.iter().enumerate().rev(), x, m)),
            _ => None,
        },
    );
    env.set_cost_rule("isSorted", CallRule::ComparesElements);
    env.set_cost_rule("min", CallRule::ComparesElements);
    env.set_cost_rule("max", CallRule::ComparesElements);
    env.set_cost_rule("sum", CallRule::Element);
    env.set_cost_rule("indexOf", CallRule::Searches);
    env.set_cost_rule("lastIndexOf", CallRule::Searches);
}

/// Charges comparing each element of `l` with another: a visit each, and
/// reading their strings (one list may hold one long string many times).
fn compared(l: &[Value], m: &mut Meter<'_>) -> Result<(), EvalError> {
    m.visit(2 * l.len() as u64)?;
    m.read(l.iter().map(text_len).sum())
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The index of the first of `items` equal to `x`, or -1; each comparison
/// is charged per value it visits.
fn find<'v>(items: impl Iterator<Item = (usize, &'v Value)>, x: &Value, m: &mut Meter<'_>) -> R {
    let found = m.walk(|steps| {
        for (i, v) in items {
            if v.equals_within(x, steps)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    })?;
    Ok(Value::Int(
        found.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1),
    ))
}

fn is_sorted(l: &[Value]) -> R {
    for pair in l.windows(2) {
        if let [a, b] = pair
            && a.compare(b)? == Some(Ordering::Greater)
        {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn sum(l: &[Value]) -> R {
    let Some(first) = l.first() else {
        // The element type is not known at run time: 0 reads as any number.
        return Ok(Value::Int(0));
    };
    let mut acc = match first {
        Value::Int(_) => Value::Int(0),
        Value::Uint(_) => Value::Uint(0),
        Value::Double(_) => Value::Double(0.0),
        Value::Duration(_) => Value::Duration(SignedDuration::ZERO),
        other => return Err(EvalError::no_overload("sum", std::slice::from_ref(other))),
    };
    for v in l {
        acc = match (&acc, v) {
            (Value::Int(a), Value::Int(b)) => {
                Value::Int(a.checked_add(*b).ok_or(EvalError::Overflow("int"))?)
            }
            (Value::Uint(a), Value::Uint(b)) => {
                Value::Uint(a.checked_add(*b).ok_or(EvalError::Overflow("uint"))?)
            }
            (Value::Double(a), Value::Double(b)) => Value::Double(a + b),
            (Value::Duration(a), Value::Duration(b)) => {
                Value::Duration(a.checked_add(*b).ok_or(EvalError::Overflow("duration"))?)
            }
            (_, other) => return Err(EvalError::no_overload("sum", &[acc.clone(), other.clone()])),
        };
    }
    Ok(acc)
}

fn extreme(l: &[Value], name: &str, keep: Ordering) -> R {
    let mut iter = l.iter();
    let Some(mut best) = iter.next() else {
        return Err(EvalError::InvalidArgument(format!(
            "{name} called on empty list"
        )));
    };
    for v in iter {
        if v.compare(best)? == Some(keep) {
            best = v;
        }
    }
    Ok(best.clone())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval, fails, truthy};

    #[test]
    fn is_sorted() {
        truthy("[1, 2, 2, 3].isSorted()");
        truthy("![2, 1].isSorted()");
        truthy("[].isSorted()");
        truthy("['a', 'b'].isSorted()");
        truthy("[duration('1s'), duration('2s')].isSorted()");
        fails("[[1], [2]].isSorted()", "no matching overload");
    }

    #[test]
    fn sum() {
        truthy("[1, 2, 3].sum() == 6");
        truthy("[1u, 2u].sum() == 3u");
        truthy("[0.5, 0.25].sum() == 0.75");
        truthy("[duration('1s'), duration('500ms')].sum() == duration('1.5s')");
        truthy("[].sum() == 0");
        fails("[9223372036854775807, 1].sum()", "overflow");
        fails("['a'].sum()", "no matching overload");
    }

    #[test]
    fn min_max() {
        truthy("[3, 1, 2].min() == 1");
        truthy("[3, 1, 2].max() == 3");
        truthy("['b', 'a'].min() == 'a'");
        truthy(
            "[timestamp('2020-01-01T00:00:00Z'), timestamp('2021-01-01T00:00:00Z')].max() == timestamp('2021-01-01T00:00:00Z')",
        );
        fails("[].min()", "min called on empty list");
        fails("[].max()", "max called on empty list");
    }

    #[test]
    fn index_of() {
        truthy("[1, 2, 3, 2].indexOf(2) == 1");
        truthy("[1, 2, 3, 2].lastIndexOf(2) == 3");
        truthy("[1, 2].indexOf(5) == -1");
        truthy("[[1], [2]].indexOf([2]) == 1");
        // The strings library keeps its own indexOf.
        truthy("'hello'.indexOf('l') == 2");
        truthy("'hello'.lastIndexOf('l') == 3");
        assert!(eval("[1, 2].indexOf('x')").is_err());
    }
}
