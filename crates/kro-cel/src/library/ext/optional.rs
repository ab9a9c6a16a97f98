//! The optional type library: `optional.of`, `optional.none`,
//! `optional.ofNonZeroValue`, `hasValue`, `value`, `or`, `orValue`, and the
//! optional index `_[?_]`. `optMap`/`optFlatMap` are macros (see `macros.rs`),
//! `a.?b` is a select flag and `[?x]`/`{?k: v}` are literal flags.

use crate::cost::CallRule;
use std::sync::Arc;

use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;
use crate::value::ops;

pub(crate) fn install(env: &mut Env) {
    env.define("optional.of", &["(A) -> optional_type(A)"], |a| match a {
        [v] => Ok(Value::Optional(Some(Arc::new(v.clone())))),
        _ => Err(EvalError::no_overload("optional.of", a)),
    });
    env.define(
        "optional.ofNonZeroValue",
        &["(A) -> optional_type(A)"],
        |a| match a {
            [v] if v.is_zero() => Ok(Value::Optional(None)),
            [v] => Ok(Value::Optional(Some(Arc::new(v.clone())))),
            _ => Err(EvalError::no_overload("optional.ofNonZeroValue", a)),
        },
    );
    env.define("optional.none", &["() -> optional_type(T)"], |a| match a {
        [] => Ok(Value::Optional(None)),
        _ => Err(EvalError::no_overload("optional.none", a)),
    });
    env.define("hasValue", &["optional_type(A).() -> bool"], |a| match a {
        [Value::Optional(o)] => Ok(Value::Bool(o.is_some())),
        _ => Err(EvalError::no_overload("hasValue", a)),
    });
    env.define("value", &["optional_type(A).() -> A"], |a| match a {
        [Value::Optional(Some(v))] => Ok((**v).clone()),
        [Value::Optional(None)] => Err(EvalError::EmptyOptional),
        _ => Err(EvalError::no_overload("value", a)),
    });
    env.define(
        "or",
        &["optional_type(A).(optional_type(A)) -> optional_type(A)"],
        |a| match a {
            [Value::Optional(Some(v)), Value::Optional(_)] => Ok(Value::Optional(Some(v.clone()))),
            [Value::Optional(None), o @ Value::Optional(_)] => Ok(o.clone()),
            _ => Err(EvalError::no_overload("or", a)),
        },
    );
    env.define("orValue", &["optional_type(A).(A) -> A"], |a| match a {
        [Value::Optional(Some(v)), _] => Ok((**v).clone()),
        [Value::Optional(None), d] => Ok(d.clone()),
        _ => Err(EvalError::no_overload("orValue", a)),
    });
    env.define(
        "_[?_]",
        &[
            "(list(A), int) -> optional_type(A)",
            "(map(K, V), K) -> optional_type(V)",
            "(optional_type(list(A)), int) -> optional_type(A)",
            "(optional_type(map(K, V)), K) -> optional_type(V)",
        ],
        |a| match a {
            [c, i] => ops::index(c, i, true),
            _ => Err(EvalError::no_overload("_[?_]", a)),
        },
    );
    env.declare(
        "_[_]",
        &[
            "(optional_type(list(A)), int) -> optional_type(A)",
            "(optional_type(map(K, V)), K) -> optional_type(V)",
        ],
    );
    for name in [
        "optional.of",
        "optional.ofNonZeroValue",
        "value",
        "or",
        "orValue",
    ] {
        env.set_cost_rule(name, CallRule::Passes);
    }
    env.set_cost_rule("optional.none", CallRule::Scalar);
    env.set_cost_rule("hasValue", CallRule::Scalar);
    env.set_cost_rule("_[?_]", CallRule::Element);
}
