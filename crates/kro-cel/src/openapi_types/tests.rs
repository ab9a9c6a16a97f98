//! Conversion of the real Kubernetes 1.36 schemas committed under
//! `data/kubernetes-openapi`.

use std::io::Read;

use flate2::read::GzDecoder;
use kro_schema::kinds::Gvk;
use kro_schema::openapi_document::OpenApiDocument;

use super::{ListKind, SchemaTypes};
use crate::template::FieldPath;
use crate::types::Type;
use crate::{Env, Value};

/// The self-contained schema of a built-in kind, from its committed document.
pub(crate) fn kind(file: &str, api_version: &str, kind: &str) -> SchemaTypes {
    let path = format!(
        "{}/../../data/kubernetes-openapi/v1.36/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("committed schema");
    let mut json = String::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut json)
        .expect("gzip");
    let document =
        OpenApiDocument::parse(file, serde_json::from_str(&json).expect("json")).expect("document");
    let schema = document
        .kind_schema(&Gvk::from_api_version(api_version, kind))
        .expect("kind served")
        .expect("schema");
    SchemaTypes::of_resource(&format!("__type_{}", kind.to_lowercase()), &schema.schema)
}

fn path(p: &[&str]) -> FieldPath {
    let mut out = FieldPath::root();
    for s in p {
        match s.parse::<usize>() {
            Ok(i) => out = out.index(i),
            Err(_) => out = out.key(*s),
        }
    }
    out
}

fn ty(s: &str) -> Type {
    Type::parse(s).expect("type notation")
}

#[test]
fn deployment_fields_are_typed() {
    let t = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
    assert_eq!(t.root(), &Type::object("__type_deployment"));
    assert_eq!(t.type_at(&path(&["spec", "replicas"])), Type::Int);
    assert_eq!(t.type_at(&path(&["apiVersion"])), Type::String);
    assert_eq!(t.type_at(&path(&["metadata", "name"])), Type::String);
    assert_eq!(t.type_at(&path(&["metadata", "namespace"])), Type::String);
    assert_eq!(
        t.type_at(&path(&["metadata", "labels"])),
        ty("map(string, string)")
    );
    assert_eq!(
        t.type_at(&path(&["metadata", "creationTimestamp"])),
        Type::Timestamp
    );
    assert_eq!(
        t.type_at(&path(&["spec", "template", "spec", "containers"])),
        Type::list(Type::object(
            "__type_deployment.spec.template.spec.containers.@idx"
        ))
    );
    assert_eq!(
        t.type_at(&path(&[
            "spec",
            "template",
            "spec",
            "containers",
            "0",
            "image"
        ])),
        Type::String
    );
    // int-or-string
    assert_eq!(
        t.type_at(&path(&["spec", "strategy", "rollingUpdate", "maxSurge"])),
        Type::Dyn
    );
    assert_eq!(
        t.type_at(&path(&[
            "spec",
            "template",
            "spec",
            "containers",
            "0",
            "resources",
            "limits"
        ])),
        ty("map(string, dyn)")
    );
    assert_eq!(
        t.type_at(&path(&["status", "conditions", "0", "lastTransitionTime"])),
        Type::Timestamp
    );
    assert_eq!(
        t.type_at(&path(&["status", "availableReplicas"])),
        Type::Int
    );
    assert_eq!(
        t.list_kind("__type_deployment.spec.template.spec.containers"),
        Some(&ListKind::Map {
            keys: vec!["name".into()]
        })
    );
    // Unknown paths fall back to dyn but are reported as absent.
    assert_eq!(t.type_at(&path(&["spec", "nope"])), Type::Dyn);
    assert!(!t.has_path(&path(&["spec", "nope"])));
    assert!(t.has_path(&path(&["spec", "selector", "matchLabels", "app"])));
}

