use indexmap::IndexMap;

use super::{Target, check_assignable, check_condition_type, fits};
use crate::decls::{Env, ObjectType};
use crate::openapi_types::tests::kind;
use crate::types::Type;

fn ty(s: &str) -> Type {
    Type::parse(s).expect("type notation")
}

fn object(name: &str, fields: &[(&str, Type)]) -> ObjectType {
    ObjectType {
        name: name.into(),
        fields: fields
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect::<IndexMap<_, _>>(),
    }
}

fn env() -> Env {
    let mut env = Env::standard();
    env.add_object_type(object(
        "Port",
        &[("name", Type::String), ("port", Type::Int)],
    ));
    env.add_object_type(object("PortName", &[("name", Type::String)]));
    env.add_object_type(object(
        "Other",
        &[("name", Type::String), ("extra", Type::Bool)],
    ));
    env.add_object_type(object("Labels", &[("app", Type::String)]));
    env
}

const AT: Target<'static> = Target {
    resource: "deployment",
    path: "spec.replicas",
    expression: "schema.spec.name",
};

#[test]
fn accepted_pairs() {
    let env = env();
    let ok = [
        ("int", "int"),
        ("dyn", "int"),
        ("list(string)", "dyn"),
        ("optional_type(int)", "int"),
        ("optional_type(list(string))", "list(string)"),
        ("list(int)", "list(int)"),
        ("list(dyn)", "list(string)"),
        ("map(string, int)", "map(string, int)"),
        ("map(string, dyn)", "map(string, list(int))"),
        ("PortName", "Port"),
        ("Port", "Port"),
        ("list(PortName)", "list(Port)"),
        ("map(string, string)", "Labels"),
        ("Labels", "map(string, string)"),
        ("map(dyn, dyn)", "Port"),
        ("null_type", "Port"),
        ("google.protobuf.Timestamp", "google.protobuf.Timestamp"),
        ("A", "string"),
    ];
    for (got, expected) in ok {
        assert_eq!(
            fits(&env, &ty(got), &ty(expected), 0),
            Ok(()),
            "{got} should fit {expected}"
        );
    }
}

#[test]
fn rejected_pairs_explain_why() {
    let env = env();
    let rejected = [
        (
            "string",
            "int",
            r#"type kind mismatch: got "string", expected "int""#,
        ),
        (
            "int",
            "double",
            r#"type kind mismatch: got "int", expected "double""#,
        ),
        (
            "null_type",
            "string",
            r#"type kind mismatch: got "null_type", expected "string""#,
        ),
        (
            "list(string)",
            "list(int)",
            r#"list element type incompatible: type kind mismatch: got "string", expected "int""#,
        ),
        (
            "string",
            "list(string)",
            r#"type kind mismatch: got "string", expected "list(string)""#,
        ),
        (
            "map(int, string)",
            "map(string, string)",
            r#"map key type incompatible: type kind mismatch: got "int", expected "string""#,
        ),
        (
            "map(string, int)",
            "map(string, string)",
            r#"map value type incompatible: type kind mismatch: got "int", expected "string""#,
        ),
        (
            "Other",
            "Port",
            r#"field "extra" exists in output but not in expected type"#,
        ),
        (
            "map(string, int)",
            "Port",
            r#"map value incompatible with struct field "name": type kind mismatch: got "int", expected "string""#,
        ),
        (
            "map(int, string)",
            "Labels",
            "map keys must be strings to assign to struct",
        ),
        (
            "Port",
            "map(string, string)",
            r#"struct field "port" incompatible with map value type: type kind mismatch: got "int", expected "string""#,
        ),
        (
            "optional_type(string)",
            "int",
            r#"type kind mismatch: got "string", expected "int""#,
        ),
    ];
    for (got, expected, why) in rejected {
        assert_eq!(
            fits(&env, &ty(got), &ty(expected), 0),
            Err(why.to_string()),
            "{got} into {expected}"
        );
    }
}

#[test]
fn message_names_resource_path_expression_and_types() {
    let err = check_assignable(&env(), AT, &Type::String, &Type::Int).expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        r#"type mismatch in resource "deployment" at path "spec.replicas": expression "schema.spec.name" returns type "string" but expected "int": type kind mismatch: got "string", expected "int""#
    );
    assert_eq!(err.got, Type::String);
    assert_eq!(err.expected, Type::Int);
}

#[test]
fn real_schemas() {
    let deployment = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
    let service = kind("api__v1.json.gz", "v1", "Service");
    let mut env = Env::standard();
    deployment.declare(&mut env);
    service.declare(&mut env);
    let path = |p: &str| {
        let mut out = crate::template::FieldPath::root();
        for s in p.split('.') {
            out = match s.parse::<usize>() {
                Ok(i) => out.index(i),
                Err(_) => out.key(s),
            };
        }
        out
    };
    let container_ports = deployment.type_at(&path("spec.template.spec.containers.0.ports"));
    let service_ports = service.type_at(&path("spec.ports"));
    let labels = deployment.type_at(&path("metadata.labels"));
    let selector = service.type_at(&path("spec.selector"));
    // Same shape: labels into a selector.
    assert_eq!(fits(&env, &labels, &selector, 0), Ok(()));
    // A service's ports are not container ports.
    let err = fits(&env, &service_ports, &container_ports, 0).expect_err("different fields");
    assert!(
        err.starts_with("list element type incompatible: field \"appProtocol\" exists in output but not in expected type"),
        "{err}"
    );
    // A whole container fits a container.
    let container = deployment.type_at(&path("spec.template.spec.containers.0"));
    assert_eq!(fits(&env, &container, &container, 0), Ok(()));
    // replicas from a string parameter is refused.
    let replicas = deployment.type_at(&path("spec.replicas"));
    assert!(fits(&env, &Type::String, &replicas, 0).is_err());
}

#[test]
fn conditions_must_be_bool() {
    assert_eq!(check_condition_type("readyWhen", &Type::Bool), Ok(()));
    assert_eq!(
        check_condition_type("readyWhen", &Type::optional(Type::Bool)),
        Ok(())
    );
    assert_eq!(check_condition_type("readyWhen", &Type::Dyn), Ok(()));
    assert_eq!(
        check_condition_type("includeWhen", &Type::Int),
        Err("includeWhen must return bool or optional_type(bool), but returns \"int\"".into())
    );
}
