//! Rendering a template: the one loop that turns a [`Template`] and the
//! values of its expressions into a field's content, shared by resource
//! templates, instance status fields and `kro eval`.
//!
//! The renderer does not evaluate: the caller's closure does, so each caller
//! decides what a failure or missing data means (a resource waits, a status
//! field is left out) by what the closure returns, and the text and the
//! "must be a string" rule stay the same everywhere.

use std::fmt;
use std::sync::Arc;

use super::{Part, Template, TemplateExpression};
use crate::error::{EvalError, SizeKind};
use crate::result_json::write_go_string;
use crate::value::Value;

/// A piece of an interpolated template's text: literal text of the
/// template, or the string an expression produced (shared, not copied).
enum Piece<'t> {
    Text(&'t str),
    Value(Arc<str>),
}

impl Piece<'_> {
    fn as_str(&self) -> &str {
        match self {
            Piece::Text(text) => text,
            Piece::Value(value) => value,
        }
    }
}

/// What a template renders to.
#[derive(Debug, Clone)]
pub enum Rendered<'t> {
    /// The result of a standalone expression, of any type.
    Value {
        /// The result.
        value: Value,
        /// The expression that produced it.
        expression: &'t TemplateExpression,
    },
    /// The text of a literal or an interpolated template.
    Text(String),
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderError<E> {
    /// The caller's evaluation failed.
    Eval(E),
    /// An expression of an interpolated template produced a value that is
    /// not a string.
    NotAString {
        /// The expression's source.
        expression: String,
        /// The CEL type name of what it produced.
        type_name: String,
    },
}

impl<E: fmt::Display> fmt::Display for RenderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Eval(error) => error.fmt(f),
            RenderError::NotAString { type_name, .. } => {
                write!(
                    f,
                    "a string template part must be a string, got {type_name}"
                )
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RenderError<E> {}

impl Template {
    /// Renders the template, asking `eval` for the value of each expression
    /// in order. `eval` returns `Ok(None)` when an expression has no value
    /// (yet): rendering stops there and the result is `Ok(None)`. A literal
    /// renders as its text; an interpolated template needs a string from
    /// every expression.
    ///
    /// The text has no size limit: renderers of untrusted templates use
    /// [`Template::render_within`].
    pub fn render<E>(
        &self,
        mut eval: impl FnMut(&TemplateExpression) -> Result<Option<Value>, E>,
    ) -> Result<Option<Rendered<'_>>, RenderError<E>> {
        match self {
            Template::Literal(text) => Ok(Some(Rendered::Text(text.clone()))),
            Template::Standalone(expression) => Ok(eval(expression)
                .map_err(RenderError::Eval)?
                .map(|value| Rendered::Value { value, expression })),
            Template::Interpolated(parts) => Ok(pieces(parts, eval)?.map(|p| join(&p))),
        }
    }

    /// [`Template::render`], refusing a text (literal or interpolated) of
    /// more than `max_bytes` bytes before building it: `too_large` turns
    /// the [`EvalError::TooLarge`] saying so into the caller's error. (A
    /// standalone expression's value is limited when it is converted, see
    /// [`crate::result_json::to_template_json_within`].)
    pub fn render_within<E>(
        &self,
        max_bytes: usize,
        eval: impl FnMut(&TemplateExpression) -> Result<Option<Value>, E>,
        too_large: impl FnOnce(EvalError) -> E,
    ) -> Result<Option<Rendered<'_>>, RenderError<E>> {
        let refuse = |size: usize| {
            RenderError::Eval(too_large(EvalError::TooLarge {
                kind: SizeKind::Result,
                size: size as u64,
                limit: max_bytes as u64,
            }))
        };
        match self {
            Template::Literal(text) if text.len() > max_bytes => Err(refuse(text.len())),
            Template::Literal(_) | Template::Standalone(_) => self.render(eval),
            Template::Interpolated(parts) => {
                let Some(pieces) = pieces(parts, eval)? else {
                    return Ok(None);
                };
                let size = pieces
                    .iter()
                    .map(|p| p.as_str().len())
                    .fold(0usize, usize::saturating_add);
                if size > max_bytes {
                    return Err(refuse(size));
                }
                Ok(Some(join(&pieces)))
            }
        }
    }

    /// The one CEL expression computing what the template renders, as
    /// upstream kro compiles string templates: a literal is a quoted string,
    /// a standalone expression is itself, and an interpolated template is the
    /// concatenation `"text" + (expression) + ...`. Type-checking it reports a
    /// non-string part the way upstream does. Past 64 parts the
    /// concatenation is grouped in halves, so that its nesting stays far
    /// below the parser's limit however many parts there are.
    pub fn to_cel(&self) -> String {
        let quoted = |text: &str| {
            let mut out = String::with_capacity(text.len() + 2);
            write_go_string(text, &mut out);
            out
        };
        match self {
            Template::Literal(text) => quoted(text),
            Template::Standalone(expression) => expression.source.clone(),
            Template::Interpolated(parts) => concatenation(
                &parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => quoted(text),
                        // A `//` comment would swallow the closing
                        // parenthesis: a new line ends it first.
                        Part::Expression(e) if e.source.contains("//") => {
                            format!("({}\n)", e.source)
                        }
                        Part::Expression(e) => format!("({})", e.source),
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// The most parts [`Template::to_cel`] concatenates in one flat chain:
/// `a + b + c` nests one level per `+`.
const FLAT_PARTS: usize = 64;

/// `a + b + ...`, grouped in halves past [`FLAT_PARTS`] operands.
fn concatenation(operands: &[String]) -> String {
    if operands.len() <= FLAT_PARTS {
        return operands.join(" + ");
    }
    let (left, right) = operands.split_at(operands.len() / 2);
    format!("({}) + ({})", concatenation(left), concatenation(right))
}

/// The pieces of an interpolated template's text, each expression
/// evaluated in order; `None` as soon as one has no value.
fn pieces<'t, E>(
    parts: &'t [Part],
    mut eval: impl FnMut(&TemplateExpression) -> Result<Option<Value>, E>,
) -> Result<Option<Vec<Piece<'t>>>, RenderError<E>> {
    let mut pieces = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(literal) => pieces.push(Piece::Text(literal)),
            Part::Expression(expression) => match eval(expression).map_err(RenderError::Eval)? {
                Some(Value::String(s)) => pieces.push(Piece::Value(s)),
                Some(other) => {
                    return Err(RenderError::NotAString {
                        expression: expression.source.clone(),
                        type_name: other.type_name(),
                    });
                }
                None => return Ok(None),
            },
        }
    }
    Ok(Some(pieces))
}

/// The text of the pieces, allocated once at its final size.
fn join<'t>(pieces: &[Piece<'_>]) -> Rendered<'t> {
    let mut text = String::with_capacity(pieces.iter().map(|p| p.as_str().len()).sum());
    for piece in pieces {
        text.push_str(piece.as_str());
    }
    Rendered::Text(text)
}
