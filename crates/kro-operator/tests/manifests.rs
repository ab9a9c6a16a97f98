//! The plain install manifests under `deploy/` (rendered from the Helm chart
//! `charts/kro` by `cargo xtask manifests`) are valid Kubernetes: the API
//! server accepts every document in a server-side dry-run apply with strict
//! field validation, and the operator's pod passes the `restricted` Pod
//! Security Standard.
//!
//! Namespaced documents are applied to the test's namespace instead of
//! `kro-system`, which a dry run does not create.
//!
//! The default (aggregation) mode's RBAC is also checked as written (the
//! default kinds, and no RGD writes for people) and applied for real
//! (renamed for the test): it grants what the operator needs, no more, and
//! the operator starts and leads with it.

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kro_operator::args::Args;
use kro_testenv::impersonation::{allowed, kubeconfig_file_as};
use kro_testenv::manifests::{
    AGGREGATE_LABEL, DEFAULT_MANIFEST, OperatorRbac, UNRESTRICTED_MANIFEST, discover, documents,
    is_for_people, kind_of, name_of,
};
use kro_testenv::{TestNamespace, eventually};
use kube::api::{DynamicObject, Patch, PatchParams, PostParams, ValidationDirective};
use kube::discovery::Scope;
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

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
    let objects = check_manifest(DEFAULT_MANIFEST).await;
    for (kind, name) in [
        ("Namespace", "kro-system"),
        (
            "CustomResourceDefinition",
            "resourcegraphdefinitions.kro.run",
        ),
        ("ServiceAccount", "kro"),
        ("ClusterRole", "kro"),
        ("ClusterRole", "kro-core"),
        ("ClusterRole", "kro-resources"),
        ("ClusterRole", "kro-view"),
        ("ClusterRoleBinding", "kro"),
        ("Role", "kro-leader-election"),
        ("RoleBinding", "kro-leader-election"),
        ("Deployment", "kro"),
    ] {
        assert!(has(&objects, kind, name), "no {kind} {name} in {objects:?}");
    }
    let documents = documents(DEFAULT_MANIFEST);
    let aggregated = cluster_role(&documents, "kro");
    assert_eq!(
        aggregated["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"][AGGREGATE_LABEL],
        "true"
    );
}

#[tokio::test]
async fn unrestricted_manifest_is_valid() {
    let objects = check_manifest(UNRESTRICTED_MANIFEST).await;
    for (kind, name) in [
        ("ClusterRole", "kro"),
        ("ClusterRole", "kro-view"),
        ("ClusterRoleBinding", "kro"),
        ("Deployment", "kro"),
    ] {
        assert!(has(&objects, kind, name), "no {kind} {name} in {objects:?}");
    }
    // Its one ClusterRole covers the Lease, and everything else.
    assert!(!objects.iter().any(|(kind, _)| kind == "Role"));
    assert_eq!(
        cluster_role(&documents(UNRESTRICTED_MANIFEST), "kro")["rules"],
        json!([{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }])
    );
}

/// The ClusterRole `name` of a manifest's documents.
fn cluster_role<'a>(documents: &'a [Value], name: &str) -> &'a Value {
    documents
        .iter()
        .find(|document| kind_of(document).1 == "ClusterRole" && name_of(document) == name)
        .unwrap_or_else(|| panic!("no ClusterRole {name}"))
}

/// The default install grants the operator what it needs itself, and the
/// kinds of a typical web application, each with the verbs the operator
/// uses; clusterroles without `escalate` or `bind`.
#[test]
fn the_default_roles_grant_the_operator_kro_run_and_the_web_application_kinds() {
    let documents = documents(DEFAULT_MANIFEST);
    let written = json!([
        "get", "list", "watch", "create", "update", "patch", "delete"
    ]);
    assert_eq!(
        cluster_role(&documents, "kro-resources")["rules"],
        json!([
            { "apiGroups": [""], "resources": ["configmaps", "services"], "verbs": written },
            { "apiGroups": ["apps"], "resources": ["deployments"], "verbs": written },
            { "apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": written },
        ])
    );
    let core = cluster_role(&documents, "kro-core");
    assert_eq!(core["metadata"]["labels"][AGGREGATE_LABEL], "true");
    assert_eq!(
        core["rules"],
        json!([
            { "apiGroups": ["kro.run"], "resources": ["*"], "verbs": ["*"] },
            {
                "apiGroups": ["apiextensions.k8s.io"],
                "resources": ["customresourcedefinitions"],
                "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
            },
            { "apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"] },
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["get", "list", "create", "update", "patch", "delete"],
            },
        ])
    );
}

