//! Type conversions: `int()`, `uint()`, `double()`, `string()`, `bytes()`,
//! `bool()`, `duration()`, `timestamp()`, `type()`, `dyn()`.

use std::sync::Arc;

use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::Value;
use crate::value::time;

type R = Result<Value, EvalError>;

pub(crate) fn to_int(args: &[Value]) -> R {
    match args {
        [Value::Int(i)] => Ok(Value::Int(*i)),
        [Value::Uint(u)] => i64::try_from(*u)
            .map(Value::Int)
            .map_err(|_| EvalError::Overflow("int")),
        [Value::Double(d)] => {
            // Doubles just inside ±2^63 round-trip; the boundaries themselves do not fit.
            if d.is_nan() || *d <= -9.223_372_036_854_776e18 || *d >= 9.223_372_036_854_776e18 {
                Err(EvalError::Overflow("int"))
            } else {
                Ok(Value::Int(*d as i64))
            }
        }
        [Value::String(s)] => s
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| EvalError::Conversion(format!("cannot convert {s:?} to int"))),
        [Value::Timestamp(t)] => Ok(Value::Int(t.as_second())),
        _ => Err(EvalError::no_overload("int", args)),
    }
}

pub(crate) fn to_uint(args: &[Value]) -> R {
    match args {
        [Value::Uint(u)] => Ok(Value::Uint(*u)),
        [Value::Int(i)] => u64::try_from(*i)
            .map(Value::Uint)
            .map_err(|_| EvalError::Overflow("uint")),
        [Value::Double(d)] => {
            if d.is_nan() || *d < 0.0 || *d >= 1.844_674_407_370_955_2e19 {
                Err(EvalError::Overflow("uint"))
            } else {
                Ok(Value::Uint(*d as u64))
            }
        }
        [Value::String(s)] => s
            .parse::<u64>()
            .map(Value::Uint)
            .map_err(|_| EvalError::Conversion(format!("cannot convert {s:?} to uint"))),
        _ => Err(EvalError::no_overload("uint", args)),
    }
}

pub(crate) fn to_double(args: &[Value]) -> R {
    match args {
        [Value::Double(d)] => Ok(Value::Double(*d)),
        [Value::Int(i)] => Ok(Value::Double(*i as f64)),
        [Value::Uint(u)] => Ok(Value::Double(*u as f64)),
        [Value::String(s)] => s
            .parse::<f64>()
            .map(Value::Double)
            .map_err(|_| EvalError::Conversion(format!("cannot convert {s:?} to double"))),
        _ => Err(EvalError::no_overload("double", args)),
    }
}

/// Formats a double the way Go's `strconv.FormatFloat(d, 'g', -1, 64)` does,
/// which is what cel-go's `string(double)` produces.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits via `{:e}`: "d.ddddde<exp>".
    let sci = format!("{d:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    if exp >= n - 1 {
        format!("{sign}{digits}{}", "0".repeat((exp - (n - 1)) as usize))
    } else if exp >= 0 {
        let (a, b) = digits.split_at((exp + 1) as usize);
        format!("{sign}{a}.{b}")
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

/// `string(v)`; converting bytes copies them, which is reserved first.
pub(crate) fn to_string(args: &[Value], m: &mut Meter<'_>) -> R {
    if let [Value::Bytes(b)] = args {
        m.reserve_string(b.len())?;
    }
    match args {
        [Value::String(s)] => Ok(Value::String(s.clone())),
        [Value::Int(i)] => Ok(Value::from(i.to_string())),
        [Value::Uint(u)] => Ok(Value::from(u.to_string())),
        [Value::Double(d)] => Ok(Value::from(format_double(*d))),
        [Value::Bool(b)] => Ok(Value::from(b.to_string())),
        [Value::Bytes(b)] => std::str::from_utf8(b)
            .map(Value::from)
            .map_err(|_| EvalError::Conversion("invalid UTF-8 in bytes".into())),
        [Value::Timestamp(t)] => Ok(Value::from(time::format_timestamp(*t))),
        [Value::Duration(d)] => Ok(Value::from(time::format_duration(*d))),
        _ => Err(EvalError::no_overload("string", args)),
    }
}

/// `bytes(v)`; converting a string copies it, which is reserved first.
pub(crate) fn to_bytes(args: &[Value], m: &mut Meter<'_>) -> R {
    match args {
        [Value::Bytes(b)] => Ok(Value::Bytes(b.clone())),
        [Value::String(s)] => {
            m.reserve_string(s.len())?;
            Ok(Value::Bytes(Arc::from(s.as_bytes())))
        }
        _ => Err(EvalError::no_overload("bytes", args)),
    }
}

pub(crate) fn to_bool(args: &[Value]) -> R {
    match args {
        [Value::Bool(b)] => Ok(Value::Bool(*b)),
        [Value::String(s)] => match &**s {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err(EvalError::Conversion(format!(
                "cannot convert {s:?} to bool"
            ))),
        },
        _ => Err(EvalError::no_overload("bool", args)),
    }
}

pub(crate) fn to_duration(args: &[Value]) -> R {
    match args {
        [Value::Duration(d)] => Ok(Value::Duration(*d)),
        [Value::String(s)] => time::parse_duration(s).map(Value::Duration),
        _ => Err(EvalError::no_overload("duration", args)),
    }
}

pub(crate) fn to_timestamp(args: &[Value]) -> R {
    match args {
        [Value::Timestamp(t)] => Ok(Value::Timestamp(*t)),
        [Value::String(s)] => time::parse_timestamp(s).map(Value::Timestamp),
        [Value::Int(i)] => time::Timestamp::from_nanos(i128::from(*i) * 1_000_000_000)
            .map(Value::Timestamp)
            .ok_or(EvalError::Overflow("timestamp")),
        _ => Err(EvalError::no_overload("timestamp", args)),
    }
}

pub(crate) fn type_of(args: &[Value]) -> R {
    match args {
        [v] => Ok(Value::Type(v.runtime_type())),
        _ => Err(EvalError::no_overload("type", args)),
    }
}

pub(crate) fn dyn_(args: &[Value]) -> R {
    match args {
        [v] => Ok(v.clone()),
        _ => Err(EvalError::no_overload("dyn", args)),
    }
}
