//! The whole flow on the example Application RGD: scan its templates, type
//! the variables from the real Kubernetes 1.36 schemas, check every
//! expression and its fit to the target field, then evaluate and write the
//! results back as JSON.

use std::io::Read;

use flate2::read::GzDecoder;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use kro_cel::assignability::{Target, check_assignable};
use kro_cel::openapi_types::SchemaTypes;
use kro_cel::result_json::to_template_json;
use kro_cel::template::{Template, scan_value};
use kro_cel::{Env, Type, Value};
use kro_schema::kinds::Gvk;
use kro_schema::openapi_document::OpenApiDocument;
use serde_json::{Value as Json, json};

const RGD: &str = include_str!("../../../examples/application/rgd.yaml");

fn kind_schema(file: &str, api_version: &str, kind: &str) -> JSONSchemaProps {
    let path = format!(
        "{}/../../data/kubernetes-openapi/v1.36/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = String::new();
    GzDecoder::new(std::fs::read(path).expect("committed schema").as_slice())
        .read_to_string(&mut text)
        .expect("gzip");
    OpenApiDocument::parse(file, serde_json::from_str(&text).expect("JSON"))
        .expect("document")
        .kind_schema(&Gvk::from_api_version(api_version, kind))
        .expect("served")
        .expect("schema")
        .schema
}

struct Typed {
    env: Env,
    resources: Vec<(&'static str, SchemaTypes)>,
}

fn typed(rgd: &Json) -> Typed {
    let spec =
        kro_schema::parse_spec(rgd.pointer("/spec/schema/spec"), None).expect("SimpleSchema");
    let spec = kro_schema::openapi::to_json_schema(&spec);
    let mut env = Env::kro();
    let schema = SchemaTypes::of_instance("__type_schema", &spec, false);
    schema.declare(&mut env);
    env.add_variable("schema", schema.root().clone());
    let mut resources = Vec::new();
    for (id, file, api_version, kind) in [
        (
            "deployment",
            "apis__apps__v1.json.gz",
            "apps/v1",
            "Deployment",
        ),
        ("service", "api__v1.json.gz", "v1", "Service"),
        (
            "ingress",
            "apis__networking.k8s.io__v1.json.gz",
            "networking.k8s.io/v1",
            "Ingress",
        ),
    ] {
        let types = SchemaTypes::of_resource(
            &format!("__type_{id}"),
            &kind_schema(file, api_version, kind),
        );
        types.declare(&mut env);
        env.add_variable(id, types.root().clone());
        resources.push((id, types));
    }
    Typed { env, resources }
}

/// Every template expression's mismatch message, if any.
fn check_templates(rgd: &Json, t: &Typed) -> Vec<String> {
    let mut errors = Vec::new();
    for resource in rgd
        .pointer("/spec/resources")
        .and_then(Json::as_array)
        .expect("resources")
    {
        let id = resource.get("id").and_then(Json::as_str).expect("id");
        let types = &t.resources.iter().find(|(r, _)| *r == id).expect("typed").1;
        for found in scan_value(resource.get("template").expect("template")).expect("scans") {
            let expected = match &found.template {
                Template::Standalone(_) => types.type_at(&found.path),
                _ => Type::String,
            };
            for e in found.template.expressions() {
                let compiled = match t.env.compile_kro(&e.source) {
                    Ok(c) => c,
                    Err(d) => {
                        errors.push(d.to_string());
                        continue;
                    }
                };
                let path = found.path.to_string();
                let target = Target {
                    resource: id,
                    path: &path,
                    expression: &e.source,
                };
                if let Err(m) = check_assignable(&t.env, target, compiled.result_type(), &expected)
                {
                    errors.push(m.to_string());
                }
            }
        }
    }
    errors
}

#[test]
fn the_example_type_checks() {
    let rgd: Json = serde_saphyr::from_str(RGD).expect("the example parses");
    let t = typed(&rgd);
    assert_eq!(check_templates(&rgd, &t), Vec::<String>::new());
    // Status expressions take their type from the resources.
    let conditions = t
        .env
        .compile_kro("deployment.status.conditions")
        .expect("checks");
    assert!(matches!(conditions.result_type(), Type::List(_)));
    let replicas = t
        .env
        .compile_kro("deployment.status.availableReplicas")
        .expect("checks");
    assert_eq!(replicas.result_type(), &Type::Int);
}

#[test]
fn a_wrong_template_is_reported_precisely() {
    let broken = RGD.replace("replicas: 3", "replicas: ${schema.spec.name}");
    let rgd: Json = serde_saphyr::from_str(&broken).expect("parses");
    let t = typed(&rgd);
    assert_eq!(
        check_templates(&rgd, &t),
        vec![r#"type mismatch in resource "deployment" at path "spec.replicas": expression "schema.spec.name" returns type "string" but expected "int": type kind mismatch: got "string", expected "int""#.to_string()]
    );
    let typo = RGD.replace("${schema.spec.image}", "${schema.spec.imag}");
    let rgd: Json = serde_saphyr::from_str(&typo).expect("parses");
    let errors = check_templates(&rgd, &typed(&rgd));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("undefined field 'imag'"), "{errors:?}");
}

#[test]
fn observed_state_evaluates_and_renders() {
    let rgd: Json = serde_saphyr::from_str(RGD).expect("parses");
    let t = typed(&rgd);
    let deployment_types = &t.resources[0].1;
    let observed = deployment_types.value_of(&json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": "2026-11-24T20:00:00Z"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"availableReplicas": 3, "conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": "2026-11-24T20:01:30Z"}
        ]}
    }));
    let instance = Value::from_json(
        &json!({"spec": {"name": "web", "image": "nginx", "ingress": {"enabled": false}}}),
    );
    let vars = [("deployment", observed), ("schema", instance)];
    let eval = |src: &str| {
        let v = t
            .env
            .compile_kro(src)
            .expect("checks")
            .eval(&vars)
            .expect("evaluates");
        to_template_json(&v).expect("JSON")
    };
    assert_eq!(
        eval("deployment.status.availableReplicas == deployment.spec.replicas"),
        Some(json!(true))
    );
    assert_eq!(
        eval("deployment.spec.selector.matchLabels"),
        Some(json!({"app": "web"}))
    );
    assert_eq!(
        eval(
            "deployment.status.conditions[0].lastTransitionTime - deployment.metadata.creationTimestamp"
        ),
        Some(json!("1m30s"))
    );
    assert_eq!(
        eval("deployment.metadata.creationTimestamp"),
        Some(json!("2026-11-24T20:00:00Z"))
    );
    assert_eq!(
        eval("schema.spec.name + '-service'"),
        Some(json!("web-service"))
    );
}