#[test]
fn deployment_expressions_type_check() {
    let t = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
    let mut env = Env::standard().with_variable("deployment", t.root().clone());
    t.declare(&mut env);
    let check = |src: &str| {
        env.compile(src)
            .map(|c| c.result_type().clone())
            .map_err(|d| d.to_string())
    };
    assert_eq!(
        check("deployment.status.availableReplicas == deployment.spec.replicas"),
        Ok(Type::Bool)
    );
    assert_eq!(
        check("deployment.spec.template.spec.containers.map(c, c.name)"),
        Ok(ty("list(string)"))
    );
    assert_eq!(
        check("deployment.metadata.?labels[?'app']"),
        Ok(ty("optional_type(string)"))
    );
    assert_eq!(
        check("deployment.metadata.creationTimestamp + duration('1h')"),
        Ok(Type::Timestamp)
    );
    let err = check("deployment.spec.replicaz").expect_err("unknown field");
    assert!(err.contains("undefined field 'replicaz'"), "{err}");
    let err = check("deployment.spec.replicas + 'x'").expect_err("int + string");
    assert!(err.contains("no matching overload"), "{err}");
    // Evaluation reads plain JSON objects.
    let c = env
        .compile("deployment.spec.replicas * 2")
        .expect("compiles");
    let v = Value::from_json(&serde_json::json!({"spec": {"replicas": 3}}));
    assert!(
        c.eval(&[("deployment", v)])
            .expect("evaluates")
            .equals(&Value::Int(6))
    );
}

#[test]
fn service_ingress_configmap_secret_job_namespace() {
    let service = kind("api__v1.json.gz", "v1", "Service");
    assert_eq!(
        service.type_at(&path(&["spec", "ports", "0", "port"])),
        Type::Int
    );
    assert_eq!(
        service.type_at(&path(&["spec", "ports", "0", "targetPort"])),
        Type::Dyn
    );
    assert_eq!(
        service.type_at(&path(&["spec", "selector"])),
        ty("map(string, string)")
    );
    assert_eq!(
        service.type_at(&path(&["status", "loadBalancer", "ingress", "0", "ip"])),
        Type::String
    );

    let ingress = kind(
        "apis__networking.k8s.io__v1.json.gz",
        "networking.k8s.io/v1",
        "Ingress",
    );
    assert_eq!(
        ingress.type_at(&path(&[
            "spec", "rules", "0", "http", "paths", "0", "backend", "service", "port", "number"
        ])),
        Type::Int
    );
    assert_eq!(
        ingress.type_at(&path(&["spec", "ingressClassName"])),
        Type::String
    );

    let configmap = kind("api__v1.json.gz", "v1", "ConfigMap");
    assert_eq!(
        configmap.type_at(&path(&["data"])),
        ty("map(string, string)")
    );
    assert_eq!(
        configmap.type_at(&path(&["binaryData"])),
        ty("map(string, bytes)")
    );
    assert_eq!(configmap.type_at(&path(&["immutable"])), Type::Bool);

    let secret = kind("api__v1.json.gz", "v1", "Secret");
    assert_eq!(secret.type_at(&path(&["data"])), ty("map(string, bytes)"));
    assert_eq!(
        secret.type_at(&path(&["stringData"])),
        ty("map(string, string)")
    );

    let job = kind("apis__batch__v1.json.gz", "batch/v1", "Job");
    assert_eq!(job.type_at(&path(&["spec", "backoffLimit"])), Type::Int);
    assert_eq!(
        job.type_at(&path(&["status", "startTime"])),
        Type::Timestamp
    );
    assert_eq!(
        job.type_at(&path(&["spec", "template", "spec", "restartPolicy"])),
        Type::String
    );

    let namespace = kind("api__v1.json.gz", "v1", "Namespace");
    assert_eq!(
        namespace.type_at(&path(&["spec", "finalizers"])),
        ty("list(string)")
    );
    assert_eq!(namespace.type_at(&path(&["status", "phase"])), Type::String);
}

#[test]
fn conversion_is_deterministic() {
    let a = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
    let b = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
    assert_eq!(a, b);
    let names: Vec<&str> = a.objects().map(|o| o.name.as_str()).collect();
    // Children are declared before their parents; the root comes last.
    assert_eq!(names.last().copied(), Some("__type_deployment"));
    assert!(names.contains(&"__type_deployment.metadata"));
}

