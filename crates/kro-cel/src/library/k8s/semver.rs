//! The Kubernetes `semver` library: `semver`, `isSemver` (both with an
//! optional normalising flag), `major`, `minor`, `patch` and comparisons,
//! following Semantic Versioning 2.0.0.

use crate::cost::CallRule;
use std::any::Any;
use std::cmp::Ordering;

use super::chain::{R, overload};
use crate::decls::Env;
use crate::error::EvalError;
use crate::value::Value;
use crate::value::{Opaque, downcast, wrap};

const TYPE: &str = "kubernetes.Semver";

/// A semantic version; build metadata is kept for printing only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
    build: Vec<String>,
}

impl Semver {
    /// Parses a strict semantic version (`1.2.3-rc.1+build`).
    pub fn parse(s: &str) -> Result<Semver, EvalError> {
        let err = |why: &str| EvalError::InvalidArgument(format!("invalid semver {s:?}: {why}"));
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(err("no major, minor and patch version"));
        };
        let number = |p: &str| -> Result<u64, EvalError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("version numbers must be digits"));
            }
            if p.len() > 1 && p.starts_with('0') {
                return Err(err("leading zeroes are not allowed"));
            }
            p.parse().map_err(|_| err("version number too large"))
        };
        let identifiers = |list: &str, numeric_rules: bool| -> Result<Vec<String>, EvalError> {
            list.split('.')
                .map(|id| {
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        return Err(err("invalid pre-release or build identifier"));
                    }
                    if numeric_rules
                        && id.bytes().all(|b| b.is_ascii_digit())
                        && id.len() > 1
                        && id.starts_with('0')
                    {
                        return Err(err("leading zeroes are not allowed"));
                    }
                    Ok(id.to_string())
                })
                .collect()
        };
        Ok(Semver {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre: pre
                .map(|p| identifiers(p, true))
                .transpose()?
                .unwrap_or_default(),
            build: build
                .map(|b| identifiers(b, false))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// Parses after normalising: a leading `v` is dropped, leading zeros
    /// removed and missing minor and patch numbers filled with 0.
    pub fn parse_normalized(s: &str) -> Result<Semver, EvalError> {
        let trimmed = s.strip_prefix('v').unwrap_or(s);
        let mut parts: Vec<String> = trimmed.splitn(3, '.').map(str::to_string).collect();
        for p in &mut parts {
            if p.len() > 1 {
                let stripped = p.trim_start_matches('0');
                *p = if stripped.starts_with(|c: char| c.is_ascii_digit()) {
                    stripped.to_string()
                } else {
                    format!("0{stripped}")
                };
            }
        }
        if parts.len() < 3 {
            if parts.last().is_some_and(|p| p.contains(['+', '-'])) {
                return Err(EvalError::InvalidArgument(format!(
                    "invalid semver {s:?}: short version cannot contain PreRelease/Build meta data"
                )));
            }
            parts.resize(3, "0".to_string());
        }
        Semver::parse(&parts.join("."))
    }

    fn compare(&self, other: &Semver) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

impl std::fmt::Display for Semver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build.join("."))?;
        }
        Ok(())
    }
}

