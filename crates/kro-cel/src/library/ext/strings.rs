//! cel-go's `strings` extension: `charAt`, `indexOf`, `lastIndexOf`,
//! `lowerAscii`, `upperAscii`, `replace`, `split`, `substring`, `trim`,
//! `join`, `reverse`, `format` and `strings.quote`. Indices count code points.
//!
//! Searches run in linear time (the standard library's two-way search on
//! bytes, then a count of the code points before the match), and every
//! function that builds a string or a list computes its size first and
//! reserves it on the meter before building it.

use crate::cost::CallRule;
use std::fmt::Write;

use crate::decls::Env;
use crate::error::EvalError;
use crate::library::std::convert::format_double;
use crate::meter::{Meter, Text};
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
    env.define_metered("lowerAscii", &["string.() -> string"], |a, m| {
        copy_of(a, m, "lowerAscii", |s| s.to_ascii_lowercase())
    });
    env.define_metered("upperAscii", &["string.() -> string"], |a, m| {
        copy_of(a, m, "upperAscii", |s| s.to_ascii_uppercase())
    });
    env.define_metered(
        "replace",
        &[
            "string.(string, string) -> string",
            "string.(string, string, int) -> string",
        ],
        replace,
    );
    env.define_metered(
        "split",
        &[
            "string.(string) -> list(string)",
            "string.(string, int) -> list(string)",
        ],
        split,
    );
    env.define_metered(
        "substring",
        &["string.(int) -> string", "string.(int, int) -> string"],
        substring,
    );
    env.define_metered("trim", &["string.() -> string"], |a, m| {
        copy_of(a, m, "trim", |s| s.trim().to_string())
    });
    env.define_metered(
        "join",
        &[
            "list(string).() -> string",
            "list(string).(string) -> string",
        ],
        join,
    );
    env.define_metered("strings.quote", &["(string) -> string"], |a, m| match a {
        [Value::String(s)] => {
            m.reserve_string(quoted_len(s))?;
            Ok(Value::from(quote(s)))
        }
        _ => Err(EvalError::no_overload("strings.quote", a)),
    });
    env.declare("reverse", &["string.() -> string"]);
    env.define_metered("format", &["string.(list(dyn)) -> string"], format);
    use CallRule::*;
    env.set_cost_rule("charAt", Scalar);
    env.set_cost_rule("indexOf", Searches);
    env.set_cost_rule("lastIndexOf", Searches);
    let copy = |keeps_length| Copies {
        times: 1,
        per: 1,
        plus: 0,
        keeps_length,
    };
    env.set_cost_rule("lowerAscii", copy(true));
    env.set_cost_rule("upperAscii", copy(true));
    env.set_cost_rule("trim", copy(false));
    env.set_cost_rule("substring", copy(false));
    // An escape doubles a character; two quotes around.
    env.set_cost_rule(
        "strings.quote",
        Copies {
            times: 2,
            per: 1,
            plus: 2,
            keeps_length: true,
        },
    );
    env.set_cost_rule("replace", Replaces);
    env.set_cost_rule("split", Splits);
    env.set_cost_rule("join", Joins);
    env.set_cost_rule("reverse", Reverses);
    env.set_cost_rule("format", Formats);
}

/// A string function whose result is at most as long as its receiver:
/// that much is reserved, then `f` builds it.
fn copy_of(a: &[Value], m: &mut Meter<'_>, name: &str, f: fn(&str) -> String) -> R {
    match a {
        [Value::String(s)] => {
            m.reserve_string(s.len())?;
            Ok(Value::from(f(s)))
        }
        _ => Err(EvalError::no_overload(name, a)),
    }
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

/// The byte offset of code point `index` (the length for one past the
/// last), or `None` when the string has fewer code points.
fn byte_offset(s: &str, index: usize) -> Option<usize> {
    s.char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(s.len()))
        .nth(index)
}

/// The code point index of byte offset `b` (a character boundary).
fn char_index(s: &str, b: usize) -> i64 {
    s[..b].chars().count() as i64
}

/// A start index argument as a byte offset, or the error for it.
fn start_offset(s: &str, start: i64) -> Result<usize, EvalError> {
    usize::try_from(start)
        .ok()
        .and_then(|i| byte_offset(s, i))
        .ok_or_else(|| out_of_range(start))
}

fn index_of(a: &[Value]) -> R {
    let (s, sub, start) = match a {
        [Value::String(s), Value::String(t)] => (s, t, 0),
        [Value::String(s), Value::String(t), Value::Int(i)] => (s, t, *i),
        _ => return Err(EvalError::no_overload("indexOf", a)),
    };
    let from = start_offset(s, start)?;
    if sub.is_empty() {
        return Ok(Value::Int(start));
    }
    // A match of a valid UTF-8 needle starts on a character boundary.
    Ok(Value::Int(
        s[from..]
            .find(&**sub)
            .map_or(-1, |b| char_index(s, from + b)),
    ))
}

