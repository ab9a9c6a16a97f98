use serde_json::{Value, json};

use super::*;
use crate::api::ResourceGraphDefinition;
use crate::builder::{BuildOptions, check_structure};
use crate::resolver::BuiltinSchemas;

const APPLICATION: &str = include_str!("../../../../../examples/application/rgd.yaml");

fn structure(resources: Value) -> Structure {
    let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
        "metadata": { "name": "test" },
        "spec": { "schema": { "apiVersion": "v1alpha1", "kind": "Widget" }, "resources": resources }
    }))
    .unwrap();
    check_structure(&rgd, &BuiltinSchemas::new(), &BuildOptions::default()).unwrap()
}

fn cm(name: &str, data: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name }, "data": data })
}

fn no_functions(_: &str) -> bool {
    false
}

fn messages(result: Result<DependencyGraph, BuildErrors>) -> Vec<String> {
    result
        .expect_err("invalid")
        .0
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                e.kind
            )
        })
        .collect()
}

#[test]
fn application_example_orders_deployment_service_ingress() {
    let rgd: ResourceGraphDefinition = serde_saphyr::from_str(APPLICATION).unwrap();
    let structure =
        check_structure(&rgd, &BuiltinSchemas::new(), &BuildOptions::default()).unwrap();
    let graph = infer_dependencies(&structure, &no_functions).unwrap();
    assert_eq!(
        graph.topological_order(),
        ["deployment", "service", "ingress"]
    );
    assert_eq!(graph.dependencies("service").unwrap(), ["deployment"]);
    assert_eq!(graph.dependencies("ingress").unwrap(), ["service"]);
}

#[test]
fn dependencies_come_from_templates_include_when_and_for_each_not_ready_when() {
    let s = structure(json!([
        { "id": "a", "template": cm("a", json!({})), "readyWhen": ["${a.data.ok == 'yes'}"] },
        { "id": "b", "template": cm("b", json!({})) },
        { "id": "c", "template": cm("c", json!({})) },
        { "id": "d", "template": cm("${a.metadata.name}-d", json!({})),
          "includeWhen": ["${b.data.on == 'true'}"] },
        { "id": "e", "template": cm("${entry}", json!({})), "forEach": [{ "entry": "${c.data.list.split(',')}" }],
          "readyWhen": ["${each.data.ok == 'yes'}"] }
    ]));
    let graph = infer_dependencies(&s, &no_functions).unwrap();
    assert_eq!(graph.dependencies("a").unwrap(), Vec::<&str>::new());
    assert_eq!(graph.dependencies("d").unwrap(), ["a", "b"]);
    assert_eq!(graph.dependencies("e").unwrap(), ["c"]);
}

#[test]
fn cycles_are_reported_with_their_path() {
    let s = structure(json!([
        { "id": "a", "template": cm("a", json!({ "x": "${b.data.x}" })) },
        { "id": "b", "template": cm("b", json!({ "x": "${a.data.x}" })) }
    ]));
    assert_eq!(
        messages(infer_dependencies(&s, &no_functions)),
        ["spec.resources[1]: graph contains a cycle: a -> b -> a"]
    );
}

#[test]
fn self_references_are_refused() {
    let s = structure(
        json!([{ "id": "a", "template": cm("a", json!({ "x": "${a.metadata.name}" })) }]),
    );
    assert_eq!(
        messages(infer_dependencies(&s, &no_functions)),
        ["spec.resources[0]: self references are not allowed: a refers to itself"]
    );
}

#[test]
fn ready_when_reads_only_its_own_resource_or_each() {
    let s = structure(json!([
        { "id": "a", "template": cm("a", json!({})) },
        { "id": "b", "template": cm("b", json!({})), "readyWhen": ["${a.data.x == b.data.x}"] },
        { "id": "c", "template": cm("${n}", json!({})), "forEach": [{ "n": "${['x']}" }],
          "readyWhen": ["${c.data.x == 'y'}"] }
    ]));
    assert_eq!(
        messages(infer_dependencies(&s, &no_functions)),
        [
            "spec.resources[1].readyWhen[0]: readyWhen may only reference \"b\", found [\"a\"]",
            "spec.resources[2].readyWhen[0]: readyWhen may only reference \"each\", found [\"c\"]",
        ]
    );
}

#[test]
fn each_and_iterators_stay_in_their_contexts() {
    let s = structure(json!([
        { "id": "a", "template": cm("a", json!({ "x": "${each.data}" })) },
        { "id": "b", "template": cm("${n}", json!({})), "forEach": [{ "n": "${['x']}" }],
          "includeWhen": ["${n == 'x'}"] }
    ]));
    assert_eq!(
        messages(infer_dependencies(&s, &no_functions)),
        [
            "spec.resources[0].template.data.x: each is only available in the readyWhen expressions of a forEach collection",
            "spec.resources[1].includeWhen[0]: forEach iterators [\"n\"] can only be used in the resource's template",
        ]
    );
}

#[test]
fn parse_errors_name_the_expression() {
    let s = structure(json!([{ "id": "a", "template": cm("a", json!({ "x": "${1 +}" })) }]));
    let errors = infer_dependencies(&s, &no_functions).unwrap_err();
    assert_eq!(errors.0[0].expression.as_deref(), Some("1 +"));
    assert_eq!(
        errors.0[0].path.as_ref().unwrap().to_string(),
        "spec.resources[0].template.data.x"
    );
    assert!(errors.to_string().contains("`${1 +}`"), "{errors}");
}

#[test]
fn namespaced_functions_do_not_make_dependencies() {
    let s = structure(json!([
        { "id": "random", "template": cm("r", json!({})) },
        { "id": "b", "template": cm("b", json!({ "x": "${random.seededString(8, 'x')}" })) }
    ]));
    let graph = infer_dependencies(&s, &|name| name == "random.seededString").unwrap();
    assert!(graph.dependencies("b").unwrap().is_empty());
}
