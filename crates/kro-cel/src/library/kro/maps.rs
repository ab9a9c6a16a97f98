//! kro's map functions: `m.merge(other)` (shallow, the argument wins) and
//! `a.deepMerge(b)` (recursive on nested maps; lists and scalars replaced).

use crate::cost::CallRule;
use std::sync::Arc;

use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::{Map, Value};

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

pub(crate) fn install(env: &mut Env) {
    env.define_metered(
        "merge",
        &["map(K, V).(map(K, V)) -> map(K, V)"],
        |a, m| match a {
            [Value::Map(left), Value::Map(right)] => {
                m.reserve_map(left.len().saturating_add(right.len()))?;
                let mut out = (**left).clone();
                for (k, v) in right.iter() {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Map(Arc::new(out)))
            }
            _ => Err(EvalError::no_overload("merge", a)),
        },
    );
    env.define_metered("deepMerge", &["dyn.(dyn) -> dyn"], |a, m| match a {
        [Value::Map(left), Value::Map(right)] => deep_merge(left, right, 0, m).map(Value::Map),
        _ => Err(EvalError::no_overload("deepMerge", a)),
    });
    env.set_cost_rule("merge", CallRule::Merges);
    env.set_cost_rule("deepMerge", CallRule::DeepMerges);
}

/// Merges `right` into `left`; every map copied on the way is reserved first
/// (a map may hold one inner map many times over: each copy is paid for).
fn deep_merge(
    left: &Arc<Map>,
    right: &Arc<Map>,
    depth: usize,
    m: &mut Meter<'_>,
) -> Result<Arc<Map>, EvalError> {
    if depth > MAX_DEPTH {
        return Err(EvalError::InvalidArgument(
            "deepMerge: maps are nested too deeply".into(),
        ));
    }
    if right.is_empty() {
        return Ok(left.clone());
    }
    if left.is_empty() {
        return Ok(right.clone());
    }
    m.reserve_map(left.len().saturating_add(right.len()))?;
    let mut out = (**left).clone();
    for (k, v) in right.iter() {
        let merged = match (out.get(k), v) {
            (Some(Value::Map(l)), Value::Map(r)) => Value::Map(deep_merge(l, r, depth + 1, m)?),
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval, fails, truthy};

    #[test]
    fn merge() {
        truthy("{'a': 1, 'b': 2}.merge({'b': 3, 'c': 4}) == {'a': 1, 'b': 3, 'c': 4}");
        truthy("{}.merge({'a': 1}) == {'a': 1}");
        truthy("{'a': {'x': 1}}.merge({'a': {'y': 2}}) == {'a': {'y': 2}}");
        assert!(
            eval("{'a': 1}.merge({'b': 'x'})").is_err(),
            "value types differ"
        );
    }

    #[test]
    fn deep_merge() {
        truthy(
            "{'a': {'x': 1, 'z': [1]}}.deepMerge({'a': {'y': 2, 'z': [2]}}) == {'a': {'x': 1, 'y': 2, 'z': [2]}}",
        );
        truthy("{'a': 1}.deepMerge({}) == {'a': 1}");
        truthy("{}.deepMerge({'a': 1}) == {'a': 1}");
        truthy("{'a': {'x': 1}}.deepMerge({'a': 5}) == {'a': 5}");
        fails("dyn(1).deepMerge({'a': 1})", "no such overload");
    }
}
