//! The calendar accessors of timestamps and durations (`getFullYear`...),
//! with optional time zones. The value types themselves, their parsing and
//! formatting are in `value::time`.

use jiff::tz::{Offset, TimeZone};

use crate::error::EvalError;
use crate::value::Value;
use crate::value::time::{civil, days_from_civil};

type R = Result<Value, EvalError>;

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
            // jiff covers a slightly smaller range; the offset at its edge is the
            // offset at ours.
            let probe = jiff::Timestamp::from_second(t.as_second().clamp(
                jiff::Timestamp::MIN.as_second(),
                jiff::Timestamp::MAX.as_second(),
            ))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let offset = i64::from(tz.to_offset(probe).seconds());
            let c = civil(t.as_second() + offset);
            let v: i64 = match name {
                "getFullYear" => c.year,
                "getMonth" => c.month - 1,
                "getDate" => c.day,
                "getDayOfMonth" => c.day - 1,
                // 1970-01-01 was a Thursday; Sunday is 0.
                "getDayOfWeek" => (c.days + 4).rem_euclid(7),
                "getDayOfYear" => c.days - days_from_civil(c.year, 1, 1),
                "getHours" => c.hour,
                "getMinutes" => c.minute,
                "getSeconds" => c.second,
                "getMilliseconds" => i64::from(t.subsec_nanos() / 1_000_000),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::time::parse_timestamp;

    #[test]
    fn accessors_use_the_time_zone() {
        let t = Value::Timestamp(parse_timestamp("2024-01-01T02:00:00Z").unwrap());
        let la = Value::string("America/Los_Angeles");
        let get = |name: &str, args: &[Value]| match accessor(name, args) {
            Ok(Value::Int(i)) => i,
            other => panic!("{other:?}"),
        };
        assert_eq!(get("getFullYear", std::slice::from_ref(&t)), 2024);
        assert_eq!(get("getFullYear", &[t.clone(), la.clone()]), 2023);
        assert_eq!(get("getHours", &[t.clone(), la]), 18);
        assert_eq!(get("getDayOfWeek", std::slice::from_ref(&t)), 1);
        assert_eq!(get("getHours", &[t, Value::string("+05:30")]), 7);
    }
}