fn schema(
    json: serde_json::Value,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps {
    serde_json::from_value(json).expect("schema")
}

#[test]
fn kubernetes_conventions() {
    let s = schema(serde_json::json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "namespace": {"type": "string"},
                    "app.kubernetes.io/name": {"type": "string"},
                    "my-field": {"type": "integer"},
                    "ratio": {"type": "number"},
                    "data": {"type": "string", "format": "byte"},
                    "day": {"type": "string", "format": "date"},
                    "timeout": {"type": "string", "format": "duration"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "port": {"x-kubernetes-int-or-string": true},
                    "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                    "anything": {},
                    "untypedMap": {"type": "object", "additionalProperties": true},
                    "9lives": {"type": "string"},
                    "inner": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "boolean"}}}}
                    }
                }
            },
            "metadata": {"type": "object"}
        }
    }));
    let t = SchemaTypes::of_resource("__type_schema", &s);
    let spec = t.object("__type_schema.spec").expect("spec type");
    let field = |n: &str| spec.fields.get(n).cloned();
    assert_eq!(field("__namespace__"), Some(Type::String));
    assert_eq!(field("namespace"), Some(Type::String));
    assert_eq!(
        field("app__dot__kubernetes__dot__io__slash__name"),
        Some(Type::String)
    );
    assert_eq!(field("my__dash__field"), Some(Type::Int));
    assert_eq!(field("ratio"), Some(Type::Double));
    assert_eq!(field("data"), Some(Type::Bytes));
    assert_eq!(field("day"), Some(Type::Timestamp));
    assert_eq!(field("timeout"), Some(Type::Duration));
    assert_eq!(field("free"), Some(Type::Dyn));
    assert_eq!(field("port"), Some(Type::Dyn));
    assert_eq!(field("tags"), Some(ty("list(string)")));
    assert_eq!(field("anything"), Some(Type::Dyn));
    assert_eq!(field("untypedMap"), Some(ty("map(string, dyn)")));
    assert_eq!(field("9lives"), None);
    assert_eq!(t.list_kind("__type_schema.spec.tags"), Some(&ListKind::Set));
    // Field paths use the names as written.
    assert_eq!(
        t.type_at(&path(&["spec", "app.kubernetes.io/name"])),
        Type::String
    );
    // Untyped metadata becomes ObjectMeta, on the root and on embedded resources.
    assert_eq!(t.type_at(&path(&["metadata", "namespace"])), Type::String);
    assert_eq!(
        t.type_at(&path(&["metadata", "ownerReferences", "0", "controller"])),
        Type::Bool
    );
    assert_eq!(t.type_at(&path(&["spec", "inner", "kind"])), Type::String);
    assert_eq!(
        t.type_at(&path(&["spec", "inner", "metadata", "labels"])),
        ty("map(string, string)")
    );
    assert_eq!(
        t.type_at(&path(&["spec", "inner", "spec", "a"])),
        Type::Bool
    );
    // Escaped names are what expressions use.
    let mut env = Env::standard().with_variable("schema", t.root().clone());
    t.declare(&mut env);
    let c = env.compile("schema.spec.__namespace__ + string(schema.spec.my__dash__field)");
    assert!(c.is_ok(), "{:?}", c.err().map(|d| d.to_string()));
}

#[test]
fn hostile_depth_becomes_dyn() {
    // Debug builds use large frames for the schema structs: give the
    // deserialiser room, the converter itself stops at its depth limit.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut json = serde_json::json!({"type": "string"});
            for _ in 0..80 {
                json = serde_json::json!({"type": "object", "properties": {"a": json}});
            }
            let t = SchemaTypes::of_schema("__type_deep", &schema(json));
            assert!(matches!(t.root(), Type::Object(_)));
            assert!(t.objects().count() <= 66);
        })
        .expect("thread");
    handle.join().expect("no panic");
}

#[test]
fn instance_schema() {
    let spec = schema(serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "replicas": {"type": "integer"}}
    }));
    let namespaced = SchemaTypes::of_instance("__type_schema", &spec, false);
    assert_eq!(namespaced.type_at(&path(&["spec", "replicas"])), Type::Int);
    assert_eq!(namespaced.type_at(&path(&["kind"])), Type::String);
    assert_eq!(
        namespaced.type_at(&path(&["metadata", "namespace"])),
        Type::String
    );
    assert!(!namespaced.has_path(&path(&["status"])));
    let cluster = SchemaTypes::of_instance("__type_schema", &spec, true);
    assert!(!cluster.has_path(&path(&["metadata", "namespace"])));
    assert!(cluster.has_path(&path(&["metadata", "name"])));
}
