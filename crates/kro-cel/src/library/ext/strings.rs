//! cel-go's `strings` extension: `charAt`, `indexOf`, `lastIndexOf`,
//! `lowerAscii`, `upperAscii`, `replace`, `split`, `substring`, `trim`,
//! `join`, `reverse`, `format` and `strings.quote`. Indices count code points.

use std::fmt::Write;

use crate::decls::Env;
use crate::error::EvalError;
use crate::library::std::convert::format_double;
use crate::value::Value;
use crate::value::time::{format_duration, format_timestamp};

type R = Result<Value, EvalError>;

pub(crate) fn install(env: &mut Env) {
    env.define("charAt", &["string.(int) -> string"], char_at);
    env.define(
        "indexOf",
        &["string.(string) -> int", "string.(string, int) -> int"],
        index_of,
    );
    env.define(
        "lastIndexOf",
        &["string.(string) -> int", "string.(string, int) -> int"],
        last_index_of,
    );
    env.define("lowerAscii", &["string.() -> string"], |a| match a {
        [Value::String(s)] => Ok(Value::from(s.to_ascii_lowercase())),
        _ => Err(EvalError::no_overload("lowerAscii", a)),
    });
    env.define("upperAscii", &["string.() -> string"], |a| match a {
        [Value::String(s)] => Ok(Value::from(s.to_ascii_uppercase())),
        _ => Err(EvalError::no_overload("upperAscii", a)),
    });
    env.define(
        "replace",
        &[
            "string.(string, string) -> string",
            "string.(string, string, int) -> string",
        ],
        replace,
    );
    env.define(
        "split",
        &[
            "string.(string) -> list(string)",
            "string.(string, int) -> list(string)",
        ],
        split,
    );
    env.define(
        "substring",
        &["string.(int) -> string", "string.(int, int) -> string"],
        substring,
    );
    env.define("trim", &["string.() -> string"], |a| match a {
        [Value::String(s)] => Ok(Value::from(s.trim())),
        _ => Err(EvalError::no_overload("trim", a)),
    });
    env.define(
        "join",
        &[
            "list(string).() -> string",
            "list(string).(string) -> string",
        ],
        join,
    );
    env.define("strings.quote", &["(string) -> string"], |a| match a {
        [Value::String(s)] => Ok(Value::from(quote(s))),
        _ => Err(EvalError::no_overload("strings.quote", a)),
    });
    env.declare("reverse", &["string.() -> string"]);
    env.define("format", &["string.(list(dyn)) -> string"], format);
}

fn out_of_range(i: i64) -> EvalError {
    EvalError::InvalidArgument(format!("index out of range: {i}"))
}

fn char_at(a: &[Value]) -> R {
    let [Value::String(s), Value::Int(i)] = a else {
        return Err(EvalError::no_overload("charAt", a));
    };
    let n = s.chars().count();
    match usize::try_from(*i) {
        Ok(u) if u < n => Ok(Value::from(
            s.chars().nth(u).map(String::from).unwrap_or_default(),
        )),
        Ok(u) if u == n => Ok(Value::string("")),
        _ => Err(out_of_range(*i)),
    }
}

fn index_of(a: &[Value]) -> R {
    let (s, sub, start) = match a {
        [Value::String(s), Value::String(t)] => (s, t, 0),
        [Value::String(s), Value::String(t), Value::Int(i)] => (s, t, *i),
        _ => return Err(EvalError::no_overload("indexOf", a)),
    };
    let chars: Vec<char> = s.chars().collect();
    let subc: Vec<char> = sub.chars().collect();
    let Some(from) = usize::try_from(start).ok().filter(|u| *u <= chars.len()) else {
        return Err(out_of_range(start));
    };
    if subc.is_empty() {
        return Ok(Value::Int(start));
    }
    let found = (from..chars.len())
        .find(|&i| chars[i..].starts_with(&subc))
        .map_or(-1, |i| i as i64);
    Ok(Value::Int(found))
}

fn last_index_of(a: &[Value]) -> R {
    let chars_of = |s: &str| s.chars().collect::<Vec<char>>();
    let (s, sub, start) = match a {
        [Value::String(s), Value::String(t)] => {
            let n = s.chars().count() as i64;
            (s, t, n)
        }
        [Value::String(s), Value::String(t), Value::Int(i)] => (s, t, *i),
        _ => return Err(EvalError::no_overload("lastIndexOf", a)),
    };
    let chars = chars_of(s);
    let subc = chars_of(sub);
    let Some(from) = usize::try_from(start).ok().filter(|u| *u <= chars.len()) else {
        return Err(out_of_range(start));
    };
    if subc.is_empty() {
        return Ok(Value::Int(start));
    }
    if subc.len() > chars.len() {
        return Ok(Value::Int(-1));
    }
    let last_start = from.min(chars.len() - subc.len());
    let found = (0..=last_start)
        .rev()
        .find(|&i| chars[i..].starts_with(&subc))
        .map_or(-1, |i| i as i64);
    Ok(Value::Int(found))
}

