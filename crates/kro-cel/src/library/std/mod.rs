//! The CEL standard library: operators, conversions, string functions,
//! `size`, `matches`, and timestamp/duration functions.

pub(crate) mod convert;
mod time;

use crate::cost::CallRule;
use std::sync::Arc;

use crate::decls::Env;
use crate::error::EvalError;
use crate::meter::Meter;
use crate::value::Value;
use crate::value::ops;

type R = Result<Value, EvalError>;

const COMPARABLE: [&str; 14] = [
    "(bool, bool)",
    "(int, int)",
    "(uint, uint)",
    "(double, double)",
    "(string, string)",
    "(bytes, bytes)",
    "(timestamp, timestamp)",
    "(duration, duration)",
    "(int, uint)",
    "(int, double)",
    "(uint, int)",
    "(uint, double)",
    "(double, int)",
    "(double, uint)",
];

/// Adds the standard library to `env`.
pub(crate) fn install(env: &mut Env) {
    // Operators whose evaluation the planner special-cases still need
    // declarations (for the checker) and implementations (for dynamic calls).
    env.define("!_", &["(bool) -> bool"], |a| match a {
        [Value::Bool(b)] => Ok(Value::Bool(!b)),
        _ => Err(EvalError::no_overload("!_", a)),
    });
    env.define("-_", &["(int) -> int", "(double) -> double"], ops::negate);
    env.declare("_&&_", &["(bool, bool) -> bool"]);
    env.declare("_||_", &["(bool, bool) -> bool"]);
    env.declare("_?_:_", &["(bool, A, A) -> A"]);
    env.declare("@not_strictly_false", &["(bool) -> bool"]);
    env.define_metered("_==_", &["(A, A) -> bool"], |a, m| match a {
        [x, y] => m.equals(x, y).map(Value::Bool),
        _ => Err(EvalError::no_overload("_==_", a)),
    });
    env.define_metered("_!=_", &["(A, A) -> bool"], |a, m| match a {
        [x, y] => m.equals(x, y).map(|e| Value::Bool(!e)),
        _ => Err(EvalError::no_overload("_!=_", a)),
    });
    type Test = fn(std::cmp::Ordering) -> bool;
    let relations: [(&str, Test); 4] = [
        ("_<_", |o| o.is_lt()),
        ("_<=_", |o| o.is_le()),
        ("_>_", |o| o.is_gt()),
        ("_>=_", |o| o.is_ge()),
    ];
    for (name, test) in relations {
        let sigs: Vec<String> = COMPARABLE.iter().map(|p| format!("{p} -> bool")).collect();
        let sigs: Vec<&str> = sigs.iter().map(String::as_str).collect();
        env.declare(name, &sigs);
        env.set_implementation(
            name,
            Arc::new(move |a: &[Value], _: &mut Meter<'_>| match a {
                [x, y] => ops::relation(x, y, test),
                _ => Err(EvalError::no_overload(name, a)),
            }),
        );
    }
    let binary = |f: fn(&Value, &Value) -> R, name: &'static str| {
        Arc::new(move |a: &[Value], _: &mut Meter<'_>| match a {
            [x, y] => f(x, y),
            _ => Err(EvalError::no_overload(name, a)),
        })
    };
    env.declare(
        "_+_",
        &[
            "(int, int) -> int",
            "(uint, uint) -> uint",
            "(double, double) -> double",
            "(string, string) -> string",
            "(bytes, bytes) -> bytes",
            "(list(A), list(A)) -> list(A)",
            "(timestamp, duration) -> timestamp",
            "(duration, timestamp) -> timestamp",
            "(duration, duration) -> duration",
        ],
    );
    env.set_implementation(
        "_+_",
        Arc::new(|a: &[Value], m: &mut Meter<'_>| match a {
            [x, y] => ops::add(x, y, m),
            _ => Err(EvalError::no_overload("_+_", a)),
        }),
    );
    env.declare(
        "_-_",
        &[
            "(int, int) -> int",
            "(uint, uint) -> uint",
            "(double, double) -> double",
            "(timestamp, timestamp) -> duration",
            "(timestamp, duration) -> timestamp",
            "(duration, duration) -> duration",
        ],
    );
    env.set_implementation("_-_", binary(ops::sub, "_-_"));
    let arith = [
        "(int, int) -> int",
        "(uint, uint) -> uint",
        "(double, double) -> double",
    ];
    env.declare("_*_", &arith);
    env.set_implementation("_*_", binary(ops::mul, "_*_"));
    env.declare("_/_", &arith);
    env.set_implementation("_/_", binary(ops::div, "_/_"));
    env.declare("_%_", &["(int, int) -> int", "(uint, uint) -> uint"]);
    env.set_implementation("_%_", binary(ops::rem, "_%_"));
    env.declare("_[_]", &["(list(A), int) -> A", "(map(K, V), K) -> V"]);
    env.set_implementation(
        "_[_]",
        Arc::new(|a: &[Value], _: &mut Meter<'_>| match a {
            [c, i] => ops::index(c, i, false),
            _ => Err(EvalError::no_overload("_[_]", a)),
        }),
    );
    env.declare("@in", &["(A, list(A)) -> bool", "(K, map(K, V)) -> bool"]);
    env.set_implementation(
        "@in",
        Arc::new(|a: &[Value], m: &mut Meter<'_>| match a {
            [e, c] => ops::contains(c, e, m),
            _ => Err(EvalError::no_overload("@in", a)),
        }),
    );

    env.define(
        "size",
        &[
            "(string) -> int",
            "(bytes) -> int",
            "(list(A)) -> int",
            "(map(K, V)) -> int",
            "string.() -> int",
            "bytes.() -> int",
            "list(A).() -> int",
            "map(K, V).() -> int",
        ],
        size,
    );

    env.define(
        "int",
        &[
            "(int) -> int",
            "(uint) -> int",
            "(double) -> int",
            "(string) -> int",
            "(timestamp) -> int",
        ],
        convert::to_int,
    );
    env.define(
        "uint",
        &[
            "(uint) -> uint",
            "(int) -> uint",
            "(double) -> uint",
            "(string) -> uint",
        ],
        convert::to_uint,
    );
    env.define(
        "double",
        &[
            "(double) -> double",
            "(int) -> double",
            "(uint) -> double",
            "(string) -> double",
        ],
        convert::to_double,
    );
    env.define_metered(
        "string",
        &[
            "(string) -> string",
            "(int) -> string",
            "(uint) -> string",
            "(double) -> string",
            "(bool) -> string",
            "(bytes) -> string",
            "(timestamp) -> string",
            "(duration) -> string",
        ],
        convert::to_string,
    );
    env.define_metered(
        "bytes",
        &["(bytes) -> bytes", "(string) -> bytes"],
        convert::to_bytes,
    );
    env.define(
        "bool",
        &["(bool) -> bool", "(string) -> bool"],
        convert::to_bool,
    );
    env.define(
        "duration",
        &["(duration) -> duration", "(string) -> duration"],
        convert::to_duration,
    );
    env.define(
        "timestamp",
        &[
            "(timestamp) -> timestamp",
            "(string) -> timestamp",
            "(int) -> timestamp",
        ],
        convert::to_timestamp,
    );
    env.define("type", &["(A) -> type(A)"], convert::type_of);
    env.define("dyn", &["(A) -> dyn"], convert::dyn_);

    env.define("contains", &["string.(string) -> bool"], |a| {
        str2(a, "contains", |s, t| s.contains(t))
    });
    env.define("startsWith", &["string.(string) -> bool"], |a| {
        str2(a, "startsWith", |s, t| s.starts_with(t))
    });
    env.define("endsWith", &["string.(string) -> bool"], |a| {
        str2(a, "endsWith", |s, t| s.ends_with(t))
    });
    env.define_metered(
        "matches",
        &["string.(string) -> bool", "(string, string) -> bool"],
        matches,
    );

    for name in time::ACCESSORS {
        let mut sigs = vec!["timestamp.() -> int", "timestamp.(string) -> int"];
        if matches!(
            name,
            "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds"
        ) {
            sigs.push("duration.() -> int");
        }
        env.declare(name, &sigs);
        env.set_implementation(
            name,
            Arc::new(move |a: &[Value], _: &mut Meter<'_>| time::accessor(name, a)),
        );
    }
    // How the static estimate sees them (the operators are the
    // estimator's own).
    use CallRule::*;
    for name in [
        "!_",
        "-_",
        "size",
        "int",
        "uint",
        "double",
        "bool",
        "duration",
        "timestamp",
    ]
    .into_iter()
    .chain(["type", "contains", "startsWith", "endsWith"])
    .chain(time::ACCESSORS)
    {
        env.set_cost_rule(name, Scalar);
    }
    env.set_cost_rule("string", Converts);
    env.set_cost_rule("bytes", Converts);
    env.set_cost_rule("dyn", Passes);
    env.set_cost_rule("matches", Matches);
}

fn size(a: &[Value]) -> R {
    let n = match a {
        [Value::String(s)] => s.chars().count(),
        [Value::Bytes(b)] => b.len(),
        [Value::List(l)] => l.len(),
        [Value::Map(m)] => m.len(),
        _ => return Err(EvalError::no_overload("size", a)),
    };
    Ok(Value::Int(n as i64))
}

fn str2(a: &[Value], name: &str, f: fn(&str, &str) -> bool) -> R {
    match a {
        [Value::String(s), Value::String(t)] => Ok(Value::Bool(f(s, t))),
        _ => Err(EvalError::no_overload(name, a)),
    }
}

fn matches(a: &[Value], m: &mut Meter<'_>) -> R {
    match a {
        [Value::String(s), Value::String(p)] => {
            let re = m.regex(p)?;
            m.charge(crate::regexes::match_cost(s.len()))?;
            Ok(Value::Bool(re.is_match(s)))
        }
        _ => Err(EvalError::no_overload("matches", a)),
    }
}
