//! Splitting one string into text and `${...}` expressions, and finding
//! every such string in a JSON template.

use serde_json::Value;
use thiserror::Error;

use super::{FieldPath, Part, Segment, Template, TemplateExpression};
use crate::ast::Span;

/// What is wrong with a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanErrorKind {
    /// A `${` has no matching `}`.
    Unterminated,
    /// A `${` appears inside an expression, outside a string literal.
    Nested,
    /// An expression has no content: `${}` or `${  }`.
    Empty,
}

/// A template string that cannot be split, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} (at byte {offset} of {text:?})", message = self.message())]
pub struct ScanError {
    /// What is wrong.
    pub kind: ScanErrorKind,
    /// The byte offset of the offending `${`.
    pub offset: usize,
    /// The whole string.
    pub text: String,
}

impl ScanError {
    fn message(&self) -> &'static str {
        match self.kind {
            ScanErrorKind::Unterminated => "unterminated expression: `${` has no closing `}`",
            ScanErrorKind::Nested => {
                "nested expressions are not allowed unless inside string literals (write a literal `${` as ${\"${\"})"
            }
            ScanErrorKind::Empty => "empty expression `${}`",
        }
    }

    /// The byte span of the offending `${`.
    pub fn span(&self) -> Span {
        Span::new(self.offset, self.offset + 2)
    }
}

/// Splits `text` into literal text and expressions.
pub fn scan(text: &str) -> Result<Template, ScanError> {
    let error = |kind, offset| ScanError {
        kind,
        offset,
        text: text.to_owned(),
    };
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut position = 0;
    while let Some(found) = find_open(bytes, position) {
        let source_start = found + 2;
        let close = find_close(bytes, source_start).map_err(|kind| error(kind, found))?;
        let source = &text[source_start..close];
        if source.trim().is_empty() {
            return Err(error(ScanErrorKind::Empty, found));
        }
        if found > literal_start {
            parts.push(Part::Text(text[literal_start..found].to_owned()));
        }
        parts.push(Part::Expression(TemplateExpression {
            source: source.to_owned(),
            span: Span::new(source_start, close),
        }));
        position = close + 1;
        literal_start = position;
    }
    if literal_start < text.len() && !parts.is_empty() {
        parts.push(Part::Text(text[literal_start..].to_owned()));
    }
    Ok(match parts.as_slice() {
        [] => Template::Literal(text.to_owned()),
        [Part::Expression(expression)] => Template::Standalone(expression.clone()),
        _ => Template::Interpolated(parts),
    })
}

fn find_open(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(1)).find(|&i| bytes[i] == b'$' && bytes[i + 1] == b'{')
}

/// The offset of the `}` that closes an expression whose source starts at
/// `from`, skipping braces inside string literals.
fn find_close(bytes: &[u8], from: usize) -> Result<usize, ScanErrorKind> {
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => i = skip_string(bytes, i)?,
            b'r' | b'R' | b'b' | b'B' if starts_prefixed_string(bytes, i) => {
                let raw = matches!(bytes[i], b'r' | b'R')
                    || matches!(bytes.get(i + 1), Some(b'r' | b'R'));
                let quote = (i..bytes.len())
                    .find(|&j| matches!(bytes[j], b'"' | b'\''))
                    .unwrap_or(i);
                i = if raw {
                    skip_raw_string(bytes, quote)?
                } else {
                    skip_string(bytes, quote)?
                };
            }
            b'$' if bytes.get(i + 1) == Some(&b'{') => return Err(ScanErrorKind::Nested),
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Ok(i),
            b'}' => {
                depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Err(ScanErrorKind::Unterminated)
}

/// Whether a string literal with a prefix (`r"`, `b'`, `rb"`, `br'`, in
/// any case) starts at `i`, and not just an identifier such as `rb`.
fn starts_prefixed_string(bytes: &[u8], i: usize) -> bool {
    let preceded_by_identifier =
        i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
    if preceded_by_identifier {
        return false;
    }
    let is_prefix = |b: u8| matches!(b, b'r' | b'R' | b'b' | b'B');
    match (bytes.get(i + 1), bytes.get(i + 2)) {
        (Some(b'"' | b'\''), _) => true,
        (Some(&second), Some(b'"' | b'\'')) => {
            is_prefix(second) && !second.eq_ignore_ascii_case(&bytes[i])
        }
        _ => false,
    }
}

/// The quote style starting at `i`: the quote byte and whether it is tripled.
fn quote_at(bytes: &[u8], i: usize) -> (u8, bool) {
    let quote = bytes[i];
    let triple = bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote);
    (quote, triple)
}

/// The offset after the string literal that starts at `i`, where
/// backslash escapes the next character.
fn skip_string(bytes: &[u8], i: usize) -> Result<usize, ScanErrorKind> {
    let (quote, triple) = quote_at(bytes, i);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b if b == quote && !triple => return Ok(j + 1),
            b if b == quote
                && bytes.get(j + 1) == Some(&quote)
                && bytes.get(j + 2) == Some(&quote) =>
            {
                return Ok(j + 3);
            }
            _ => j += 1,
        }
    }
    Err(ScanErrorKind::Unterminated)
}

/// The offset after the raw string literal whose quote is at `i`: no
/// escapes.
fn skip_raw_string(bytes: &[u8], i: usize) -> Result<usize, ScanErrorKind> {
    let (quote, triple) = quote_at(bytes, i);
    let body = if triple { i + 3 } else { i + 1 };
    let end = if triple {
        (body..bytes.len().saturating_sub(2))
            .find(|&j| bytes[j..j + 3] == [quote, quote, quote])
            .map(|j| j + 3)
    } else {
        (body..bytes.len())
            .find(|&j| bytes[j] == quote)
            .map(|j| j + 1)
    };
    end.ok_or(ScanErrorKind::Unterminated)
}

/// A string value of a JSON template that holds at least one expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTemplate {
    /// Where the string is.
    pub path: FieldPath,
    /// What it holds.
    pub template: Template,
}

/// An error found while scanning a JSON template, with its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {error}")]
pub struct LocatedScanError {
    /// The string's location.
    pub path: FieldPath,
    /// What is wrong with it.
    pub error: ScanError,
}

/// Finds every string value holding expressions in `value`, in document
/// order. Object keys are never templates. All errors are reported, not
/// only the first.
pub fn scan_value(value: &Value) -> Result<Vec<FoundTemplate>, Vec<LocatedScanError>> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    walk(value, &mut FieldPath::root(), &mut found, &mut errors);
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

fn walk(
    value: &Value,
    path: &mut FieldPath,
    found: &mut Vec<FoundTemplate>,
    errors: &mut Vec<LocatedScanError>,
) {
    match value {
        Value::String(text) => match scan(text) {
            Ok(Template::Literal(_)) => {}
            Ok(template) => found.push(FoundTemplate {
                path: path.clone(),
                template,
            }),
            Err(error) => errors.push(LocatedScanError {
                path: path.clone(),
                error,
            }),
        },
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                walk(item, path, found, errors);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Segment::Key(key.clone()));
                walk(item, path, found, errors);
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
