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
//!
//! [`Template::render`] is the only renderer: resources, status fields and
//! `kro eval` all fill templates through it ([`Template::render_within`]
//! is the same with a limit on the size of the text).

mod field_path;
mod render;
mod scanner;

pub use field_path::{FieldPath, Segment};
pub use render::{RenderError, Rendered};
pub use scanner::{FoundTemplate, LocatedScanError, ScanError, ScanErrorKind, scan, scan_value};

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

#[cfg(test)]
mod tests;
