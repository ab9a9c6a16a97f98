//! The literal values of a template, checked against the kind's schema:
//! a field the kind does not have, or a literal of the wrong type, would
//! only fail when the API server refuses the object.

use kro_cel::assignability::fits;
use kro_cel::openapi_types::SchemaTypes;
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
    walk(env, types, object, &mut FieldPath::root(), &mut problems);
    problems
}

fn walk(
    env: &Env,
    types: &SchemaTypes,
    value: &Value,
    path: &mut FieldPath,
    problems: &mut Vec<(FieldPath, BuildErrorKind)>,
) {
    if !path.segments().is_empty() && !types.has_path(path) {
        let field = match path.segments().last() {
            Some(Segment::Key(key)) => key.clone(),
            _ => path.to_string(),
        };
        problems.push((path.clone(), BuildErrorKind::UnknownField { field }));
        return;
    }
    let literal = match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Segment::Key(key.clone()));
                walk(env, types, child, path, problems);
                path.pop();
            }
            return;
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(Segment::Index(index));
                walk(env, types, child, path, problems);
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
    let expected = types.type_at(path);
    // YAML writes `1` for a number field: a whole number fits a double.
    let fits_number = literal == Type::Int && expected == Type::Double;
    if !fits_number && fits(env, &literal, &expected, 0).is_err() {
        problems.push((
            path.clone(),
            BuildErrorKind::LiteralType {
                got: literal.to_string(),
                expected: expected.to_string(),
            },
        ));
    }
}
