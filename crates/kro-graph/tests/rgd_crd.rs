//! The `ResourceGraphDefinition` CRD on a real API server: it is accepted,
//! and its admission rules reject malformed RGDs with a message that names
//! the field.

use kro_graph::api::{ResourceGraphDefinition, resource_graph_definition_crd};
use kro_testenv::TestNamespace;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

const APPLICATION: &str = include_str!("../../../examples/application/rgd.yaml");

/// Installs the CRD (idempotently: test binaries may share the cluster) and
/// waits until RGDs are served.
async fn install_crd(client: &Client) -> Api<ResourceGraphDefinition> {
    kro_testenv::apply_crd(client, &resource_graph_definition_crd(), "kro-graph-test").await;
    let rgds = Api::<ResourceGraphDefinition>::all(client.clone());
    kro_testenv::eventually("RGDs to be served", || async {
        rgds.list(&Default::default()).await.ok()
    })
    .await;
    rgds
}

fn rgd(name: &str, schema: Value, resources: Value) -> ResourceGraphDefinition {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "schema": schema, "resources": resources }
    }))
    .expect("test RGD literal deserialises")
}

/// Creates `rgd` and returns the API server's rejection message.
async fn rejection(rgds: &Api<ResourceGraphDefinition>, rgd: &ResourceGraphDefinition) -> String {
    match rgds.create(&PostParams::default(), rgd).await {
        Ok(_) => panic!("the API server accepted an invalid RGD: {rgd:?}"),
        Err(kube::Error::Api(status)) => status.message,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn accepts_the_application_example_with_defaults_applied() {
    let ns = TestNamespace::create("rgd-crd-accept").await;
    let rgds = install_crd(&ns.client()).await;
    let mut example: ResourceGraphDefinition =
        serde_saphyr::from_str(APPLICATION).expect("example parses");
    let name = format!("{}-app", ns.name());
    example.metadata.name = Some(name.clone());

    let created = rgds
        .create(&PostParams::default(), &example)
        .await
        .expect("create the example RGD");
    assert_eq!(
        created.spec.schema.group.as_deref(),
        Some("kro.run"),
        "group defaulted"
    );
    assert_eq!(
        created.spec.schema.scope,
        Some(kro_graph::api::Scope::Namespaced),
        "scope defaulted"
    );
    assert_eq!(
        created.spec.resources, example.spec.resources,
        "templates preserved as written"
    );
    rgds.delete(&name, &Default::default())
        .await
        .expect("delete");
}

#[tokio::test]
async fn rejects_malformed_rgds_naming_the_field() {
    let ns = TestNamespace::create("rgd-crd-reject").await;
    let rgds = install_crd(&ns.client()).await;
    let name = format!("{}-bad", ns.name());
    let schema = json!({ "apiVersion": "v1alpha1", "kind": "Widget" });
    let template = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" } });

    let both = rgd(
        &name,
        schema.clone(),
        json!([{
            "id": "cm", "template": template,
            "externalRef": { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" } }
        }]),
    );
    let message = rejection(&rgds, &both).await;
    assert!(message.contains("spec.resources[0]"), "{message}");
    assert!(
        message.contains("exactly one of template or externalRef must be provided"),
        "{message}"
    );

    let neither = rgd(&name, schema.clone(), json!([{ "id": "cm" }]));
    assert!(
        rejection(&rgds, &neither)
            .await
            .contains("exactly one of template or externalRef")
    );

    let name_and_selector = rgd(
        &name,
        schema.clone(),
        json!([{
            "id": "cm",
            "externalRef": { "apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": { "name": "x", "selector": { "matchLabels": { "a": "b" } } } }
        }]),
    );
    let message = rejection(&rgds, &name_and_selector).await;
    assert!(
        message.contains("spec.resources[0].externalRef.metadata"),
        "{message}"
    );
    assert!(
        message.contains("exactly one of name or selector"),
        "{message}"
    );

    let lower_kind = rgd(
        &name,
        json!({ "apiVersion": "v1alpha1", "kind": "widget" }),
        json!([]),
    );
    assert!(
        rejection(&rgds, &lower_kind)
            .await
            .contains("spec.schema.kind")
    );

    let bad_version = rgd(
        &name,
        json!({ "apiVersion": "1.0", "kind": "Widget" }),
        json!([]),
    );
    assert!(
        rejection(&rgds, &bad_version)
            .await
            .contains("spec.schema.apiVersion")
    );

    let bad_id = rgd(
        &name,
        schema.clone(),
        json!([{ "id": "My-Map", "template": template }]),
    );
    assert!(
        rejection(&rgds, &bad_id)
            .await
            .contains("spec.resources[0].id")
    );

    let two_iterators = rgd(
        &name,
        schema,
        json!([{
            "id": "cm", "template": template, "forEach": [{ "a": "${[1]}", "b": "${[2]}" }]
        }]),
    );
    assert!(
        rejection(&rgds, &two_iterators)
            .await
            .contains("spec.resources[0].forEach[0]")
    );
}

#[tokio::test]
async fn instance_kind_is_immutable() {
    let ns = TestNamespace::create("rgd-crd-immutable").await;
    let rgds = install_crd(&ns.client()).await;
    let name = format!("{}-imm", ns.name());
    let original = rgd(
        &name,
        json!({ "apiVersion": "v1alpha1", "kind": "Widget" }),
        json!([]),
    );
    rgds.create(&PostParams::default(), &original)
        .await
        .expect("create");

    let patch = json!({ "spec": { "schema": { "kind": "Gadget" } } });
    let error = rgds
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("changing the kind is refused");
    assert!(error.to_string().contains("kind is immutable"), "{error}");
    rgds.delete(&name, &Default::default())
        .await
        .expect("delete");
}
