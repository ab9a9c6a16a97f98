//! Rendering a template: the one loop that turns a [`Template`] and the
//! values of its expressions into a field's content, shared by resource
//! templates, instance status fields and `kro eval`.
//!
//! The renderer does not evaluate: the caller's closure does, so each caller
//! decides what a failure or missing data means (a resource waits, a status
//! field is left out) by what the closure returns, and the text and the
//! "must be a string" rule stay the same everywhere.

use std::fmt;

use super::{Part, Template, TemplateExpression};
use crate::result_json::write_go_string;
use crate::value::Value;

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
    pub fn render<E>(
        &self,
        mut eval: impl FnMut(&TemplateExpression) -> Result<Option<Value>, E>,
    ) -> Result<Option<Rendered<'_>>, RenderError<E>> {
        match self {
            Template::Literal(text) => Ok(Some(Rendered::Text(text.clone()))),
            Template::Standalone(expression) => Ok(eval(expression)
                .map_err(RenderError::Eval)?
                .map(|value| Rendered::Value { value, expression })),
            Template::Interpolated(parts) => {
                let mut text = String::new();
                for part in parts {
                    match part {
                        Part::Text(literal) => text.push_str(literal),
                        Part::Expression(expression) => {
                            match eval(expression).map_err(RenderError::Eval)? {
                                Some(Value::String(s)) => text.push_str(&s),
                                Some(other) => {
                                    return Err(RenderError::NotAString {
                                        expression: expression.source.clone(),
                                        type_name: other.type_name(),
                                    });
                                }
                                None => return Ok(None),
                            }
                        }
                    }
                }
                Ok(Some(Rendered::Text(text)))
            }
        }
    }

    /// The one CEL expression computing what the template renders, as
    /// upstream kro compiles string templates: a literal is a quoted string,
    /// a standalone expression is itself, and an interpolated template is the
    /// concatenation `"text" + (expression) + ...`. Type-checking it reports a
    /// non-string part the way upstream does.
    pub fn to_cel(&self) -> String {
        let quoted = |text: &str| {
            let mut out = String::with_capacity(text.len() + 2);
            write_go_string(text, &mut out);
            out
        };
        match self {
            Template::Literal(text) => quoted(text),
            Template::Standalone(expression) => expression.source.clone(),
            Template::Interpolated(parts) => parts
                .iter()
                .map(|part| match part {
                    Part::Text(text) => quoted(text),
                    Part::Expression(e) => format!("({})", e.source),
                })
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }
}
