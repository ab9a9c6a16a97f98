use std::sync::Arc;

use kro_cel::Env;
use serde_json::json;

use crate::api::ResourceGraphDefinition;
use crate::builder::{BuildOptions, Builder};
use crate::resolver::BuiltinSchemas;

fn status_schema_json(status: serde_json::Value) -> serde_json::Value {
    let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
        "metadata": { "name": "test" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Widget", "spec": { "name": "string" }, "status": status },
            "resources": [
                { "id": "deployment", "template": { "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "d" } } }
            ]
        }
    }))
    .unwrap();
    let builder = Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    );
    let graph = builder.build(&rgd).unwrap_or_else(|e| panic!("{e}"));
    let crd = serde_json::to_value(&graph.instance_crd).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"].clone()
}

#[test]
fn scalar_projections_take_their_types() {
    let status = status_schema_json(json!({
        "availableReplicas": "${deployment.status.availableReplicas}",
        "ready": "${deployment.status.availableReplicas == deployment.spec.replicas}",
        "name": "${schema.spec.name}",
        "url": "http://${schema.spec.name}",
        "nested": { "generation": "${deployment.metadata.generation}" },
        "created": "${deployment.metadata.creationTimestamp}"
    }));
    let properties = &status["properties"];
    assert_eq!(properties["availableReplicas"]["type"], "integer");
    assert_eq!(properties["ready"]["type"], "boolean");
    assert_eq!(properties["name"]["type"], "string");
    assert_eq!(properties["url"]["type"], "string");
    assert_eq!(
        properties["nested"]["properties"]["generation"]["type"],
        "integer"
    );
    assert_eq!(properties["created"]["format"], "date-time");
    // kro's own fields are added.
    assert_eq!(properties["state"]["type"], "string");
    assert_eq!(properties["conditions"]["type"], "array");
}

#[test]
fn object_and_list_projections_are_described_field_by_field() {
    let status = status_schema_json(json!({
        "deploymentConditions": "${deployment.status.conditions}",
        "labels": "${deployment.metadata.labels}",
        "raw": "${deployment.spec.template.metadata}"
    }));
    let conditions = &status["properties"]["deploymentConditions"];
    assert_eq!(conditions["type"], "array");
    assert_eq!(conditions["items"]["properties"]["type"]["type"], "string");
    assert_eq!(
        conditions["items"]["properties"]["lastTransitionTime"]["format"],
        "date-time"
    );
    let labels = &status["properties"]["labels"];
    assert_eq!(labels["additionalProperties"]["type"], "string");
    let metadata = &status["properties"]["raw"]["properties"];
    assert!(metadata.get("namespace").is_some(), "{metadata}");
    assert!(
        metadata.get("__namespace__").is_none(),
        "escaped duplicates are written once"
    );
}
