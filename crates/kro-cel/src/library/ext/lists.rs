//! cel-go's `lists` extension: `slice`, `flatten`, `sort`, `sortBy`,
//! `distinct`, `reverse`, `first`, `last` and `lists.range`.

use std::cmp::Ordering;

use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

type R = Result<Value, EvalError>;

pub(crate) fn install(env: &mut Env) {
    env.define("slice", &["list(A).(int, int) -> list(A)"], slice);
    env.define(
        "flatten",
        &[
            "list(list(A)).() -> list(A)",
            "list(dyn).(int) -> list(dyn)",
        ],
        flatten,
    );
    env.define("sort", &["list(A).() -> list(A)"], |a| match a {
        [Value::List(l)] => sorted(l, l).map(Value::list),
        _ => Err(EvalError::no_overload("sort", a)),
    });
    env.define(
        "@sortByAssociatedKeys",
        &["(list(A), list(B)) -> list(A)"],
        |a| match a {
            [Value::List(l), Value::List(keys)] if l.len() == keys.len() => {
                sorted(l, keys).map(Value::list)
            }
            _ => Err(EvalError::no_overload("sortBy", a)),
        },
    );
    env.define("distinct", &["list(A).() -> list(A)"], |a| match a {
        [Value::List(l)] => {
            let mut out: Vec<Value> = Vec::new();
            for v in l.iter() {
                if !out.iter().any(|o| o.equals(v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::list(out))
        }
        _ => Err(EvalError::no_overload("distinct", a)),
    });
    env.declare("reverse", &["list(A).() -> list(A)"]);
    env.set_implementation(
        "reverse",
        std::sync::Arc::new(|a: &[Value]| match a {
            [Value::List(l)] => Ok(Value::list(l.iter().rev().cloned().collect())),
            [Value::String(s)] => Ok(super::strings::reverse_string(s)),
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
    env.define("lists.range", &["(int) -> list(int)"], |a| match a {
        [Value::Int(n)] => {
            if *n > 1_000_000 {
                return Err(EvalError::InvalidArgument(format!(
                    "lists.range({n}) is too large"
                )));
            }
            Ok(Value::list((0..(*n).max(0)).map(Value::Int).collect()))
        }
        _ => Err(EvalError::no_overload("lists.range", a)),
    });
}

fn slice(a: &[Value]) -> R {
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
    Ok(Value::list(l[*s as usize..*e as usize].to_vec()))
}

fn flatten(a: &[Value]) -> R {
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
    let mut out = Vec::new();
    flatten_into(l, depth, &mut out);
    Ok(Value::list(out))
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
/// mutually comparable.
fn sorted(items: &[Value], keys: &[Value]) -> Result<Vec<Value>, EvalError> {
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
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_by(|&x, &y| {
        keys[x]
            .compare(&keys[y])
            .ok()
            .flatten()
            .unwrap_or(Ordering::Equal)
    });
    Ok(idx.into_iter().map(|i| items[i].clone()).collect())
}
