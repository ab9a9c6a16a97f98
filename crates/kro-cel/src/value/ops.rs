//! Operators: arithmetic with overflow checks, relations across numeric
//! types, membership, indexing and field selection, and the map insertion
//! of the two-variable comprehensions.
//!
//! They are part of the value model, not of the standard library: the
//! evaluator runs them directly for the operators the planner special-cases,
//! and the libraries declare them as functions for dynamic calls.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::time::check_duration;
use crate::value::{Key, Value};

type R = Result<Value, EvalError>;

/// `a op b` for `<`, `<=`, `>`, `>=`; NaN compares false.
pub(crate) fn relation(a: &Value, b: &Value, test: fn(Ordering) -> bool) -> R {
    Ok(Value::Bool(a.compare(b)?.is_some_and(test)))
}

/// `a + b`; concatenations are charged and size-checked before they are built.
pub(crate) fn add(a: &Value, b: &Value, meter: &mut Meter<'_>) -> R {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x
            .checked_add(*y)
            .map(Int)
            .ok_or(EvalError::Overflow("integer")),
        (Uint(x), Uint(y)) => x
            .checked_add(*y)
            .map(Uint)
            .ok_or(EvalError::Overflow("unsigned integer")),
        (Double(x), Double(y)) => Ok(Double(x + y)),
        (String(x), String(y)) => {
            meter.reserve_string(x.len().saturating_add(y.len()))?;
            let mut s = std::string::String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Ok(Value::from(s))
        }
        (Bytes(x), Bytes(y)) => {
            meter.reserve_string(x.len().saturating_add(y.len()))?;
            Ok(Bytes(x.iter().chain(y.iter()).copied().collect()))
        }
        (List(x), List(y)) => {
            let len = x.len().saturating_add(y.len());
            meter.grow_list(len, len)?;
            meter.walk(|steps| x.concat_within(y, steps)).map(List)
        }
        (Timestamp(t), Duration(d)) | (Duration(d), Timestamp(t)) => t
            .checked_add(*d)
            .map(Timestamp)
            .ok_or(EvalError::Overflow("timestamp")),
        (Duration(x), Duration(y)) => x
            .checked_add(*y)
            .and_then(|d| check_duration(d).ok())
            .map(Duration)
            .ok_or(EvalError::Overflow("duration")),
        _ => Err(EvalError::no_overload("_+_", &[a.clone(), b.clone()])),
    }
}

pub(crate) fn sub(a: &Value, b: &Value) -> R {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x
            .checked_sub(*y)
            .map(Int)
            .ok_or(EvalError::Overflow("integer")),
        (Uint(x), Uint(y)) => x
            .checked_sub(*y)
            .map(Uint)
            .ok_or(EvalError::Overflow("unsigned integer")),
        (Double(x), Double(y)) => Ok(Double(x - y)),
        (Timestamp(x), Timestamp(y)) => {
            let d = jiff::SignedDuration::from_nanos_i128(x.as_nanos() - y.as_nanos());
            check_duration(d)
                .map(Duration)
                .map_err(|_| EvalError::Overflow("duration"))
        }
        (Timestamp(t), Duration(d)) => t
            .checked_sub(*d)
            .map(Timestamp)
            .ok_or(EvalError::Overflow("timestamp")),
        (Duration(x), Duration(y)) => x
            .checked_sub(*y)
            .and_then(|d| check_duration(d).ok())
            .map(Duration)
            .ok_or(EvalError::Overflow("duration")),
        _ => Err(EvalError::no_overload("_-_", &[a.clone(), b.clone()])),
    }
}

pub(crate) fn mul(a: &Value, b: &Value) -> R {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => x
            .checked_mul(*y)
            .map(Int)
            .ok_or(EvalError::Overflow("integer")),
        (Uint(x), Uint(y)) => x
            .checked_mul(*y)
            .map(Uint)
            .ok_or(EvalError::Overflow("unsigned integer")),
        (Double(x), Double(y)) => Ok(Double(x * y)),
        _ => Err(EvalError::no_overload("_*_", &[a.clone(), b.clone()])),
    }
}

pub(crate) fn div(a: &Value, b: &Value) -> R {
    use Value::*;
    match (a, b) {
        (Int(_), Int(0)) | (Uint(_), Uint(0)) => Err(EvalError::DivisionByZero),
        (Int(x), Int(y)) => x
            .checked_div(*y)
            .map(Int)
            .ok_or(EvalError::Overflow("integer")),
        (Uint(x), Uint(y)) => Ok(Uint(x / y)),
        (Double(x), Double(y)) => Ok(Double(x / y)),
        _ => Err(EvalError::no_overload("_/_", &[a.clone(), b.clone()])),
    }
}

pub(crate) fn rem(a: &Value, b: &Value) -> R {
    use Value::*;
    match (a, b) {
        (Int(_), Int(0)) | (Uint(_), Uint(0)) => Err(EvalError::ModulusByZero),
        (Int(x), Int(y)) => x
            .checked_rem(*y)
            .map(Int)
            .ok_or(EvalError::Overflow("integer")),
        (Uint(x), Uint(y)) => Ok(Uint(x % y)),
        _ => Err(EvalError::no_overload("_%_", &[a.clone(), b.clone()])),
    }
}

pub(crate) fn negate(args: &[Value]) -> R {
    match args {
        [Value::Int(i)] => i
            .checked_neg()
            .map(Value::Int)
            .ok_or(EvalError::Overflow("integer")),
        [Value::Double(d)] => Ok(Value::Double(-d)),
        _ => Err(EvalError::no_overload("-_", args)),
    }
}

