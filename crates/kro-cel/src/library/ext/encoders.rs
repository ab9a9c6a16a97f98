//! The `encoders` extension: `base64.encode` and `base64.decode`, with
//! their output reserved before it is built.

use crate::cost::CallRule;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;

pub(crate) fn install(env: &mut Env) {
    env.define_metered("base64.encode", &["(bytes) -> string"], |a, m| match a {
        [Value::Bytes(b)] => {
            m.reserve_string(b.len().div_ceil(3).saturating_mul(4))?;
            Ok(Value::from(STANDARD.encode(b)))
        }
        _ => Err(EvalError::no_overload("base64.encode", a)),
    });
    env.define_metered("base64.decode", &["(string) -> bytes"], |a, m| match a {
        [Value::String(s)] => {
            m.reserve_string(s.len().div_ceil(4).saturating_mul(3))?;
            STANDARD
                .decode(s.as_bytes())
                .or_else(|_| STANDARD_NO_PAD.decode(s.as_bytes()))
                .map(|b| Value::Bytes(b.into()))
                .map_err(|e| EvalError::InvalidArgument(format!("invalid base64: {e}")))
        }
        _ => Err(EvalError::no_overload("base64.decode", a)),
    });
    // Four characters per three bytes, padded; three bytes per four.
    env.set_cost_rule(
        "base64.encode",
        CallRule::Copies {
            times: 4,
            per: 3,
            plus: 4,
            keeps_length: true,
        },
    );
    env.set_cost_rule(
        "base64.decode",
        CallRule::Copies {
            times: 3,
            per: 4,
            plus: 3,
            keeps_length: false,
        },
    );
}
