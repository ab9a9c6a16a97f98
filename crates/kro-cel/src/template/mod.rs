//! `${...}` templates: finding CEL expressions in the values of resource
//! templates.
//!
//! A string value is either plain text, one standalone expression (the
//! whole value is `${...}`: its result, of any type, replaces the value), or
//! an interpolated string (text with one or more `${...}`, each of which
//! must produce a string). [`scan`] classifies one string; [`scan_value`]
//! walks a whole JSON template and locates every expression by its
//! [`FieldPath`].
//!
//! The closing `}` of an expression is found by counting braces outside CEL
//! string literals, in every quoting style CEL has (double, single, triple,
//! raw), so `${'}'}` and `${"}"}` both work. A `${` inside an expression is
//! an error unless it is inside a string literal: `${"${HOME}"}` is how an
//! author writes a literal `${HOME}`.

mod field_path;
mod scanner;

pub use field_path::{FieldPath, Segment};
pub use scanner::{ScanError, ScanErrorKind, scan};

use serde_json::Value;

use crate::ast::Span;

/// One `${...}` expression found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateExpression {
    /// The CEL source between `${` and `}`.
    pub source: String,
    /// Where that source sits in the scanned string, in bytes.
    pub span: Span,
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text, copied as is.
    Text(String),
    /// An expression whose string result is inserted.
    Expression(TemplateExpression),
}

/// What a string value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// No expression: the value is used as written.
    Literal(String),
    /// The whole value is one expression; its result may have any type.
    Standalone(TemplateExpression),
    /// Text and expressions; every expression must produce a string.
    Interpolated(Vec<Part>),
}

impl Template {
    /// The expressions, in order.
    pub fn expressions(&self) -> Vec<&TemplateExpression> {
        match self {
            Template::Literal(_) => Vec::new(),
            Template::Standalone(expression) => vec![expression],
            Template::Interpolated(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    Part::Expression(expression) => Some(expression),
                    Part::Text(_) => None,
                })
                .collect(),
        }
    }
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

#[cfg(test)]
mod tests;
