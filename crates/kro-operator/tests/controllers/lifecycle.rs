//! Deletions never stuck: an RGD deleted while it has instances waits for
//! them, serving them meanwhile; an RGD whose newest spec is invalid when
//! the operator starts is served by the last accepted spec, stored on its
//! instance CRD.

use k8s_openapi::api::core::v1::ConfigMap;
use kro_graph::api::{ConditionStatus, RgdState};
use kro_testenv::{TestNamespace, eventually};
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::{
    Operator, TEST_MANAGER, apply, conditions, crds, create_instance, group, instances, rgd, rgds,
    state, wait_for,
};

/// The annotation of the instance CRD holding the last accepted spec.
const LAST_ACCEPTED: &str = "internal.kro.run/last-accepted-spec";

/// An RGD of kind `Note` whose ConfigMap holds the instance's text.
fn note(ns: &TestNamespace, name: &str) -> (String, Value) {
    rgd(
        ns,
        name,
        json!({
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": "Note",
                    "spec": { "text": "string" } },
                "resources": [{
                    "id": "config",
                    "template": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": { "name": "${schema.metadata.name}" },
                        "data": { "text": "${schema.spec.text}" }
                    }
                }]
            }
        }),
    )
}

/// Waits until the ConfigMap `name` holds `text`.
async fn text_reaches_the_child(ns: &TestNamespace, name: &str, text: &str) {
    let config_maps = ns.api::<ConfigMap>();
    eventually(&format!("ConfigMap {name} with text {text:?}"), || async {
        let config = config_maps.get_opt(name).await.ok()??;
        (config.data?.get("text")? == text).then_some(())
    })
    .await;
}

/// Waits until the instance `name` and its ConfigMap are gone.
async fn instance_and_child_gone(ns: &TestNamespace, notes: &Api<DynamicObject>, name: &str) {
    let config_maps = ns.api::<ConfigMap>();
    eventually(
        &format!("instance {name} and its ConfigMap gone"),
        || async {
            let gone = notes.get_opt(name).await.ok()?.is_none()
                && config_maps.get_opt(name).await.ok()?.is_none();
            gone.then_some(())
        },
    )
    .await;
}

/// The RGD's `Ready` condition: (status, reason, message).
fn ready(rgd: &kro_graph::api::ResourceGraphDefinition) -> (ConditionStatus, String, String) {
    conditions(rgd).remove("Ready").unwrap_or((
        ConditionStatus::Unknown,
        String::new(),
        String::new(),
    ))
}

