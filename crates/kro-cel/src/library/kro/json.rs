//! kro's `json` library: `json.marshal(v)` and `json.unmarshal(s)`, with the
//! output of Go's `encoding/json` (sorted keys, compact, `<`, `>` and `&`
//! escaped, Go's float notation) so that strings built from JSON, and the
//! hashes taken of them, match upstream kro byte for byte.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::decls::Env;
use crate::error::EvalError;
use crate::result_json::{Bytes, convert, write_go_string};
use crate::value::{Key, Value};

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

pub(crate) fn install(env: &mut Env) {
    env.define("json.marshal", &["(dyn) -> string"], |a| match a {
        [v] => marshal(v),
        _ => Err(EvalError::no_overload("json.marshal", a)),
    });
    env.define("json.unmarshal", &["(string) -> dyn"], |a| match a {
        [Value::String(s)] => unmarshal(s),
        _ => Err(EvalError::no_overload("json.unmarshal", a)),
    });
}

fn marshal(v: &Value) -> Result<Value, EvalError> {
    let native = convert(v, Bytes::Base64)
        .map_err(|e| {
            EvalError::InvalidArgument(format!("json.marshal failed to convert value: {e}"))
        })?
        .unwrap_or(Json::Null);
    let mut out = String::new();
    write_go_json(&native, &mut out, 0).map_err(|e| {
        EvalError::InvalidArgument(format!("json.marshal failed to encode value: {e}"))
    })?;
    Ok(Value::from(out))
}

/// Go's `json.Unmarshal` into `any`: every number is a double.
fn unmarshal(s: &str) -> Result<Value, EvalError> {
    let parsed: Json = serde_json::from_str(s).map_err(|e| {
        EvalError::InvalidArgument(format!("json.unmarshal failed to parse JSON: {e}"))
    })?;
    Ok(go_value(&parsed))
}

fn go_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::list(a.iter().map(go_value).collect()),
        Json::Object(o) => Value::Map(Arc::new(
            o.iter()
                .map(|(k, v)| (Key::String(Arc::from(k.as_str())), go_value(v)))
                .collect(),
        )),
    }
}

/// Writes `j` as Go's `json.Marshal` would.
pub(crate) fn write_go_json(j: &Json, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("value is nested too deeply".into());
    }
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                out.push_str(&go_float(n.as_f64().unwrap_or(f64::NAN))?);
            }
        }
        Json::String(s) => write_go_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out, depth + 1)?;
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_go_json(v, out, depth + 1)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Go writes floats in plain notation between 1e-6 and 1e21, in exponent
/// notation (`1e+21`, `1e-7`) outside.
fn go_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {f}"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        return Ok(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    Ok(format!("{f}"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval, fails, truthy};

    fn marshal(src: &str) -> String {
        match eval(&format!("json.marshal({src})")) {
            Ok(crate::Value::String(s)) => s.to_string(),
            other => panic!("{src}: {other:?}"),
        }
    }

    #[test]
    fn marshal_like_go() {
        assert_eq!(
            marshal("{'b': 1, 'a': [true, null, 'x']}"),
            r#"{"a":[true,null,"x"],"b":1}"#
        );
        assert_eq!(marshal("1.0"), "1");
        assert_eq!(marshal("0.5"), "0.5");
        assert_eq!(marshal("1e21"), "1e+21");
        assert_eq!(marshal("0.0000001"), "1e-7");
        assert_eq!(marshal("'<a&b>'"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(marshal("'line\\nbreak \"q\"'"), r#""line\nbreak \"q\"""#);
        assert_eq!(marshal("b'abc'"), r#""YWJj""#);
        assert_eq!(marshal("duration('90s')"), r#""1m30s""#);
        assert_eq!(
            marshal("timestamp('2024-01-02T03:04:05Z')"),
            r#""2024-01-02T03:04:05Z""#
        );
        assert_eq!(marshal("optional.none()"), "null");
        assert_eq!(marshal("18446744073709551615u"), "18446744073709551615");
        fails("json.marshal({1: 2})", "map key must be string");
        fails(
            "json.marshal(0.0/0.0)",
            "json.marshal failed to convert value",
        );
    }

    #[test]
    fn unmarshal_like_go() {
        truthy("json.unmarshal('{\"a\": 1}').a == 1.0");
        truthy("type(json.unmarshal('{\"a\": 1}').a) == double");
        truthy("json.unmarshal('[1, \"x\", null, true]') == [1.0, 'x', null, true]");
        truthy("json.unmarshal('\"s\"') == 's'");
        truthy("json.unmarshal(json.marshal({'k': ['v']})) == {'k': ['v']}");
        fails("json.unmarshal('{')", "json.unmarshal failed to parse JSON");
    }
}
