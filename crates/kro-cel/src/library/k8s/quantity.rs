//! The Kubernetes `quantity` library: `quantity`, `isQuantity`, comparison,
//! arithmetic and conversions of resource quantities (`500Mi`, `1.5`, `2e3`).
//!
//! A quantity is held exactly as a count of nano-units in an `i128`: the API
//! server rounds every parsed quantity up to a multiple of 10⁻⁹ and caps it
//! at 2⁶³-1 units, so 128 bits always suffice for one value and for sums.

use crate::cost::CallRule;
use std::any::Any;
use std::cmp::Ordering;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;
use crate::value::{Opaque, downcast, wrap};

const TYPE: &str = "kubernetes.Quantity";
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// The API server's cap: the largest int64, in units.
const MAX_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;

/// How a quantity is written; kept so results print like the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Powers of 1024: `Ki`, `Mi`...
    BinarySi,
    /// Powers of 1000: `m`, `k`, `M`...
    DecimalSi,
    /// `e<n>`
    DecimalExponent,
}

/// A Kubernetes resource quantity.
///
/// Besides its exact value, a quantity remembers whether the API server
/// would hold it in its compact form (an `int64` times a power of ten,
/// `fast_scale` being that power) or as an arbitrary-precision decimal
/// (`None`): `isInteger` and `asInteger` answer from the compact form only,
/// so `quantity('1.5Ki').isInteger()` is `false` there although the value
/// is 1536. Keeping the distinction keeps those answers identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: Format,
    fast_scale: Option<i32>,
}

/// The API server's `maxInt64Factors`: decimal digits an int64 always holds.
const MAX_INT64_FACTORS: i32 = 18;

