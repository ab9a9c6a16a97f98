use serde_json::{Value, json};

use super::*;
use crate::api::ResourceGraphDefinition;
use crate::builder::test_support::error_lines;
use crate::builder::{BuildOptions, check_structure};
use crate::resolver::BuiltinSchemas;

fn compile(status: Value) -> Result<InstanceStatus, BuildErrors> {
    let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
        "metadata": { "name": "test" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Widget", "status": status },
            "resources": [
                { "id": "deployment", "template": { "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "d" } } },
                { "id": "service", "template": { "apiVersion": "v1", "kind": "Service", "metadata": { "name": "s" } } }
            ]
        }
    }))
    .unwrap();
    let structure =
        check_structure(&rgd, &BuiltinSchemas::new(), &BuildOptions::default()).unwrap();
    let types = crate::builder::types::rgd_types(&Env::kro(), &structure, &Default::default());
    compile_status(&structure, rgd.spec.schema.status.as_ref(), &types.env)
}

fn messages(result: Result<InstanceStatus, BuildErrors>) -> Vec<String> {
    error_lines(&result.expect_err("invalid"))
}

#[test]
fn projections_and_their_dependencies() {
    let status = compile(json!({
        "availableReplicas": "${deployment.status.availableReplicas}",
        "endpoint": { "url": "http://${service.metadata.name}:80" },
        "name": "${schema.spec.name}"
    }))
    .unwrap();
    let paths: Vec<String> = status.fields.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["availableReplicas", "endpoint.url", "name"]);
    assert!(matches!(
        status.fields[1].template,
        Template::Interpolated(_)
    ));
    assert_eq!(status.fields[0].expressions[0].context, Context::Status);
    assert_eq!(status.dependencies, ["deployment", "service"]);
}

#[test]
fn literal_leaves_and_unanchored_expressions_are_refused() {
    assert_eq!(
        messages(compile(
            json!({ "protocol": "TCP", "ports": [80], "constant": "${1 + 1}" })
        )),
        [
            "spec.schema.status.protocol: status fields without expressions are not supported",
            "spec.schema.status.ports[0]: status fields without expressions are not supported",
            "spec.schema.status.constant: instance status field must refer to a resource or schema",
        ]
    );
    assert_eq!(
        messages(compile(json!("${x}"))),
        ["spec.schema.status: must be a map"]
    );
}

#[test]
fn conditions_are_standalone_expressions() {
    let status = compile(json!({
        "conditions": ["${[runtime.newCondition({type: 'Up', status: 'True'})]}"],
        "ready": "${deployment.status.readyReplicas}"
    }))
    .unwrap();
    assert_eq!(status.conditions.len(), 1);
    assert_eq!(status.conditions[0].context, Context::StatusCondition);
    assert_eq!(status.fields.len(), 1);

    assert_eq!(
        messages(compile(json!({ "conditions": "${x}" }))),
        ["spec.schema.status.conditions: status.conditions must be a list"]
    );
    assert_eq!(
        messages(compile(json!({ "conditions": ["up: ${x}"] }))),
        [
            "spec.schema.status.conditions[0]: only standalone expressions are allowed here: the value must be exactly one ${...}"
        ]
    );
}

#[test]
fn conditions_must_be_conditions() {
    let ok = compile(json!({
        "conditions": ["${runtime.newCondition({type: 'Up', status: deployment.status.readyReplicas > 0 ? 'True' : 'False'})}"]
    }))
    .unwrap();
    assert_eq!(ok.conditions.len(), 1);
    let wrong = messages(compile(
        json!({ "conditions": ["${deployment.status.readyReplicas}"] }),
    ));
    assert_eq!(
        wrong,
        [
            "spec.schema.status.conditions[0]: a status condition expression must return kro.run.Condition or a list of them, but returns \"int\""
        ]
    );
}
