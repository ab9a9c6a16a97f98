//! Ownership, with the operator in-process: an object a template names
//! that exists already and is not the instance's is left untouched and
//! reported; a resource opted into adoption takes it over, and its
//! deletion policy decides what the instance's deletion does with it (also
//! when the RGD is deleted: it waits for its instances); a
//! tenant with only `edit` in their namespace cannot make the operator
//! change anything outside what that namespace's instances own.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use kro_graph::api::RgdState;
use kro_testenv::{TestNamespace, eventually};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::{Value, json};

use super::{
    Operator, TEST_MANAGER, apply, create_instance, instances, instances_as, rgd, rgds, simple,
    state, wait_for,
};

const PART_OF: &str = "applyset.kubernetes.io/part-of";

/// Creates (or changes) a ConfigMap as someone other than kro.
async fn user_config_map(api: &Api<ConfigMap>, name: &str, data: Value) {
    api.patch(
        name,
        &PatchParams::apply(TEST_MANAGER).force(),
        &Patch::Apply(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": name }, "data": data,
        })),
    )
    .await
    .unwrap_or_else(|e| panic!("apply ConfigMap {name}: {e}"));
}

async fn config_map(api: &Api<ConfigMap>, name: &str) -> Option<ConfigMap> {
    api.get_opt(name)
        .await
        .unwrap_or_else(|e| panic!("read ConfigMap {name}: {e}"))
}

/// The resourceVersion of an object, which any write changes.
fn version<K: Resource>(object: &K) -> String {
    object.meta().resource_version.clone().unwrap_or_default()
}

fn is_member<K: Resource>(object: &K) -> bool {
    object
        .meta()
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(PART_OF))
}

/// Waits until the instance's state is `wanted`; returns its status.
async fn wait_for_state(api: &Api<DynamicObject>, name: &str, wanted: &str) -> Value {
    eventually(&format!("instance {name} {wanted}"), || async {
        let instance = api.get_opt(name).await.ok()??;
        let status = instance.data.get("status")?.clone();
        (status.get("state")? == wanted).then_some(status)
    })
    .await
}

/// The message of the instance's `ResourcesReady` condition.
fn resources_message(status: &Value) -> String {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "ResourcesReady")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Deletes the instance and waits until kro released it.
async fn delete_instance(api: &Api<DynamicObject>, name: &str) {
    api.delete(name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete instance {name}: {e}"));
    eventually(&format!("instance {name} gone"), || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await;
}

/// Applies the RGD and waits until it is Active.
async fn serve(ns: &TestNamespace, (name, body): (String, Value)) {
    let client = ns.client();
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
}

#[tokio::test]
async fn a_pre_existing_config_map_is_left_alone_and_named() {
    let ns = TestNamespace::create("own-unowned").await;
    let operator = Operator::start(&ns, &[]).await;
    let config_maps = ns.api::<ConfigMap>();
    user_config_map(&config_maps, "shared", json!({ "owner": "team" })).await;
    let before = config_map(&config_maps, "shared").await.expect("created");

    serve(
        &ns,
        simple(&ns, "plain", "Plain", json!({ "note": "string" })),
    )
    .await;
    let plains = instances(&ns, "Plain", "plains");
    create_instance(&ns, &plains, "Plain", "shared", json!({ "note": "x" })).await;
    let status = wait_for_state(&plains, "shared", "ERROR").await;
    let expected = format!(
        "config: ConfigMap {}/shared already exists and is not managed by this instance; kro \
         leaves it alone (to let resource \"config\" adopt it, annotate its template with \
         lifecycle.kro.run/adoption-policy: adopt)",
        ns.name()
    );
    assert!(resources_message(&status).contains(&expected), "{status}");
    let after = config_map(&config_maps, "shared").await.expect("kept");
    assert_eq!(version(&after), version(&before), "untouched");

    delete_instance(&plains, "shared").await;
    let after = config_map(&config_maps, "shared").await.expect("kept");
    assert_eq!(version(&after), version(&before), "not deleted either");
    operator.stop().await;
}

/// One resource per deletion policy, each allowed to adopt.
fn adopting(ns: &TestNamespace) -> (String, Value) {
    let config_map = |suffix: &str, deletion: &str| {
        json!({
            "id": suffix,
            "template": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": format!("${{schema.metadata.name}}-{suffix}"),
                    "annotations": {
                        "lifecycle.kro.run/adoption-policy": "adopt",
                        "lifecycle.kro.run/deletion-policy": deletion,
                    },
                },
                "data": { "owner": "kro" },
            },
        })
    };
    rgd(
        ns,
        "adopting",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Adopting", "spec": { "note": "string" } },
            "resources": [
                config_map("deleted", "delete"),
                config_map("kept", "retain"),
                config_map("left", "orphan"),
            ],
        }}),
    )
}

