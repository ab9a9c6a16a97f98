//! Whether the value of an expression fits the field it is written to.
//!
//! The checker gives an expression's type; the target field's type comes
//! from the resource's schema ([`crate::openapi_types`]). kro accepts the
//! pair structurally (kro-semantics §3.3.7), which is looser than CEL's own
//! assignability in the ways templates need:
//!
//! - `dyn` on either side fits;
//! - an `optional_type(T)` result is judged as `T` (an absent value is
//!   written as null);
//! - lists are compared elementwise, maps by key and value;
//! - an object fits another object when its fields are a subset of the
//!   target's, each fitting (a missing field is fine, an extra one is not);
//! - a map fits an object when its keys are strings and its values fit every
//!   field; an object fits a map when every field fits the map's values;
//! - other types must be of the same kind (`int` does not fit `double`).

use std::fmt;

use crate::decls::Env;
use crate::types::Type;

/// Deeper types are not produced by real schemas; past this the answer is
/// "fits", since refusing valid input would be worse than a late run-time
/// error.
const MAX_DEPTH: usize = 64;

/// An expression whose type does not fit its target field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TypeMismatch {
    /// The resource id (`schema` for instance status fields).
    pub resource: String,
    /// The field path inside the resource.
    pub path: String,
    /// The expression's source text.
    pub expression: String,
    /// The expression's type.
    pub got: Type,
    /// The field's type.
    pub expected: Type,
    /// Which part does not fit, innermost last.
    pub detail: String,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "type mismatch in resource {:?} at path {:?}: expression {:?} returns type \"{}\" but expected \"{}\"",
            self.resource, self.path, self.expression, self.got, self.expected
        )?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Where an expression is written, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The resource id.
    pub resource: &'a str,
    /// The field path inside the resource.
    pub path: &'a str,
    /// The expression's source text.
    pub expression: &'a str,
}

/// Checks that a value of type `got` may be written where `expected` is
/// declared, with object types looked up in `env`.
pub fn check_assignable(
    env: &Env,
    target: Target<'_>,
    got: &Type,
    expected: &Type,
) -> Result<(), Box<TypeMismatch>> {
    fits(env, got, expected, 0).map_err(|detail| {
        Box::new(TypeMismatch {
            resource: target.resource.to_string(),
            path: target.path.to_string(),
            expression: target.expression.to_string(),
            got: got.clone(),
            expected: expected.clone(),
            detail,
        })
    })
}

/// The structural rule itself: `Ok` when `output` fits `expected`, else why not.
pub fn fits(env: &Env, output: &Type, expected: &Type, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH || output == expected {
        return Ok(());
    }
    if is_dynamic(output) || is_dynamic(expected) {
        return Ok(());
    }
    if let Some(inner) = output.optional_inner() {
        return fits(env, inner, expected, depth + 1);
    }
    // JSON null is a valid value for any field the API server treats as
    // nullable-by-omission; CEL's own rule (null fits nullable kinds) applies.
    if *output == Type::Null && nullable(expected) {
        return Ok(());
    }
    let d = depth + 1;
    match (output, expected) {
        (Type::Map(key, value), Type::Object(name)) => {
            let Some(object) = env.object_type(name) else {
                return Ok(());
            };
            if !is_string_key(key) {
                return Err("map keys must be strings to assign to struct".into());
            }
            for (field, field_type) in &object.fields {
                fits(env, value, field_type, d).map_err(|e| {
                    format!("map value incompatible with struct field {field:?}: {e}")
                })?;
            }
            Ok(())
        }
        (Type::Object(name), Type::Map(key, value)) => {
            let Some(object) = env.object_type(name) else {
                return Ok(());
            };
            if !is_string_key(key) {
                return Err("map key type must be string when assigning struct → map".into());
            }
            for (field, field_type) in &object.fields {
                fits(env, field_type, value, d).map_err(|e| {
                    format!("struct field {field:?} incompatible with map value type: {e}")
                })?;
            }
            Ok(())
        }
        (Type::List(a), Type::List(b)) => {
            fits(env, a, b, d).map_err(|e| format!("list element type incompatible: {e}"))
        }
        (Type::Map(k1, v1), Type::Map(k2, v2)) => {
            fits(env, k1, k2, d).map_err(|e| format!("map key type incompatible: {e}"))?;
            fits(env, v1, v2, d).map_err(|e| format!("map value type incompatible: {e}"))
        }
        (Type::Object(out_name), Type::Object(exp_name)) => {
            // Without both declarations there is nothing to compare; kro
            // accepts rather than guess.
            let (Some(out), Some(exp)) = (env.object_type(out_name), env.object_type(exp_name))
            else {
                return Ok(());
            };
            for (field, field_type) in &out.fields {
                let Some(expected_field) = exp.fields.get(field) else {
                    return Err(format!(
                        "field {field:?} exists in output but not in expected type"
                    ));
                };
                fits(env, field_type, expected_field, d)
                    .map_err(|e| format!("field {field:?} has incompatible type: {e}"))?;
            }
            Ok(())
        }
        _ if kind(output) == kind(expected) && kind(output) != Kind::Other => Ok(()),
        _ => Err(format!(
            "type kind mismatch: got {:?}, expected {:?}",
            output.to_string(),
            expected.to_string()
        )),
    }
}

fn is_dynamic(t: &Type) -> bool {
    matches!(t, Type::Dyn | Type::Error | Type::Param(_))
}

fn is_string_key(t: &Type) -> bool {
    matches!(t, Type::String) || is_dynamic(t)
}

fn nullable(t: &Type) -> bool {
    matches!(
        t,
        Type::Object(_) | Type::Map(..) | Type::List(_) | Type::Timestamp | Type::Duration
    ) || t.optional_inner().is_some()
}

#[derive(PartialEq, Eq)]
enum Kind {
    Scalar(&'static str),
    Other,
}

/// The kind of a scalar type; container and named types compare by the
/// rules above.
fn kind(t: &Type) -> Kind {
    Kind::Scalar(match t {
        Type::Bool => "bool",
        Type::Int => "int",
        Type::Uint => "uint",
        Type::Double => "double",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Timestamp => "timestamp",
        Type::Duration => "duration",
        Type::Null => "null",
        Type::Type(_) => "type",
        _ => return Kind::Other,
    })
}

/// Checks that a condition (`readyWhen`, `includeWhen`) has type `bool` or
/// `optional_type(bool)` (or `dyn`, checked at run time).
pub fn check_condition_type(what: &str, got: &Type) -> Result<(), String> {
    let ok = match got {
        Type::Bool => true,
        t if is_dynamic(t) => true,
        t => matches!(t.optional_inner(), Some(Type::Bool | Type::Dyn)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} must return bool or optional_type(bool), but returns \"{got}\""
        ))
    }
}

#[cfg(test)]
mod tests;
