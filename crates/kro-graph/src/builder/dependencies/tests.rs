use serde_json::{Value, json};

use super::*;
use crate::api::ResourceGraphDefinition;
use crate::builder::test_support::error_lines;
use crate::builder::types::{TypeCache, rgd_types};
use crate::builder::{BuildOptions, check_structure};
use crate::resolver::BuiltinSchemas;
use kro_cel::Env;

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

fn infer(structure: &Structure) -> Result<Dependencies, BuildErrors> {
    let types = rgd_types(&Env::kro(), structure, &TypeCache::default());
    infer_dependencies(structure, &types)
}

fn messages(result: Result<Dependencies, BuildErrors>) -> Vec<String> {
    error_lines(&result.expect_err("invalid"))
}

#[test]
fn application_example_orders_deployment_service_ingress() {
    let rgd: ResourceGraphDefinition = serde_saphyr::from_str(APPLICATION).unwrap();
    let structure =
        check_structure(&rgd, &BuiltinSchemas::new(), &BuildOptions::default()).unwrap();
    let graph = infer(&structure).unwrap().graph;
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
    let graph = infer(&s).unwrap().graph;
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
        messages(infer(&s)),
        ["spec.resources[1]: graph contains a cycle: a -> b -> a"]
    );
}

#[test]
fn self_references_are_refused() {
    let s = structure(
        json!([{ "id": "a", "template": cm("a", json!({ "x": "${a.metadata.name}" })) }]),
    );
    assert_eq!(
        messages(infer(&s)),
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
        messages(infer(&s)),
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
        messages(infer(&s)),
        [
            "spec.resources[0].template.data.x: each is only available in the readyWhen expressions of a forEach collection",
            "spec.resources[1].includeWhen[0]: forEach iterators [\"n\"] can only be used in the resource's template",
        ]
    );
}

#[test]
fn parse_errors_name_the_expression() {
    let s = structure(json!([{ "id": "a", "template": cm("a", json!({ "x": "${1 +}" })) }]));
    let errors = infer(&s).unwrap_err();
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
        { "id": "a", "template": cm("a", json!({})) },
        { "id": "b", "template": cm("b", json!({ "x": "${strings.quote(a.metadata.name)}" })) }
    ]));
    let graph = infer(&s).unwrap().graph;
    assert_eq!(graph.dependencies("b").unwrap(), ["a"]);
}

#[test]
fn unknown_names_and_functions_are_compile_errors() {
    let s = structure(json!([
        { "id": "a", "template": cm("a", json!({ "x": "${nope.value}", "y": "${frobnicate(1)}" })) }
    ]));
    let found = messages(infer(&s));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("spec.resources[0].template.data.x: ERROR: expression:1:1:"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("nope"), "{}", found[0]);
    assert!(found[1].contains("frobnicate"), "{}", found[1]);
}

#[test]
fn compiled_expressions_are_kept_with_their_context_and_path() {
    let rgd: ResourceGraphDefinition = serde_saphyr::from_str(APPLICATION).unwrap();
    let structure =
        check_structure(&rgd, &BuiltinSchemas::new(), &BuildOptions::default()).unwrap();
    let deps = infer(&structure).unwrap();
    let ingress: Vec<(Context, String)> = deps.expressions[2]
        .iter()
        .map(|e| (e.context, e.path.to_string()))
        .collect();
    assert_eq!(
        ingress[0],
        (
            Context::Template,
            "spec.resources[2].template.metadata.name".to_owned()
        )
    );
    assert_eq!(
        ingress.last().unwrap(),
        &(
            Context::IncludeWhen,
            "spec.resources[2].includeWhen[0]".to_owned()
        )
    );
}

