//! Least privilege, end to end, with an operator that has exactly the
//! rights of the default install: the RBAC of `deploy/kro.yaml`, bound to
//! a ServiceAccount of the test that the operator impersonates. It serves
//! an RGD whose kinds those rights cover and writes roles for people that
//! go away with the RGD; it refuses an RGD naming a kind they do not
//! cover, saying which, until a labelled ClusterRole grants it; and a
//! tenant with only `edit` in a namespace may create instances there, but
//! not RGDs.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kro_graph::api::{ConditionStatus, ResourceGraphDefinition, RgdState};
use kro_testenv::impersonation::{allowed, client_as, kubeconfig_file_as};
use kro_testenv::manifests::{DEFAULT_MANIFEST, OperatorRbac};
use kro_testenv::{TestNamespace, eventually};
use kube::api::{ApiResource, DeleteParams, DynamicObject, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use super::{Operator, apply, condition_is, conditions, rgd, rgds, state, wait_for};

/// A kind of group `kro.run`, which the default rights cover, unique to
/// the test's namespace: (kind, plural).
fn kro_run_kind(ns: &TestNamespace, prefix: &str) -> (String, String) {
    let digits: String = ns.name().chars().filter(char::is_ascii_digit).collect();
    let kind = format!("{prefix}{digits}");
    let plural = kro_schema::pluralize::pluralize(&kind.to_ascii_lowercase());
    (kind, plural)
}

/// An RGD of this test whose instances are of `kind` in group `kro.run`.
fn kro_run_rgd(ns: &TestNamespace, name: &str, kind: &str, resource: Value) -> (String, Value) {
    let (name, mut body) = rgd(
        ns,
        name,
        json!({
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": kind, "spec": {} },
                "resources": [resource],
            }
        }),
    );
    body["spec"]["schema"]["group"] = json!("kro.run");
    (name, body)
}

/// A resource creating an object of `kind` (v1) named after the instance.
fn named_after_instance(kind: &str, data: Value) -> Value {
    json!({
        "id": "stored",
        "template": {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": { "name": "${schema.metadata.name}" },
            "data": data,
        }
    })
}

/// The instances of `kind` in `namespace`, as `client` sees them.
fn instances(client: &Client, namespace: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "kro.run".to_owned(),
        version: "v1alpha1".to_owned(),
        api_version: "kro.run/v1alpha1".to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    };
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn instance(kind: &str, name: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "kro.run/v1alpha1",
        "kind": kind,
        "metadata": { "name": name },
        "spec": {},
    }))
    .expect("an instance literal")
}

/// Whether a request failed with 403 Forbidden.
fn forbidden<T>(result: &Result<T, kube::Error>) -> bool {
    matches!(result, Err(kube::Error::Api(status)) if status.code == 403)
}

/// The per-RGD roles for people of the instances `plural.kro.run`.
fn role_names(plural: &str) -> [String; 2] {
    ["edit", "view"].map(|flavour| format!("kro:instances:{plural}.kro.run:{flavour}"))
}

