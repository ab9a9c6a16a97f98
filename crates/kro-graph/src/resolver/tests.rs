use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use serde_json::json;

use super::builtin::bundled_files;
use super::*;

fn property<'a>(schema: &'a JSONSchemaProps, path: &[&str]) -> &'a JSONSchemaProps {
    path.iter().fold(schema, |schema, name| {
        schema
            .properties
            .as_ref()
            .and_then(|p| p.get(*name))
            .unwrap_or_else(|| panic!("no property {name} in {path:?}"))
    })
}

#[test]
fn bundles_every_dumped_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/kubernetes-openapi/v1.36");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        bundled_files(),
        on_disk,
        "update the bundled! list in builtin.rs"
    );
}

#[test]
fn resolves_deployment_with_references_inlined() {
    let builtin = BuiltinSchemas::new();
    let deployment = builtin
        .resolve(&Gvk::from_api_version("apps/v1", "Deployment"))
        .unwrap();
    assert_eq!(deployment.resource_type.plural, "deployments");
    assert!(deployment.resource_type.namespaced);
    let replicas = property(&deployment.schema, &["spec", "replicas"]);
    assert_eq!(replicas.type_.as_deref(), Some("integer"));
    assert_eq!(replicas.format.as_deref(), Some("int32"));
    let image = property(
        &deployment.schema,
        &["spec", "template", "spec", "containers"],
    );
    let container = image.items.as_ref().expect("containers has items");
    let container = match container {
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(s) => s,
        other => panic!("unexpected items {other:?}"),
    };
    assert_eq!(
        property(container, &["image"]).type_.as_deref(),
        Some("string")
    );
    let name = property(&deployment.schema, &["metadata", "name"]);
    assert_eq!(name.type_.as_deref(), Some("string"));
    let available = property(&deployment.schema, &["status", "availableReplicas"]);
    assert_eq!(available.type_.as_deref(), Some("integer"));
    // The description of the referencing field wins over the target's.
    assert!(
        property(&deployment.schema, &["spec"])
            .description
            .as_deref()
            .unwrap()
            .contains("Deployment")
    );
}

#[test]
fn knows_scope_and_plural_of_core_and_cluster_kinds() {
    let builtin = BuiltinSchemas::new();
    let service = builtin
        .resolve(&Gvk::from_api_version("v1", "Service"))
        .unwrap();
    assert_eq!(
        (
            service.resource_type.plural.as_str(),
            service.resource_type.namespaced
        ),
        ("services", true)
    );
    let namespace = builtin
        .resolve(&Gvk::from_api_version("v1", "Namespace"))
        .unwrap();
    assert_eq!(
        (
            namespace.resource_type.plural.as_str(),
            namespace.resource_type.namespaced
        ),
        ("namespaces", false)
    );
    let ingress = builtin
        .resolve(&Gvk::from_api_version("networking.k8s.io/v1", "Ingress"))
        .unwrap();
    assert_eq!(
        (
            ingress.resource_type.plural.as_str(),
            ingress.resource_type.namespaced
        ),
        ("ingresses", true)
    );
    let role = builtin
        .resolve(&Gvk::from_api_version(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
        ))
        .unwrap();
    assert!(!role.resource_type.namespaced);
}

#[test]
fn recursive_schemas_end_in_a_schemaless_object() {
    let builtin = BuiltinSchemas::new();
    let crd = builtin
        .resolve(&Gvk::from_api_version(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
        ))
        .unwrap();
    let versions = property(&crd.schema, &["spec", "versions"]);
    assert_eq!(versions.type_.as_deref(), Some("array"));
}

#[test]
fn unknown_kinds_and_versions_are_reported() {
    let builtin = BuiltinSchemas::new();
    for gvk in [
        Gvk::from_api_version("apps/v1", "Widget"),
        Gvk::from_api_version("apps/v2", "Deployment"),
        Gvk::from_api_version("example.com/v1", "Thing"),
    ] {
        let error = builtin.resolve(&gvk).unwrap_err();
        assert_eq!(error, ResolveError::UnknownKind { gvk: gvk.clone() });
        assert_eq!(error.to_string(), format!("schema not found for {gvk}"));
    }
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "metadata": { "name": "widgets.example.com" },
        "spec": {
            "group": "example.com",
            "names": { "kind": "Widget", "plural": "widgets" },
            "scope": "Cluster",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": { "spec": { "type": "object", "properties": { "size": { "type": "integer" } } } }
                }}
            }, {
                "name": "v0", "served": false, "storage": false
            }]
        }
    }))
    .unwrap()
}

#[test]
fn crd_kinds_get_standard_object_fields() {
    let builtin = BuiltinSchemas::new();
    let crds = CrdSchemas::new([&widget_crd()], &builtin.object_meta().unwrap());
    let widget = crds
        .resolve(&Gvk::from_api_version("example.com/v1", "Widget"))
        .unwrap();
    assert_eq!(
        (
            widget.resource_type.plural.as_str(),
            widget.resource_type.namespaced
        ),
        ("widgets", false)
    );
    assert_eq!(
        property(&widget.schema, &["spec", "size"]).type_.as_deref(),
        Some("integer")
    );
    assert_eq!(
        property(&widget.schema, &["metadata", "namespace"])
            .type_
            .as_deref(),
        Some("string")
    );
    assert_eq!(
        property(&widget.schema, &["kind"]).type_.as_deref(),
        Some("string")
    );
    assert!(
        crds.resolve(&Gvk::from_api_version("example.com/v0", "Widget"))
            .is_err(),
        "unserved"
    );
}

#[test]
fn chain_asks_in_order() {
    let builtin = BuiltinSchemas::new();
    let crds = CrdSchemas::new([&widget_crd()], &builtin.object_meta().unwrap());
    let chain = ChainResolver::new().with(crds).with(builtin);
    assert!(
        chain
            .resolve(&Gvk::from_api_version("example.com/v1", "Widget"))
            .is_ok()
    );
    assert!(
        chain
            .resolve(&Gvk::from_api_version("v1", "ConfigMap"))
            .is_ok()
    );
    assert!(matches!(
        chain.resolve(&Gvk::from_api_version("example.com/v1", "Gadget")),
        Err(ResolveError::UnknownKind { .. })
    ));
}

#[test]
fn gvk_formats() {
    let core = Gvk::from_api_version("v1", "Pod");
    assert_eq!(
        (core.group.as_str(), core.api_version()),
        ("", "v1".to_owned())
    );
    assert_eq!(
        Gvk::from_api_version("apps/v1", "Deployment").to_string(),
        "apps/v1, Kind=Deployment"
    );
}