/// `elem in collection`: a map lookup, or a comparison with each element of
/// a list, charged per value compared.
pub(crate) fn contains(collection: &Value, elem: &Value, meter: &mut Meter<'_>) -> R {
    match collection {
        Value::List(l) => meter
            .walk(|steps| {
                for x in l.iter() {
                    if x.equals_within(elem, steps)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .map(Value::Bool),
        Value::Map(m) => {
            meter.read_text(elem)?;
            Ok(Value::Bool(Value::map_get(m, elem).is_some()))
        }
        _ => Err(EvalError::no_overload(
            "@in",
            &[elem.clone(), collection.clone()],
        )),
    }
}

/// A list index from an int, uint or integral double.
fn list_index(i: &Value) -> Option<i64> {
    match i {
        Value::Int(i) => Some(*i),
        Value::Uint(u) => Some(i64::try_from(*u).unwrap_or(i64::MAX)),
        Value::Double(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i64),
        _ => None,
    }
}

/// `c[i]`, or `c[?i]` when `optional`.
pub(crate) fn index(c: &Value, i: &Value, optional: bool) -> R {
    match c {
        Value::List(l) => {
            let Some(idx) = list_index(i) else {
                return Err(EvalError::no_overload("_[_]", &[c.clone(), i.clone()]));
            };
            match usize::try_from(idx).ok().and_then(|u| l.get(u)) {
                Some(v) if optional => Ok(Value::Optional(Some(Arc::new(v.clone())))),
                Some(v) => Ok(v.clone()),
                None if optional => Ok(Value::Optional(None)),
                None => Err(EvalError::IndexOutOfRange {
                    index: idx,
                    size: l.len(),
                }),
            }
        }
        Value::Map(m) => {
            if Key::from_value(i).is_none() && !matches!(i, Value::Double(_)) {
                return Err(EvalError::no_overload("_[_]", &[c.clone(), i.clone()]));
            }
            match Value::map_get(m, i) {
                Some(v) if optional => Ok(Value::Optional(Some(Arc::new(v.clone())))),
                Some(v) => Ok(v.clone()),
                None if optional => Ok(Value::Optional(None)),
                None => Err(EvalError::NoSuchKey(i.to_string())),
            }
        }
        Value::Optional(None) => Ok(Value::Optional(None)),
        Value::Optional(Some(inner)) => index(inner, i, true),
        _ => Err(EvalError::no_overload("_[_]", &[c.clone(), i.clone()])),
    }
}

/// `v.field`, `has(v.field)` or `v.?field`.
pub(crate) fn select(v: &Value, field: &Key, test_only: bool, optional: bool) -> R {
    match v {
        Value::Map(m) => {
            let found = m.get(field);
            if test_only {
                return Ok(Value::Bool(found.is_some()));
            }
            match found {
                Some(x) if optional => Ok(Value::Optional(Some(Arc::new(x.clone())))),
                Some(x) => Ok(x.clone()),
                None if optional => Ok(Value::Optional(None)),
                None => Err(EvalError::NoSuchKey(match field {
                    Key::String(s) => s.to_string(),
                    other => other.to_string(),
                })),
            }
        }
        Value::Optional(None) if test_only => Ok(Value::Bool(false)),
        Value::Optional(Some(inner)) if test_only => select(inner, field, true, false),
        Value::Optional(None) => Ok(Value::Optional(None)),
        Value::Optional(Some(inner)) => select(inner, field, false, true),
        _ => Err(EvalError::NoMatchingOverload(format!(
            "type '{}' does not support field selection",
            v.type_name()
        ))),
    }
}

/// `cel.@mapInsert` (what `transformMap` and `transformMapEntry` accumulate
/// with; a repeated key is an error) on owned arguments, as the evaluator
/// runs it: the accumulator map is updated in place when it is not shared, so
/// `transformMap` stays linear. Growing the map (and copying it first, when
/// it is shared) is charged before it happens.
pub(crate) fn map_insert_owned(
    mut a: Vec<Value>,
    meter: &mut Meter<'_>,
) -> Result<Value, EvalError> {
    let first = a.first_mut().map(|v| std::mem::replace(v, Value::Null));
    let Some(Value::Map(mut m)) = first else {
        return Err(EvalError::no_overload("cel.@mapInsert", &a));
    };
    let entries: Vec<(Value, Value)> = match &a[1..] {
        [k, v] => vec![(k.clone(), v.clone())],
        [Value::Map(add)] => add.iter().map(|(k, v)| (k.to_value(), v.clone())).collect(),
        _ => return Err(EvalError::no_overload("cel.@mapInsert", &a)),
    };
    let copied = if Arc::strong_count(&m) > 1 {
        m.len()
    } else {
        0
    };
    meter.grow_map(
        m.len().saturating_add(entries.len()),
        copied + entries.len(),
    )?;
    let out = Arc::make_mut(&mut m);
    for (k, v) in entries {
        let key = Key::from_value(&k).ok_or_else(|| {
            EvalError::InvalidArgument(format!("unsupported key type: {}", k.type_name()))
        })?;
        if Value::map_get(out, &k).is_some() {
            return Err(EvalError::RepeatedKey(key.to_string()));
        }
        out.insert(key, v);
    }
    Ok(Value::Map(m))
}
