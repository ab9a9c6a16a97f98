//! Deciding that an object needs no apply, so that a steady instance
//! costs no writes.
//!
//! Server-side apply of an unchanged body changes nothing, but it is still
//! a request, and upstream sends one for every child on every pass. We
//! skip it when both hold:
//! - the body is the one applied last time: its hash is recorded in the
//!   `internal.kro.run/applied-hash` annotation. This catches fields the
//!   template no longer sets, which an apply would remove;
//! - every field of the body has that value in the observed object. This
//!   catches drift: someone changed a field kro owns.
//!
//! Values the API server normalises (a quantity `0.5` stored as `500m`)
//! never look equal, so such objects are applied every pass, as upstream
//! does; the apply is a no-op on the server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kro_graph::api::metadata::APPLIED_HASH;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Records the hash of `object` (without the annotation itself) in its
/// annotations.
pub(super) fn stamp(object: &mut Value) {
    if let Some(annotations) = object["metadata"]["annotations"].as_object_mut() {
        annotations.remove(APPLIED_HASH);
    }
    let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(object.to_string().as_bytes()));
    if let Some(annotations) = object["metadata"]["annotations"].as_object_mut() {
        annotations.insert(APPLIED_HASH.to_owned(), Value::String(hash));
    }
}

/// Whether applying the stamped `desired` over `current` would change
/// nothing kro owns.
pub(super) fn is_unchanged(desired: &Value, current: &Value) -> bool {
    let hash = |object: &Value| object["metadata"]["annotations"][APPLIED_HASH].clone();
    hash(desired) == hash(current) && contains(current, desired)
}

/// Whether every field of `wanted` has the same value in `have`. Lists
/// must match item by item; numbers compare by value.
fn contains(have: &Value, wanted: &Value) -> bool {
    match (have, wanted) {
        (Value::Object(have), Value::Object(wanted)) => {
            wanted.iter().all(|(key, value)| match have.get(key) {
                Some(present) => contains(present, value),
                // Built-in types drop empty lists and maps when storing.
                None => is_empty(value),
            })
        }
        (Value::Array(have), Value::Array(wanted)) => {
            have.len() == wanted.len() && have.iter().zip(wanted).all(|(h, w)| contains(h, w))
        }
        (Value::Number(have), Value::Number(wanted)) => have.as_f64() == wanted.as_f64(),
        (have, wanted) => have == wanted,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stamped(mut object: Value) -> Value {
        stamp(&mut object);
        object
    }

    #[test]
    fn an_observed_object_with_defaults_and_status_is_unchanged() {
        let desired = stamped(json!({
            "metadata": { "name": "a", "annotations": {} },
            "spec": { "replicas": 3, "ports": [{ "port": 80 }] }
        }));
        let mut current = desired.clone();
        current["spec"]["ports"][0]["protocol"] = json!("TCP");
        current["spec"]["replicas"] = json!(3.0);
        current["status"] = json!({ "ready": true });
        // Empty lists and maps are not stored by built-in types.
        let mut desired = desired;
        desired["spec"]["args"] = json!([]);
        desired["spec"]["selector"] = json!({});
        stamp(&mut desired);
        current["metadata"]["annotations"] = desired["metadata"]["annotations"].clone();
        current["metadata"]["uid"] = json!("u");
        assert!(is_unchanged(&desired, &current));
    }

    #[test]
    fn drift_or_a_new_template_is_a_change() {
        let desired = stamped(json!({
            "metadata": { "name": "a", "annotations": {} },
            "spec": { "replicas": 3 }
        }));
        let mut drifted = desired.clone();
        drifted["spec"]["replicas"] = json!(1);
        assert!(!is_unchanged(&desired, &drifted));

        // The template stopped setting a field: the body is a subset of
        // the object, but the hash differs, so the apply removes it.
        let mut older = stamped(json!({
            "metadata": { "name": "a", "annotations": {} },
            "spec": { "replicas": 3, "paused": true }
        }));
        older["metadata"]["uid"] = json!("u");
        assert!(!is_unchanged(&desired, &older));
    }

    #[test]
    fn stamping_is_stable() {
        let once = stamped(json!({ "metadata": { "annotations": {} }, "a": 1 }));
        let twice = stamped(once.clone());
        assert_eq!(once, twice);
    }
}
