//! The schema of Kubernetes object metadata (`ObjectMeta`), used where a
//! resource's schema leaves `metadata` untyped (custom resources, embedded
//! resources), so that `schema.metadata.name` type-checks everywhere.

use std::sync::OnceLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::json;

/// The longest values the API server accepts in metadata fields, whatever
/// a kind's schema says (names are DNS names, label values at most 63
/// bytes, finalizers qualified names), by path below `metadata`. They
/// bound what an expression reading metadata may see.
pub(crate) const VALIDATED_LENGTHS: [(&str, u64); 9] = [
    ("name", 253),
    ("generateName", 253),
    ("namespace", 63),
    ("__namespace__", 63),
    ("uid", 36),
    ("labels.@elem", 63),
    ("finalizers.@idx", 317),
    ("ownerReferences.@idx.name", 253),
    ("ownerReferences.@idx.uid", 36),
];

/// The OpenAPI schema of `ObjectMeta`, reduced to what expressions read,
/// built once (every instance schema is typed with it, on every build of
/// an RGD). `None` only if the literal below stopped deserialising, which
/// the tests would catch.
pub(crate) fn object_meta_schema() -> Option<&'static JSONSchemaProps> {
    static SCHEMA: OnceLock<Option<JSONSchemaProps>> = OnceLock::new();
    SCHEMA.get_or_init(build_object_meta_schema).as_ref()
}

fn build_object_meta_schema() -> Option<JSONSchemaProps> {
    let string = || json!({"type": "string"});
    let string_map = || json!({"type": "object", "additionalProperties": {"type": "string"}});
    let time = || json!({"type": "string", "format": "date-time"});
    let schema = json!({
        "type": "object",
        "properties": {
            "name": string(),
            "generateName": string(),
            "namespace": string(),
            "selfLink": string(),
            "uid": string(),
            "resourceVersion": string(),
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": time(),
            "deletionTimestamp": time(),
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": string_map(),
            "annotations": string_map(),
            "finalizers": {
                "type": "array",
                "items": string(),
                "x-kubernetes-list-type": "set"
            },
            "ownerReferences": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["uid"],
                "items": {
                    "type": "object",
                    "required": ["apiVersion", "kind", "name", "uid"],
                    "properties": {
                        "apiVersion": string(),
                        "kind": string(),
                        "name": string(),
                        "uid": string(),
                        "controller": {"type": "boolean"},
                        "blockOwnerDeletion": {"type": "boolean"}
                    }
                }
            },
            "managedFields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "manager": string(),
                        "operation": string(),
                        "apiVersion": string(),
                        "time": time(),
                        "fieldsType": string(),
                        "fieldsV1": {"type": "object"},
                        "subresource": string()
                    }
                }
            }
        }
    });
    serde_json::from_value(schema).ok()
}