/// Whether `rule` (of a ClusterRole) lets its holder write RGDs.
fn writes_rgds(rule: &Value) -> bool {
    let names = |field: &str, wanted: &[&str]| {
        rule[field]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| wanted.iter().any(|w| item == w)))
    };
    names("apiGroups", &["kro.run", "*"])
        && names("resources", &["resourcegraphdefinitions", "*"])
        && names(
            "verbs",
            &[
                "create",
                "update",
                "patch",
                "delete",
                "deletecollection",
                "*",
            ],
        )
}

/// In every mode, nothing the chart aggregates into the built-in roles for
/// people lets them write RGDs; `view` reads them.
#[test]
fn no_role_for_people_writes_rgds() {
    for manifest in [DEFAULT_MANIFEST, UNRESTRICTED_MANIFEST] {
        let documents = documents(manifest);
        let for_people: Vec<&Value> = documents
            .iter()
            .filter(|document| kind_of(document).1 == "ClusterRole" && is_for_people(document))
            .collect();
        assert_eq!(
            for_people.iter().map(|d| name_of(d)).collect::<Vec<_>>(),
            ["kro-view"],
            "{manifest}"
        );
        for role in for_people {
            let rules = role["rules"].as_array().expect("rules");
            assert!(
                !rules.iter().any(writes_rgds),
                "{manifest}: {} writes RGDs",
                name_of(role)
            );
            assert_eq!(
                role["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"],
                "true"
            );
            assert_eq!(
                rules,
                &[json!({
                    "apiGroups": ["kro.run"],
                    "resources": ["resourcegraphdefinitions"],
                    "verbs": ["get", "list", "watch"],
                })]
            );
        }
    }
}

#[tokio::test]
async fn default_rbac_is_what_the_operator_needs() {
    let ns = TestNamespace::create("manifests-rbac").await;
    let client = ns.client();
    let rbac = OperatorRbac::of(DEFAULT_MANIFEST, ns.name());
    rbac.install(&client).await;
    let user = rbac.user().to_owned();
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
        ("deletecollection", "kro.run", "webapps", None),
        ("create", "", "events", Some(other)),
        ("create", "events.k8s.io", "events", Some(other)),
        ("patch", "coordination.k8s.io", "leases", Some(ns.name())),
        ("create", "apps", "deployments", Some(other)),
        ("watch", "", "configmaps", None),
        ("delete", "networking.k8s.io", "ingresses", Some(other)),
        ("create", "rbac.authorization.k8s.io", "clusterroles", None),
    ] {
        eventually(&format!("{user} may {access:?}"), || async {
            allowed(&client, &user, access).await.then_some(())
        })
        .await;
    }
    // And nothing beyond them.
    for access in [
        ("get", "", "secrets", Some(other)),
        ("create", "", "pods", Some(ns.name())),
        ("create", "apps", "statefulsets", Some(ns.name())),
        ("patch", "coordination.k8s.io", "leases", Some(other)),
        (
            "escalate",
            "rbac.authorization.k8s.io",
            "clusterroles",
            None,
        ),
        ("bind", "rbac.authorization.k8s.io", "clusterroles", None),
        (
            "create",
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            None,
        ),
    ] {
        assert!(
            !allowed(&client, &user, access).await,
            "{user} may {access:?}"
        );
    }

    // The operator, as that ServiceAccount, installs the CRD and leads.
    let path = kubeconfig_file_as(&user, ns.name());
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
    rbac.remove(&client).await;
}
