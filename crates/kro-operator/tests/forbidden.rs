//! What the operator does when RBAC says no: `KubeCluster` reports
//! `Forbidden`, and the RGD CRD install uses an existing CRD it may not
//! update. The caller is the test namespace's `default` ServiceAccount,
//! impersonated by the admin client.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_operator::cluster::KubeCluster;
use kro_runtime::cluster::{Cluster, ClusterError, ListScope, ObjectKey, ResourceType};
use kro_schema::kinds::Gvk;
use kro_testenv::{TestNamespace, eventually, kubeconfig_path};
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::json;

/// A client acting as `system:serviceaccount:<namespace>:default`.
async fn as_service_account(namespace: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load kubeconfig");
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:default"));
    Client::try_from(config).expect("client")
}

fn config_maps() -> ResourceType {
    ResourceType {
        gvk: Gvk {
            group: String::new(),
            version: "v1".to_owned(),
            kind: "ConfigMap".to_owned(),
        },
        plural: "configmaps".to_owned(),
        namespaced: true,
    }
}

#[tokio::test]
async fn kube_cluster_reports_forbidden() {
    let ns = TestNamespace::create("forbidden-cluster").await;
    let cluster = KubeCluster::new(as_service_account(ns.name()).await);
    let key = ObjectKey {
        resource: config_maps(),
        namespace: Some(ns.name().to_owned()),
        name: "a".to_owned(),
    };
    let object = json!({ "apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": { "name": "a", "namespace": ns.name() } });
    let forbidden = |result: Result<_, ClusterError>, what: &str| match result {
        Err(ClusterError::Forbidden { .. }) => {}
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    };
    forbidden(cluster.get(&key).await.map(|_| ()), "get");
    forbidden(
        cluster
            .list(
                &config_maps(),
                ListScope::Namespace(ns.name()),
                &LabelSelector::default(),
            )
            .await
            .map(|_| ()),
        "list",
    );
    forbidden(
        cluster
            .apply(&config_maps(), &object, "kro-test")
            .await
            .map(|_| ()),
        "apply",
    );
    forbidden(cluster.delete(&key, "uid").await.map(|_| ()), "delete");
}

#[tokio::test]
async fn the_crd_install_uses_an_existing_crd_it_may_not_update() {
    let ns = TestNamespace::create("forbidden-crd").await;
    // The CRD exists (the admin installs it), as when Helm shipped it.
    kro_operator::install_rgd_crd::install(&ns.client())
        .await
        .expect("install as admin");

    let service_account = as_service_account(ns.name()).await;
    let refused = kro_operator::install_rgd_crd::install(&service_account)
        .await
        .expect_err("neither write nor read is allowed yet");
    assert!(
        format!("{refused:#}").contains("nor read it"),
        "{refused:#}"
    );

    // Allow reading CRDs, not writing them.
    let name = format!("kro-test-crd-reader-{}", ns.name());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": { "name": name },
        "rules": [{ "apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
                    "verbs": ["get", "list", "watch"] }]
    }))
    .expect("role literal");
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": { "name": name },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name },
        "subjects": [{ "kind": "ServiceAccount", "name": "default", "namespace": ns.name() }]
    }))
    .expect("binding literal");
    let roles = Api::<ClusterRole>::all(ns.client());
    let bindings = Api::<ClusterRoleBinding>::all(ns.client());
    roles
        .create(&PostParams::default(), &role)
        .await
        .expect("create role");
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("create binding");

    // RBAC takes effect through an informer: a moment later.
    eventually("the reader role to take effect", || async {
        kro_operator::install_rgd_crd::install(&service_account)
            .await
            .ok()
    })
    .await;

    let _ = bindings.delete(&name, &DeleteParams::default()).await;
    let _ = roles.delete(&name, &DeleteParams::default()).await;
}