#[tokio::test]
async fn the_default_rights_serve_what_they_cover_and_name_what_they_do_not() {
    let ns = TestNamespace::create("privilege").await;
    let client = ns.client();
    let rbac = OperatorRbac::of(DEFAULT_MANIFEST, ns.name());
    rbac.install(&client).await;
    for access in [
        ("create", "", "configmaps", None),
        ("create", "rbac.authorization.k8s.io", "clusterroles", None),
    ] {
        eventually("the operator's rights to be aggregated", || async {
            allowed(&client, rbac.user(), access).await.then_some(())
        })
        .await;
    }
    let kubeconfig = kubeconfig_file_as(rbac.user(), ns.name());
    let operator = Operator::start_as(
        &ns,
        &kubeconfig,
        &["--instance-user-roles", "--allow-crd-deletion"],
    )
    .await;

    // ConfigMaps are among the default kinds: served, with roles for
    // people owned by the RGD.
    let (web_kind, web_plural) = kro_run_kind(&ns, "Web");
    let (web, body) = kro_run_rgd(
        &ns,
        "web",
        &web_kind,
        named_after_instance("ConfigMap", json!({ "from": "kro" })),
    );
    apply(&client, &web, &body).await;
    let served = wait_for(&client, &web, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let roles = Api::<ClusterRole>::all(client.clone());
    for name in role_names(&web_plural) {
        let role = roles
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("ClusterRole {name}: {e}"));
        let owners = role.metadata.owner_references.unwrap_or_default();
        assert_eq!(owners.len(), 1, "{name}");
        assert_eq!(Some(&owners[0].uid), served.metadata.uid.as_ref(), "{name}");
    }

    // A tenant with only `edit` in the namespace may create instances
    // there, through the role the operator aggregated into `edit`...
    let tenant = format!("tenant-{}", ns.name());
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": { "name": "tenant-edit" },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit" },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": tenant }],
    }))
    .expect("a binding literal");
    ns.api::<RoleBinding>()
        .create(&PostParams::default(), &binding)
        .await
        .expect("bind edit to the tenant");
    let may_create = ("create", "kro.run", web_plural.as_str(), Some(ns.name()));
    eventually("edit to include the instance kind", || async {
        allowed(&client, &tenant, may_create).await.then_some(())
    })
    .await;
    let as_tenant = client_as(&tenant, &[]).await;
    let mine = instances(&as_tenant, ns.name(), &web_kind, &web_plural);
    mine.create(&PostParams::default(), &instance(&web_kind, "site"))
        .await
        .expect("the tenant creates an instance");
    eventually("the instance's ConfigMap", || async {
        ns.api::<ConfigMap>().get_opt("site").await.ok().flatten()
    })
    .await;
    // ...but not elsewhere, and no RGD anywhere.
    let elsewhere = instances(&as_tenant, "default", &web_kind, &web_plural)
        .create(&PostParams::default(), &instance(&web_kind, "site"))
        .await;
    assert!(forbidden(&elsewhere), "{elsewhere:?}");
    let (_, body) = kro_run_rgd(
        &ns,
        "tenants-own",
        "TenantsOwn",
        named_after_instance("ConfigMap", json!({})),
    );
    let rgd: ResourceGraphDefinition = serde_json::from_value(body).expect("an RGD");
    let written = rgds(&as_tenant).create(&PostParams::default(), &rgd).await;
    assert!(forbidden(&written), "{written:?}");

    // Secrets are not among the default kinds: refused, naming the kind,
    // the verbs and how to grant them; no roles for people.
    let (vault_kind, vault_plural) = kro_run_kind(&ns, "Vault");
    let (vault, body) = kro_run_rgd(
        &ns,
        "vault",
        &vault_kind,
        named_after_instance("Secret", json!({ "token": "a2Vybm8=" })),
    );
    apply(&client, &vault, &body).await;
    let refused = wait_for(&client, &vault, "ControllerReady=False", |r| {
        condition_is(r, "ControllerReady", ConditionStatus::False)
    })
    .await;
    let (_, reason, message) = &conditions(&refused)["ControllerReady"];
    assert_eq!(reason, "MissingPermissions");
    for part in [
        "the operator may not get, list, watch, create, patch, delete secrets (kind Secret) in every namespace",
        "rbac.kro.run/aggregate-to-controller",
        "docs/operator.md#rbac",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    for name in role_names(&vault_plural) {
        assert!(
            roles.get_opt(&name).await.expect("read").is_none(),
            "{name}"
        );
    }

    // A ClusterRole with the aggregation label grants them: the RGD is
    // served at its next review.
    let grant_name = format!("kro-secrets-{}", ns.name());
    let grant: ClusterRole = serde_json::from_value(json!({
        "metadata": { "name": grant_name, "labels": { rbac.aggregate_label(): "true" } },
        "rules": [{ "apiGroups": [""], "resources": ["secrets"], "verbs": ["*"] }],
    }))
    .expect("a role literal");
    roles
        .create(&PostParams::default(), &grant)
        .await
        .expect("grant Secrets");
    wait_for(&client, &vault, "Active once granted", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    // The roles for people go away with their RGD.
    mine.delete("site", &DeleteParams::default())
        .await
        .expect("the tenant deletes the instance");
    eventually("the instance to be gone", || async {
        mine.get_opt("site").await.ok()?.is_none().then_some(())
    })
    .await;
    rgds(&client)
        .delete(&web, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    eventually("the roles to be garbage-collected", || async {
        for name in role_names(&web_plural) {
            roles.get_opt(&name).await.ok()?.is_none().then_some(())?;
        }
        Some(())
    })
    .await;

    rgds(&client)
        .delete(&vault, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    eventually("the RGDs to be gone", || async {
        rgds(&client)
            .get_opt(&vault)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    operator.stop().await;
    let _ = roles.delete(&grant_name, &DeleteParams::default()).await;
    rbac.remove(&client).await;
    let _ = std::fs::remove_file(&kubeconfig);
}