impl Opaque for Semver {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Semver>()
            .is_some_and(|o| o.compare(self) == Ordering::Equal)
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(serde_json::Value::String(self.to_string()))
    }
    fn render(&self) -> String {
        format!("semver({:?})", self.to_string())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn sv(v: &Value) -> Option<&Semver> {
    downcast::<Semver>(v)
}

fn parse(a: &[Value]) -> Option<Result<Semver, EvalError>> {
    match a {
        [Value::String(s)] | [Value::String(s), Value::Bool(false)] => Some(Semver::parse(s)),
        [Value::String(s), Value::Bool(true)] => Some(Semver::parse_normalized(s)),
        _ => None,
    }
}

fn pair(a: &[Value]) -> Option<Ordering> {
    match a {
        [x, y] => Some(sv(x)?.compare(sv(y)?)),
        _ => None,
    }
}

fn number(a: &[Value], f: fn(&Semver) -> u64) -> Option<R> {
    match a {
        [x] => sv(x).map(|v| {
            i64::try_from(f(v))
                .map(Value::Int)
                .map_err(|_| EvalError::Overflow("int"))
        }),
        _ => None,
    }
}

pub(crate) fn install(env: &mut Env) {
    overload(
        env,
        "semver",
        &[
            "(string) -> kubernetes.Semver",
            "(string, bool) -> kubernetes.Semver",
        ],
        // A version keeps its string's parts: its size at most.
        |a, m| {
            if let Some(Value::String(s)) = a.first()
                && let Err(e) = m.reserve_string(s.len())
            {
                return Some(Err(e));
            }
            parse(a).map(|r| r.map(wrap))
        },
    );
    overload(
        env,
        "isSemver",
        &["(string) -> bool", "(string, bool) -> bool"],
        |a, _| parse(a).map(|r| Ok(Value::Bool(r.is_ok()))),
    );
    overload(env, "major", &["kubernetes.Semver.() -> int"], |a, _| {
        number(a, |v| v.major)
    });
    overload(env, "minor", &["kubernetes.Semver.() -> int"], |a, _| {
        number(a, |v| v.minor)
    });
    overload(env, "patch", &["kubernetes.Semver.() -> int"], |a, _| {
        number(a, |v| v.patch)
    });
    overload(
        env,
        "isGreaterThan",
        &["kubernetes.Semver.(kubernetes.Semver) -> bool"],
        |a, _| pair(a).map(|o| Ok(Value::Bool(o == Ordering::Greater))),
    );
    overload(
        env,
        "isLessThan",
        &["kubernetes.Semver.(kubernetes.Semver) -> bool"],
        |a, _| pair(a).map(|o| Ok(Value::Bool(o == Ordering::Less))),
    );
    overload(
        env,
        "compareTo",
        &["kubernetes.Semver.(kubernetes.Semver) -> int"],
        |a, _| pair(a).map(|o| Ok(Value::Int(o as i64))),
    );
    env.set_cost_rule("semver", CallRule::Parses { copies: 1 });
    for name in [
        "isSemver",
        "major",
        "minor",
        "patch",
        "isGreaterThan",
        "isLessThan",
        "compareTo",
    ] {
        env.set_cost_rule(name, CallRule::Scalar);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fails, truthy};

    #[test]
    fn parse() {
        truthy("isSemver('1.0.0')");
        truthy("isSemver('0.1.0-alpha.1+build.5')");
        truthy("!isSemver('v1.0.0')");
        truthy("!isSemver('1.0')");
        truthy("!isSemver('01.0.0')");
        truthy("!isSemver('1.0.0-01')");
        truthy("!isSemver('1.0.0-')");
        truthy("isSemver('v1.0', true)");
        truthy("isSemver('01.01.01', true)");
        truthy("!isSemver('1.0-rc1', true)");
        truthy("semver('v1.0', true) == semver('1.0.0')");
        truthy("semver('01.01.01', true) == semver('1.1.1')");
        fails("semver('200K')", "invalid semver");
        fails("semver('1.0-rc1', true)", "short version cannot contain");
    }

    #[test]
    fn accessors_and_comparison() {
        truthy("semver('1.2.3').major() == 1");
        truthy("semver('1.2.3').minor() == 2");
        truthy("semver('1.2.3').patch() == 3");
        truthy("semver('1.2.3').compareTo(semver('1.2.3')) == 0");
        truthy("semver('1.2.3').compareTo(semver('2.0.0')) == -1");
        truthy("semver('1.2.3').compareTo(semver('0.1.2')) == 1");
        truthy("semver('1.0.0').isGreaterThan(semver('1.0.0-rc.1'))");
        truthy("semver('1.0.0-alpha').isLessThan(semver('1.0.0-alpha.1'))");
        truthy("semver('1.0.0-alpha.2').isLessThan(semver('1.0.0-alpha.10'))");
        truthy("semver('1.0.0-1').isLessThan(semver('1.0.0-a'))");
        truthy("semver('1.0.0+a') == semver('1.0.0+b')");
        // Quantities keep their own comparisons.
        truthy("quantity('2').isGreaterThan(quantity('1'))");
    }
}