fn last_index_of(a: &[Value]) -> R {
    let (s, sub, start) = match a {
        [Value::String(s), Value::String(t)] => (s, t, s.chars().count() as i64),
        [Value::String(s), Value::String(t), Value::Int(i)] => (s, t, *i),
        _ => return Err(EvalError::no_overload("lastIndexOf", a)),
    };
    let from = start_offset(s, start)?;
    if sub.is_empty() {
        return Ok(Value::Int(start));
    }
    // Matches starting at or before `from` end at or before `from +
    // sub.len()`, on a character boundary: search the text up to there.
    let mut end = from.saturating_add(sub.len()).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(Value::Int(
        s[..end].rfind(&**sub).map_or(-1, |b| char_index(s, b)),
    ))
}

fn replace(a: &[Value], m: &mut Meter<'_>) -> R {
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
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let occurrences = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(&**old).count()
    }
    .min(limit);
    let size =
        (s.len() - occurrences * old.len()).saturating_add(occurrences.saturating_mul(new.len()));
    m.reserve_string(size)?;
    Ok(Value::from(s.replacen(&**old, new, occurrences)))
}

fn split(a: &[Value], m: &mut Meter<'_>) -> R {
    let (s, sep, n) = match a {
        [Value::String(s), Value::String(t)] => (s, t, -1),
        [Value::String(s), Value::String(t), Value::Int(n)] => (s, t, *n),
        _ => return Err(EvalError::no_overload("split", a)),
    };
    if n == 0 {
        return Ok(Value::list(vec![]));
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    // Counted first, so that nothing is allocated before it is reserved.
    let count = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(&**sep).count() + 1
    }
    .min(limit);
    m.reserve_list(count)?;
    m.reserve_bytes(s.len())?;
    let parts: Vec<Value> = if sep.is_empty() {
        // Go splits into UTF-8 sequences; the last part keeps the rest.
        let mut parts = Vec::with_capacity(count);
        let mut rest: &str = s;
        while let Some(c) = rest.chars().next() {
            if parts.len() + 1 == count {
                break;
            }
            let (head, tail) = rest.split_at(c.len_utf8());
            parts.push(Value::from(head));
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(Value::from(rest));
        }
        parts
    } else {
        s.splitn(count, &**sep).map(Value::from).collect()
    };
    Ok(Value::list(parts))
}

fn substring(a: &[Value], m: &mut Meter<'_>) -> R {
    let (s, start, end) = match a {
        [Value::String(s), Value::Int(b)] => (s, *b, None),
        [Value::String(s), Value::Int(b), Value::Int(e)] => (s, *b, Some(*e)),
        _ => return Err(EvalError::no_overload("substring", a)),
    };
    let from = start_offset(s, start)?;
    let to = match end {
        Some(e) => start_offset(s, e)?,
        None => s.len(),
    };
    if from > to {
        return Err(EvalError::InvalidArgument(format!(
            "invalid substring range. start: {start}, end: {}",
            end.unwrap_or_default()
        )));
    }
    m.reserve_string(to - from)?;
    Ok(Value::from(&s[from..to]))
}

fn join(a: &[Value], m: &mut Meter<'_>) -> R {
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
    let size = parts
        .iter()
        .map(|p| p.len())
        .fold(0usize, usize::saturating_add)
        .saturating_add(sep.len().saturating_mul(parts.len().saturating_sub(1)));
    m.reserve_string(size)?;
    Ok(Value::from(parts.join(sep)))
}

pub(crate) fn reverse_string(s: &str, m: &mut Meter<'_>) -> R {
    m.reserve_string(s.len())?;
    Ok(Value::from(s.chars().rev().collect::<String>()))
}

/// The length of `quote(s)`, without building it.
fn quoted_len(s: &str) -> usize {
    let escapes = s
        .chars()
        .filter(|c| {
            matches!(
                c,
                '\u{07}' | '\u{08}' | '\u{0c}' | '\n' | '\r' | '\t' | '\u{0b}' | '\\' | '"'
            )
        })
        .count();
    s.len() + escapes + 2
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

/// `fmt.format(args)`. The output grows in a [`Text`] bounded by what the
/// budget pays for; a `%s` of a list or map is written straight into it,
/// however many times the value repeats one list inside.
fn format(a: &[Value], m: &mut Meter<'_>) -> R {
    let [Value::String(fmt), Value::List(args)] = a else {
        return Err(EvalError::no_overload("format", a));
    };
    let mut out = m.text();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c)?;
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%')?;
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
        if verb == 's' {
            display_into(arg, &mut out)?;
        } else {
            format_clause(&mut out, verb, precision, arg)?;
        }
    }
    m.finish_text(out)
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

