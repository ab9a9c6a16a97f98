use std::collections::BTreeMap;

use kro_cel::Value;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::Context;
use serde_json::json;

use super::*;
use crate::test_graphs::{application, build};

fn allowance() -> Allowance {
    crate::EvaluationLimits::default().allowance()
}

fn bindings(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(name, json)| ((*name).to_owned(), Value::from_json(json)))
        .collect()
}

fn instance(ingress: bool) -> serde_json::Value {
    json!({
        "apiVersion": "kro.run/v1alpha1", "kind": "Application",
        "metadata": { "name": "demo", "namespace": "default" },
        "spec": { "name": "my-app", "image": "nginx", "ingress": { "enabled": ingress } }
    })
}

#[test]
fn the_deployment_renders_from_the_instance_alone() {
    let graph = application();
    let activation = bindings(&[("schema", instance(true))]);
    let deployment = desired_object(&graph.resources[0], &activation, &mut allowance()).unwrap();
    assert_eq!(deployment["metadata"]["name"], "my-app");
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx"
    );
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"]["app"],
        "my-app"
    );
}

#[test]
fn the_service_waits_for_the_deployment_then_follows_it() {
    let graph = application();
    let pending = desired_object(
        &graph.resources[1],
        &bindings(&[("schema", instance(true))]),
        &mut allowance(),
    )
    .unwrap_err();
    assert!(pending.is_pending(), "{pending}");

    let deployment = desired_object(
        &graph.resources[0],
        &bindings(&[("schema", instance(true))]),
        &mut allowance(),
    )
    .unwrap();
    let activation = bindings(&[("schema", instance(true)), ("deployment", deployment)]);
    let service = desired_object(&graph.resources[1], &activation, &mut allowance()).unwrap();
    assert_eq!(
        service["metadata"]["name"], "my-app-service",
        "a string template"
    );
    assert_eq!(service["spec"]["selector"], json!({ "app": "my-app" }));
}

#[test]
fn include_when_follows_the_instance() {
    let graph = application();
    let ingress = &graph.resources[2];
    assert!(
        conditions_hold(
            ingress,
            Context::IncludeWhen,
            &bindings(&[("schema", instance(true))]),
            &mut allowance(),
        )
        .unwrap()
    );
    assert!(
        !conditions_hold(
            ingress,
            Context::IncludeWhen,
            &bindings(&[("schema", instance(false))]),
            &mut allowance(),
        )
        .unwrap()
    );
    // No readyWhen: nothing to wait for.
    assert!(
        conditions_hold(
            ingress,
            Context::ReadyWhen,
            &bindings(&[]),
            &mut allowance()
        )
        .unwrap()
    );
}

#[test]
fn runtime_failures_are_not_pending() {
    let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
        "metadata": { "name": "t" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "T", "spec": { "n": "integer" } },
            "resources": [{ "id": "cm", "template": {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" },
                "data": { "ratio": "${string(10 / schema.spec.n)}" } } }]
        }
    }))
    .unwrap();
    let graph = build(&rgd);
    let zero = bindings(&[("schema", json!({ "spec": { "n": 0 } }))]);
    let error = desired_object(&graph.resources[0], &zero, &mut allowance()).unwrap_err();
    assert!(!error.is_pending(), "{error}");
    let five = bindings(&[("schema", json!({ "spec": { "n": 5 } }))]);
    assert_eq!(
        desired_object(&graph.resources[0], &five, &mut allowance()).unwrap()["data"]["ratio"],
        "2"
    );
}
