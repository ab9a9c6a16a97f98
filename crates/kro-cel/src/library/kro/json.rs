//! kro's `json` library: `json.marshal(v)` and `json.unmarshal(s)`, with the
//! output of Go's `encoding/json` (sorted keys, compact, `<`, `>` and `&`
//! escaped, Go's float notation) so that strings built from JSON, and the
//! hashes taken of them, match upstream kro byte for byte.
//!
//! `json.marshal` writes its text straight from the value into a
//! [`Text`] bounded by what the budget pays for: nothing is built that
//! the meter has not allowed, however often the value repeats one list.
//! `json.unmarshal` reserves the value it parses (at most a few times the
//! size of the text) before parsing.

use crate::cost::CallRule;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Text;
use crate::result_json::{
    Bytes, ConversionError, go_string_len, object_key, scalar, write_go_string,
};
use crate::value::{Key, Value};

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

pub(crate) fn install(env: &mut Env) {
    env.define_metered("json.marshal", &["(dyn) -> string"], |a, m| match a {
        [v] => {
            let mut out = m.text();
            if !marshal_into(v, &mut out, 0)? {
                out.push_str("null")?;
            }
            m.finish_text(out)
        }
        _ => Err(EvalError::no_overload("json.marshal", a)),
    });
    env.define_metered("json.unmarshal", &["(string) -> dyn"], |a, m| match a {
        [Value::String(s)] => {
            // A value takes at most this many times the bytes of its text
            // (`[0,0,...]`: two bytes of text per element).
            m.reserve_bytes(s.len().saturating_mul(UNMARSHALLED_BYTES_PER_BYTE))?;
            unmarshal(s)
        }
        _ => Err(EvalError::no_overload("json.unmarshal", a)),
    });
    env.set_cost_rule("json.marshal", CallRule::Marshals);
    env.set_cost_rule(
        "json.unmarshal",
        CallRule::Unmarshals {
            bytes_per_byte: UNMARSHALLED_BYTES_PER_BYTE as u64,
        },
    );
}

/// Bytes a parsed value may take per byte of its JSON text: an element of
/// an array (a JSON value and then a CEL value) per two bytes.
const UNMARSHALLED_BYTES_PER_BYTE: usize =
    (std::mem::size_of::<Json>() + std::mem::size_of::<Value>()) / 2;

fn convert_error(e: ConversionError) -> EvalError {
    EvalError::InvalidArgument(format!("json.marshal failed to convert value: {e}"))
}

fn encode_error(e: String) -> EvalError {
    EvalError::InvalidArgument(format!("json.marshal failed to encode value: {e}"))
}

/// Writes `v` as Go's `json.Marshal` would; false when `v` is `omit()`
/// (which writes nothing: its list element or map entry is left out).
fn marshal_into(v: &Value, out: &mut Text, depth: usize) -> Result<bool, EvalError> {
    if depth > MAX_DEPTH {
        return Err(encode_error("value is nested too deeply".into()));
    }
    match v {
        Value::Optional(Some(inner)) => return marshal_into(inner, out, depth),
        Value::String(s) => write_go_string_into(s, out)?,
        Value::List(items) => {
            out.push('[')?;
            let mut first = true;
            for item in items.iter() {
                let mark = out.len();
                if !first {
                    out.push(',')?;
                }
                if marshal_into(item, out, depth + 1)? {
                    first = false;
                } else {
                    out.truncate(mark);
                }
            }
            out.push(']')?;
        }
        Value::Map(m) => marshal_map(m, out, depth)?,
        Value::Bytes(b) => {
            out.make_room(b.len().div_ceil(3).saturating_mul(4).saturating_add(2))?;
            write_scalar(v, out)?;
        }
        other => return write_scalar(other, out),
    }
    Ok(true)
}

/// A map, keys sorted as Go sorts them.
fn marshal_map(m: &crate::value::Map, out: &mut Text, depth: usize) -> Result<(), EvalError> {
    let mut entries = Vec::with_capacity(m.len());
    for (k, v) in m.iter() {
        entries.push((object_key(k).map_err(convert_error)?, v));
    }
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    // Two keys may unescape to one name: the last value wins, as in an
    // object built by inserting them in order.
    entries.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            earlier.1 = later.1;
        }
        same
    });
    out.push('{')?;
    let mut first = true;
    for (k, v) in entries {
        let mark = out.len();
        if !first {
            out.push(',')?;
        }
        write_go_string_into(&k, out)?;
        out.push(':')?;
        if marshal_into(v, out, depth + 1)? {
            first = false;
        } else {
            out.truncate(mark);
        }
    }
    out.push('}')
}

/// A value other than a string, list or map; false for `omit()`.
fn write_scalar(v: &Value, out: &mut Text) -> Result<bool, EvalError> {
    let Some(json) = scalar(v, Bytes::Base64).map_err(convert_error)? else {
        return Ok(false);
    };
    let mut text = String::new();
    write_go_json(&json, &mut text, 0).map_err(encode_error)?;
    out.push_str(&text)?;
    Ok(true)
}

/// A string literal, with room made for it, escapes included, first.
fn write_go_string_into(s: &str, out: &mut Text) -> Result<(), EvalError> {
    out.append(go_string_len(s), |buf| write_go_string(s, buf))
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
