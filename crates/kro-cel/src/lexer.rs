//! Splits CEL source text into tokens, decoding literals on the way.

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Integer magnitude; the sign is a separate token. Kept as u64 so that
    /// `-9223372036854775808` can be folded by the parser.
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    /// A backtick-quoted identifier, allowed as a field name only.
    Quoted(String),
    Punct(&'static str),
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

const PUNCTS: [&str; 26] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}", "=", "`",
];

/// Tokenises the whole input.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        // String and bytes literals with optional r/b prefixes.
        if let Some((raw, is_bytes, plen)) = string_prefix(&bytes[i..]) {
            let (value, end) = lex_string(src, i + plen, raw, is_bytes)?;
            let tok = if is_bytes {
                Tok::Bytes(value)
            } else {
                match String::from_utf8(value) {
                    Ok(s) => Tok::Str(s),
                    Err(_) => {
                        return Err(Diagnostic::new(
                            "invalid UTF-8 in string literal",
                            Span::new(start, end),
                        ));
                    }
                }
            };
            toks.push(Token {
                tok,
                span: Span::new(start, end),
            });
            i = end;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = lex_number(src, i)?;
            toks.push(Token {
                tok,
                span: Span::new(start, end),
            });
            i = end;
            continue;
        }
        if c == b'_' || c.is_ascii_alphabetic() {
            while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            toks.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: Span::new(start, i),
            });
            continue;
        }
        if c == b'`' {
            // Quoted identifiers: letters, digits, '_', '.', '-', '/' and space.
            i += 1;
            while i < bytes.len() && bytes[i] != b'`' {
                let b = bytes[i];
                if !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b' ')) {
                    return Err(Diagnostic::new(
                        "invalid character in quoted identifier",
                        Span::new(i, i + 1),
                    ));
                }
                i += 1;
            }
            if i >= bytes.len() || i == start + 1 {
                return Err(Diagnostic::new(
                    "unterminated quoted identifier",
                    Span::new(start, i),
                ));
            }
            toks.push(Token {
                tok: Tok::Quoted(src[start + 1..i].to_string()),
                span: Span::new(start, i + 1),
            });
            i += 1;
            continue;
        }
        let Some(p) = PUNCTS.iter().find(|p| bytes[i..].starts_with(p.as_bytes())) else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(Diagnostic::new(
                format!("token recognition error at: '{ch}'"),
                Span::new(i, i + ch.len_utf8()),
            ));
        };
        i += p.len();
        toks.push(Token {
            tok: Tok::Punct(p),
            span: Span::new(start, i),
        });
    }
    toks.push(Token {
        tok: Tok::Eof,
        span: Span::new(bytes.len(), bytes.len()),
    });
    Ok(toks)
}

/// Recognises `"`, `r"`, `b"`, `rb"`, `br"` (any case) and returns (raw, bytes, prefix length).
fn string_prefix(b: &[u8]) -> Option<(bool, bool, usize)> {
    let q = |i: usize| b.get(i).is_some_and(|c| *c == b'"' || *c == b'\'');
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    if q(0) {
        return Some((false, false, 0));
    }
    match (lower(0), lower(1)) {
        (Some(b'r'), _) if q(1) => Some((true, false, 1)),
        (Some(b'b'), _) if q(1) => Some((false, true, 1)),
        (Some(b'r'), Some(b'b')) | (Some(b'b'), Some(b'r')) if q(2) => Some((true, true, 2)),
        _ => None,
    }
}

fn lex_string(
    src: &str,
    start: usize,
    raw: bool,
    is_bytes: bool,
) -> Result<(Vec<u8>, usize), Diagnostic> {
    let b = src.as_bytes();
    let quote = b[start];
    let triple = b.len() >= start + 3 && b[start + 1] == quote && b[start + 2] == quote;
    let delim_len = if triple { 3 } else { 1 };
    let mut i = start + delim_len;
    let mut out = Vec::new();
    let err = |msg: &str, at: usize| Diagnostic::new(msg, Span::new(at, (at + 1).min(b.len())));
    loop {
        if i >= b.len() {
            return Err(err("unterminated string literal", start));
        }
        let c = b[i];
        if c == quote && (!triple || b[i..].starts_with(&[quote, quote, quote])) {
            return Ok((out, i + delim_len));
        }
        if !triple && (c == b'\n' || c == b'\r') {
            return Err(err("newline in single-quoted string literal", i));
        }
        if c != b'\\' || raw {
            // Copy one whole UTF-8 character.
            let ch_len = src[i..].chars().next().map_or(1, char::len_utf8);
            out.extend_from_slice(&b[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        let esc_at = i;
        i += 1;
        let Some(&e) = b.get(i) else {
            return Err(err("unterminated escape sequence", esc_at));
        };
        i += 1;
        let simple = match e {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'`' => Some(b'`'),
            b'?' => Some(b'?'),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            continue;
        }
        let (digits, radix) = match e {
            b'x' | b'X' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'3' => {
                i -= 1;
                (3, 8)
            }
            _ => return Err(err("invalid escape sequence", esc_at)),
        };
        let Some(text) = src.get(i..i + digits) else {
            return Err(err("truncated escape sequence", esc_at));
        };
        let Ok(code) = u32::from_str_radix(text, radix) else {
            return Err(err("invalid escape sequence", esc_at));
        };
        if !text.bytes().all(|d| (d as char).is_digit(radix)) {
            return Err(err("invalid escape sequence", esc_at));
        }
        i += digits;
        let is_byte_escape = matches!(e, b'x' | b'X' | b'0'..=b'3');
        if is_bytes && is_byte_escape {
            out.push(u8::try_from(code).map_err(|_| err("invalid escape sequence", esc_at))?);
        } else {
            let Some(ch) = char::from_u32(code) else {
                return Err(err("invalid unicode code point in escape", esc_at));
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
    }
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), Diagnostic> {
    let b = src.as_bytes();
    let mut i = start;
    let err = |msg: &str, end: usize| Diagnostic::new(msg, Span::new(start, end));
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        let ds = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        let v = u64::from_str_radix(&src[ds..i], 16).map_err(|_| err("invalid int literal", i))?;
        if matches!(b.get(i), Some(b'u' | b'U')) {
            return Ok((Tok::Uint(v), i + 1));
        }
        return Ok((Tok::Int(v), i));
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_double = false;
    if i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        is_double = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            is_double = true;
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text = &src[start..i];
    if is_double {
        let v: f64 = text.parse().map_err(|_| err("invalid double literal", i))?;
        return Ok((Tok::Double(v), i));
    }
    let v: u64 = text.parse().map_err(|_| err("invalid int literal", i))?;
    if matches!(b.get(i), Some(b'u' | b'U')) {
        return Ok((Tok::Uint(v), i + 1));
    }
    Ok((Tok::Int(v), i))
}
