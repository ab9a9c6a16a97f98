//! The lifecycle annotations of a resource (`lifecycle.kro.run/...`):
//! read from a template into its [`Lifecycle`], refused on an
//! `externalRef`.
//!
//! They are the RGD author's decision, the same for every instance, so a
//! value must be a literal; and since a typo would silently fall back to
//! the default (deleting what the author meant to keep), an unknown key or
//! value under the prefix is an error, not a warning.

use std::collections::BTreeMap;

use kro_cel::template::FieldPath;
use serde_json::Value;

use crate::api::metadata::{ADOPTION_POLICY, DELETION_POLICY, LIFECYCLE_PREFIX};
use crate::api::{AdoptionPolicy, DeletionPolicy, Lifecycle, LifecycleError, Resource};
use crate::builder::Errors;

/// The policies of a resource: its template's, `None` for an
/// `externalRef` (whose lifecycle annotations are refused). `object` is
/// the template or the object the externalRef describes, at `path`.
pub(super) fn of_resource(
    resource: &Resource,
    object: &Value,
    path: &FieldPath,
    errors: &mut Errors<'_>,
) -> Option<Lifecycle> {
    let id = resource.id.as_str();
    match &resource.external_ref {
        Some(external) => {
            refuse_on_external_ref(&external.metadata.annotations, path, id, errors);
            None
        }
        None => Some(of_template(object, path, id, errors)),
    }
}

/// The policies a template's annotations declare (defaults for the ones
/// it does not). Every problem is reported at its annotation.
fn of_template(
    template: &Value,
    template_path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) -> Lifecycle {
    let mut lifecycle = Lifecycle::default();
    let Some(Value::Object(annotations)) = template.pointer("/metadata/annotations") else {
        return lifecycle;
    };
    let path = template_path.key("metadata").key("annotations");
    for (key, value) in annotations {
        if !key.starts_with(LIFECYCLE_PREFIX) {
            continue;
        }
        let at = path.key(key.clone());
        let parsed = match key.as_str() {
            ADOPTION_POLICY => literal(ADOPTION_POLICY, value).and_then(|text| {
                lifecycle.adoption = AdoptionPolicy::parse(text)
                    .ok_or_else(|| unknown(ADOPTION_POLICY, text, &AdoptionPolicy::VALUES))?;
                Ok(())
            }),
            DELETION_POLICY => literal(DELETION_POLICY, value).and_then(|text| {
                lifecycle.deletion = DeletionPolicy::parse(text)
                    .ok_or_else(|| unknown(DELETION_POLICY, text, &DeletionPolicy::VALUES))?;
                Ok(())
            }),
            _ => Err(LifecycleError::UnknownKey { key: key.clone() }),
        };
        if let Err(error) = parsed {
            errors.push(Some(id), at, error);
        }
    }
    lifecycle
}

/// Refuses every lifecycle annotation of an `externalRef`.
fn refuse_on_external_ref(
    annotations: &BTreeMap<String, String>,
    external_path: &FieldPath,
    id: &str,
    errors: &mut Errors<'_>,
) {
    let path = external_path.key("metadata").key("annotations");
    for key in annotations
        .keys()
        .filter(|k| k.starts_with(LIFECYCLE_PREFIX))
    {
        errors.push(
            Some(id),
            path.key(key.clone()),
            LifecycleError::OnExternalRef { key: key.clone() },
        );
    }
}

/// The value as text, if it is a string without expressions.
fn literal<'v>(key: &'static str, value: &'v Value) -> Result<&'v str, LifecycleError> {
    match value {
        Value::String(text) if !text.contains("${") => Ok(text),
        _ => Err(LifecycleError::NotLiteral { key }),
    }
}

fn unknown(key: &'static str, value: &str, allowed: &'static [&'static str]) -> LifecycleError {
    LifecycleError::UnknownValue {
        key,
        value: value.to_owned(),
        allowed,
    }
}
