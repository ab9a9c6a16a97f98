//! The plain install manifests under `deploy/` (rendered from the Helm chart
//! `charts/kro` by `cargo xtask manifests`) are valid Kubernetes: the API
//! server accepts every document in a server-side dry-run apply with strict
//! field validation, and the operator's pod passes the `restricted` Pod
//! Security Standard.
//!
//! Namespaced documents are applied to the test's namespace instead of
//! `kro-system`, which a dry run does not create.
//!
//! The aggregation mode's RBAC is also applied for real (renamed for the
//! test) and checked: it grants what the operator needs, no more, and the
//! operator starts and leads with it.

use std::path::Path;

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kro_operator::args::Args;
use kro_testenv::{TestNamespace, eventually, kubeconfig_path};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    ValidationDirective,
};
use kube::config::Kubeconfig;
use kube::discovery::{Scope, pinned_kind};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

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

/// The API resource of a document's kind, and whether it is namespaced.
async fn discover(client: &Client, document: &Value) -> (ApiResource, Scope) {
    let (api_version, kind) = kind_of(document);
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, capabilities) =
        pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .unwrap_or_else(|e| panic!("{api_version} {kind} is not served: {e}"));
    (resource, capabilities.scope)
}

/// Server-side applies `document` as a dry run with strict field
/// validation (what `kubectl apply --server-side --dry-run=server` does):
/// the API server decodes, defaults, validates and admits it, and stores
/// nothing.
async fn dry_run_apply(client: &Client, namespace: &str, document: &Value) {
    let (resource, scope) = discover(client, document).await;
    let kind = kind_of(document).1;
    let mut document = document.clone();
    let api: Api<DynamicObject> = match scope {
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

/// The label that aggregates ClusterRoles into the operator's.
const AGGREGATE_LABEL: &str = "rbac.kro.run/aggregate-to-controller";

/// The RBAC documents of the aggregation manifest, made the test's own:
/// cluster-scoped names get the namespace as suffix, namespaced objects and
/// subjects move to the namespace, and the aggregation label becomes one
/// that only this test uses. The `-edit` and `-view` roles are left out.
fn test_rbac(namespace: &str) -> Vec<Value> {
    let test_label = format!("kro.run/test-aggregate-{namespace}");
    let relabel = |labels: &mut Value| {
        if let Some(labels) = labels.as_object_mut()
            && labels.remove(AGGREGATE_LABEL).is_some()
        {
            labels.insert(test_label.clone(), json!("true"));
        }
    };
    documents(MANIFESTS[1])
        .into_iter()
        .filter(|document| match kind_of(document).1 {
            "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRoleBinding" => true,
            "ClusterRole" => ["kro", "kro-core"].contains(&name_of(document)),
            _ => false,
        })
        .map(|mut document| {
            if kind_of(&document).1.starts_with("Cluster") {
                let name = format!("{}-{namespace}", name_of(&document));
                document["metadata"]["name"] = json!(name);
            } else {
                document["metadata"]["namespace"] = json!(namespace);
            }
            if kind_of(&document).1 == "ClusterRoleBinding" {
                let role = format!(
                    "{}-{namespace}",
                    document["roleRef"]["name"]
                        .as_str()
                        .expect("a binding names its role")
                );
                document["roleRef"]["name"] = json!(role);
            }
            // (`pointer_mut`, not indexing: indexing would add missing
            // fields as nulls.)
            if let Some(subjects) = document
                .pointer_mut("/subjects")
                .and_then(Value::as_array_mut)
            {
                for subject in subjects {
                    subject["namespace"] = json!(namespace);
                }
            }
            if let Some(labels) = document.pointer_mut("/metadata/labels") {
                relabel(labels);
            }
            if let Some(selectors) = document
                .pointer_mut("/aggregationRule/clusterRoleSelectors")
                .and_then(Value::as_array_mut)
            {
                for selector in selectors {
                    relabel(&mut selector["matchLabels"]);
                }
            }
            document
        })
        .collect()
}

/// Server-side applies `document` for real.
async fn apply(client: &Client, document: &Value) {
    let (resource, scope) = discover(client, document).await;
    let kind = kind_of(document).1;
    let api: Api<DynamicObject> = match (scope, document["metadata"]["namespace"].as_str()) {
        (Scope::Namespaced, Some(namespace)) => {
            Api::namespaced_with(client.clone(), namespace, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    let name = name_of(document);
    api.patch(
        name,
        &PatchParams::apply("kro-manifests-test").force(),
        &Patch::Apply(document),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

/// Whether `user` may `verb` the resource, as the API server's authorizer
/// answers now.
async fn allowed(
    client: &Client,
    user: &str,
    (verb, group, resource, namespace): (&str, &str, &str, Option<&str>),
) -> bool {
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource, "namespace": namespace,
            },
        },
    }))
    .expect("a review literal");
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("create a SubjectAccessReview");
    answer.status.is_some_and(|status| status.allowed)
}

#[tokio::test]
async fn aggregation_rbac_is_what_the_operator_needs() {
    let ns = TestNamespace::create("manifests-rbac").await;
    let client = ns.client();
    let rbac = test_rbac(ns.name());
    for document in &rbac {
        apply(&client, document).await;
    }
    let user = format!("system:serviceaccount:{}:kro", ns.name());
    let other = "kube-system";

    // Each grant, once RBAC's informers (and, for the ClusterRole, the
    // aggregation controller) have caught up.
    for access in [
        (
            "patch",
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            None,
        ),
        ("watch", "kro.run", "resourcegraphdefinitions", None),
        ("patch", "kro.run", "resourcegraphdefinitions/status", None),
        (
            "update",
            "kro.run",
            "resourcegraphdefinitions/finalizers",
            None,
        ),
        ("create", "", "events", Some(other)),
        ("create", "events.k8s.io", "events", Some(other)),
        ("patch", "coordination.k8s.io", "leases", Some(ns.name())),
    ] {
        eventually(&format!("{user} may {access:?}"), || async {
            allowed(&client, &user, access).await.then_some(())
        })
        .await;
    }
    // And nothing beyond them.
    for access in [
        ("get", "", "secrets", Some(other)),
        ("create", "apps", "deployments", Some(ns.name())),
        ("patch", "coordination.k8s.io", "leases", Some(other)),
        ("create", "kro.run", "resourcegraphdefinitions", None),
        (
            "escalate",
            "rbac.authorization.k8s.io",
            "clusterroles",
            None,
        ),
    ] {
        assert!(
            !allowed(&client, &user, access).await,
            "{user} may {access:?}"
        );
    }

    // The operator, as that ServiceAccount, installs the CRD and leads.
    let mut kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read kubeconfig");
    for named in &mut kubeconfig.auth_infos {
        if let Some(auth_info) = named.auth_info.as_mut() {
            auth_info.impersonate = Some(user.clone());
        }
    }
    let path = std::env::temp_dir().join(format!("kro-{}.kubeconfig", ns.name()));
    std::fs::write(
        &path,
        serde_json::to_string(&kubeconfig).expect("a kubeconfig serialises"),
    )
    .expect("write kubeconfig");
    let args = Args::try_parse_from([
        "kro-operator".to_owned(),
        format!("--kubeconfig={}", path.display()),
        "--metrics-bind-address=0".to_owned(),
        "--health-probe-bind-address=0".to_owned(),
        "--leader-elect".to_owned(),
        format!("--leader-election-namespace={}", ns.name()),
    ])
    .expect("flags");
    let shutdown = CancellationToken::new();
    let operator = tokio::spawn(kro_operator::run(args, shutdown.clone()));
    let leases = ns.api::<Lease>();
    eventually("the operator to hold the Lease", || async {
        let lease = leases.get_opt("controller.kro.run").await.ok().flatten()?;
        lease
            .spec?
            .holder_identity
            .filter(|holder| !holder.is_empty())
    })
    .await;
    shutdown.cancel();
    let result = operator.await.expect("the operator task");
    let _ = std::fs::remove_file(&path);
    result.expect("the operator stops cleanly");

    for document in rbac
        .iter()
        .filter(|document| kind_of(document).1.starts_with("Cluster"))
    {
        let (resource, _) = discover(&client, document).await;
        let _ = Api::<DynamicObject>::all_with(client.clone(), &resource)
            .delete(name_of(document), &DeleteParams::default())
            .await;
    }
}
