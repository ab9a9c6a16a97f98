//! Literal type checks, on a small schema with every string format.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use kro_cel::Env;
use kro_cel::openapi_types::SchemaTypes;
use serde_json::{Value, json};

use super::check_literals;

/// The problems `check_literals` finds in `object`, as `path: message`.
fn problems(object: Value) -> Vec<String> {
    let schema: JSONSchemaProps = serde_json::from_value(json!({
        "type": "object",
        "properties": {
            "data": {
                "type": "object",
                "additionalProperties": {"type": "string", "format": "byte"}
            },
            "caBundle": {"type": "string", "format": "byte"},
            "day": {"type": "string", "format": "date"},
            "when": {"type": "string", "format": "date-time"},
            "timeout": {"type": "string", "format": "duration"},
            "replicas": {"type": "integer"},
            "ratio": {"type": "number"}
        }
    }))
    .expect("a schema");
    let types = SchemaTypes::of_resource("__type_test", &schema);
    check_literals(&Env::kro(), &types, &object)
        .into_iter()
        .map(|(path, kind)| format!("{path}: {kind}"))
        .collect()
}

#[test]
fn string_literals_fit_formatted_string_fields() {
    let object = json!({
        "data": {"password": "cG9zdGdyZXM="},
        "caBundle": "LS0tLS1CRUdJTg==",
        "day": "2024-01-02",
        "when": "2024-01-02T03:04:05Z",
        "timeout": "90s"
    });
    assert_eq!(problems(object), Vec::<String>::new());
}

#[test]
fn the_content_of_a_formatted_string_is_left_to_the_api_server() {
    let object = json!({
        "data": {"password": "not base64!"},
        "day": "someday",
        "timeout": "a while"
    });
    assert_eq!(problems(object), Vec::<String>::new());
}

#[test]
fn other_literals_into_formatted_fields_are_still_refused() {
    let object = json!({
        "data": {"password": 42},
        "when": true,
        "timeout": 1.5
    });
    assert_eq!(
        problems(object),
        [
            "data.password: expected bytes value, got int literal",
            "when: expected google.protobuf.Timestamp value, got bool literal",
            "timeout: expected google.protobuf.Duration value, got double literal",
        ]
    );
}

#[test]
fn numbers_keep_their_rules() {
    assert_eq!(
        problems(json!({"replicas": 2, "ratio": 1})),
        Vec::<String>::new()
    );
    assert_eq!(
        problems(json!({"replicas": "two"})),
        ["replicas: expected int value, got string literal"]
    );
}
