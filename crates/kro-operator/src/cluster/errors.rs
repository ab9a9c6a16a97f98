//! kube-rs errors as [`ClusterError`]s.
//!
//! The runtime decides what to do from the kind of failure (retry after a
//! fresh read on a conflict, report an invalid object, wait for a type to
//! be served), so the mapping follows the HTTP status code of the API
//! server's answer. 404s are not mapped here: what a missing object means
//! depends on the operation (see [`not_found`]).

use kro_runtime::cluster::ClusterError;
use kube::core::Status;

/// How the API server (1.36) words a server-side apply body that does not
/// fit the type's schema (a string where the schema says integer, say). It
/// answers 500 InternalError, not 422, although the object is at fault:
/// checked against the local control plane in
/// `tests/cluster_contract.rs`.
const TYPED_PATCH_FAILURE: &str = "failed to create typed patch object";

/// What a 404 was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFound {
    /// The named object does not exist: the API server names it in
    /// `details.name`.
    Object,
    /// The URL itself is not served (no such group, version or resource):
    /// the body is a `Status` without details, or plain text such as
    /// `404 page not found`, which kube turns into a `Status` without
    /// details.
    Type,
}

/// Classifies a 404 answer; `None` when `status` is not a 404.
pub fn not_found(status: &Status) -> Option<NotFound> {
    if status.code != 404 {
        return None;
    }
    let names_object = status
        .details
        .as_ref()
        .is_some_and(|details| !details.name.is_empty());
    Some(if names_object {
        NotFound::Object
    } else {
        NotFound::Type
    })
}

/// Maps an API answer that is not a 404 (or a 404 the operation has no
/// meaning for) to a [`ClusterError`]. `key` names the object or type in
/// messages.
pub fn from_status(status: &Status, key: &str) -> ClusterError {
    let message = status.message.clone();
    match status.code {
        400 | 422 => ClusterError::Invalid {
            key: key.to_owned(),
            message,
        },
        500 if message.contains(TYPED_PATCH_FAILURE) => ClusterError::Invalid {
            key: key.to_owned(),
            message,
        },
        409 => ClusterError::Conflict {
            key: key.to_owned(),
            message,
        },
        403 => ClusterError::Forbidden { message },
        _ => ClusterError::Other {
            message: format!("{key}: {} ({})", message, status.code),
        },
    }
}

/// Maps any kube error. `resource` names the type for
/// [`ClusterError::UnknownType`], `key` the object or type in messages; a
/// 404 that names an object becomes [`ClusterError::Other`], for callers
/// to which a missing object is a failure.
pub fn from_kube(error: kube::Error, resource: &str, key: &str) -> ClusterError {
    match error {
        kube::Error::Api(status) => match not_found(&status) {
            Some(NotFound::Type) => ClusterError::UnknownType {
                resource: resource.to_owned(),
            },
            Some(NotFound::Object) => ClusterError::Other {
                message: format!("{key} not found"),
            },
            None => from_status(&status, key),
        },
        other => ClusterError::Other {
            message: format!("{key}: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(value: serde_json::Value) -> Status {
        serde_json::from_value(value).expect("test status literal")
    }

    #[test]
    fn codes_map_to_cluster_errors() {
        let invalid = status(json!({ "code": 422, "message": "spec.x: Invalid value" }));
        assert_eq!(
            from_status(&invalid, "cm a"),
            ClusterError::Invalid {
                key: "cm a".into(),
                message: "spec.x: Invalid value".into()
            }
        );
        let bad = status(json!({ "code": 400, "message": "bad selector" }));
        assert!(matches!(
            from_status(&bad, "k"),
            ClusterError::Invalid { .. }
        ));
        let conflict = status(json!({ "code": 409, "message": "modified" }));
        assert!(matches!(
            from_status(&conflict, "k"),
            ClusterError::Conflict { .. }
        ));
        let forbidden = status(json!({ "code": 403, "message": "no" }));
        assert_eq!(
            from_status(&forbidden, "k"),
            ClusterError::Forbidden {
                message: "no".into()
            }
        );
        let typed = status(json!({ "code": 500, "reason": "InternalError",
            "message": "failed to create typed patch object (ns/a; v1, Kind=X): .spec.size: expected numeric (int or float), got string" }));
        assert!(matches!(
            from_status(&typed, "k"),
            ClusterError::Invalid { .. }
        ));
        let server = status(json!({ "code": 500, "message": "etcd" }));
        assert_eq!(
            from_status(&server, "k"),
            ClusterError::Other {
                message: "k: etcd (500)".into()
            }
        );
    }

    #[test]
    fn a_404_names_an_object_or_not() {
        let object = status(json!({ "code": 404, "reason": "NotFound",
            "details": { "name": "a", "kind": "configmaps" } }));
        assert_eq!(not_found(&object), Some(NotFound::Object));
        let path = status(json!({ "code": 404, "reason": "NotFound", "details": {} }));
        assert_eq!(not_found(&path), Some(NotFound::Type));
        let plain =
            Status::failure("404 page not found", "Failed to parse error data").with_code(404);
        assert_eq!(not_found(&plain), Some(NotFound::Type));
        assert_eq!(
            from_kube(kube::Error::Api(plain.boxed()), "widgets.x", "k"),
            ClusterError::UnknownType {
                resource: "widgets.x".into()
            }
        );
    }
}
