use kro_schema::kinds::Gvk;
use serde_json::json;

use super::*;

fn configmaps() -> ResourceType {
    ResourceType {
        gvk: Gvk {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
        },
        plural: "configmaps".into(),
        namespaced: true,
    }
}

fn key(name: &str) -> ObjectKey {
    ObjectKey {
        resource: configmaps(),
        namespace: Some("ns".into()),
        name: name.into(),
    }
}

fn cm(name: &str, data: serde_json::Value) -> serde_json::Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": name, "namespace": "ns", "labels": { "app": name } }, "data": data })
}

fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn apply_creates_then_identical_apply_writes_nothing() {
    let cluster = MemoryCluster::new();
    block(async {
        let created = cluster
            .apply(&configmaps(), &cm("a", json!({ "k": "v" })), "kro")
            .await
            .unwrap();
        assert!(created.pointer("/metadata/uid").is_some());
        assert_eq!(created.pointer("/metadata/generation"), Some(&json!(1)));
        assert_eq!(cluster.write_count(), 1);

        let again = cluster
            .apply(&configmaps(), &cm("a", json!({ "k": "v" })), "kro")
            .await
            .unwrap();
        assert_eq!(again, created, "no new resourceVersion for a no-op apply");
        assert_eq!(cluster.write_count(), 1);
    });
}

#[test]
fn a_manager_owns_what_it_applies_and_only_that() {
    let cluster = MemoryCluster::new();
    block(async {
        cluster
            .apply(
                &configmaps(),
                &cm("a", json!({ "mine": "1", "dropped": "2" })),
                "kro",
            )
            .await
            .unwrap();
        let other = json!({ "apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": { "name": "a", "namespace": "ns" }, "data": { "theirs": "3" } });
        cluster
            .apply(&configmaps(), &other, "someone-else")
            .await
            .unwrap();
        let after = cluster
            .apply(&configmaps(), &cm("a", json!({ "mine": "1" })), "kro")
            .await
            .unwrap();
        assert_eq!(after["data"], json!({ "mine": "1", "theirs": "3" }));
    });
}

#[test]
fn drift_is_undone_by_reapplying() {
    let cluster = MemoryCluster::new();
    block(async {
        cluster
            .apply(&configmaps(), &cm("a", json!({ "k": "v" })), "kro")
            .await
            .unwrap();
        let drifted = json!({ "apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": { "name": "a", "namespace": "ns" }, "data": { "k": "hand-edited" } });
        cluster
            .apply(&configmaps(), &drifted, "kubectl")
            .await
            .unwrap();
        let restored = cluster
            .apply(&configmaps(), &cm("a", json!({ "k": "v" })), "kro")
            .await
            .unwrap();
        assert_eq!(restored["data"]["k"], "v");
    });
}

#[test]
fn status_survives_apply_and_is_written_separately() {
    let cluster = MemoryCluster::new();
    block(async {
        let created = cluster
            .apply(&configmaps(), &cm("a", json!({})), "kro")
            .await
            .unwrap();
        assert!(cluster.set_status(&key("a"), json!({ "ready": true })));
        let mut with_status = cluster
            .apply(&configmaps(), &cm("a", json!({})), "kro")
            .await
            .unwrap();
        assert_eq!(with_status["status"], json!({ "ready": true }));

        // A status write based on a stale resourceVersion is refused.
        let mut stale = created.clone();
        stale["status"] = json!({ "ready": false });
        let error = cluster
            .write_status(&configmaps(), &stale)
            .await
            .unwrap_err();
        assert!(matches!(error, ClusterError::Conflict { .. }), "{error}");

        with_status["status"] = json!({ "ready": false });
        let writes = cluster.write_count();
        let written = cluster
            .write_status(&configmaps(), &with_status)
            .await
            .unwrap();
        assert_eq!(written["status"], json!({ "ready": false }));
        assert_eq!(cluster.write_count(), writes + 1);
        cluster.write_status(&configmaps(), &written).await.unwrap();
        assert_eq!(
            cluster.write_count(),
            writes + 1,
            "an unchanged status is not rewritten"
        );
    });
}

#[test]
fn delete_honours_uid_and_finalizers() {
    let cluster = MemoryCluster::new();
    block(async {
        let created = cluster
            .apply(&configmaps(), &cm("a", json!({})), "kro")
            .await
            .unwrap();
        assert_eq!(
            cluster.delete(&key("a"), "someone-else").await.unwrap(),
            Deleted::UidChanged
        );
        let uid = created
            .pointer("/metadata/uid")
            .and_then(|u| u.as_str())
            .unwrap()
            .to_owned();
        assert_eq!(cluster.delete(&key("a"), &uid).await.unwrap(), Deleted::Yes);
        assert_eq!(cluster.get(&key("a")).await.unwrap(), None);
        assert_eq!(
            cluster.delete(&key("a"), &uid).await.unwrap(),
            Deleted::AlreadyGone
        );

        let mut guarded = cm("b", json!({}));
        guarded["metadata"]["finalizers"] = json!(["example.com/keep"]);
        let stored = cluster.insert(&configmaps(), guarded).unwrap();
        let uid = stored
            .pointer("/metadata/uid")
            .and_then(|u| u.as_str())
            .unwrap()
            .to_owned();
        assert_eq!(cluster.delete(&key("b"), &uid).await.unwrap(), Deleted::Yes);
        let terminating = cluster
            .get(&key("b"))
            .await
            .unwrap()
            .expect("kept until finalizers go");
        assert!(terminating.pointer("/metadata/deletionTimestamp").is_some());
    });
}