#[test]
fn every_iterator_must_be_part_of_the_items_identity() {
    let s = structure(json!([
        { "id": "a", "template": cm("${zone}", json!({ "arch": "${arch}" })),
          "forEach": [{ "zone": "${['a', 'b']}" }, { "arch": "${['x86', 'arm']}" }] },
        { "id": "b", "template": cm("${zone}-${arch}", json!({})),
          "forEach": [{ "zone": "${['a']}" }, { "arch": "${['x86']}" }] }
    ]));
    assert_eq!(
        messages(infer(&s)),
        [
            "spec.resources[0].template.metadata.name: all forEach dimensions must be used to produce a unique resource identity (metadata.name or metadata.namespace), missing: [\"arch\"]"
        ]
    );
}

#[test]
fn omit_only_where_it_may_remove_a_field() {
    let s = structure(json!([
        { "id": "a", "template": cm("${omit()}", json!({ "x": "${schema.spec.on ? 'v' : omit()}" })),
          "includeWhen": ["${omit() == null}"] }
    ]));
    let env = Env::kro_with(kro_cel::KroOptions { omit: true });
    let types = rgd_types(&env, &s, &TypeCache::default());
    let found = messages(infer_dependencies(&s, &types));
    assert_eq!(
        found,
        [
            "spec.resources[0].template.metadata.name: omit() cannot be used at path metadata.name",
            "spec.resources[0].includeWhen[0]: omit() can only be used in resource template expressions",
        ]
    );
    // Without the feature gate, omit() is not declared at all.
    let without = messages(infer(&s));
    assert!(
        without[0].contains("undeclared reference to 'omit'"),
        "{without:?}"
    );
}

#[test]
fn types_must_fit_where_expressions_are_used() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "d-${1 + 1}" },
        "spec": { "replicas": "${'three'}", "paused": "${true}" }
    });
    let s = structure(json!([
        { "id": "d", "template": deployment,
          "includeWhen": ["${'yes'}"], "readyWhen": ["${d.spec.replicas}"] },
        { "id": "c", "template": cm("${x}", json!({})), "forEach": [{ "x": "${'not-a-list'}" }] }
    ]));
    assert_eq!(
        messages(infer(&s)),
        [
            "spec.resources[0].template.metadata.name: every expression of a string template must return a string, but this returns \"int\"",
            "spec.resources[0].template.spec.replicas: type mismatch in resource \"d\" at path \"spec.replicas\": expression \"'three'\" returns type \"string\" but expected \"int\": type kind mismatch: got \"string\", expected \"int\"",
            "spec.resources[0].includeWhen[0]: includeWhen must return bool or optional_type(bool), but returns \"string\"",
            "spec.resources[0].readyWhen[0]: readyWhen must return bool or optional_type(bool), but returns \"int\"",
            "spec.resources[1].forEach[0].x: forEach must return a list, but returns \"string\"",
        ]
    );
}

#[test]
fn template_literals_must_fit_the_kind() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "d", "labels": { "app": "d" } },
        "spec": {
            "replicas": "three",
            "replicaz": 3,
            "selector": { "matchLabels": { "app": "d" } },
            "template": { "spec": { "containers": [{ "name": "c", "image": "nginx",
                                                     "ports": [{ "containerPort": 80 }] }] } }
        }
    });
    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": { "name": "s" },
        "spec": { "ports": [{ "port": 80, "targetPort": "http" }] }
    });
    let s = structure(
        json!([{ "id": "d", "template": deployment }, { "id": "s", "template": service }]),
    );
    assert_eq!(
        messages(infer(&s)),
        [
            "spec.resources[0].template.spec.replicas: expected int value, got string literal",
            "spec.resources[0].template.spec.replicaz: unknown field \"replicaz\": the kind's schema does not have it",
        ]
    );
}

#[test]
fn a_resource_named_like_a_function_namespace_does_not_hide_its_functions() {
    let s = structure(json!([
        { "id": "strings", "template": cm("r", json!({})) },
        { "id": "b", "template": cm("b", json!({ "x": "${strings.quote('x')}" })) }
    ]));
    let graph = infer(&s).unwrap().graph;
    assert!(graph.dependencies("b").unwrap().is_empty());
}
