//! kro-cel against real Kubernetes schemas: type-check every expression of
//! the Application RGD (`examples/application/rgd.yaml`: a Deployment, a
//! Service and an Ingress) against the committed 1.36 OpenAPI schemas, as
//! the RGD controller does on every RGD change; and evaluate a Deployment
//! `readyWhen`, as every instance reconcile does.

use std::hint::black_box;
use std::io::Read;

use criterion::{Criterion, criterion_group, criterion_main};
use flate2::read::GzDecoder;
use kro_cel::assignability::{Target, check_assignable, check_condition_type};
use kro_cel::openapi_types::SchemaTypes;
use kro_cel::template::{Template, scan_value};
use kro_cel::{Env, Type, Value};
use kro_schema::kinds::Gvk;
use kro_schema::openapi_document::OpenApiDocument;
use serde_json::{Value as Json, json};

const RGD: &str = include_str!("../../examples/application/rgd.yaml");

/// A built-in kind's schema from the committed documents.
fn kind_schema(
    file: &str,
    api_version: &str,
    kind: &str,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps {
    let path = format!(
        "{}/../data/kubernetes-openapi/v1.36/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("committed schema");
    let mut text = String::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .expect("gzip");
    let document =
        OpenApiDocument::parse(file, serde_json::from_str(&text).expect("JSON")).expect("document");
    document
        .kind_schema(&Gvk::from_api_version(api_version, kind))
        .expect("served kind")
        .expect("schema")
        .schema
}

/// The instance's spec schema, from the RGD's SimpleSchema.
fn spec_schema(
    rgd: &Json,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps {
    let spec =
        kro_schema::parse_spec(rgd.pointer("/spec/schema/spec"), None).expect("SimpleSchema");
    kro_schema::openapi::to_json_schema(&spec)
}

/// Everything the type check needs, prepared once per RGD.
struct Prepared {
    rgd: Json,
    env: Env,
    resources: Vec<(String, SchemaTypes)>,
}

fn prepare() -> Prepared {
    let rgd: Json = serde_saphyr::from_str(RGD).expect("the example parses");
    let kinds = [
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
    ];
    let mut env = Env::kro();
    let schema = SchemaTypes::of_instance("__type_schema", &spec_schema(&rgd), false);
    schema.declare(&mut env);
    env.add_variable("schema", schema.root().clone());
    let mut resources = Vec::new();
    for (id, file, api_version, kind) in kinds {
        let types = SchemaTypes::of_resource(
            &format!("__type_{id}"),
            &kind_schema(file, api_version, kind),
        );
        types.declare(&mut env);
        env.add_variable(id, types.root().clone());
        resources.push((id.to_string(), types));
    }
    Prepared {
        rgd,
        env,
        resources,
    }
}

/// Scans, compiles and checks every expression of the RGD; returns how many.
fn type_check(p: &Prepared) -> usize {
    let mut checked = 0;
    let resources = p
        .rgd
        .pointer("/spec/resources")
        .and_then(Json::as_array)
        .expect("resources");
    for resource in resources {
        let id = resource.get("id").and_then(Json::as_str).expect("id");
        let types = &p
            .resources
            .iter()
            .find(|(r, _)| r == id)
            .expect("known resource")
            .1;
        let template = resource.get("template").expect("template");
        for found in scan_value(template).expect("scans") {
            let expected = types.type_at(&found.path);
            for expression in found.template.expressions() {
                let compiled = p.env.compile_kro(&expression.source).expect("checks");
                let got = compiled.result_type();
                let (got, expected) = match &found.template {
                    Template::Standalone(_) => (got, &expected),
                    _ => (got, &Type::String),
                };
                let path = found.path.to_string();
                check_assignable(
                    &p.env,
                    Target {
                        resource: id,
                        path: &path,
                        expression: &expression.source,
                    },
                    got,
                    expected,
                )
                .expect("assignable");
                checked += 1;
            }
        }
        for condition in resource
            .get("includeWhen")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            for found in scan_value(condition).expect("scans") {
                for expression in found.template.expressions() {
                    let compiled = p.env.compile_kro(&expression.source).expect("checks");
                    check_condition_type("includeWhen", compiled.result_type()).expect("bool");
                    checked += 1;
                }
            }
        }
    }
    let status = p.rgd.pointer("/spec/schema/status").expect("status");
    for found in scan_value(status).expect("scans") {
        for expression in found.template.expressions() {
            p.env.compile_kro(&expression.source).expect("checks");
            checked += 1;
        }
    }
    checked
}

fn deployment() -> Json {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 2, "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
            }
        },
        "status": {
            "replicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "updatedReplicas": 3,
            "observedGeneration": 2,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
            ]
        }
    })
}

const READY_WHEN: &str = "deployment.status.availableReplicas == deployment.spec.replicas && deployment.status.observedGeneration == deployment.metadata.generation && deployment.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')";

fn benches(c: &mut Criterion) {
    let prepared = prepare();
    assert_eq!(type_check(&prepared), 12, "every expression of the example");
    c.bench_function("kubernetes/typecheck_application_rgd", |b| {
        b.iter(|| black_box(type_check(black_box(&prepared))));
    });
    let schemas = [
        kind_schema("apis__apps__v1.json.gz", "apps/v1", "Deployment"),
        kind_schema("api__v1.json.gz", "v1", "Service"),
        kind_schema(
            "apis__networking.k8s.io__v1.json.gz",
            "networking.k8s.io/v1",
            "Ingress",
        ),
    ];
    c.bench_function("kubernetes/convert_three_schemas", |b| {
        b.iter(|| {
            for schema in &schemas {
                black_box(SchemaTypes::of_resource("__type_x", black_box(schema)));
            }
        });
    });

    let compiled = prepared
        .env
        .compile_kro(READY_WHEN)
        .expect("readyWhen checks");
    assert_eq!(compiled.result_type(), &Type::Bool);
    let object = Value::from_json(&deployment());
    let ready = compiled
        .eval(&[("deployment", object.clone())])
        .expect("evaluates");
    assert!(ready.equals(&Value::Bool(true)));
    c.bench_function("kubernetes/ready_when_deployment", |b| {
        b.iter(|| black_box(compiled.eval(&[("deployment", black_box(object.clone()))])));
    });

    // Observed objects are converted with their schema (timestamps, bytes,
    // escaped names) once per reconcile.
    let deployment_types = &prepared.resources[0].1;
    let observed = deployment();
    c.bench_function("kubernetes/observed_deployment_value_of", |b| {
        b.iter(|| black_box(deployment_types.value_of(black_box(&observed))));
    });
}

criterion_group!(kubernetes, benches);
criterion_main!(kubernetes);
