//! Expression results back to JSON, for resource templates and instance
//! status, the way upstream kro converts them:
//!
//! - timestamps become RFC 3339 strings in UTC with second precision (the
//!   zero time `0001-01-01T00:00:00Z` becomes null), as `metav1.Time` writes;
//! - durations become Go duration strings (`1h0m0s`, `1.5s`, `500ms`), as
//!   `metav1.Duration` writes;
//! - whole doubles are written without a fraction (`1`, as Go writes them);
//! - `optional.none()` becomes null (the key is kept, with a null value);
//!   `optional.of(v)` becomes `v`;
//! - bytes are refused (encode them explicitly with `base64.encode`), and so
//!   are `uint`s above the largest `int`, which JSON consumers would misread;
//! - map keys must be strings; property names escaped by
//!   [`crate::openapi_types::SchemaTypes::value_of`] (`my__dash__field`) are
//!   written under their real names (`my-field`);
//! - `omit()` removes the field or list element that holds it;
//! - library values without a JSON form (a quantity, a URL) are refused;
//! - a result larger than [`crate::Limits::max_result_size`] is refused
//!   before it is built. A value may hold one list many times over without
//!   copying it, so its JSON can be far larger than what evaluating it
//!   cost; the conversion counts the size as it goes (compact JSON, strings
//!   without their escapes, every other value at least 8 bytes) and stops
//!   at the limit.

use std::fmt::Write as _;

use jiff::SignedDuration;
use serde_json::Value as Json;

use crate::error::EvalError;
use crate::meter::Limits;
use crate::openapi_types::unescape_field_name;
use crate::value::steps::Steps;
use crate::value::time::{Timestamp, format_duration, format_timestamp};
use crate::value::{Key, Value};

/// The type name of the value kro's `omit()` returns: a result of this type
/// removes the field that holds it. Declared here, where results are
/// written, so that the conversion does not depend on the library that
/// makes the sentinel.
pub const OMIT_TYPE: &str = "kro.omit";

/// A result that cannot be written as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// Bytes must be encoded explicitly.
    #[error(
        "unsupported type: bytes value cannot be used directly in a resource template or status field; encode it explicitly, e.g. base64.encode(...)"
    )]
    Bytes,
    /// A `uint` above `i64::MAX`.
    #[error(
        "unsupported type: uint value {0} overflows int64; convert it explicitly, e.g. string(...)"
    )]
    UintOverflow(u64),
    /// A map key that is not a string.
    #[error("map key must be string, got {0}")]
    NonStringKey(&'static str),
    /// NaN or an infinity.
    #[error("json: unsupported value: {0}")]
    NonFinite(String),
    /// A value with no JSON form (a type, a quantity...).
    #[error("unsupported type: {0}")]
    Unsupported(String),
    /// `omit()` where nothing can be omitted (inside a string, at the root of
    /// `json.marshal`).
    #[error("omit() can only be used as the whole value of a template field")]
    MisplacedOmit,
    /// The cost budget shared by a series of evaluations (see
    /// [`crate::Allowance`]) cannot pay for the result.
    #[error("{}", EvalError::TotalCostExceeded { limit: *.limit })]
    TotalCostExceeded {
        /// The shared budget.
        limit: u64,
    },
    /// The result is larger than the limit; refused before it was built.
    #[error(
        "the result would reach {size} bytes of JSON, over the limit of {limit} (Limits::max_result_size)"
    )]
    TooLarge {
        /// The size reached when the limit was crossed.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// How bytes are treated: refused in templates, base64 in `json.marshal`
/// (Go's encoding of `[]byte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bytes {
    Refuse,
    Base64,
}

/// Converts a template or status result. `Ok(None)` means the field is to
/// be removed (`omit()`). The result may take up to the default
/// [`Limits::max_result_size`].
pub fn to_template_json(v: &Value) -> Result<Option<Json>, ConversionError> {
    to_template_json_within(v, Limits::default().max_result_size)
}

/// [`to_template_json`] with a limit of `max_bytes` on the result.
pub fn to_template_json_within(
    v: &Value,
    max_bytes: usize,
) -> Result<Option<Json>, ConversionError> {
    convert(v, &mut Steps::new(max_bytes as u64))
}

/// [`to_template_json_within`], with the bytes it counted (at most
/// `max_bytes`), which is what the result is charged for.
pub(crate) fn to_template_json_counted(
    v: &Value,
    max_bytes: usize,
) -> (Result<Option<Json>, ConversionError>, u64) {
    let mut size = Steps::new(max_bytes as u64);
    let converted = convert(v, &mut size);
    (converted, size.taken())
}

/// Counts `n` bytes of the result against its limit.
fn count(size: &mut Steps, n: usize) -> Result<(), ConversionError> {
    size.take(n as u64).map_err(|_| ConversionError::TooLarge {
        size: size.taken().saturating_add(n as u64),
        limit: size.taken().saturating_add(size.left()),
    })
}

