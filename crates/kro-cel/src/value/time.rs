//! Timestamps and durations as values: the [`Timestamp`] type, the range
//! checks, and their RFC 3339 and Go text forms.
//!
//! They live with the value model, not in the standard library, because
//! values are printed, parsed from OpenAPI `date-time`/`duration` strings and
//! written into templates in those forms whatever library is installed; the
//! CEL functions over them (`getFullYear`...) stay in `library::std::time`.

use jiff::SignedDuration;

use crate::error::EvalError;

/// Seconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z, the range
/// CEL timestamps must stay in.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;
/// Durations are limited to about ±10000 years.
const MAX_DURATION_SECS: i64 = 315_576_000_000;

const NANOS: i128 = 1_000_000_000;

/// A point in time: nanoseconds since the Unix epoch, UTC.
///
/// Our own type rather than `jiff::Timestamp`, whose range stops at
/// 9999-12-30T22:00Z while CEL's runs to 9999-12-31T23:59:59.999999999Z. The
/// calendar arithmetic below is the proleptic Gregorian one; `jiff` is used
/// only to find time zone offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from nanoseconds since the epoch, if within CEL's range.
    pub fn from_nanos(n: i128) -> Option<Timestamp> {
        (n >= i128::from(MIN_SECS) * NANOS && n < (i128::from(MAX_SECS) + 1) * NANOS)
            .then_some(Timestamp(n))
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i128 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn as_second(self) -> i64 {
        // In range by construction: |secs| < 2^38.
        self.0.div_euclid(NANOS) as i64
    }

    /// The nanosecond within the second, 0..1e9.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS) as u32
    }

    pub(crate) fn checked_add(self, d: SignedDuration) -> Option<Timestamp> {
        Timestamp::from_nanos(self.0.checked_add(d.as_nanos())?)
    }

    pub(crate) fn checked_sub(self, d: SignedDuration) -> Option<Timestamp> {
        Timestamp::from_nanos(self.0.checked_sub(d.as_nanos())?)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month 1-12, day 1-31) of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Calendar fields of a local time given as seconds since the epoch.
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: i64,
    pub(crate) day: i64,
    pub(crate) hour: i64,
    pub(crate) minute: i64,
    pub(crate) second: i64,
    pub(crate) days: i64,
}

/// The calendar fields of a local time given as seconds since the epoch.
pub(crate) fn civil(local_secs: i64) -> Civil {
    let days = local_secs.div_euclid(86_400);
    let rem = local_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        days,
    }
}

/// Durations must fit in 64-bit nanoseconds (about ±292 years), the range
/// cel-go enforces; the conformance suite expects overflow errors beyond it.
pub(crate) fn check_duration(d: SignedDuration) -> Result<SignedDuration, EvalError> {
    if i64::try_from(d.as_nanos()).is_ok() && d.as_secs().abs() <= MAX_DURATION_SECS {
        Ok(d)
    } else {
        Err(EvalError::Overflow("duration"))
    }
}

/// RFC 3339 in UTC with only as many fractional digits as needed (0, 3, 6 or 9).
pub fn format_timestamp(t: Timestamp) -> String {
    let c = civil(t.as_second());
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    let nanos = t.subsec_nanos();
    if nanos == 0 {
        format!("{base}Z")
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{base}.{:03}Z", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
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

/// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, EvalError> {
    let bad = || EvalError::Conversion(format!("invalid timestamp {s:?}"));
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, EvalError> {
        let part = s.get(from..from + len).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let sep = |at: usize, want: &[u8]| b.get(at).is_some_and(|c| want.contains(c));
    if b.len() < 20
        || !sep(4, b"-")
        || !sep(7, b"-")
        || !sep(10, b"Tt")
        || !sep(13, b":")
        || !sep(16, b":")
    {
        return Err(bad());
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = usize::try_from(month - 1)
        .ok()
        .and_then(|i| month_days.get(i))
        .ok_or_else(bad)?;
    if day < 1 || day > *max_day || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return Err(bad());
        }
        nanos = digits.parse::<i128>().map_err(|_| bad())? * 10i128.pow(9 - digits.len() as u32);
    }
    let offset_secs = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':' =>
        {
            let h = num(i + 1, 2)?;
            let m = num(i + 4, 2)?;
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let o = h * 3600 + m * 60;
            if rest.starts_with('-') { -o } else { o }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_secs;
    Timestamp::from_nanos(i128::from(secs) * NANOS + nanos).ok_or_else(bad)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_across_the_range() {
        for s in [
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "2000-02-29T12:30:15.250Z",
            "2024-12-31T23:59:59.000001Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let t = parse_timestamp(s).unwrap();
            assert_eq!(format_timestamp(t), s);
        }
        assert!(parse_timestamp("2023-02-29T00:00:00Z").is_err());
        assert!(parse_timestamp("2023-01-01 00:00:00Z").is_err());
        let t = parse_timestamp("2023-05-28T23:30:00-01:00").unwrap();
        assert_eq!(format_timestamp(t), "2023-05-29T00:30:00Z");
    }
}