#[tokio::test]
async fn adopted_objects_are_deleted_or_kept_per_policy_with_the_instance() {
    let ns = TestNamespace::create("own-adopt").await;
    let operator = Operator::start(&ns, &[]).await;
    let config_maps = ns.api::<ConfigMap>();
    for suffix in ["deleted", "kept", "left"] {
        let data = json!({ "owner": "team", "extra": "mine" });
        user_config_map(&config_maps, &format!("a-{suffix}"), data).await;
    }
    serve(&ns, adopting(&ns)).await;
    let adoptings = instances(&ns, "Adopting", "adoptings");
    create_instance(&ns, &adoptings, "Adopting", "a", json!({ "note": "x" })).await;
    wait_for_state(&adoptings, "a", "ACTIVE").await;
    for suffix in ["deleted", "kept", "left"] {
        let adopted = config_map(&config_maps, &format!("a-{suffix}"))
            .await
            .expect("adopted");
        assert!(is_member(&adopted), "{adopted:?}");
        let data = adopted.data.unwrap_or_default();
        assert_eq!(data.get("owner").map(String::as_str), Some("kro"));
        assert_eq!(data.get("extra").map(String::as_str), Some("mine"));
    }

    delete_instance(&adoptings, "a").await;
    assert!(config_map(&config_maps, "a-deleted").await.is_none());
    let kept = config_map(&config_maps, "a-kept").await.expect("retained");
    assert!(is_member(&kept), "retained as it was: {kept:?}");
    let left = config_map(&config_maps, "a-left").await.expect("orphaned");
    assert!(!is_member(&left), "released: {left:?}");
    operator.stop().await;
}

#[tokio::test]
async fn deleting_the_rgd_disposes_of_each_child_per_policy_through_its_instances() {
    let ns = TestNamespace::create("own-rgd-delete").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let config_maps = ns.api::<ConfigMap>();
    let (name, body) = adopting(&ns);
    serve(&ns, (name.clone(), body)).await;
    let adoptings = instances(&ns, "Adopting", "adoptings");
    create_instance(&ns, &adoptings, "Adopting", "r", json!({ "note": "x" })).await;
    wait_for_state(&adoptings, "r", "ACTIVE").await;
    let mut versions = Vec::new();
    for suffix in ["deleted", "kept", "left"] {
        let created = config_map(&config_maps, &format!("r-{suffix}"))
            .await
            .expect("created");
        versions.push(version(&created));
    }

    // The RGD waits for its instance: nothing of the instance is touched.
    rgds(&client)
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    wait_for(&client, &name, "waiting for its instance", |r| {
        r.metadata.deletion_timestamp.is_some()
            && super::conditions(r)
                .get("Ready")
                .is_some_and(|(_, reason, _)| reason == "Deleting")
    })
    .await;
    for (suffix, before) in ["deleted", "kept", "left"].iter().zip(&versions) {
        let now = config_map(&config_maps, &format!("r-{suffix}"))
            .await
            .expect("kept while the instance lives");
        assert_eq!(&version(&now), before, "r-{suffix} untouched");
    }

    // The instance's deletion applies each policy, then the RGD goes.
    delete_instance(&adoptings, "r").await;
    assert!(config_map(&config_maps, "r-deleted").await.is_none());
    let kept = config_map(&config_maps, "r-kept").await.expect("retained");
    assert!(is_member(&kept), "retained as it was: {kept:?}");
    let left = config_map(&config_maps, "r-left").await.expect("orphaned");
    assert!(!is_member(&left), "released: {left:?}");
    eventually("the RGD to go once its instance is gone", || async {
        rgds(&client)
            .get_opt(&name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    operator.stop().await;
}

/// Grants `user` the built-in `edit` role in `ns`, and the instances of
/// kind `plural` there.
async fn tenant_rights(ns: &TestNamespace, user: &str, plural: &str) {
    let subject =
        json!([{ "kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io" }]);
    let binding = |name: &str, kind: &str, role: &str| -> RoleBinding {
        serde_json::from_value(json!({
            "metadata": { "name": name },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role },
            "subjects": subject,
        }))
        .expect("RoleBinding literal")
    };
    let role: Role = serde_json::from_value(json!({
        "metadata": { "name": "instances" },
        "rules": [{
            "apiGroups": [super::group(ns)],
            "resources": [plural],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        }],
    }))
    .expect("Role literal");
    ns.api::<Role>()
        .create(&PostParams::default(), &role)
        .await
        .expect("create the Role");
    let bindings = ns.api::<RoleBinding>();
    for binding in [
        binding("edit", "ClusterRole", "edit"),
        binding("instances", "Role", "instances"),
    ] {
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("create a RoleBinding");
    }
}

/// An RGD whose template takes its targets from the instance: a
/// ConfigMap anywhere and a ClusterRole.
fn reaching(ns: &TestNamespace) -> (String, Value) {
    rgd(
        ns,
        "reach",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Reach", "spec": {
                "configName": "string", "configNamespace": "string", "roleName": "string",
            } },
            "resources": [
                { "id": "config", "template": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {
                        "name": "${schema.spec.configName}",
                        "namespace": "${schema.spec.configNamespace}",
                    },
                    "data": { "secret": "overwritten" },
                } },
                { "id": "role", "template": {
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": { "name": "${schema.spec.roleName}" },
                    "rules": [{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }],
                } },
            ],
        }}),
    )
}

