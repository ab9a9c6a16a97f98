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
    /// The runtime cost budget ran out.
    #[error("operation cancelled: actual cost limit exceeded ({limit})")]
    CostExceeded {
        /// The budget that was exceeded.
        limit: u64,
    },
    /// Something the evaluator does not support (for example message construction).
    #[error("unsupported: {0}")]
    Unsupported(String),
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
}
