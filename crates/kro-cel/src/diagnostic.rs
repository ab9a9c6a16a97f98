//! Parse and check errors with the span they refer to, rendered as
//! `line:column` plus the source line and a caret.

use std::fmt;

use crate::ast::Span;

/// One problem found while parsing or checking an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong.
    pub message: String,
    /// Where, as byte offsets into the expression.
    pub span: Span,
}

impl Diagnostic {
    /// A diagnostic at `span`.
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            message: message.into(),
            span,
        }
    }

    /// The 1-based line and column (in characters) of the span start in `src`.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let start = (self.span.start as usize).min(src.len());
        let start = floor_char_boundary(src, start);
        let before = &src[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |p| p + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Renders `ERROR: <name>:L:C: message`, the offending line and a caret under it.
    pub fn render(&self, name: &str, src: &str) -> String {
        let (line, col) = self.line_col(src);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let pad: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { '.' })
            .collect();
        format!(
            "ERROR: {name}:{line}:{col}: {}\n | {text}\n | {pad}^",
            self.message
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at bytes {}..{})",
            self.message, self.span.start, self.span.end
        )
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Several diagnostics, all for one expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Renders every diagnostic against the source, one after the other.
    pub fn render(&self, name: &str, src: &str) -> String {
        self.0
            .iter()
            .map(|d| d.render(name, src))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}
