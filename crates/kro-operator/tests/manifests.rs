//! The plain install manifests under `deploy/` (rendered from the Helm chart
//! `charts/kro` by `cargo xtask manifests`) are valid Kubernetes: the API
//! server accepts every document in a server-side dry-run apply with strict
//! field validation, and the operator's pod passes the `restricted` Pod
//! Security Standard.
//!
//! Namespaced documents are applied to the test's namespace instead of
//! `kro-system`, which a dry run does not create.

use std::path::Path;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kro_testenv::TestNamespace;
use kube::api::{
    DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams, ValidationDirective,
};
use kube::discovery::{Scope, pinned_kind};
use kube::{Api, Client};
use serde_json::{Value, json};

/// The rendered manifests, relative to the workspace root.
const MANIFESTS: [&str; 2] = ["deploy/kro.yaml", "deploy/kro-aggregation.yaml"];

/// The YAML documents of a manifest under the workspace root.
fn documents(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("parse {file}: {e}"))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

fn kind_of(document: &Value) -> (&str, &str) {
    let text = |field: &str| {
        document[field]
            .as_str()
            .unwrap_or_else(|| panic!("a document without {field}: {document}"))
    };
    (text("apiVersion"), text("kind"))
}

fn name_of(document: &Value) -> &str {
    document["metadata"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("a document without a name: {document}"))
}

/// Server-side applies `document` as a dry run with strict field
/// validation (what `kubectl apply --server-side --dry-run=server` does):
/// the API server decodes, defaults, validates and admits it, and stores
/// nothing.
async fn dry_run_apply(client: &Client, namespace: &str, document: &Value) {
    let (api_version, kind) = kind_of(document);
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, capabilities) = pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("{api_version} {kind} is not served: {e}"));
    let mut document = document.clone();
    let api: Api<DynamicObject> = match capabilities.scope {
        Scope::Namespaced => {
            document["metadata"]["namespace"] = json!(namespace);
            Api::namespaced_with(client.clone(), namespace, &resource)
        }
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    let name = name_of(&document).to_owned();
    let params = PatchParams {
        dry_run: true,
        force: true,
        field_manager: Some("kro-manifests-test".to_owned()),
        field_validation: Some(ValidationDirective::Strict),
    };
    api.patch(&name, &params, &Patch::Apply(&document))
        .await
        .unwrap_or_else(|e| panic!("{kind} {name} refused: {e}"));
}

/// Every document of `file`, dry-run applied; returns their kinds and names.
async fn check_manifest(file: &str) -> Vec<(String, String)> {
    let ns = TestNamespace::create("manifests").await;
    let client = ns.client();
    let documents = documents(file);
    for document in &documents {
        dry_run_apply(&client, ns.name(), document).await;
    }
    check_pod_security(&ns, file, &documents).await;
    documents
        .iter()
        .map(|document| (kind_of(document).1.to_owned(), name_of(document).to_owned()))
        .collect()
}

/// The operator's pod, as its Deployment would create it, is admitted to a
/// namespace that enforces the `restricted` Pod Security Standard (as
/// `kro-system` in the manifests does).
async fn check_pod_security(ns: &TestNamespace, file: &str, documents: &[Value]) {
    let deployment = documents
        .iter()
        .find(|document| kind_of(document).1 == "Deployment")
        .unwrap_or_else(|| panic!("{file} has no Deployment"));
    let deployment: Deployment =
        serde_json::from_value(deployment.clone()).expect("a Deployment document");
    let template = deployment.spec.expect("a Deployment has a spec").template;
    let mut spec = template.spec.expect("a pod template has a spec");
    // The dry run does not create the manifests' ServiceAccount.
    spec.service_account_name = Some("default".to_owned());
    let pod = Pod {
        metadata: kube::api::ObjectMeta {
            name: Some("kro-operator".to_owned()),
            labels: template.metadata.and_then(|metadata| metadata.labels),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    };
    Api::<Namespace>::all(ns.client())
        .patch(
            ns.name(),
            &PatchParams::apply("kro-manifests-test"),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns.name(),
                    "labels": { "pod-security.kubernetes.io/enforce": "restricted" },
                },
            })),
        )
        .await
        .expect("label the namespace");
    ns.api::<Pod>()
        .create(
            &PostParams {
                dry_run: true,
                field_manager: None,
            },
            &pod,
        )
        .await
        .unwrap_or_else(|e| panic!("the operator's pod from {file} is not admitted: {e}"));
}

fn has(objects: &[(String, String)], kind: &str, name: &str) -> bool {
    objects.iter().any(|(k, n)| k == kind && n == name)
}

#[tokio::test]
async fn default_manifest_is_valid() {
    let objects = check_manifest(MANIFESTS[0]).await;
    for (kind, name) in [
        ("Namespace", "kro-system"),
        (
            "CustomResourceDefinition",
            "resourcegraphdefinitions.kro.run",
        ),
        ("ServiceAccount", "kro"),
        ("ClusterRole", "kro"),
        ("ClusterRoleBinding", "kro"),
        ("Deployment", "kro"),
    ] {
        assert!(has(&objects, kind, name), "no {kind} {name} in {objects:?}");
    }
    // unrestricted mode needs no Role of its own for the Lease.
    assert!(!objects.iter().any(|(kind, _)| kind == "Role"));
}

#[tokio::test]
async fn aggregation_manifest_is_valid() {
    let objects = check_manifest(MANIFESTS[1]).await;
    for (kind, name) in [
        ("ClusterRole", "kro"),
        ("ClusterRole", "kro-core"),
        ("ClusterRoleBinding", "kro"),
        ("Role", "kro-leader-election"),
        ("RoleBinding", "kro-leader-election"),
        ("Deployment", "kro"),
    ] {
        assert!(has(&objects, kind, name), "no {kind} {name} in {objects:?}");
    }
    let documents = documents(MANIFESTS[1]);
    let aggregated = documents
        .iter()
        .find(|document| kind_of(document).1 == "ClusterRole" && name_of(document) == "kro")
        .expect("the operator's ClusterRole");
    assert_eq!(
        aggregated["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]["rbac.kro.run/aggregate-to-controller"],
        "true"
    );
}
