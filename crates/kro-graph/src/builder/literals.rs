//! The literal values of a template, checked against the kind's schema:
//! a field the kind does not have, or a literal of the wrong type, would
//! only fail when the API server refuses the object.
//!
//! A literal is checked for its JSON type only. The string formats that
//! CEL sees as their own types (`byte` as bytes, `date` and `date-time` as
//! timestamps, `duration` as durations) are strings in YAML and in the
//! API, so a string literal fits them; whether its content is valid base64
//! or a valid date is the API server's to judge, as upstream kro leaves it.
//! Expressions into those fields keep their CEL typing.

use kro_cel::assignability::fits;
use kro_cel::openapi_types::{SchemaTypes, escape_field_name};
use kro_cel::template::{FieldPath, Segment};
use kro_cel::{Env, Type};
use serde_json::Value;

use crate::error::BuildErrorKind;

/// Every problem with the literals of `object`: `(path inside the object,
/// problem)`, in document order. Values holding `${...}` are the
/// expressions' business and are skipped.
pub fn check_literals(
    env: &Env,
    types: &SchemaTypes,
    object: &Value,
) -> Vec<(FieldPath, BuildErrorKind)> {
    let mut problems = Vec::new();
    walk(
        env,
        types,
        object,
        types.root(),
        &mut FieldPath::root(),
        &mut problems,
    );
    problems
}

/// The type of field `key` of a value of type `parent`: `None` when the
/// parent is an object type without that field, `dyn` where the schema
/// does not say.
fn field_type(types: &SchemaTypes, parent: &Type, key: &str) -> Option<Type> {
    match parent {
        Type::Object(name) => match types.object(name) {
            Some(object) => {
                escape_field_name(key).and_then(|field| object.fields.get(&field).cloned())
            }
            None => Some(Type::Dyn),
        },
        Type::Map(_, value) => Some((**value).clone()),
        _ => Some(Type::Dyn),
    }
}

/// Walks `value` and its declared type together, so each field's type is
/// found from its parent's in one step.
fn walk(
    env: &Env,
    types: &SchemaTypes,
    value: &Value,
    ty: &Type,
    path: &mut FieldPath,
    problems: &mut Vec<(FieldPath, BuildErrorKind)>,
) {
    if *ty == Type::Dyn {
        return;
    }
    let literal = match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Segment::Key(key.clone()));
                match field_type(types, ty, key) {
                    Some(child_type) => walk(env, types, child, &child_type, path, problems),
                    None => problems.push((
                        path.clone(),
                        BuildErrorKind::UnknownField { field: key.clone() },
                    )),
                }
                path.pop();
            }
            return;
        }
        Value::Array(items) => {
            let element = match ty {
                Type::List(element) => (**element).clone(),
                _ => Type::Dyn,
            };
            for (index, child) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                walk(env, types, child, &element, path, problems);
                path.pop();
            }
            return;
        }
        Value::String(text) if text.contains("${") => return,
        Value::Null => return,
        Value::String(_) => Type::String,
        Value::Bool(_) => Type::Bool,
        Value::Number(number) if number.is_f64() => Type::Double,
        Value::Number(_) => Type::Int,
    };
    if !literal_fits(env, &literal, ty) {
        problems.push((
            path.clone(),
            BuildErrorKind::LiteralType {
                got: literal.to_string(),
                expected: ty.to_string(),
            },
        ));
    }
}

/// Whether a literal of JSON type `literal` may be written into a field of
/// type `field`.
fn literal_fits(env: &Env, literal: &Type, field: &Type) -> bool {
    match (literal, field) {
        // YAML writes `1` for a number field: a whole number fits a double.
        (Type::Int, Type::Double) => true,
        // A formatted string: the API server judges the content.
        (Type::String, Type::Bytes | Type::Timestamp | Type::Duration) => true,
        _ => fits(env, literal, field, 0).is_ok(),
    }
}

#[cfg(test)]
mod tests;
