//! What every Kubernetes object the user hands `kro render` must look like
//! before it is used: the checks the API server's decoder makes on any
//! object (`apiVersion` and `kind` strings, a `metadata` that is an
//! ObjectMeta with a name, a `spec` and `status` that are mappings), each
//! failure an error at the offending field rather than a crash later.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kro_cel::template::FieldPath;
use serde_json::{Map, Value};

use crate::diagnostics::Diagnostic;
use crate::input::{Object, field_path, json_kind};

/// Checks `object`'s shape; the error is located at the bad field.
pub fn check(object: &Object<'_>) -> Result<(), Diagnostic> {
    let fail = |path: FieldPath, message: String| {
        Err(Diagnostic::error(message).at(object.position_of(&path)))
    };
    let Some(fields) = object.value.as_object() else {
        return fail(
            FieldPath::root(),
            format!(
                "expected an object (a mapping), found {}",
                json_kind(&object.value)
            ),
        );
    };
    for key in ["apiVersion", "kind"] {
        match fields.get(key) {
            Some(Value::String(text)) if !text.is_empty() => {}
            None | Some(Value::Null) => {
                return fail(FieldPath::root(), format!("{key} is missing"));
            }
            Some(other) => {
                return fail(
                    field_path(&[key]),
                    format!(
                        "{key} must be a non-empty string, found {}",
                        describe(other)
                    ),
                );
            }
        }
    }
    let metadata = match fields.get("metadata") {
        Some(Value::Object(metadata)) => metadata,
        None | Some(Value::Null) => return fail(FieldPath::root(), "metadata is missing".into()),
        Some(other) => {
            return fail(
                field_path(&["metadata"]),
                format!(
                    "metadata must be a mapping (an ObjectMeta), found {}",
                    describe(other)
                ),
            );
        }
    };
    if let Some((key, message)) = bad_metadata_field(metadata) {
        return fail(
            field_path(&["metadata", &key]),
            format!("metadata.{key}: {message}"),
        );
    }
    match metadata.get("name") {
        Some(Value::String(name)) if !name.is_empty() => {}
        _ => return fail(field_path(&["metadata"]), "metadata.name is missing".into()),
    }
    for key in ["spec", "status"] {
        match fields.get(key) {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(other) => {
                return fail(
                    field_path(&[key]),
                    format!("{key} must be a mapping, found {}", describe(other)),
                );
            }
        }
    }
    Ok(())
}

/// The first field of `metadata` that is not what ObjectMeta says, and
/// why: each field is decoded alone, so that the error names it.
fn bad_metadata_field(metadata: &Map<String, Value>) -> Option<(String, String)> {
    metadata.iter().find_map(|(key, value)| {
        let alone = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
        serde_json::from_value::<ObjectMeta>(alone)
            .err()
            .map(|e| (key.clone(), e.to_string()))
    })
}

/// `a string ("oops")`, `a list`, ... for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("a string ({text:?})"),
        Value::Number(n) => format!("a number ({n})"),
        other => json_kind(other).to_owned(),
    }
}
