//! cel-go's `lists` extension: `slice`, `flatten`, `sort`, `sortBy`,
//! `distinct`, `reverse`, `first`, `last` and `lists.range`.
//!
//! Every result is reserved on the meter before it is built; sorting is
//! charged for its comparisons up front, and `distinct` hashes (see
//! `distinct.rs`) instead of comparing every pair.

use crate::cost::CallRule;
use std::cmp::Ordering;

use super::distinct::distinct;
use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::Value;
use crate::value::steps::{Exhausted, Steps};

type R = Result<Value, EvalError>;

pub(crate) fn install(env: &mut Env) {
    env.define_metered("slice", &["list(A).(int, int) -> list(A)"], slice);
    env.define_metered(
        "flatten",
        &[
            "list(list(A)).() -> list(A)",
            "list(dyn).(int) -> list(dyn)",
        ],
        flatten,
    );
    env.define_metered("sort", &["list(A).() -> list(A)"], |a, m| match a {
        [Value::List(l)] => sorted(l, l, m).map(Value::list),
        _ => Err(EvalError::no_overload("sort", a)),
    });
    env.define_metered(
        "@sortByAssociatedKeys",
        &["(list(A), list(B)) -> list(A)"],
        |a, m| match a {
            [Value::List(l), Value::List(keys)] if l.len() == keys.len() => {
                sorted(l, keys, m).map(Value::list)
            }
            _ => Err(EvalError::no_overload("sortBy", a)),
        },
    );
    env.define_metered("distinct", &["list(A).() -> list(A)"], |a, m| match a {
        [Value::List(l)] => distinct(l, m),
        _ => Err(EvalError::no_overload("distinct", a)),
    });
    env.declare("reverse", &["list(A).() -> list(A)"]);
    env.set_implementation(
        "reverse",
        std::sync::Arc::new(|a: &[Value], m: &mut Meter<'_>| match a {
            [Value::List(l)] => {
                m.reserve_list(l.len())?;
                Ok(Value::list(l.iter().rev().cloned().collect()))
            }
            [Value::String(s)] => super::strings::reverse_string(s, m),
            _ => Err(EvalError::no_overload("reverse", a)),
        }),
    );
    env.define("first", &["list(A).() -> optional_type(A)"], |a| match a {
        [Value::List(l)] => Ok(Value::Optional(l.first().cloned().map(std::sync::Arc::new))),
        _ => Err(EvalError::no_overload("first", a)),
    });
    env.define("last", &["list(A).() -> optional_type(A)"], |a| match a {
        [Value::List(l)] => Ok(Value::Optional(l.last().cloned().map(std::sync::Arc::new))),
        _ => Err(EvalError::no_overload("last", a)),
    });
    env.define_metered("lists.range", &["(int) -> list(int)"], |a, m| match a {
        [Value::Int(n)] => {
            let n = usize::try_from(*n).unwrap_or(0);
            m.reserve_list(n)?;
            Ok(Value::list((0..n as i64).map(Value::Int).collect()))
        }
        _ => Err(EvalError::no_overload("lists.range", a)),
    });
    use CallRule::*;
    let copies = CopiesList {
        added: 0,
        replaces: false,
    };
    env.set_cost_rule("slice", copies);
    env.set_cost_rule("flatten", Flattens);
    env.set_cost_rule("sort", Sorts);
    env.set_cost_rule("@sortByAssociatedKeys", Sorts);
    env.set_cost_rule(
        "distinct",
        Distincts {
            key_bytes: super::distinct::KEY_BYTES as u64,
        },
    );
    env.set_cost_rule("reverse", Reverses);
    env.set_cost_rule("first", Element);
    env.set_cost_rule("last", Element);
    env.set_cost_rule("lists.range", Range);
}

