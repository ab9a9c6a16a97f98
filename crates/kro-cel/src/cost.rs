//! The cost model: a runtime budget charged as evaluation proceeds, and a
//! static estimate computed from the checked tree.
//!
//! Runtime: every evaluated node costs 1, every comprehension iteration 1 more,
//! and a function call additionally 1 per 100 bytes or elements of its
//! string, bytes, list and map arguments (string operations are linear).

use crate::value::Value;

/// The size-dependent part of a call's cost.
pub(crate) fn call_cost(args: &[Value]) -> u64 {
    let units: usize = args
        .iter()
        .map(|a| match a {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::List(l) => l.len(),
            Value::Map(m) => m.len(),
            _ => 0,
        })
        .sum();
    (units / 100) as u64
}