/// The bytes a value other than a list or map counts for.
pub(crate) fn scalar_size(v: &Value) -> usize {
    const LEAST: usize = 8;
    match v {
        Value::String(s) => s.len() + 2,
        Value::Bytes(b) => b.len().div_ceil(3) * 4 + 2,
        Value::Int(i) => LEAST.max(i.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 2),
        Value::Uint(u) => LEAST.max(u.checked_ilog10().unwrap_or(0) as usize + 1),
        _ => 3 * LEAST,
    }
}

fn convert(v: &Value, size: &mut Steps) -> Result<Option<Json>, ConversionError> {
    match v {
        Value::Optional(Some(inner)) => convert(inner, size),
        Value::List(items) => {
            count(size, 2)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                count(size, 1)?;
                if let Some(j) = convert(item, size)? {
                    out.push(j);
                }
            }
            Ok(Some(Json::Array(out)))
        }
        Value::Map(m) => {
            count(size, 2)?;
            let mut out = serde_json::Map::with_capacity(m.len());
            for (k, item) in m.iter() {
                let key = object_key(k)?;
                count(size, key.len() + 4)?;
                if let Some(j) = convert(item, size)? {
                    out.insert(key, j);
                }
            }
            Ok(Some(Json::Object(out)))
        }
        other => {
            count(size, scalar_size(other))?;
            scalar(other, Bytes::Refuse)
        }
    }
}

/// The JSON key of a map key: strings only, written under their real
/// (unescaped) names.
pub(crate) fn object_key(k: &Key) -> Result<String, ConversionError> {
    match k {
        // Objects converted with their schema reach escaped properties by
        // escaped names; write the real names.
        Key::String(s) => Ok(unescape_field_name(s).unwrap_or_else(|| s.to_string())),
        Key::Int(_) => Err(ConversionError::NonStringKey("int64")),
        Key::Uint(_) => Err(ConversionError::NonStringKey("uint64")),
        Key::Bool(_) => Err(ConversionError::NonStringKey("bool")),
    }
}

/// The JSON of a value that is not a list or a map; `None` for `omit()`.
pub(crate) fn scalar(v: &Value, bytes: Bytes) -> Result<Option<Json>, ConversionError> {
    Ok(Some(match v {
        Value::Null | Value::Optional(None) => Json::Null,
        Value::Optional(Some(inner)) => return scalar(inner, bytes),
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Uint(u) => {
            if *u > i64::MAX as u64 && bytes == Bytes::Refuse {
                return Err(ConversionError::UintOverflow(*u));
            }
            Json::from(*u)
        }
        // Go writes a whole double without a fraction (`1`, not `1.0`), and
        // the API server reads `1.0` as a double: an integer field would
        // refuse it. Whole values that fit an int are written as ints.
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Json::from(*d as i64),
        Value::Double(d) => match serde_json::Number::from_f64(*d) {
            Some(n) => Json::Number(n),
            None => return Err(ConversionError::NonFinite(format!("{d}"))),
        },
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => match bytes {
            Bytes::Refuse => return Err(ConversionError::Bytes),
            Bytes::Base64 => {
                use base64::Engine;
                Json::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
        },
        Value::Timestamp(t) => {
            if t.as_second() == ZERO_TIME_SECONDS && t.subsec_nanos() == 0 {
                Json::Null
            } else {
                // Second precision, as metav1.Time writes: drop the fraction.
                let whole =
                    Timestamp::from_nanos(i128::from(t.as_second()) * 1_000_000_000).unwrap_or(*t);
                Json::String(format_timestamp(whole))
            }
        }
        Value::Duration(d) => Json::String(go_duration(*d)),
        Value::List(_) | Value::Map(_) => {
            return Err(ConversionError::Unsupported(v.type_name()));
        }
        Value::Type(t) => return Err(ConversionError::Unsupported(format!("type({t})"))),
        Value::Opaque(o) => match o.type_name() {
            OMIT_TYPE => return Ok(None),
            other => return Err(ConversionError::Unsupported(other.to_string())),
        },
    }))
}

/// Seconds of Go's zero time, 0001-01-01T00:00:00Z, from the Unix epoch.
const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1m0s`, `1.5ms`, `0s`.
/// Durations beyond Go's ±292 years are written as CEL writes them.
pub fn go_duration(d: SignedDuration) -> String {
    let Ok(nanos) = i64::try_from(d.as_nanos()) else {
        return format_duration(d);
    };
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", fraction(u, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(u, 6));
    }
    let seconds = fraction(u % 60_000_000_000, 9);
    let minutes_total = u / 60_000_000_000;
    let hours = minutes_total / 60;
    let minutes = minutes_total % 60;
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// `v / 10^precision` with the fraction's trailing zeros dropped.
fn fraction(v: u64, precision: u32) -> String {
    let scale = 10u64.pow(precision);
    let whole = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The length of what [`write_go_string`] writes for `s`.
pub(crate) fn go_string_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// Writes `s` as a JSON string literal the way Go's `encoding/json` does
/// (`<`, `>`, `&` and the JavaScript line separators escaped). The result is
/// also a valid CEL string literal with the same value, which is how
/// [`crate::template::Template::to_cel`] quotes text.
pub(crate) fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // HTML-sensitive characters and the JavaScript line separators.
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
