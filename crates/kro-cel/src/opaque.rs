//! Values of types that function libraries define (a Kubernetes quantity,
//! a URL, an IP address, a semantic version, a status condition...).
//!
//! The core value model knows nothing about them: a library implements
//! [`Opaque`] for its own Rust type and wraps it in [`Value::Opaque`].
//! Static typing is separate: the library declares its functions with a
//! named object type (`kubernetes.Quantity`), which is what the checker sees.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::error::EvalError;
use crate::value::Value;

/// Behaviour a library type must provide to live inside a [`Value`].
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

/// The library value of type `T` inside `v`, if `v` holds one.
pub fn downcast<T: Opaque>(v: &Value) -> Option<&T> {
    match v {
        Value::Opaque(o) => o.as_any().downcast_ref::<T>(),
        _ => None,
    }
}

/// Wraps a library value.
pub fn wrap<T: Opaque>(v: T) -> Value {
    Value::Opaque(Arc::new(v))
}
