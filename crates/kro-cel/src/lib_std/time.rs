//! Timestamps and durations: parsing, formatting, range checks, and the
//! calendar accessors with optional time zones.

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::error::EvalError;
use crate::value::Value;

type R = Result<Value, EvalError>;

/// Seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z, the range
/// CEL timestamps must stay in.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;
/// Durations are limited to about ±10000 years.
const MAX_DURATION_SECS: i64 = 315_576_000_000;

pub(crate) fn check_timestamp(t: Timestamp) -> Result<Timestamp, EvalError> {
    let n = t.as_nanosecond();
    if n >= i128::from(MIN_SECS) * 1_000_000_000 && n < (i128::from(MAX_SECS) + 1) * 1_000_000_000 {
        Ok(t)
    } else {
        Err(EvalError::Overflow("timestamp"))
    }
}

pub(crate) fn check_duration(d: SignedDuration) -> Result<SignedDuration, EvalError> {
    if d.as_secs().abs() <= MAX_DURATION_SECS {
        Ok(d)
    } else {
        Err(EvalError::Overflow("duration"))
    }
}

/// RFC 3339 in UTC with only as many fractional digits as needed (0, 3, 6 or 9).
pub fn format_timestamp(t: Timestamp) -> String {
    let base = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.subsec_nanosecond();
    if nanos == 0 {
        format!("{base}Z")
    } else if nanos % 1_000_000 == 0 {
        format!("{base}.{:03}Z", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!("{base}.{:06}Z", nanos / 1_000)
    } else {
        format!("{base}.{nanos:09}Z")
    }
}

/// Seconds with a fractional part as needed, e.g. `3600s`, `1.5s`, `-0.000000001s`.
pub fn format_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{secs}s");
    }
    let sign = if secs < 0 || nanos < 0 { "-" } else { "" };
    let frac = format!("{:09}", nanos.unsigned_abs());
    let frac = frac.trim_end_matches('0');
    format!("{sign}{}.{frac}s", secs.unsigned_abs())
}

pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, EvalError> {
    let bad = || EvalError::Conversion(format!("invalid timestamp {s:?}"));
    // RFC 3339 only: a 'T' separator and an explicit offset.
    if s.len() < 20 || s.as_bytes().get(10).map(u8::to_ascii_uppercase) != Some(b'T') {
        return Err(bad());
    }
    let t: Timestamp = s.parse().map_err(|_| bad())?;
    check_timestamp(t).map_err(|_| bad())
}

/// Parses Go-style durations: `1h30m`, `-1.5s`, `300ms`, `2us`, `10ns`.
pub(crate) fn parse_duration(s: &str) -> Result<SignedDuration, EvalError> {
    let bad = || EvalError::Conversion(format!("invalid duration {s:?}"));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale: i128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return Err(bad()),
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(bad)?;
        let mut div = 1i128;
        for c in frac_part.chars().take(18) {
            div *= 10;
            let digit = i128::from(c.to_digit(10).ok_or_else(bad)?);
            v += digit * scale / div;
        }
        total = total.checked_add(v).ok_or_else(bad)?;
        if total > i128::from(MAX_DURATION_SECS + 1) * 1_000_000_000 {
            return Err(EvalError::Conversion(format!(
                "duration {s:?} out of range"
            )));
        }
    }
    if neg {
        total = -total;
    }
    check_duration(SignedDuration::from_nanos_i128(total))
        .map_err(|_| EvalError::Conversion(format!("duration {s:?} out of range")))
}

fn time_zone(name: &str) -> Result<TimeZone, EvalError> {
    let bad = || EvalError::InvalidArgument(format!("invalid time zone {name:?}"));
    if name == "UTC" || name == "Z" {
        return Ok(TimeZone::UTC);
    }
    let b = name.as_bytes();
    if matches!(b.first(), Some(b'+' | b'-'))
        || name.as_bytes().first().is_some_and(u8::is_ascii_digit)
    {
        let (sign, body) = match b[0] {
            b'-' => (-1, &name[1..]),
            b'+' => (1, &name[1..]),
            _ => (1, name),
        };
        let (h, m) = body.split_once(':').ok_or_else(bad)?;
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        let off = Offset::from_seconds(sign * (h * 3600 + m * 60)).map_err(|_| bad())?;
        return Ok(TimeZone::fixed(off));
    }
    TimeZone::get(name).map_err(|_| bad())
}

/// The calendar accessors (`getFullYear`...), with an optional time zone argument.
pub(crate) fn accessor(name: &str, args: &[Value]) -> R {
    match args {
        [Value::Timestamp(t)] | [Value::Timestamp(t), Value::String(_)] => {
            let tz = match args.get(1) {
                Some(Value::String(z)) => time_zone(z)?,
                _ => TimeZone::UTC,
            };
            let z = t.to_zoned(tz);
            let v: i64 = match name {
                "getFullYear" => i64::from(z.year()),
                "getMonth" => i64::from(z.month()) - 1,
                "getDate" => i64::from(z.day()),
                "getDayOfMonth" => i64::from(z.day()) - 1,
                "getDayOfWeek" => i64::from(z.weekday().to_sunday_zero_offset()),
                "getDayOfYear" => i64::from(z.day_of_year()) - 1,
                "getHours" => i64::from(z.hour()),
                "getMinutes" => i64::from(z.minute()),
                "getSeconds" => i64::from(z.second()),
                "getMilliseconds" => i64::from(z.millisecond()),
                _ => return Err(EvalError::no_overload(name, args)),
            };
            Ok(Value::Int(v))
        }
        [Value::Duration(d)] => {
            let secs = d.as_secs();
            let v = match name {
                "getHours" => secs / 3600,
                "getMinutes" => secs / 60,
                "getSeconds" => secs,
                "getMilliseconds" => i64::from(d.subsec_millis()),
                _ => return Err(EvalError::no_overload(name, args)),
            };
            Ok(Value::Int(v))
        }
        _ => Err(EvalError::no_overload(name, args)),
    }
}

/// Names of the accessors, for declaration.
pub(crate) const ACCESSORS: [&str; 10] = [
    "getFullYear",
    "getMonth",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
];
