//! The extension libraries kro enables on top of the standard library.

mod distinct;
pub(crate) mod encoders;
pub(crate) mod lists;
pub(crate) mod optional;
pub(crate) mod strings;

use std::sync::Arc;

use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::{Key, Value};

/// Installs strings, lists, encoders, optionals and the helpers that the
/// two-variable comprehension macros expand to.
pub(crate) fn install(env: &mut Env) {
    strings::install(env);
    lists::install(env);
    encoders::install(env);
    optional::install(env);
    env.define_metered(
        "cel.@mapInsert",
        &[
            "(map(K, V), K, V) -> map(K, V)",
            "(map(K, V), map(K, V)) -> map(K, V)",
        ],
        map_insert,
    );
}

/// `transformMap` and `transformMapEntry` accumulate with this; a repeated key is an error.
fn map_insert(a: &[Value], meter: &mut Meter<'_>) -> Result<Value, EvalError> {
    let (map, entries): (_, Vec<(Value, Value)>) = match a {
        [Value::Map(map), k, v] => (map, vec![(k.clone(), v.clone())]),
        [Value::Map(map), Value::Map(add)] => (
            map,
            add.iter().map(|(k, v)| (k.to_value(), v.clone())).collect(),
        ),
        _ => return Err(EvalError::no_overload("cel.@mapInsert", a)),
    };
    meter.reserve_map(map.len().saturating_add(entries.len()))?;
    let mut out = (**map).clone();
    for (k, v) in entries {
        let key = Key::from_value(&k).ok_or_else(|| {
            EvalError::InvalidArgument(format!("unsupported key type: {}", k.type_name()))
        })?;
        if Value::map_get(&out, &k).is_some() {
            return Err(EvalError::RepeatedKey(key.to_string()));
        }
        out.insert(key, v);
    }
    Ok(Value::Map(Arc::new(out)))
}