#[tokio::test]
async fn an_rgd_deleted_with_a_live_instance_waits_for_it_and_keeps_serving_it() {
    let ns = TestNamespace::create("lifecycle-rgd-delete").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &["--allow-crd-deletion"]).await;
    let (name, body) = note(&ns, "notes");
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let notes = instances(&ns, "Note", "notes");
    // A finalizer of the test's holds the instance once kro is done with it.
    let held = |text: &str, finalizers: Value| {
        json!({
            "apiVersion": format!("{}/v1alpha1", group(&ns)),
            "kind": "Note",
            "metadata": { "name": "first", "finalizers": finalizers },
            "spec": { "text": text },
        })
    };
    notes
        .patch(
            "first",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(held("one", json!(["kro.test/hold"]))),
        )
        .await
        .expect("create the instance");
    text_reaches_the_child(&ns, "first", "one").await;

    rgds(&client)
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    let waiting = format!(
        "waiting for 1 instance of Note to be deleted: {}/first",
        ns.name()
    );
    let rgd = wait_for(&client, &name, "waiting for its instance", |r| {
        let (status, reason, message) = ready(r);
        status == ConditionStatus::False && reason == "Deleting" && message == waiting
    })
    .await;
    assert!(rgd.metadata.deletion_timestamp.is_some());
    let crd_name = format!("notes.{}", group(&ns));
    assert!(
        crds(&client)
            .get_opt(&crd_name)
            .await
            .expect("read the CRD")
            .is_some(),
        "the CRD stays while instances are left"
    );

    // Still served: a spec change reaches the child.
    notes
        .patch(
            "first",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(held("two", json!(["kro.test/hold"]))),
        )
        .await
        .expect("change the instance");
    text_reaches_the_child(&ns, "first", "two").await;

    // Deleting the instance deletes its child and releases kro's
    // finalizer; the test's holds it, and the RGD says so.
    notes
        .delete("first", &DeleteParams::default())
        .await
        .expect("delete the instance");
    eventually("the ConfigMap gone", || async {
        ns.api::<ConfigMap>()
            .get_opt("first")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let held_by = format!(
        "waiting for 1 instance of Note to be deleted: {}/first (held by finalizer kro.test/hold)",
        ns.name()
    );
    wait_for(&client, &name, "the deletion reported as held", |r| {
        ready(r).2 == held_by
    })
    .await;
    let instance = notes.get("first").await.expect("the instance is held");
    assert_eq!(instance.finalizers(), ["kro.test/hold"]);

    notes
        .patch(
            "first",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(held("two", json!([]))),
        )
        .await
        .expect("release the instance");
    eventually("the RGD and its CRD gone", || async {
        let gone = rgds(&client).get_opt(&name).await.ok()?.is_none()
            && crds(&client).get_opt(&crd_name).await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    operator.stop().await;
}

#[tokio::test]
async fn after_a_restart_an_invalid_spec_leaves_the_last_accepted_one_served() {
    let ns = TestNamespace::create("lifecycle-restart").await;
    let client = ns.client();
    let first = Operator::start(&ns, &[]).await;
    let (name, body) = note(&ns, "notes");
    apply(&client, &name, &body).await;
    let accepted = wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let accepted_generation = accepted.metadata.generation.expect("a generation");
    let notes = instances(&ns, "Note", "notes");
    create_instance(&ns, &notes, "Note", "kept", json!({ "text": "one" })).await;
    text_reaches_the_child(&ns, "kept", "one").await;
    let crd_name = format!("notes.{}", group(&ns));
    let crd = crds(&client).get(&crd_name).await.expect("the CRD");
    assert!(
        crd.annotations().contains_key(LAST_ACCEPTED),
        "the accepted spec is stored on the CRD"
    );
    first.stop().await;

    // Broken while no operator runs.
    let mut broken = body.clone();
    broken["spec"]["resources"][0]["template"]["data"]["text"] = json!("${nope.missing}");
    apply(&client, &name, &broken).await;

    let second = Operator::start(&ns, &[]).await;
    let rgd = wait_for(&client, &name, "refused, the last accepted served", |r| {
        let by_type = conditions(r);
        by_type
            .get("GraphAccepted")
            .is_some_and(|c| c.0 == ConditionStatus::False)
            && by_type
                .get("ControllerReady")
                .is_some_and(|c| c.1 == "LastAcceptedGraph")
    })
    .await;
    let by_type = conditions(&rgd);
    let (_, reason, message) = &by_type["GraphAccepted"];
    assert_eq!(reason, "InvalidResourceGraph");
    assert!(
        message.contains("spec.resources[0].template.data.text"),
        "located: {message}"
    );
    assert_eq!(
        by_type["ControllerReady"],
        (
            ConditionStatus::True,
            "LastAcceptedGraph".to_owned(),
            format!("serving the last accepted graph, of generation {accepted_generation}")
        )
    );
    assert_eq!(state(&rgd), Some(RgdState::Inactive));

    // Served: a spec change reaches the child, and deletion finishes.
    create_instance(&ns, &notes, "Note", "kept", json!({ "text": "two" })).await;
    text_reaches_the_child(&ns, "kept", "two").await;
    notes
        .delete("kept", &DeleteParams::default())
        .await
        .expect("delete the instance");
    instance_and_child_gone(&ns, &notes, "kept").await;

    // With no instance left, the RGD goes at once; its CRD stays.
    rgds(&client)
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    eventually("the RGD gone", || async {
        rgds(&client)
            .get_opt(&name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        crds(&client)
            .get_opt(&crd_name)
            .await
            .expect("read the CRD")
            .is_some(),
        "the CRD stays without --allow-crd-deletion"
    );
    second.stop().await;
}
