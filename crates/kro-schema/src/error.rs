//! Typed errors. Every error that comes from an author's schema carries the
//! path of the field it is about (`spec.ingress.enabled`, `types.Port`), so
//! that the RGD status can point at the exact line to fix.

use crate::simple_schema::markers::MarkerKey;

// Defined where markers are tokenised, so that the tokeniser needs nothing
// from this module; its public path stays `kro_schema::error`.
pub use crate::simple_schema::markers::MarkerSyntaxError;

/// A problem in an author's SimpleSchema, with the field it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct SchemaError {
    /// Dotted path of the field: `spec.ingress.enabled`, `types.Port.number`.
    pub path: String,
    /// What is wrong.
    pub kind: SchemaErrorKind,
}

impl SchemaError {
    pub(crate) fn new(path: &str, kind: impl Into<SchemaErrorKind>) -> Self {
        SchemaError {
            path: path.to_owned(),
            kind: kind.into(),
        }
    }

    pub(crate) fn marker(path: &str, marker: MarkerKey, problem: MarkerProblem) -> Self {
        SchemaError::new(path, SchemaErrorKind::Marker { marker, problem })
    }
}

/// The kinds of [`SchemaError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaErrorKind {
    /// A field is neither a type string nor a map of fields.
    #[error(
        "expected a type string (like `string | required=true`) or a map of fields, found {found}"
    )]
    UnexpectedValue {
        /// The JSON kind that was found instead (`a number`, `a list`...).
        found: &'static str,
    },
    /// The `spec` or `types` section is not a map.
    #[error("expected a map, found {found}")]
    NotAMap {
        /// The JSON kind that was found instead.
        found: &'static str,
    },
    /// The type part of a field string is malformed.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// The marker part of a field string cannot be tokenised.
    #[error(transparent)]
    MarkerSyntax(#[from] MarkerSyntaxError),
    /// A marker does not fit the field, or its value does not parse.
    #[error("marker `{marker}`: {problem}")]
    Marker {
        /// The marker concerned.
        marker: MarkerKey,
        /// What is wrong with it.
        problem: MarkerProblem,
    },
    /// Custom types refer to each other in a loop.
    #[error("custom types form a cycle: {}", show_cycle(cycle))]
    CyclicTypes {
        /// The loop, starting and ending with the same type name.
        cycle: Vec<String>,
    },
    /// A custom type's name cannot be used.
    #[error("invalid custom type name `{name}`: {reason}")]
    InvalidTypeName {
        /// The offending name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Maps of fields nested beyond [`MAX_OBJECT_NESTING`](crate::simple_schema::MAX_OBJECT_NESTING).
    #[error("objects nested too deeply (at most {max} levels)")]
    ObjectNestingTooDeep {
        /// The limit.
        max: usize,
    },
    /// The schema, with custom types inlined, has too many nodes.
    #[error(
        "schema too large once custom types are inlined (at most {max_nodes} fields, items and values)"
    )]
    SchemaTooLarge {
        /// The limit.
        max_nodes: usize,
    },
    /// The schema, with custom types inlined, is too deep.
    #[error("schema nested too deeply once custom types are inlined (at most {max} levels)")]
    SchemaTooDeep {
        /// The limit.
        max: usize,
    },
    /// A field name is empty.
    #[error("field names must not be empty")]
    EmptyFieldName,
}

/// A malformed type expression (`[]`, `map[int]string`, an unknown name...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// Nothing before the `|`.
    #[error("empty type")]
    Empty,
    /// Not a built-in type and not declared under `types`.
    #[error(
        "unknown type `{0}` (expected string, integer, boolean, float, object, []T, map[string]T or a type declared under `types`)"
    )]
    Unknown(String),
    /// More than [`MAX_TYPE_NESTING`](crate::MAX_TYPE_NESTING) levels of `[]`/`map[string]`.
    #[error("type nesting too deep (at most {max} levels of `[]` and `map[string]`): `{ty}`")]
    NestingTooDeep {
        /// The limit.
        max: usize,
        /// The full type expression.
        ty: String,
    },
    /// `[]` with nothing after it.
    #[error("`[]` needs an element type, as in `[]string`")]
    EmptyElementType,
    /// `map[K]V` with a key other than `string`.
    #[error("map keys must be `string`, as in `map[string]integer`; found `{0}`")]
    MapKeyNotString(String),
    /// `map[string]` with nothing after it.
    #[error("`map[string]` needs a value type, as in `map[string]string`")]
    EmptyMapValue,
}

/// What is wrong with one marker on one field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarkerProblem {
    /// The marker does not apply to this type of field.
    #[error("applies to {expected} fields only, but this field is {actual}")]
    NotApplicable {
        /// The kinds of field it applies to.
        expected: &'static str,
        /// This field's type.
        actual: String,
    },
    /// The value does not parse.
    #[error("expected {expected}, got `{value}`")]
    InvalidValue {
        /// What would have been accepted.
        expected: String,
        /// What was written.
        value: String,
    },
    /// Two markers contradict each other.
    #[error("{0}")]
    Conflict(String),
    /// The default is not a valid value of the field.
    #[error("default {value} is not valid for this field: {reason}")]
    InvalidDefault {
        /// The default, as JSON.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

/// Names of JSON value kinds for error messages.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// Joins a parent path and a child name: `spec` + `ingress` = `spec.ingress`.
pub(crate) fn child_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// The most cycle members an error message lists; longer loops are
/// shortened so the message fits in a status condition.
const CYCLE_SHOWN: usize = 12;

fn show_cycle(cycle: &[String]) -> String {
    if cycle.len() <= CYCLE_SHOWN {
        return cycle.join(" -> ");
    }
    let head = cycle[..CYCLE_SHOWN - 2].join(" -> ");
    let tail = cycle[cycle.len() - 2..].join(" -> ");
    let skipped = cycle.len() - CYCLE_SHOWN;
    format!("{head} -> ({skipped} more) -> {tail}")
}
