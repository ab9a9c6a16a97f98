//! The desired state of one resource: its template with every `${...}`
//! replaced by the expression's value, evaluated against the instance and
//! the objects observed so far.
//!
//! Data that is not there yet (a resource not created or not observed, a
//! status field not written yet) makes the resource *pending*, never
//! failed: the runtime tries again when the data arrives. Anything else
//! (a value of the wrong kind at run time, a division by zero, a limit of
//! the pass's [`Allowance`] running out) is an error.
//!
//! Every expression is evaluated, and every result converted or joined,
//! under the pass's [`Allowance`]: its per-expression limits, its
//! deadline and its per-reconcile budget. The copy of the template each
//! object starts from is charged to that budget too: a large template
//! repeated by a `forEach` costs memory even when its expressions cost
//! nothing.

use std::cell::Cell;

use kro_cel::template::{FieldPath, FoundTemplate, RenderError, Rendered};
use kro_cel::{Activation, Allowance, EvalError, Value};
use kro_graph::builder::{CompiledExpression, Context, GraphResource, NodeKind};
use serde_json::Value as Json;
use thiserror::Error;

/// Why a resource's desired state could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DesiredError {
    /// An expression reads data that is not there yet.
    #[error("waiting for data: {field}: `${{{expression}}}`: {error}")]
    Pending {
        /// The field being computed.
        field: String,
        /// The expression.
        expression: String,
        /// What is missing.
        error: EvalError,
    },
    /// The pass's budget cannot pay for another copy of the template.
    #[error("the template's copy: {0}")]
    Template(EvalError),
    /// An expression failed.
    #[error("{field}: `${{{expression}}}`: {message}")]
    Failed {
        /// The field being computed.
        field: String,
        /// The expression.
        expression: String,
        /// What went wrong.
        message: String,
    },
}

impl DesiredError {
    /// Whether retrying later, with more data, may succeed.
    pub fn is_pending(&self) -> bool {
        matches!(self, DesiredError::Pending { .. })
    }
}

fn evaluate(
    expression: &CompiledExpression,
    field: &FieldPath,
    activation: &dyn Activation,
    allowance: &mut Allowance,
) -> Result<Value, DesiredError> {
    expression
        .compiled
        .eval_within(activation, allowance)
        .map_err(|error| located(error, &expression.source, field))
}

/// An evaluation's error at `field`, for expression `source`.
fn located(error: EvalError, source: &str, field: &FieldPath) -> DesiredError {
    if error.is_missing_data() {
        DesiredError::Pending {
            field: field.to_string(),
            expression: source.to_owned(),
            error,
        }
    } else {
        DesiredError::Failed {
            field: field.to_string(),
            expression: source.to_owned(),
            message: error.to_string(),
        }
    }
}

fn to_json(
    value: &Value,
    expression: &str,
    field: &FieldPath,
    allowance: &mut Allowance,
) -> Result<Option<Json>, DesiredError> {
    allowance
        .to_template_json(value)
        .map_err(|error| DesiredError::Failed {
            field: field.to_string(),
            expression: expression.to_owned(),
            message: error.to_string(),
        })
}

/// The resource's object with every template expression evaluated against
/// `activation` (which binds `schema`, the observed resources and, for a
/// collection item, the iterators), under `allowance`. A field whose
/// expression returns `omit()` is removed.
pub fn desired_object(
    resource: &GraphResource,
    activation: &dyn Activation,
    allowance: &mut Allowance,
) -> Result<Json, DesiredError> {
    let structure = &resource.structure;
    let section = match structure.kind {
        NodeKind::External | NodeKind::ExternalCollection => "externalRef",
        NodeKind::Resource | NodeKind::Collection => "template",
    };
    let template_root = FieldPath::root()
        .key("spec")
        .key("resources")
        .index(structure.index)
        .key(section);
    allowance
        .charge_result(json_size(&structure.object))
        .map_err(DesiredError::Template)?;
    let mut object = structure.object.clone();
    let mut removed = Vec::new();
    for found in &structure.templates {
        let location = template_root.join(&found.path);
        match render_field(resource, found, &location, activation, allowance)? {
            Field::Kept => {}
            Field::Omitted => removed.push(found.path.clone()),
            Field::Set(value) => {
                if let Some(slot) = found.path.get_mut(&mut object) {
                    *slot = value;
                }
            }
        }
    }
    // Remove omitted fields last, deepest and last-listed first, so that
    // list indexes of fields still to remove stay valid.
    for path in removed.iter().rev() {
        remove(&mut object, path);
    }
    Ok(object)
}