fn replace(a: &[Value]) -> R {
    let (s, old, new, n) = match a {
        [Value::String(s), Value::String(o), Value::String(n)] => (s, o, n, -1),
        [
            Value::String(s),
            Value::String(o),
            Value::String(n),
            Value::Int(c),
        ] => (s, o, n, *c),
        _ => return Err(EvalError::no_overload("replace", a)),
    };
    // Refuse results that would be absurdly large before allocating them.
    let growth = new.len().saturating_sub(old.len());
    let occurrences = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(&**old).count()
    };
    if s.len().saturating_add(occurrences.saturating_mul(growth)) > crate::cost::MAX_ALLOCATION {
        return Err(EvalError::InvalidArgument(
            "replace result too large".into(),
        ));
    }
    Ok(Value::from(match usize::try_from(n) {
        Ok(count) => s.replacen(&**old, new, count),
        Err(_) => s.replace(&**old, new),
    }))
}

fn split(a: &[Value]) -> R {
    let (s, sep, n) = match a {
        [Value::String(s), Value::String(t)] => (s, t, -1),
        [Value::String(s), Value::String(t), Value::Int(n)] => (s, t, *n),
        _ => return Err(EvalError::no_overload("split", a)),
    };
    if n == 0 {
        return Ok(Value::list(vec![]));
    }
    let parts: Vec<String> = if sep.is_empty() {
        // Go splits into UTF-8 sequences; the last part keeps the rest.
        let chars: Vec<char> = s.chars().collect();
        match usize::try_from(n) {
            Ok(lim) if lim < chars.len() => {
                let mut v: Vec<String> = chars[..lim - 1].iter().map(|c| c.to_string()).collect();
                v.push(chars[lim - 1..].iter().collect());
                v
            }
            _ => chars.iter().map(|c| c.to_string()).collect(),
        }
    } else {
        match usize::try_from(n) {
            Ok(lim) => s.splitn(lim, &**sep).map(String::from).collect(),
            Err(_) => s.split(&**sep).map(String::from).collect(),
        }
    };
    Ok(Value::list(parts.into_iter().map(Value::from).collect()))
}

fn substring(a: &[Value]) -> R {
    let (s, start, end) = match a {
        [Value::String(s), Value::Int(b)] => (s, *b, None),
        [Value::String(s), Value::Int(b), Value::Int(e)] => (s, *b, Some(*e)),
        _ => return Err(EvalError::no_overload("substring", a)),
    };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let end = end.unwrap_or(n);
    if start < 0 || start > n {
        return Err(out_of_range(start));
    }
    if end < 0 || end > n {
        return Err(out_of_range(end));
    }
    if start > end {
        return Err(EvalError::InvalidArgument(format!(
            "invalid substring range. start: {start}, end: {end}"
        )));
    }
    Ok(Value::from(
        chars[start as usize..end as usize]
            .iter()
            .collect::<String>(),
    ))
}

fn join(a: &[Value]) -> R {
    let (l, sep) = match a {
        [Value::List(l)] => (l, ""),
        [Value::List(l), Value::String(s)] => (l, &**s),
        _ => return Err(EvalError::no_overload("join", a)),
    };
    let mut parts = Vec::with_capacity(l.len());
    for v in l.iter() {
        match v {
            Value::String(s) => parts.push(&**s),
            other => return Err(EvalError::no_overload("join", std::slice::from_ref(other))),
        }
    }
    Ok(Value::from(parts.join(sep)))
}

pub(crate) fn reverse_string(s: &str) -> Value {
    Value::from(s.chars().rev().collect::<String>())
}

/// Quotes a string with C-style escapes, as `strings.quote` does.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn format(a: &[Value]) -> R {
    let [Value::String(fmt), Value::List(args)] = a else {
        return Err(EvalError::no_overload("format", a));
    };
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
            precision = Some(digits.parse().map_err(|_| {
                EvalError::InvalidArgument(
                    "could not parse formatting clause: bad precision".into(),
                )
            })?);
        }
        let verb = chars.next().ok_or_else(|| {
            EvalError::InvalidArgument("could not parse formatting clause: missing verb".into())
        })?;
        if !matches!(verb, 's' | 'd' | 'f' | 'e' | 'b' | 'x' | 'X' | 'o') {
            return Err(EvalError::InvalidArgument(format!(
                "could not parse formatting clause: unrecognized formatting clause \"{verb}\""
            )));
        }
        let arg = args
            .get(next_arg)
            .ok_or_else(|| EvalError::InvalidArgument(format!("index {next_arg} out of range")))?;
        next_arg += 1;
        format_clause(&mut out, verb, precision, arg)?;
    }
    Ok(Value::from(out))
}

