//! Runtime errors, as a typed enum so callers can tell "data not there yet"
//! ([`EvalError::is_missing_data`]) from a real error without reading messages.
//!
//! Errors know nothing of values (so that `value` may use them); the
//! constructor that names argument types, `EvalError::no_overload`, is
//! defined next to [`crate::Value`].

/// An error produced while evaluating an expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A map has no entry for the key (or an object no value for the field).
    #[error("no such key: {0}")]
    NoSuchKey(String),
    /// A variable is neither declared nor bound in the activation.
    #[error("no such attribute: {0}")]
    UnknownVariable(String),
    /// A list index outside `0..size`.
    #[error("index out of bounds: {index} (size {size})")]
    IndexOutOfRange {
        /// The index used.
        index: i64,
        /// The list size.
        size: usize,
    },
    /// Division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// Modulus by zero.
    #[error("modulus by zero")]
    ModulusByZero,
    /// An arithmetic result or conversion outside the range of its type.
    #[error("{0} overflow")]
    Overflow(&'static str),
    /// No implementation of the function accepts these argument types.
    #[error("no such overload: {0}")]
    NoMatchingOverload(String),
    /// The function is declared but has no runtime implementation.
    #[error("unknown function: {0}")]
    UnknownFunction(String),
    /// An argument value is not acceptable (bad format string, bad regex...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A value cannot be converted to the requested type.
    #[error("type conversion error: {0}")]
    Conversion(String),
    /// A map literal or insertion repeats a key.
    #[error("repeated key in map: {0}")]
    RepeatedKey(String),
    /// `optional.none().value()`.
    #[error("optional.none() dereference")]
    EmptyOptional,
    /// The runtime cost budget of one evaluation ran out.
    #[error("operation cancelled: actual cost limit exceeded (per-expression budget of {limit})")]
    CostExceeded {
        /// The budget that was exceeded.
        limit: u64,
    },
    /// The cost budget shared by a series of evaluations (the expressions
    /// of one reconcile, see [`crate::Allowance`]) ran out.
    #[error(
        "operation cancelled: actual cost limit exceeded (per-reconcile budget of {limit}, shared by every expression of the instance)"
    )]
    TotalCostExceeded {
        /// The shared budget that was exceeded.
        limit: u64,
    },
    /// The evaluation ran past its wall-clock deadline.
    #[error(
        "operation cancelled: evaluation deadline exceeded (evaluation timeout of {})",
        go_duration(*.limit)
    )]
    DeadlineExceeded {
        /// The time an evaluation may take.
        limit: std::time::Duration,
    },
    /// A value being produced would be larger than its size limit: refused
    /// before anything was allocated.
    #[error(
        "operation cancelled: {} would reach {size} {}, over the limit of {limit} (Limits::{})",
        .kind.noun(), .kind.unit(), .kind.setting()
    )]
    TooLarge {
        /// What was being produced.
        kind: SizeKind,
        /// The size it would have (or had reached when the limit was crossed).
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Something the evaluator does not support (for example message construction).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// What a [`EvalError::TooLarge`] was about to produce, and so which limit
/// of [`crate::Limits`] refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeKind {
    /// A string or bytes value, in bytes (`max_string_size`).
    String,
    /// A list, in elements, or a map, in entries (`max_collection_size`).
    Collection,
    /// An expression result converted to JSON, in bytes (`max_result_size`).
    Result,
}

impl SizeKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            SizeKind::String => "a string",
            SizeKind::Collection => "a list or map",
            SizeKind::Result => "the result as JSON",
        }
    }

    pub(crate) fn unit(self) -> &'static str {
        match self {
            SizeKind::String | SizeKind::Result => "bytes",
            SizeKind::Collection => "elements",
        }
    }

    pub(crate) fn setting(self) -> &'static str {
        match self {
            SizeKind::String => "max_string_size",
            SizeKind::Collection => "max_collection_size",
            SizeKind::Result => "max_result_size",
        }
    }
}

/// A duration as the flags that set it write it (`1s`, `250ms`):
/// Rust's debug form is that for the whole seconds and milliseconds that
/// deadlines are (the CEL value formatting lives in `result_json`, which
/// depends on this module).
fn go_duration(d: std::time::Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else {
        format!("{d:?}")
    }
}

impl EvalError {
    /// True for errors caused by data that is absent (a missing map key or
    /// field, an index past the end, an unbound variable): in kro, "not ready yet".
    pub fn is_missing_data(&self) -> bool {
        matches!(
            self,
            EvalError::NoSuchKey(_)
                | EvalError::IndexOutOfRange { .. }
                | EvalError::UnknownVariable(_)
        )
    }

    /// True for the errors of a limit (a cost budget, a size limit, the
    /// deadline): they stop the evaluation, and no `&&`, `||` or macro
    /// absorbs them.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            EvalError::CostExceeded { .. }
                | EvalError::TotalCostExceeded { .. }
                | EvalError::DeadlineExceeded { .. }
                | EvalError::TooLarge { .. }
        )
    }
}