impl Quantity {
    /// Parses the Kubernetes quantity notation.
    pub fn parse(s: &str) -> Result<Quantity, EvalError> {
        let wrong = || {
            EvalError::InvalidArgument(format!(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s:?}"
            ))
        };
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(wrong());
        }
        let (base2, exponent, mut format) = parse_suffix(suffix).ok_or_else(|| {
            if suffix
                .chars()
                .all(|c| "eEinumkKMGTP+-0123456789".contains(c))
            {
                EvalError::InvalidArgument(format!("unable to parse quantity's suffix: {s:?}"))
            } else {
                wrong()
            }
        })?;
        let too_large = || EvalError::InvalidArgument(format!("quantity {s:?} is too large"));
        // Leading zeros do not count, but the numerator is at least "0".
        let whole = match whole.trim_start_matches('0') {
            "" => "0",
            w => w,
        };
        let digit_count = i32::try_from(whole.len() + fraction.len()).map_err(|_| too_large())?;
        let frac_len = i32::try_from(fraction.len()).map_err(|_| too_large())?;
        let fast_scale = if base2 {
            let precision =
                15 - i32::try_from(whole.len()).unwrap_or(i32::MAX) - exponent * 3 / 10 - 1;
            (fraction.is_empty() && precision >= 0).then_some(0)
        } else {
            let scale = exponent - frac_len;
            (MAX_INT64_FACTORS - digit_count >= 0 && scale >= -9).then_some(scale)
        };
        // digits × 10^(exponent - fraction digits) × 2^(binary exponent), in nanos.
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        let mut nanos: i128 = 0;
        let mut overflow = false;
        for d in digits.bytes() {
            match nanos
                .checked_mul(10)
                .and_then(|n| n.checked_add(i128::from(d - b'0')))
            {
                Some(n) => nanos = n,
                None => {
                    overflow = true;
                    break;
                }
            }
        }
        let scale = if base2 {
            9 - frac_len
        } else {
            exponent + 9 - frac_len
        };
        if !overflow {
            let scaled = match scale.cmp(&0) {
                Ordering::Greater | Ordering::Equal => match pow10(scale) {
                    Some(p) => nanos.checked_mul(p),
                    None if nanos == 0 => Some(0),
                    None => None,
                },
                // Finer than a nano: round away from zero, as the API server does.
                Ordering::Less => Some(match pow10(-scale) {
                    Some(p) => div_ceil(nanos, p),
                    None => i128::from(nanos != 0),
                }),
            };
            match scaled {
                Some(n) => nanos = n,
                None => overflow = true,
            }
        }
        if base2 && !overflow {
            match nanos.checked_mul(1i128 << exponent) {
                Some(n) => nanos = n,
                None => overflow = true,
            }
        }
        if base2 {
            // Binary quantities are capped at the largest int64; decimal
            // ones are exact there, and here limited to what 128 bits hold.
            if overflow || nanos > MAX_NANOS {
                nanos = MAX_NANOS;
            }
            if nanos > 0 && nanos < NANOS_PER_UNIT {
                format = Format::DecimalSi;
            }
        } else if overflow {
            return Err(too_large());
        }
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
            fast_scale,
        })
    }

    /// The value as an `i64`, when the API server can give it exactly from
    /// its compact form (see the type's documentation).
    pub fn as_i64(&self) -> Option<i64> {
        let scale = self.fast_scale?;
        if scale < 0 {
            return None;
        }
        if self.nanos % NANOS_PER_UNIT != 0 {
            return None;
        }
        i64::try_from(self.nanos / NANOS_PER_UNIT).ok()
    }

    /// The value as a double (approximate for large or fine values).
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// The canonical notation, as the API server prints quantities.
    pub fn canonical(&self) -> String {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        if abs == 0 {
            return "0".into();
        }
        let nanos_per_unit = NANOS_PER_UNIT.unsigned_abs();
        // Binary notation only for whole values of at least 1024.
        if self.format == Format::BinarySi
            && abs.is_multiple_of(nanos_per_unit)
            && abs / nanos_per_unit >= 1024
        {
            let mut units = abs / nanos_per_unit;
            let mut power = 0;
            while power < 6 && units.is_multiple_of(1024) {
                units /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return format!("{sign}{units}{suffix}");
        }
        // Decimal: the largest exponent (a multiple of 3) leaving a whole
        // mantissa; SI suffixes stop at E, exponents do not.
        let exponent_cap = if self.format == Format::DecimalExponent {
            i32::MAX
        } else {
            18
        };
        let mut exponent: i32 = -9;
        let mut mantissa = abs;
        while exponent < exponent_cap && mantissa.is_multiple_of(1000) {
            mantissa /= 1000;
            exponent += 3;
        }
        let suffix = if self.format == Format::DecimalExponent {
            if exponent == 0 {
                String::new()
            } else {
                format!("e{exponent}")
            }
        } else {
            match exponent {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            }
            .to_string()
        };
        format!("{sign}{mantissa}{suffix}")
    }

    /// A whole number, as `NewQuantity(n, DecimalExponent)` makes it.
    fn from_int(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANOS_PER_UNIT,
            format: Format::DecimalExponent,
            fast_scale: Some(0),
        }
    }

    /// The compact form's (value, scale), if the quantity has one.
    fn compact(&self) -> Option<(i64, i32)> {
        let scale = self.fast_scale?;
        let divisor = pow10(scale.checked_add(9)?)?;
        i64::try_from(self.nanos / divisor).ok().map(|v| (v, scale))
    }

    /// `self + sign·other` with the API server's rules for the format (a
    /// zero receiver takes the operand's) and the compact form (kept when
    /// both have one and the sum fits an int64 at the finer scale).
    fn add_signed(&self, other: &Quantity, negate: bool) -> Result<Quantity, EvalError> {
        let operand = if negate {
            other.nanos.checked_neg()
        } else {
            Some(other.nanos)
        };
        let nanos = operand
            .and_then(|o| self.nanos.checked_add(o))
            .filter(|n| n.unsigned_abs() <= (MAX_NANOS.unsigned_abs() << 8))
            .ok_or(EvalError::Overflow("quantity"))?;
        let format = if self.nanos == 0 {
            other.format
        } else {
            self.format
        };
        let fast_scale = match (self.compact(), other.compact()) {
            (Some(_), Some((0, _))) => self.fast_scale,
            (Some((0, _)), Some(_)) => other.fast_scale,
            (Some((_, a)), Some((_, b))) => {
                // Both operands and the sum must fit an int64 at the finer scale.
                let scale = a.min(b);
                let fits = |n: i128| pow10(scale + 9).is_some_and(|p| i64::try_from(n / p).is_ok());
                (fits(self.nanos) && fits(other.nanos) && fits(nanos)).then_some(scale)
            }
            _ => None,
        };
        Ok(Quantity {
            nanos,
            format,
            fast_scale,
        })
    }

    fn mul(&self, n: i64) -> Result<Quantity, EvalError> {
        let nanos = self
            .nanos
            .checked_mul(i128::from(n))
            .filter(|v| v.unsigned_abs() <= (MAX_NANOS.unsigned_abs() << 8))
            .ok_or(EvalError::Overflow("quantity"))?;
        let fast_scale = self
            .compact()
            .and_then(|(v, scale)| v.checked_mul(n).map(|_| scale));
        Ok(Quantity {
            nanos,
            format: self.format,
            fast_scale,
        })
    }
}

fn pow10(e: i32) -> Option<i128> {
    10i128.checked_pow(u32::try_from(e).ok()?)
}

fn div_ceil(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d != 0 { q + 1 } else { q }
}

