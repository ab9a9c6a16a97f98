//! Values of types that function libraries define (a Kubernetes quantity,
//! a URL, an IP address, a semantic version, a status condition...).
//!
//! The core value model knows nothing about them: a library implements
//! [`Opaque`] for its own Rust type and wraps it in a `Value::Opaque` (with
//! `value::wrap`, and finds it back with `value::downcast`).
//! Static typing is separate: the library declares its functions with a
//! named object type (`kubernetes.Quantity`), which is what the checker sees.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::error::EvalError;

/// Behaviour a library type must provide to live inside a [`crate::Value`].
pub trait Opaque: fmt::Debug + Send + Sync + 'static {
    /// The CEL type name, such as `kubernetes.Quantity`.
    fn type_name(&self) -> &'static str;

    /// CEL equality with another opaque value (of any type).
    fn equals(&self, other: &dyn Opaque) -> bool;

    /// The JSON form written into templates and status.
    fn to_json(&self) -> Result<serde_json::Value, EvalError>;

    /// A short human-readable rendering, used by `Display`.
    fn render(&self) -> String;

    /// The value as `Any`, so libraries can downcast to their own type.
    fn as_any(&self) -> &dyn Any;
}

/// A shared opaque value.
pub type OpaqueValue = Arc<dyn Opaque>;