#[test]
fn list_filters_by_scope_and_selector_in_key_order() {
    let cluster = MemoryCluster::new();
    block(async {
        for name in ["b", "a"] {
            cluster
                .apply(&configmaps(), &cm(name, json!({})), "kro")
                .await
                .unwrap();
        }
        let mut elsewhere = cm("c", json!({}));
        elsewhere["metadata"]["namespace"] = json!("other");
        cluster
            .apply(&configmaps(), &elsewhere, "kro")
            .await
            .unwrap();

        let everything = LabelSelector::default();
        let names = |objects: Vec<serde_json::Value>| -> Vec<String> {
            objects
                .iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let in_ns = cluster
            .list(&configmaps(), ListScope::Namespace("ns"), &everything)
            .await
            .unwrap();
        assert_eq!(names(in_ns), ["a", "b"]);
        let all = cluster
            .list(&configmaps(), ListScope::AllNamespaces, &everything)
            .await
            .unwrap();
        assert_eq!(names(all), ["a", "b", "c"]);
        let only_b: LabelSelector =
            serde_json::from_value(json!({ "matchLabels": { "app": "b" } })).unwrap();
        let selected = cluster
            .list(&configmaps(), ListScope::AllNamespaces, &only_b)
            .await
            .unwrap();
        assert_eq!(names(selected), ["b"]);
    });
}

#[test]
fn objects_need_a_name_and_a_namespace_when_namespaced() {
    let cluster = MemoryCluster::new();
    block(async {
        let nameless =
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "namespace": "ns" } });
        let error = cluster
            .apply(&configmaps(), &nameless, "kro")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "configmaps is invalid: metadata.name: Required value"
        );
        let homeless =
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "x" } });
        let error = cluster
            .apply(&configmaps(), &homeless, "kro")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "configmaps x is invalid: metadata.namespace: Required value"
        );
    });
}

#[test]
fn a_field_another_manager_also_applied_stays_when_one_drops_it() {
    let cluster = MemoryCluster::new();
    block(async {
        cluster
            .apply(
                &configmaps(),
                &cm("a", json!({ "shared": "s", "mine": "1" })),
                "kro",
            )
            .await
            .unwrap();
        let other = json!({ "apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": { "name": "a", "namespace": "ns" }, "data": { "shared": "s" } });
        cluster.apply(&configmaps(), &other, "other").await.unwrap();
        let after = cluster
            .apply(&configmaps(), &cm("a", json!({ "mine": "1" })), "kro")
            .await
            .unwrap();
        assert_eq!(after["data"], json!({ "shared": "s", "mine": "1" }));
    });
}

#[test]
fn a_forced_apply_takes_a_field_from_its_other_owner() {
    let cluster = MemoryCluster::new();
    block(async {
        let other = |data: serde_json::Value| {
            json!({ "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "a", "namespace": "ns" }, "data": data })
        };
        cluster
            .apply(
                &configmaps(),
                &other(json!({ "k": "theirs", "t": "1" })),
                "other",
            )
            .await
            .unwrap();
        cluster
            .apply(&configmaps(), &cm("a", json!({ "k": "ours" })), "kro")
            .await
            .unwrap();
        // The other manager no longer owns `k`, so dropping it keeps ours.
        let after = cluster
            .apply(&configmaps(), &other(json!({ "t": "1" })), "other")
            .await
            .unwrap();
        assert_eq!(after["data"], json!({ "k": "ours", "t": "1" }));
    });
}

#[test]
fn removing_the_last_finalizer_of_a_deleting_object_deletes_it() {
    let cluster = MemoryCluster::new();
    block(async {
        let mut held = cm("a", json!({}));
        held["metadata"]["finalizers"] = json!(["x/hold"]);
        let created = cluster.apply(&configmaps(), &held, "kro").await.unwrap();
        let uid = created["metadata"]["uid"].as_str().unwrap().to_owned();
        assert_eq!(cluster.delete(&key("a"), &uid).await, Ok(Deleted::Yes));
        assert!(cluster.get(&key("a")).await.unwrap().is_some());
        cluster
            .apply(&configmaps(), &cm("a", json!({})), "kro")
            .await
            .unwrap();
        assert_eq!(cluster.get(&key("a")).await, Ok(None));
    });
}

#[test]
fn an_unusable_selector_is_invalid() {
    let cluster = MemoryCluster::new();
    block(async {
        let selector = serde_json::from_value(
            json!({ "matchExpressions": [{ "key": "a", "operator": "Gt", "values": ["1"] }] }),
        )
        .unwrap();
        let listed = cluster
            .list(&configmaps(), ListScope::AllNamespaces, &selector)
            .await;
        assert!(
            matches!(listed, Err(ClusterError::Invalid { .. })),
            "{listed:?}"
        );
    });
}

#[test]
fn finalizers_are_a_set_each_manager_owns_its_own() {
    let cluster = MemoryCluster::new();
    block(async {
        let with = |finalizers: serde_json::Value| {
            let mut object = cm("a", json!({}));
            object["metadata"]["finalizers"] = finalizers;
            object
        };
        cluster
            .apply(
                &configmaps(),
                &with(json!(["kro.run/a", "shared/c"])),
                "kro",
            )
            .await
            .unwrap();
        let both = cluster
            .apply(
                &configmaps(),
                &with(json!(["other/b", "shared/c"])),
                "other",
            )
            .await
            .unwrap();
        assert_eq!(
            both["metadata"]["finalizers"],
            json!(["kro.run/a", "shared/c", "other/b"])
        );
        let after = cluster
            .apply(&configmaps(), &cm("a", json!({})), "kro")
            .await
            .unwrap();
        assert_eq!(
            after["metadata"]["finalizers"],
            json!(["shared/c", "other/b"])
        );
    });
}