#[tokio::test]
async fn a_tenant_with_namespace_edit_cannot_reach_other_objects_through_the_operator() {
    let ns = TestNamespace::create("own-tenant").await;
    let elsewhere = TestNamespace::create("own-victim").await;
    let operator = Operator::start(&ns, &[]).await;
    let victims = elsewhere.api::<ConfigMap>();
    user_config_map(&victims, "victim", json!({ "secret": "keep" })).await;
    let roles = Api::<ClusterRole>::all(ns.client());
    let role_name = format!("{}-victim", ns.name());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": { "name": role_name },
        "rules": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"] }],
    }))
    .expect("ClusterRole literal");
    roles
        .create(&PostParams::default(), &role)
        .await
        .expect("create the victim ClusterRole");
    let victim_before = config_map(&victims, "victim").await.expect("created");
    let role_before = roles.get(&role_name).await.expect("created");

    serve(&ns, reaching(&ns)).await;
    let user = format!("{}-tenant", ns.name());
    tenant_rights(&ns, &user, "reaches").await;
    let tenant = kro_testenv::impersonation::client_as(&user, &[]).await;
    let forbidden = Api::<ConfigMap>::namespaced(tenant.clone(), elsewhere.name())
        .patch(
            "victim",
            &PatchParams::apply("tenant").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "victim" }, "data": { "secret": "mine" },
            })),
        )
        .await;
    assert!(
        matches!(&forbidden, Err(kube::Error::Api(status)) if status.code == 403),
        "the tenant may not write there itself: {forbidden:?}"
    );

    let reaches = instances_as(tenant, &ns, "Reach", "reaches");
    let spec = json!({
        "configName": "victim",
        "configNamespace": elsewhere.name(),
        "roleName": role_name,
    });
    // The tenant's rights reach the authorizer a moment after the bindings.
    eventually("the tenant to create an instance", || async {
        let body = json!({
            "apiVersion": format!("{}/v1alpha1", super::group(&ns)),
            "kind": "Reach",
            "metadata": { "name": "reach" },
            "spec": spec,
        });
        reaches
            .patch("reach", &PatchParams::apply("tenant"), &Patch::Apply(&body))
            .await
            .ok()
    })
    .await;
    let status = wait_for_state(&reaches, "reach", "ERROR").await;
    let message = resources_message(&status);
    for named in [
        format!("ConfigMap {}/victim already exists", elsewhere.name()),
        format!("ClusterRole.rbac.authorization.k8s.io {role_name} already exists"),
    ] {
        assert!(message.contains(&named), "{named} in {message}");
    }
    let untouched = |when: &str| {
        let (victims, roles, role_name) = (&victims, &roles, &role_name);
        let (victim_before, role_before) = (&victim_before, &role_before);
        let when = when.to_owned();
        async move {
            let victim = config_map(victims, "victim").await.expect("kept");
            assert_eq!(version(&victim), version(victim_before), "{when}");
            let role = roles.get(role_name).await.expect("kept");
            assert_eq!(version(&role), version(role_before), "{when}");
        }
    };
    untouched("while the instance is in error").await;

    delete_instance(&reaches, "reach").await;
    untouched("after the instance's deletion").await;
    roles
        .delete(&role_name, &DeleteParams::default())
        .await
        .expect("delete the victim ClusterRole");
    operator.stop().await;
}