/// What becomes of one templated field of an object.
enum Field {
    /// Left as written.
    Kept,
    /// Set to this value.
    Set(Json),
    /// Removed: its expression returned `omit()`.
    Omitted,
}

/// Renders one templated field, at `location` in the RGD, with the
/// resource's compiled expressions for that location.
fn render_field(
    resource: &GraphResource,
    found: &FoundTemplate,
    location: &FieldPath,
    activation: &dyn Activation,
    allowance: &mut Allowance,
) -> Result<Field, DesiredError> {
    let mut compiled = resource
        .expressions
        .iter()
        .filter(|e| e.context == Context::Template && e.path == *location);
    // The expression a limit of the text is reported against: the last
    // one evaluated.
    let last = Cell::new("");
    let rendered = allowance
        .render(
            &found.template,
            |allowance, _| match compiled.next() {
                Some(expression) => {
                    last.set(&expression.source);
                    evaluate(expression, &found.path, activation, allowance).map(Some)
                }
                None => Ok(None),
            },
            |error| located(error, last.get(), &found.path),
        )
        .map_err(|error| match error {
            RenderError::Eval(error) => error,
            RenderError::NotAString { ref expression, .. } => DesiredError::Failed {
                field: found.path.to_string(),
                expression: expression.clone(),
                message: error.to_string(),
            },
        })?;
    Ok(match rendered {
        None => Field::Kept,
        Some(Rendered::Text(text)) => Field::Set(Json::String(text)),
        Some(Rendered::Value { value, expression }) => {
            match to_json(&value, &expression.source, &found.path, allowance)? {
                Some(json) => Field::Set(json),
                None => Field::Omitted,
            }
        }
    })
}

/// About the bytes of `json` as compact JSON (strings without their
/// escapes, other scalars 8 bytes): what a copy of it is charged for.
fn json_size(json: &Json) -> usize {
    const SCALAR: usize = 8;
    match json {
        Json::String(s) => s.len() + 2,
        Json::Array(items) => items.iter().map(json_size).fold(2, usize::saturating_add),
        Json::Object(fields) => fields
            .iter()
            .map(|(key, value)| (key.len() + 4).saturating_add(json_size(value)))
            .fold(2, usize::saturating_add),
        Json::Null | Json::Bool(_) | Json::Number(_) => SCALAR,
    }
}

fn remove(object: &mut Json, path: &FieldPath) {
    let mut parent = path.clone();
    let Some(last) = parent.pop() else { return };
    match (parent.get_mut(object), last) {
        (Some(Json::Object(map)), kro_cel::template::Segment::Key(key)) => {
            map.remove(&key);
        }
        (Some(Json::Array(items)), kro_cel::template::Segment::Index(index))
            if index < items.len() =>
        {
            items.remove(index);
        }
        _ => {}
    }
}

/// Whether every condition of `context` (`includeWhen` or `readyWhen`)
/// holds, evaluated under `allowance`. A null or absent optional counts as
/// false.
pub fn conditions_hold(
    resource: &GraphResource,
    context: Context,
    activation: &dyn Activation,
    allowance: &mut Allowance,
) -> Result<bool, DesiredError> {
    for expression in resource.expressions.iter().filter(|e| e.context == context) {
        let field = expression.path.clone();
        let holds = match evaluate(expression, &field, activation, allowance)? {
            Value::Bool(b) => b,
            Value::Optional(Some(inner)) => matches!(*inner, Value::Bool(true)),
            Value::Null | Value::Optional(None) => false,
            other => {
                return Err(DesiredError::Failed {
                    field: field.to_string(),
                    expression: expression.source.clone(),
                    message: format!("a condition must be a bool, got {}", other.type_name()),
                });
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