fn clause_error(msg: &str, arg: &Value) -> EvalError {
    EvalError::InvalidArgument(format!(
        "error during formatting: {msg}, was given {}",
        arg.type_name()
    ))
}

fn special_double(d: f64) -> Option<&'static str> {
    if d.is_nan() {
        Some("NaN")
    } else if d.is_infinite() {
        Some(if d > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

fn format_clause(
    out: &mut String,
    verb: char,
    precision: Option<usize>,
    arg: &Value,
) -> Result<(), EvalError> {
    match verb {
        's' => out.push_str(&to_display(arg)?),
        'd' => match arg {
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(out, "{u}");
            }
            Value::Double(d) if special_double(*d).is_some() => {
                out.push_str(special_double(*d).unwrap_or_default());
            }
            _ => {
                return Err(clause_error(
                    "decimal clause can only be used on integers",
                    arg,
                ));
            }
        },
        'f' | 'e' => {
            let d = match arg {
                Value::Double(d) => *d,
                Value::Int(i) => *i as f64,
                Value::Uint(u) => *u as f64,
                _ => {
                    let what = if verb == 'f' {
                        "fixed-point"
                    } else {
                        "scientific"
                    };
                    return Err(clause_error(
                        &format!("{what} clause can only be used on doubles"),
                        arg,
                    ));
                }
            };
            if let Some(s) = special_double(d) {
                out.push_str(s);
                return Ok(());
            }
            let p = precision.unwrap_or(6).min(100);
            if verb == 'f' {
                let _ = write!(out, "{d:.p$}");
            } else {
                let s = format!("{d:.p$e}");
                let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
                let exp: i32 = exp.parse().unwrap_or(0);
                let sign = if exp < 0 { '-' } else { '+' };
                let _ = write!(out, "{mant}e{sign}{:02}", exp.abs());
            }
        }
        'b' => match arg {
            Value::Int(i) => {
                if *i < 0 {
                    let _ = write!(out, "-{:b}", i.unsigned_abs());
                } else {
                    let _ = write!(out, "{i:b}");
                }
            }
            Value::Uint(u) => {
                let _ = write!(out, "{u:b}");
            }
            Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
            _ => {
                return Err(clause_error(
                    "only integers and bools can be formatted as binary",
                    arg,
                ));
            }
        },
        'o' => match arg {
            Value::Int(i) => {
                if *i < 0 {
                    let _ = write!(out, "-{:o}", i.unsigned_abs());
                } else {
                    let _ = write!(out, "{i:o}");
                }
            }
            Value::Uint(u) => {
                let _ = write!(out, "{u:o}");
            }
            _ => {
                return Err(clause_error(
                    "octal clause can only be used on integers",
                    arg,
                ));
            }
        },
        _ => {
            let upper = verb == 'X';
            let hex = match arg {
                Value::Int(i) if *i < 0 => format!("-{:x}", i.unsigned_abs()),
                Value::Int(i) => format!("{i:x}"),
                Value::Uint(u) => format!("{u:x}"),
                Value::String(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                Value::Bytes(b) => b.iter().map(|b| format!("{b:02x}")).collect(),
                _ => {
                    return Err(clause_error(
                        "only integers, byte buffers, and strings can be formatted as hex",
                        arg,
                    ));
                }
            };
            out.push_str(&if upper { hex.to_uppercase() } else { hex });
        }
    }
    Ok(())
}

/// The `%s` rendering of a value; map entries are sorted by their rendered key.
fn to_display(v: &Value) -> Result<String, EvalError> {
    Ok(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) => match special_double(*d) {
            Some(s) => s.into(),
            None => format_double(*d),
        },
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Timestamp(t) => format_timestamp(*t),
        Value::Duration(d) => format_duration(*d),
        Value::Type(t) => t.runtime_name(),
        Value::List(l) => {
            let parts: Result<Vec<String>, EvalError> = l.iter().map(to_display).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Map(m) => {
            let mut parts = Vec::with_capacity(m.len());
            for (k, val) in m.iter() {
                parts.push((to_display(&k.to_value())?, to_display(val)?));
            }
            parts.sort();
            let parts: Vec<String> = parts
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Optional(_) | Value::Opaque(_) => {
            return Err(clause_error(
                "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps",
                v,
            ));
        }
    })
}