fn slice(a: &[Value], m: &mut Meter<'_>) -> R {
    let [Value::List(l), Value::Int(s), Value::Int(e)] = a else {
        return Err(EvalError::no_overload("slice", a));
    };
    if *s < 0 || *e < 0 {
        return Err(EvalError::InvalidArgument(format!(
            "cannot slice({s}, {e}), negative indexes not supported"
        )));
    }
    if s > e {
        return Err(EvalError::InvalidArgument(format!(
            "cannot slice({s}, {e}), start index must be less than or equal to end index"
        )));
    }
    if *e as u64 > l.len() as u64 {
        return Err(EvalError::InvalidArgument(format!(
            "cannot slice({s}, {e}), list is length {}",
            l.len()
        )));
    }
    m.reserve_list((*e - *s) as usize)?;
    Ok(Value::list(l[*s as usize..*e as usize].to_vec()))
}

fn flatten(a: &[Value], m: &mut Meter<'_>) -> R {
    let (l, depth) = match a {
        [Value::List(l)] => (l, 1),
        [Value::List(l), Value::Int(d)] => (l, *d),
        _ => return Err(EvalError::no_overload("flatten", a)),
    };
    if depth < 0 {
        return Err(EvalError::InvalidArgument(
            "level must be non-negative".into(),
        ));
    }
    // Counted first (a list may hold one inner list many times over, so the
    // count stops past the limit), then reserved, then built.
    let cap = m.limits().max_collection_size.saturating_add(1);
    let len = m.walk(|steps| flattened_len(l, depth, cap, steps))?;
    m.reserve_list(len)?;
    let mut out = Vec::with_capacity(len);
    flatten_into(l, depth, &mut out);
    Ok(Value::list(out))
}

/// The length of `l` flattened `depth` levels, counting no further than `cap`.
fn flattened_len(
    l: &[Value],
    depth: i64,
    cap: usize,
    steps: &mut Steps,
) -> Result<usize, Exhausted> {
    let mut n = 0usize;
    for v in l {
        steps.take(1)?;
        n += match v {
            Value::List(inner) if depth > 0 => flattened_len(inner, depth - 1, cap - n, steps)?,
            _ => 1,
        };
        if n >= cap {
            return Ok(cap);
        }
    }
    Ok(n)
}

fn flatten_into(l: &[Value], depth: i64, out: &mut Vec<Value>) {
    for v in l {
        match v {
            Value::List(inner) if depth > 0 => flatten_into(inner, depth - 1, out),
            other => out.push(other.clone()),
        }
    }
}

/// Sorts `items` by `keys` (the items themselves for `sort`); keys must be
/// mutually comparable. The comparisons a sort of this size may make are
/// charged before sorting: about `n log2 n` of them, each visiting two
/// keys and reading the shorter of two strings.
fn sorted(items: &[Value], keys: &[Value], m: &mut Meter<'_>) -> Result<Vec<Value>, EvalError> {
    if let Some(first) = keys.first() {
        for k in keys {
            if std::mem::discriminant(k) != std::mem::discriminant(first)
                || matches!(
                    k,
                    Value::List(_)
                        | Value::Map(_)
                        | Value::Null
                        | Value::Optional(_)
                        | Value::Type(_)
                )
            {
                return Err(EvalError::InvalidArgument(
                    "list elements must have the same, comparable type".into(),
                ));
            }
        }
    }
    let n = keys.len();
    let rounds = u64::from(usize::BITS - n.leading_zeros());
    let key_bytes: usize = keys
        .iter()
        .map(|k| match k {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        })
        .sum();
    m.visit((n as u64).saturating_mul(rounds).saturating_mul(2))?;
    m.read(key_bytes.saturating_mul(rounds as usize))?;
    m.reserve_list(n)?;
    m.reserve_bytes(n.saturating_mul(std::mem::size_of::<usize>()))?;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&x, &y| {
        keys[x]
            .compare(&keys[y])
            .ok()
            .flatten()
            .unwrap_or(Ordering::Equal)
    });
    Ok(idx.into_iter().map(|i| items[i].clone()).collect())
}
