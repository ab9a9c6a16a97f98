//! `distinct()` in O(n log n), with CEL equality: the first of equal
//! elements is kept, in order, and `1`, `1u` and `1.0` are equal.
//!
//! Elements whose equality is exact on an ordered key (null, bools,
//! numbers, strings, bytes, timestamps, durations, types) are sorted by key
//! (and position), and the first of each run of equal keys is kept:
//! sorting a million elements is several times faster than hashing them.
//! CEL compares an integer with a double as doubles, which is
//! not transitive above 2^53 (`2^53 + 1 == 2^53.0 == 2^53`, but
//! `2^53 + 1 != 2^53`), so a list holding both doubles and integers that
//! large is deduplicated pairwise instead, as the definition says. Lists,
//! maps, optionals and library values (which only ever equal their own
//! kind) are compared with the kept values of their kind, each comparison
//! charged on the meter.

use std::mem::{Discriminant, discriminant, size_of};

use jiff::SignedDuration;

use crate::error::EvalError;
use crate::meter::{Meter, text_len};
use crate::value::{Timestamp, Value};

/// Bytes reserved per element for sorting keys: a key, its position and
/// whether it is kept.
pub(crate) const KEY_BYTES: usize = size_of::<(ScalarKey<'static>, usize)>() + 1;

/// Integers up to this magnitude convert to doubles exactly.
const EXACT_IN_DOUBLE: u64 = 1 << 53;

/// An ordered stand-in for a value: equal keys for exactly the CEL-equal
/// values (under the conditions in the module comment).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ScalarKey<'a> {
    Null,
    Bool(bool),
    /// An int, a uint, or a whole double that fits their range exactly.
    Integer(i128),
    /// Any other double (but NaN), by its bits.
    Double(u64),
    String(&'a str),
    Bytes(&'a [u8]),
    Timestamp(Timestamp),
    Duration(SignedDuration),
    Type(String),
}

/// How one element takes part in deduplication.
enum Identity<'a> {
    /// Found by its key.
    Keyed(ScalarKey<'a>),
    /// Equal to nothing (a NaN): always kept.
    Unique,
    /// Compared with the kept values of the same kind.
    Compared,
}

fn identity(v: &Value) -> Identity<'_> {
    Identity::Keyed(match v {
        Value::Null => ScalarKey::Null,
        Value::Bool(b) => ScalarKey::Bool(*b),
        Value::Int(i) => ScalarKey::Integer(i128::from(*i)),
        Value::Uint(u) => ScalarKey::Integer(i128::from(*u)),
        Value::Double(d) if d.is_nan() => return Identity::Unique,
        Value::Double(d) if d.fract() == 0.0 && d.abs() <= EXACT_IN_DOUBLE as f64 => {
            ScalarKey::Integer(*d as i128)
        }
        Value::Double(d) => ScalarKey::Double(d.to_bits()),
        Value::String(s) => ScalarKey::String(s),
        Value::Bytes(b) => ScalarKey::Bytes(b),
        Value::Timestamp(t) => ScalarKey::Timestamp(*t),
        Value::Duration(d) => ScalarKey::Duration(*d),
        Value::Type(t) => ScalarKey::Type(t.runtime_name()),
        Value::List(_) | Value::Map(_) | Value::Optional(_) | Value::Opaque(_) => {
            return Identity::Compared;
        }
    })
}

/// True when an int or uint above 2^53 and a double are both present.
fn needs_pairwise(l: &[Value]) -> bool {
    let large = |v: &Value| match v {
        Value::Int(i) => i.unsigned_abs() > EXACT_IN_DOUBLE,
        Value::Uint(u) => *u > EXACT_IN_DOUBLE,
        _ => false,
    };
    l.iter().any(|v| matches!(v, Value::Double(_))) && l.iter().any(large)
}

/// The elements of `l` without repeats, first occurrences in order.
pub(crate) fn distinct(l: &[Value], m: &mut Meter<'_>) -> Result<Value, EvalError> {
    m.visit(l.len() as u64)?;
    let keep = if needs_pairwise(l) {
        keep_pairwise(l, m)?
    } else {
        keep_keyed(l, m)?
    };
    let kept = keep.iter().filter(|k| **k).count();
    m.reserve_list(kept)?;
    Ok(Value::list(
        l.iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

/// Which elements to keep, by sorting keys (and comparing within a kind
/// the elements that have none).
fn keep_keyed(l: &[Value], m: &mut Meter<'_>) -> Result<Vec<bool>, EvalError> {
    let n = l.len();
    let rounds = u64::from(usize::BITS - n.leading_zeros());
    m.visit((n as u64).saturating_mul(rounds))?;
    // Sorting reads each string about log2(n) times.
    let text: usize = l.iter().map(text_len).sum();
    m.read(text.saturating_mul(rounds as usize))?;
    m.reserve_bytes(n.saturating_mul(KEY_BYTES))?;
    let mut keep = vec![false; n];
    let mut keyed: Vec<(ScalarKey<'_>, usize)> = Vec::with_capacity(n);
    let mut compared: Vec<(Discriminant<Value>, &Value)> = Vec::new();
    for (i, v) in l.iter().enumerate() {
        match identity(v) {
            Identity::Keyed(key) => keyed.push((key, i)),
            Identity::Unique => keep[i] = true,
            Identity::Compared => {
                let kind = discriminant(v);
                let mut repeated = false;
                for (_, kept) in compared.iter().filter(|(k, _)| *k == kind) {
                    if m.equals(kept, v)? {
                        repeated = true;
                        break;
                    }
                }
                if !repeated {
                    compared.push((kind, v));
                    keep[i] = true;
                }
            }
        }
    }
    // By key, then position: the first of each run is the first occurrence.
    keyed.sort_unstable();
    for (j, (key, i)) in keyed.iter().enumerate() {
        if j == 0 || keyed[j - 1].0 != *key {
            keep[*i] = true;
        }
    }
    Ok(keep)
}

/// Which elements to keep, comparing each with every kept one.
fn keep_pairwise(l: &[Value], m: &mut Meter<'_>) -> Result<Vec<bool>, EvalError> {
    let mut kept: Vec<&Value> = Vec::new();
    let mut keep = Vec::with_capacity(l.len());
    for v in l {
        let mut repeated = false;
        for k in &kept {
            if m.equals(k, v)? {
                repeated = true;
                break;
            }
        }
        if !repeated {
            kept.push(v);
        }
        keep.push(!repeated);
    }
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Limits;

    fn run(items: Vec<Value>) -> Vec<Value> {
        let mut m = Meter::new(&Limits::default());
        match distinct(&items, &mut m) {
            Ok(Value::List(l)) => l.to_vec(),
            other => panic!("{other:?}"),
        }
    }

    /// The definition: keep an element unless an equal one was kept.
    fn reference(items: &[Value]) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for v in items {
            if !out.iter().any(|o| o.equals(v)) {
                out.push(v.clone());
            }
        }
        out
    }

    fn same(a: &[Value], b: &[Value]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.type_name() == y.type_name() && (x.equals(y) || (x.to_string() == y.to_string()))
            })
    }

    #[test]
    fn matches_the_definition_on_mixed_lists() {
        let big = 1i64 << 53;
        let cases: Vec<Vec<Value>> = vec![
            vec![
                Value::Int(1),
                Value::Uint(1),
                Value::Double(1.0),
                Value::Int(2),
            ],
            vec![
                Value::Double(f64::NAN),
                Value::Double(f64::NAN),
                Value::Int(0),
                Value::Double(-0.0),
            ],
            vec![
                Value::Int(big + 1),
                Value::Double(big as f64),
                Value::Int(big),
            ],
            vec![
                Value::Uint(u64::MAX),
                Value::Double(1.8446744073709552e19),
                Value::Int(3),
            ],
            vec![
                Value::Double(1e300),
                Value::Double(1e300),
                Value::Double(0.5),
                Value::Double(0.5),
            ],
            vec![
                Value::list(vec![Value::Int(1)]),
                Value::list(vec![Value::Double(1.0)]),
                Value::string("a"),
                Value::string("a"),
                Value::Null,
                Value::Null,
                Value::Bool(true),
            ],
        ];
        for case in cases {
            let got = run(case.clone());
            let want = reference(&case);
            assert!(same(&got, &want), "{case:?}: {got:?} != {want:?}");
        }
    }

    #[test]
    fn distinct_is_linear() {
        // 200,000 different elements: pairwise, 2 * 10^10 comparisons
        // (minutes); sorted, well under a second even unoptimised.
        let items: Vec<Value> = (0..200_000)
            .map(|i| match i % 3 {
                0 => Value::Int(i),
                1 => Value::Double(i as f64 + 0.5),
                _ => Value::from(format!("s{i}")),
            })
            .collect();
        let start = std::time::Instant::now();
        let mut m = Meter::new(&Limits {
            cost_budget: None,
            ..Limits::default()
        });
        let out = distinct(&items, &mut m).unwrap();
        let elapsed = start.elapsed();
        assert!(matches!(out, Value::List(l) if l.len() == 200_000));
        assert!(elapsed < std::time::Duration::from_secs(2), "{elapsed:?}");
    }
}
