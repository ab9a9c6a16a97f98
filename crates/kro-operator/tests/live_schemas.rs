//! `LiveSchemas` against the local control plane: built-in kinds, a CRD
//! created by the test, refetching only what changed, and the fallback to
//! the bundled schemas.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::resolver::{Gvk, ResolveError, SchemaResolver};
use kro_operator::live_schemas::LiveSchemas;
use kro_testenv::{TestNamespace, eventually};
use kube::Api;
use kube::api::DeleteParams;
use serde_json::json;

#[tokio::test]
async fn built_in_kinds_resolve_after_a_prefetch() {
    let ns = TestNamespace::create("schemas-builtin").await;
    let live = LiveSchemas::new(ns.client());
    let deployment = Gvk::new("apps", "v1", "Deployment");
    assert!(
        matches!(
            live.resolve(&deployment),
            Err(ResolveError::UnknownKind { .. })
        ),
        "nothing is resolved before a prefetch"
    );
    // The chain falls back to the bundled schemas meanwhile.
    let bundled = live
        .with_builtin_fallback()
        .resolve(&deployment)
        .expect("bundled Deployment");
    assert_eq!(bundled.resource_type.plural, "deployments");

    let config_map = Gvk::new("", "v1", "ConfigMap");
    live.prefetch(&[deployment.clone(), config_map.clone()])
        .await
        .expect("prefetch");
    let kind = live.resolve(&deployment).expect("live Deployment");
    assert_eq!(kind.resource_type.plural, "deployments");
    assert!(kind.resource_type.namespaced);
    let spec = kind
        .schema
        .properties
        .as_ref()
        .and_then(|p| p.get("spec"))
        .and_then(|s| s.properties.as_ref())
        .expect("Deployment spec properties");
    assert!(spec.contains_key("replicas"));
    assert_eq!(
        live.resolve(&config_map)
            .expect("ConfigMap")
            .resource_type
            .plural,
        "configmaps"
    );
    assert_eq!(
        live.documents_fetched(),
        2,
        "one document per group version"
    );
}

#[tokio::test]
async fn a_new_crd_resolves_and_unchanged_documents_are_not_fetched_again() {
    let ns = TestNamespace::create("schemas-crd").await;
    let client = ns.client();
    // CRDs are cluster-scoped and test binaries share the cluster: the
    // group is unique to this test's namespace.
    let group = format!("{}.schemas.kro.test", ns.name());
    let name = format!("gadgets.{group}");
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": name },
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList" },
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": { "spec": { "type": "object", "properties": {
                        "colour": { "type": "string" }
                    } } }
                } }
            }]
        }
    }))
    .expect("CRD literal");
    kro_testenv::apply_crd(&client, &crd, "kro-schema-test").await;

    // Ask for the index on every prefetch, to see that documents are
    // fetched only when their hash changes.
    let live = LiveSchemas::with_index_ttl(client.clone(), Duration::ZERO);
    let gadget = Gvk::new(&group, "v1alpha1", "Gadget");
    // Established comes a moment before the document is published.
    let kind = eventually("the CRD's OpenAPI document", || async {
        live.prefetch(std::slice::from_ref(&gadget)).await.ok()?;
        live.resolve(&gadget).ok()
    })
    .await;
    assert_eq!(kind.resource_type.plural, "gadgets");
    assert!(!kind.resource_type.namespaced, "a cluster-scoped CRD");
    let colour = kind
        .schema
        .properties
        .as_ref()
        .and_then(|p| p.get("spec"))
        .and_then(|s| s.properties.as_ref())
        .and_then(|p| p.get("colour"))
        .and_then(|c| c.type_.clone());
    assert_eq!(colour.as_deref(), Some("string"));
    assert!(
        kind.schema
            .properties
            .as_ref()
            .is_some_and(|p| p.contains_key("metadata")),
        "the served document includes metadata"
    );

    let (documents, indexes) = (live.documents_fetched(), live.index_fetches());
    live.prefetch(std::slice::from_ref(&gadget))
        .await
        .expect("prefetch again");
    assert_eq!(
        live.index_fetches(),
        indexes + 1,
        "the index is asked again"
    );
    assert_eq!(
        live.documents_fetched(),
        documents,
        "an unchanged document is not"
    );

    // Once the CRD is gone, the kind stops resolving.
    Api::<CustomResourceDefinition>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the CRD");
    eventually("the kind to be forgotten", || async {
        live.prefetch(std::slice::from_ref(&gadget)).await.ok()?;
        live.resolve(&gadget).is_err().then_some(())
    })
    .await;
}

#[tokio::test]
async fn built_ins_answer_when_the_server_cannot_be_reached() {
    // Nothing listens on port 1: every fetch fails at once.
    let config = kube::Config::new("http://127.0.0.1:1".parse().expect("valid URL"));
    let client = kube::Client::try_from(config).expect("client");
    let live = LiveSchemas::new(client);
    let deployment = Gvk::new("apps", "v1", "Deployment");
    let failed = live.prefetch(std::slice::from_ref(&deployment)).await;
    assert!(
        matches!(
            failed,
            Err(kro_operator::live_schemas::FetchError::Request { .. })
        ),
        "{failed:?}"
    );
    assert!(matches!(
        live.resolve(&deployment),
        Err(ResolveError::UnknownKind { .. })
    ));
    let chain = live.with_builtin_fallback();
    assert_eq!(
        chain
            .resolve(&deployment)
            .expect("bundled")
            .resource_type
            .plural,
        "deployments"
    );
    assert!(matches!(
        chain.resolve(&Gvk::new("nowhere.kro.test", "v1", "Thing")),
        Err(ResolveError::UnknownKind { .. })
    ));
}