/// Writes one clause other than `%s`.
fn format_clause(
    out: &mut Text,
    verb: char,
    precision: Option<usize>,
    arg: &Value,
) -> Result<(), EvalError> {
    match verb {
        'd' => out.push_str(&decimal(arg)?),
        'f' | 'e' => out.push_str(&floating(verb, precision, arg)?),
        'b' => out.push_str(&binary(arg)?),
        'o' => out.push_str(&octal(arg)?),
        _ => hex_into(out, verb == 'X', arg),
    }
}

fn decimal(arg: &Value) -> Result<String, EvalError> {
    match arg {
        Value::Int(i) => Ok(i.to_string()),
        Value::Uint(u) => Ok(u.to_string()),
        Value::Double(d) if special_double(*d).is_some() => {
            Ok(special_double(*d).unwrap_or_default().to_string())
        }
        _ => Err(clause_error(
            "decimal clause can only be used on integers",
            arg,
        )),
    }
}

fn floating(verb: char, precision: Option<usize>, arg: &Value) -> Result<String, EvalError> {
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
        return Ok(s.to_string());
    }
    let p = precision.unwrap_or(6).min(100);
    if verb == 'f' {
        return Ok(format!("{d:.p$}"));
    }
    let s = format!("{d:.p$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    Ok(format!("{mant}e{sign}{:02}", exp.abs()))
}

fn binary(arg: &Value) -> Result<String, EvalError> {
    match arg {
        Value::Int(i) if *i < 0 => Ok(format!("-{:b}", i.unsigned_abs())),
        Value::Int(i) => Ok(format!("{i:b}")),
        Value::Uint(u) => Ok(format!("{u:b}")),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        _ => Err(clause_error(
            "only integers and bools can be formatted as binary",
            arg,
        )),
    }
}

fn octal(arg: &Value) -> Result<String, EvalError> {
    match arg {
        Value::Int(i) if *i < 0 => Ok(format!("-{:o}", i.unsigned_abs())),
        Value::Int(i) => Ok(format!("{i:o}")),
        Value::Uint(u) => Ok(format!("{u:o}")),
        _ => Err(clause_error(
            "octal clause can only be used on integers",
            arg,
        )),
    }
}

/// `%x` / `%X`: integers in hex, strings and bytes two digits per byte
/// (room for all of them is made before writing any).
fn hex_into(out: &mut Text, upper: bool, arg: &Value) -> Result<(), EvalError> {
    let number = match arg {
        Value::Int(i) if *i < 0 => format!("-{:x}", i.unsigned_abs()),
        Value::Int(i) => format!("{i:x}"),
        Value::Uint(u) => format!("{u:x}"),
        Value::String(s) => return hex_bytes_into(out, upper, s.as_bytes()),
        Value::Bytes(b) => return hex_bytes_into(out, upper, b),
        _ => {
            return Err(clause_error(
                "only integers, byte buffers, and strings can be formatted as hex",
                arg,
            ));
        }
    };
    out.push_str(&if upper { number.to_uppercase() } else { number })
}

fn hex_bytes_into(out: &mut Text, upper: bool, bytes: &[u8]) -> Result<(), EvalError> {
    out.make_room(bytes.len().saturating_mul(2))?;
    let mut pair = String::with_capacity(2);
    for b in bytes {
        pair.clear();
        if upper {
            let _ = write!(pair, "{b:02X}");
        } else {
            let _ = write!(pair, "{b:02x}");
        }
        out.push_str(&pair)?;
    }
    Ok(())
}

/// The `%s` rendering of a value, written into `out`; map entries are
/// sorted by their rendered key.
fn display_into(v: &Value, out: &mut Text) -> Result<(), EvalError> {
    match v {
        Value::List(l) => {
            out.push('[')?;
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ")?;
                }
                display_into(item, out)?;
            }
            out.push(']')
        }
        Value::Map(m) => {
            // Rendered apart to be sorted; together they fit in the room
            // `out` has, or rendering stops.
            let mut entries = Vec::with_capacity(m.len());
            let mut used = 2;
            for (k, val) in m.iter() {
                let mut key = out.scratch(used);
                display_into(&k.to_value(), &mut key)?;
                used += key.len() + 2;
                let mut value = out.scratch(used);
                display_into(val, &mut value)?;
                used += value.len() + 2;
                entries.push((key.into_string(), value.into_string()));
            }
            entries.sort();
            out.push('{')?;
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ")?;
                }
                out.push_str(k)?;
                out.push_str(": ")?;
                out.push_str(val)?;
            }
            out.push('}')
        }
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        other => out.push_str(&display_scalar(other)?),
    }
}

/// The `%s` rendering of a value other than a string, bytes, list or map.
fn display_scalar(v: &Value) -> Result<String, EvalError> {
    Ok(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) => match special_double(*d) {
            Some(s) => s.into(),
            None => format_double(*d),
        },
        Value::Timestamp(t) => format_timestamp(*t),
        Value::Duration(d) => format_duration(*d),
        Value::Type(t) => t.runtime_name(),
        _ => {
            return Err(clause_error(
                "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps",
                v,
            ));
        }
    })
}