/// (binary?, exponent, format) of a suffix.
fn parse_suffix(suffix: &str) -> Option<(bool, i32, Format)> {
    let decimal = |e| Some((false, e, Format::DecimalSi));
    let binary = |e| Some((true, e, Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s => {
            let rest = s.strip_prefix(['e', 'E'])?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Exponents beyond this only cap or vanish; keep the arithmetic small.
            let e: i32 = rest.parse().ok().filter(|e: &i32| e.abs() <= 1000)?;
            Some((false, e, Format::DecimalExponent))
        }
    }
}

impl Opaque for Quantity {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Quantity>()
            .is_some_and(|o| o.nanos == self.nanos)
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(serde_json::Value::String(self.canonical()))
    }
    fn render(&self) -> String {
        format!("quantity({:?})", self.canonical())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn q(v: &Value) -> Option<&Quantity> {
    downcast::<Quantity>(v)
}

pub(crate) fn install(env: &mut Env) {
    overload(
        env,
        "quantity",
        &["(string) -> kubernetes.Quantity"],
        |a, _| match a {
            [Value::String(s)] => Some(Quantity::parse(s).map(wrap)),
            _ => None,
        },
    );
    overload(env, "isQuantity", &["(string) -> bool"], |a, _| match a {
        [Value::String(s)] => Some(Ok(Value::Bool(Quantity::parse(s).is_ok()))),
        _ => None,
    });
    overload(
        env,
        "sign",
        &[
            "kubernetes.Quantity.() -> int",
            "(kubernetes.Quantity) -> int",
        ],
        |a, _| match a {
            [x] => q(x).map(|x| Ok(Value::Int(x.nanos.signum() as i64))),
            _ => None,
        },
    );
    overload(
        env,
        "isGreaterThan",
        &["kubernetes.Quantity.(kubernetes.Quantity) -> bool"],
        |a, _| {
            let (x, y) = cmp_pair(a)?;
            Some(Ok(Value::Bool(x.nanos > y.nanos)))
        },
    );
    overload(
        env,
        "isLessThan",
        &["kubernetes.Quantity.(kubernetes.Quantity) -> bool"],
        |a, _| {
            let (x, y) = cmp_pair(a)?;
            Some(Ok(Value::Bool(x.nanos < y.nanos)))
        },
    );
    overload(
        env,
        "compareTo",
        &["kubernetes.Quantity.(kubernetes.Quantity) -> int"],
        |a, _| {
            let (x, y) = cmp_pair(a)?;
            Some(Ok(Value::Int(x.nanos.cmp(&y.nanos) as i64)))
        },
    );
    overload(
        env,
        "asApproximateFloat",
        &["kubernetes.Quantity.() -> double"],
        |a, _| match a {
            [x] => q(x).map(|x| Ok(Value::Double(x.as_f64()))),
            _ => None,
        },
    );
    overload(
        env,
        "asInteger",
        &["kubernetes.Quantity.() -> int"],
        |a, _| match a {
            [x] => q(x).map(|x| {
                x.as_i64().map(Value::Int).ok_or_else(|| {
                    EvalError::InvalidArgument("cannot convert value to integer".into())
                })
            }),
            _ => None,
        },
    );
    overload(
        env,
        "isInteger",
        &["kubernetes.Quantity.() -> bool"],
        |a, _| match a {
            [x] => q(x).map(|x| Ok(Value::Bool(x.as_i64().is_some()))),
            _ => None,
        },
    );
    overload(
        env,
        "add",
        &[
            "kubernetes.Quantity.(kubernetes.Quantity) -> kubernetes.Quantity",
            "kubernetes.Quantity.(int) -> kubernetes.Quantity",
        ],
        |a, _| arithmetic(a, false),
    );
    overload(
        env,
        "sub",
        &[
            "kubernetes.Quantity.(kubernetes.Quantity) -> kubernetes.Quantity",
            "kubernetes.Quantity.(int) -> kubernetes.Quantity",
        ],
        |a, _| arithmetic(a, true),
    );
    overload(
        env,
        "mul",
        &["kubernetes.Quantity.(int) -> kubernetes.Quantity"],
        |a, _| match a {
            [x, Value::Int(n)] => Some(q(x)?.mul(*n).map(wrap)),
            _ => None,
        },
    );
    env.set_cost_rule("quantity", CallRule::Parses { copies: 1 });
    for name in [
        "isQuantity",
        "sign",
        "isGreaterThan",
        "isLessThan",
        "compareTo",
        "asApproximateFloat",
        "asInteger",
        "isInteger",
        "add",
        "sub",
        "mul",
    ] {
        env.set_cost_rule(name, CallRule::Scalar);
    }
}

fn cmp_pair(a: &[Value]) -> Option<(Quantity, Quantity)> {
    match a {
        [x, y] => Some((*q(x)?, *q(y)?)),
        _ => None,
    }
}

fn arithmetic(a: &[Value], negate: bool) -> Option<R> {
    let [x, y] = a else { return None };
    let x = q(x)?;
    let y = match y {
        Value::Int(i) => Quantity::from_int(*i),
        other => *q(other)?,
    };
    Some(x.add_signed(&y, negate).map(wrap))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{eval, fails, truthy};
    use super::Quantity;

    fn canonical(s: &str) -> String {
        Quantity::parse(s).expect("valid quantity").canonical()
    }

    #[test]
    fn parses_and_prints_like_the_api_server() {
        for (input, out) in [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("500m", "500m"),
            ("0.5", "500m"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1.5k", "1500"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("-2M", "-2M"),
            ("+3", "3"),
            ("0", "0"),
            ("0.0001n", "1n"),
            (".5", "500m"),
            ("5.", "5"),
            ("9E", "9E"),
            ("12E", "12E"),
            ("1e27", "1e27"),
            ("1e21", "1e21"),
            ("1000E", "1000E"),
            ("0.5Ki", "512"),
            ("0.0001Ki", "102400u"),
            ("100Ei", "9223372036854775807"),
        ] {
            assert_eq!(canonical(input), out, "{input}");
        }
        for bad in [
            "", "abc", "1.2.3", "Mi", "1 Gi", "1Qi", "1e", "--1", ".", "1e30",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn constructors() {
        truthy("isQuantity('1Gi')");
        truthy("!isQuantity('1GB')");
        truthy("quantity('1Gi') == quantity('1024Mi')");
        truthy("quantity('1') == quantity('1000m')");
        truthy("quantity('1') != quantity('1001m')");
        fails("quantity('1Gk')", "unable to parse quantity's suffix");
        fails("quantity('1GB')", "quantities must match");
        fails(
            "quantity('x')",
            "quantities must match the regular expression",
        );
        assert_eq!(
            eval("quantity('1.5Gi')").map(|v| v.to_json().ok()),
            Ok(Some(serde_json::json!("1536Mi")))
        );
    }

    #[test]
    fn comparisons() {
        truthy("quantity('1Gi').isGreaterThan(quantity('500Mi'))");
        truthy("quantity('50M').isLessThan(quantity('50Mi'))");
        truthy("quantity('200M').compareTo(quantity('0.2G')) == 0");
        truthy("quantity('50M').compareTo(quantity('50Mi')) == -1");
        truthy("quantity('50Mi').compareTo(quantity('50M')) == 1");
    }

    #[test]
    fn arithmetic() {
        truthy("quantity('1Gi').add(quantity('512Mi')) == quantity('1.5Gi')");
        truthy("quantity('1').add(1) == quantity('2')");
        truthy("quantity('1').sub(quantity('500m')) == quantity('0.5')");
        truthy("quantity('1').sub(2).sign() == -1");
        truthy("quantity('2k').mul(3) == quantity('6k')");
        let shown = |src: &str| eval(src).map(|v| v.to_string());
        assert_eq!(
            shown("quantity('1Gi').add(quantity('512Mi'))"),
            Ok("quantity(\"1536Mi\")".into())
        );
        // Binary values below 1024 print as decimal; a zero receiver takes
        // the operand's format.
        assert_eq!(
            shown("quantity('1Ki').sub(quantity('24'))"),
            Ok("quantity(\"1k\")".into())
        );
        assert_eq!(
            shown("quantity('0').add(quantity('2Ki'))"),
            Ok("quantity(\"2Ki\")".into())
        );
    }

    #[test]
    fn conversions() {
        truthy("quantity('5k').asInteger() == 5000");
        truthy("quantity('1.5').asApproximateFloat() == 1.5");
        truthy("quantity('5k').isInteger()");
        truthy("!quantity('1.5').isInteger()");
        truthy("quantity('0').sign() == 0");
        // The API server answers from its compact form only.
        truthy("quantity('1k').isInteger()");
        truthy("quantity('1.5k').isInteger()");
        truthy("quantity('1Gi').isInteger()");
        truthy("!quantity('1000m').isInteger()");
        truthy("!quantity('1.5Ki').isInteger()");
        truthy("!quantity('0.5').add(quantity('0.5')).isInteger()");
        truthy("quantity('1').add(1).asInteger() == 2");
        truthy("quantity('1k').sub(quantity('1k')).add(quantity('2')).isInteger()");
        truthy("quantity('2k').mul(3).asInteger() == 6000");
        fails(
            "quantity('1000m').asInteger()",
            "cannot convert value to integer",
        );
        truthy("quantity('-1m').sign() == -1");
        truthy("sign(quantity('1m')) == 1");
        fails(
            "quantity('1.5').asInteger()",
            "cannot convert value to integer",
        );
        fails(
            "quantity('100Ei').add(quantity('100Ei')).mul(9223372036854775807).mul(9223372036854775807)",
            "overflow",
        );
    }
}
