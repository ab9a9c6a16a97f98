//! One contract, two clusters: every scenario runs against the in-memory
//! `MemoryCluster` (what the runtime's tests use) and against `KubeCluster`
//! on the local control plane (what the operator uses). Where they
//! disagree, the real API server is right and `MemoryCluster` is fixed.
//!
//! The scenarios use a small namespaced custom kind, `Widget`, with a
//! status subresource and a granular `spec.data` map (so that field
//! ownership is per key, as for ConfigMap data). Its CRD is shared by every
//! run: it is applied idempotently and never changes, and the objects live
//! in per-test namespaces.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_operator::cluster::KubeCluster;
use kro_runtime::cluster::{
    Cluster, ClusterError, Deleted, ListScope, ObjectKey, ResourceType, Stripped,
};
use kro_schema::kinds::Gvk;
use kro_testenv::{TestNamespace, eventually};
use kube::Client;
use serde_json::{Value, json};

const GROUP: &str = "contract.kro.test";

/// What a scenario needs besides the cluster.
struct Env {
    widgets: ResourceType,
    /// Two namespaces; the first sorts before the second.
    namespaces: [String; 2],
    /// A label value unique to this run, so that lists across all
    /// namespaces of a shared cluster see only this run's objects.
    run: String,
}

impl Env {
    fn key(&self, namespace: usize, name: &str) -> ObjectKey {
        ObjectKey {
            resource: self.widgets.clone(),
            namespace: Some(self.namespaces[namespace].clone()),
            name: name.to_owned(),
        }
    }

    /// A widget in namespace `namespace` with `spec` and the run label.
    fn widget(&self, namespace: usize, name: &str, spec: Value) -> Value {
        json!({
            "apiVersion": format!("{GROUP}/v1"),
            "kind": "Widget",
            "metadata": {
                "name": name,
                "namespace": self.namespaces[namespace],
                "labels": { "contract-run": self.run },
            },
            "spec": spec,
        })
    }
}

fn widgets() -> ResourceType {
    ResourceType {
        gvk: Gvk {
            group: GROUP.to_owned(),
            version: "v1".to_owned(),
            kind: "Widget".to_owned(),
        },
        plural: "widgets".to_owned(),
        namespaced: true,
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {object}"))
}

fn names(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                text(o, "/metadata/namespace"),
                text(o, "/metadata/name")
            )
        })
        .collect()
}

fn selector(value: Value) -> LabelSelector {
    serde_json::from_value(value).expect("test selector literal")
}

// ---------------------------------------------------------------- scenarios

async fn apply_creates_then_identical_apply_changes_nothing(cluster: &impl Cluster, env: &Env) {
    let widget = env.widget(0, "a", json!({ "data": { "k": "v" }, "size": 1 }));
    assert_eq!(cluster.get(&env.key(0, "a")).await, Ok(None));

    let created = cluster
        .apply(&env.widgets, &widget, "kro-contract")
        .await
        .expect("create by apply");
    assert!(!text(&created, "/metadata/uid").is_empty());
    assert_eq!(created.pointer("/spec/data/k"), Some(&json!("v")));
    assert_eq!(created.pointer("/metadata/generation"), Some(&json!(1)));
    assert_eq!(text(&created, "/apiVersion"), "contract.kro.test/v1");
    assert_eq!(text(&created, "/kind"), "Widget");

    let again = cluster
        .apply(&env.widgets, &widget, "kro-contract")
        .await
        .expect("re-apply");
    assert_eq!(
        text(&again, "/metadata/resourceVersion"),
        text(&created, "/metadata/resourceVersion"),
        "an identical apply is a no-op"
    );
    let read = cluster
        .get(&env.key(0, "a"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        text(&read, "/metadata/uid"),
        text(&created, "/metadata/uid")
    );
    assert_eq!(
        text(&read, "/metadata/resourceVersion"),
        text(&created, "/metadata/resourceVersion")
    );
}

async fn a_manager_owns_what_it_applies_and_only_that(cluster: &impl Cluster, env: &Env) {
    let mut mine = env.widget(
        0,
        "a",
        json!({ "data": { "mine": "1", "dropped": "2", "shared": "s", "contested": "kro" } }),
    );
    mine["metadata"]["labels"]["extra"] = json!("yes");
    cluster
        .apply(&env.widgets, &mine, "kro-contract")
        .await
        .expect("apply as kro");
    let theirs = env.widget(
        0,
        "a",
        json!({ "data": { "theirs": "3", "shared": "s", "contested": "them" } }),
    );
    cluster
        .apply(&env.widgets, &theirs, "someone-else")
        .await
        .expect("apply as someone else (force takes `contested`)");

    // kro stops applying `dropped`, `shared`, `contested` and a label.
    let after = cluster
        .apply(
            &env.widgets,
            &env.widget(0, "a", json!({ "data": { "mine": "1" } })),
            "kro-contract",
        )
        .await
        .expect("apply fewer fields as kro");
    assert_eq!(
        after.pointer("/spec/data"),
        Some(&json!({ "mine": "1", "theirs": "3", "shared": "s", "contested": "them" })),
        "kro's dropped field goes; fields another manager also owns stay"
    );
    assert_eq!(after.pointer("/metadata/labels/extra"), None);

    // The other manager gives up `shared` too: now nobody owns it.
    let after = cluster
        .apply(
            &env.widgets,
            &env.widget(
                0,
                "a",
                json!({ "data": { "theirs": "3", "contested": "them" } }),
            ),
            "someone-else",
        )
        .await
        .expect("apply fewer fields as someone else");
    assert_eq!(
        after.pointer("/spec/data"),
        Some(&json!({ "mine": "1", "theirs": "3", "contested": "them" }))
    );

    // kro forces `contested` back; when the other manager drops it, kro's
    // value stays, since the other lost ownership when kro took it.
    cluster
        .apply(
            &env.widgets,
            &env.widget(
                0,
                "a",
                json!({ "data": { "mine": "1", "contested": "kro" } }),
            ),
            "kro-contract",
        )
        .await
        .expect("force a contested field");
    let after = cluster
        .apply(
            &env.widgets,
            &env.widget(0, "a", json!({ "data": { "theirs": "3" } })),
            "someone-else",
        )
        .await
        .expect("apply without the lost field");
    assert_eq!(
        after.pointer("/spec/data"),
        Some(&json!({ "mine": "1", "theirs": "3", "contested": "kro" }))
    );
}

async fn status_is_kept_across_applies_and_written_with_a_resource_version(
    cluster: &impl Cluster,
    env: &Env,
) {
    let created = cluster
        .apply(
            &env.widgets,
            &env.widget(0, "a", json!({ "size": 1 })),
            "kro-contract",
        )
        .await
        .expect("create");

    let mut with_status = created.clone();
    with_status["status"] = json!({ "phase": "Ready", "replicas": 1 });
    let written = cluster
        .write_status(&env.widgets, &with_status)
        .await
        .expect("write status");
    assert_eq!(
        written.pointer("/status"),
        Some(&json!({ "phase": "Ready", "replicas": 1 }))
    );
    assert_eq!(
        written.pointer("/metadata/generation"),
        Some(&json!(1)),
        "a status write is not a spec change"
    );
    assert_ne!(
        text(&written, "/metadata/resourceVersion"),
        text(&created, "/metadata/resourceVersion")
    );

    // A stale resourceVersion is a conflict, and changes nothing.
    let mut stale = created.clone();
    stale["status"] = json!({ "phase": "Stale" });
    match cluster.write_status(&env.widgets, &stale).await {
        Err(ClusterError::Conflict { .. }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }

    // An apply of the main resource keeps the status, even when its body
    // carries one.
    let mut spec_change = env.widget(0, "a", json!({ "size": 2 }));
    spec_change["status"] = json!({ "phase": "Ignored" });
    let applied = cluster
        .apply(&env.widgets, &spec_change, "kro-contract")
        .await
        .expect("apply a spec change");
    assert_eq!(applied.pointer("/spec/size"), Some(&json!(2)));
    assert_eq!(applied.pointer("/metadata/generation"), Some(&json!(2)));
    assert_eq!(
        applied.pointer("/status"),
        Some(&json!({ "phase": "Ready", "replicas": 1 }))
    );

    // The status of an object that does not exist cannot be written.
    let mut missing = env.widget(0, "missing", json!({}));
    missing["status"] = json!({ "phase": "Ready" });
    match cluster.write_status(&env.widgets, &missing).await {
        Err(ClusterError::Other { .. }) => {}
        other => panic!("expected an error for a missing object, got {other:?}"),
    }
}

async fn delete_checks_the_uid(cluster: &impl Cluster, env: &Env) {
    let created = cluster
        .apply(&env.widgets, &env.widget(0, "a", json!({})), "kro-contract")
        .await
        .expect("create");
    let uid = text(&created, "/metadata/uid");
    let key = env.key(0, "a");

    assert_eq!(
        cluster
            .delete(&key, "00000000-0000-0000-0000-000000000000")
            .await,
        Ok(Deleted::UidChanged)
    );
    assert!(
        cluster.get(&key).await.expect("get").is_some(),
        "left alone"
    );
    assert_eq!(cluster.delete(&key, uid).await, Ok(Deleted::Yes));
    assert_eq!(cluster.get(&key).await, Ok(None));
    assert_eq!(cluster.delete(&key, uid).await, Ok(Deleted::AlreadyGone));
}

async fn finalizers_turn_a_delete_into_a_deletion_timestamp(cluster: &impl Cluster, env: &Env) {
    let mut held = env.widget(0, "a", json!({}));
    held["metadata"]["finalizers"] = json!(["contract.kro.test/hold"]);
    let created = cluster
        .apply(&env.widgets, &held, "kro-contract")
        .await
        .expect("create with a finalizer");
    let uid = text(&created, "/metadata/uid").to_owned();
    let key = env.key(0, "a");

    assert_eq!(cluster.delete(&key, &uid).await, Ok(Deleted::Yes));
    let deleting = cluster.get(&key).await.expect("get").expect("still there");
    assert!(deleting.pointer("/metadata/deletionTimestamp").is_some());
    assert_eq!(
        cluster.delete(&key, &uid).await,
        Ok(Deleted::Yes),
        "deleting again while the finalizer holds"
    );

    // Releasing the last finalizer completes the delete.
    cluster
        .apply(&env.widgets, &env.widget(0, "a", json!({})), "kro-contract")
        .await
        .expect("apply without the finalizer");
    assert_eq!(cluster.get(&key).await, Ok(None));
}

async fn finalizers_are_a_set_each_manager_owns_its_own(cluster: &impl Cluster, env: &Env) {
    let with_finalizers = |finalizers: Value| {
        let mut widget = env.widget(0, "a", json!({}));
        widget["metadata"]["finalizers"] = finalizers;
        widget
    };
    let finalizers = async |object: (Value, &str)| {
        let applied = cluster
            .apply(&env.widgets, &object.0, object.1)
            .await
            .expect("apply finalizers");
        applied.pointer("/metadata/finalizers").cloned()
    };
    assert_eq!(
        finalizers((with_finalizers(json!(["kro.run/a"])), "kro-contract")).await,
        Some(json!(["kro.run/a"]))
    );
    assert_eq!(
        finalizers((with_finalizers(json!(["other/b"])), "someone-else")).await,
        Some(json!(["kro.run/a", "other/b"])),
        "another manager's finalizer is added, not a replacement"
    );
    assert_eq!(
        finalizers((
            with_finalizers(json!(["kro.run/a", "shared/c"])),
            "kro-contract"
        ))
        .await,
        Some(json!(["kro.run/a", "other/b", "shared/c"]))
    );
    assert_eq!(
        finalizers((
            with_finalizers(json!(["other/b", "shared/c"])),
            "someone-else"
        ))
        .await,
        Some(json!(["kro.run/a", "other/b", "shared/c"]))
    );
    assert_eq!(
        finalizers((env.widget(0, "a", json!({})), "kro-contract")).await,
        Some(json!(["other/b", "shared/c"])),
        "kro's own finalizer goes; the shared one stays"
    );
    assert_eq!(
        finalizers((env.widget(0, "a", json!({})), "someone-else")).await,
        None
    );
}

async fn lists_by_namespace_across_namespaces_and_by_selector(cluster: &impl Cluster, env: &Env) {
    let labelled = |namespace: usize, name: &str, labels: Value| {
        let mut widget = env.widget(namespace, name, json!({}));
        if let (Some(Value::Object(target)), Value::Object(extra)) =
            (widget.pointer_mut("/metadata/labels"), labels)
        {
            target.extend(extra);
        }
        widget
    };
    // Created out of order: lists are ordered by namespace, then name.
    for widget in [
        labelled(1, "three", json!({ "app": "x", "tier": "back" })),
        labelled(0, "two", json!({ "app": "y" })),
        labelled(0, "one", json!({ "app": "x", "tier": "front" })),
    ] {
        cluster
            .apply(&env.widgets, &widget, "kro-contract")
            .await
            .expect("create");
    }
    let (a, b) = (&env.namespaces[0], &env.namespaces[1]);
    let list = async |scope, expressions: Value, labels: Value| {
        let mut match_labels = json!({ "contract-run": env.run });
        if let (Value::Object(target), Value::Object(extra)) = (&mut match_labels, labels) {
            target.extend(extra);
        }
        let s = selector(json!({ "matchLabels": match_labels, "matchExpressions": expressions }));
        names(&cluster.list(&env.widgets, scope, &s).await.expect("list"))
    };
    let all = ListScope::AllNamespaces;
    // List items carry apiVersion and kind like single reads (the API
    // server leaves them out of list items; KubeCluster puts them back).
    let everything = selector(json!({ "matchLabels": { "contract-run": env.run } }));
    for object in cluster
        .list(&env.widgets, all, &everything)
        .await
        .expect("list")
    {
        assert_eq!(text(&object, "/apiVersion"), "contract.kro.test/v1");
        assert_eq!(text(&object, "/kind"), "Widget");
    }
    assert_eq!(
        list(ListScope::Namespace(a), json!([]), json!({})).await,
        [format!("{a}/one"), format!("{a}/two")]
    );
    assert_eq!(
        list(all, json!([]), json!({})).await,
        [format!("{a}/one"), format!("{a}/two"), format!("{b}/three")]
    );
    assert_eq!(
        list(all, json!([]), json!({ "app": "x" })).await,
        [format!("{a}/one"), format!("{b}/three")]
    );
    let expression = |operator: &str, values: Value| json!([{ "key": "tier", "operator": operator, "values": values }]);
    assert_eq!(
        list(all, expression("In", json!(["front"])), json!({})).await,
        [format!("{a}/one")]
    );
    assert_eq!(
        list(all, expression("NotIn", json!(["front"])), json!({})).await,
        [format!("{a}/two"), format!("{b}/three")]
    );
    assert_eq!(
        list(
            all,
            json!([{ "key": "tier", "operator": "Exists" }]),
            json!({})
        )
        .await,
        [format!("{a}/one"), format!("{b}/three")]
    );
    assert_eq!(
        list(
            all,
            json!([{ "key": "tier", "operator": "DoesNotExist" }]),
            json!({})
        )
        .await,
        [format!("{a}/two")]
    );
    assert_eq!(
        list(ListScope::Namespace(b), json!([]), json!({ "app": "y" })).await,
        Vec::<String>::new()
    );

    // A selector the API server cannot parse is the caller's error.
    let unusable = selector(
        json!({ "matchExpressions": [{ "key": "tier", "operator": "Gt", "values": ["1"] }] }),
    );
    match cluster.list(&env.widgets, all, &unusable).await {
        Err(ClusterError::Invalid { .. }) => {}
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// ------------------------------------------------------------------ harness

fn memory_env() -> Env {
    Env {
        widgets: widgets(),
        namespaces: ["contract-a".to_owned(), "contract-b".to_owned()],
        run: "memory".to_owned(),
    }
}

/// The Widget CRD, applied idempotently (test binaries share the cluster).
async fn find_type_knows_a_type_once_it_has_objects(cluster: &impl Cluster, env: &Env) {
    let widget = env.widget(0, "typed", json!({ "size": 1 }));
    cluster
        .apply(&env.widgets, &widget, "kro-contract")
        .await
        .expect("create");
    assert_eq!(
        cluster.find_type("contract.kro.test", "Widget").await,
        Ok(Some(widgets()))
    );
    assert_eq!(
        cluster.find_type("nowhere.kro.test", "Widget").await,
        Ok(None)
    );
    assert_eq!(
        cluster.find_type("contract.kro.test", "Gadget").await,
        Ok(None)
    );
}

async fn remove_finalizer_removes_it_whoever_added_it(cluster: &impl Cluster, env: &Env) {
    let mut widget = env.widget(0, "held", json!({ "size": 1 }));
    widget["metadata"]["finalizers"] = json!(["example.com/a"]);
    cluster
        .apply(&env.widgets, &widget, "first-manager")
        .await
        .expect("create");
    widget["metadata"]["finalizers"] = json!(["example.com/b"]);
    let stored = cluster
        .apply(&env.widgets, &widget, "second-manager")
        .await
        .expect("second finalizer");
    let kept = cluster
        .remove_finalizer(&env.widgets, &stored, "example.com/a")
        .await
        .expect("remove")
        .expect("still there");
    assert_eq!(
        kept.pointer("/metadata/finalizers"),
        Some(&json!(["example.com/b"]))
    );
    assert!(
        matches!(
            cluster
                .remove_finalizer(&env.widgets, &stored, "example.com/b")
                .await,
            Err(ClusterError::Conflict { .. })
        ),
        "a stale resourceVersion is a conflict"
    );
    let uid = text(&kept, "/metadata/uid").to_owned();
    cluster
        .delete(&env.key(0, "held"), &uid)
        .await
        .expect("delete");
    let deleting = cluster
        .get(&env.key(0, "held"))
        .await
        .expect("get")
        .expect("held by its finalizer");
    let gone = cluster
        .remove_finalizer(&env.widgets, &deleting, "example.com/b")
        .await
        .expect("release");
    if let Some(last) = gone {
        assert!(
            last.pointer("/metadata/finalizers")
                .is_none_or(|f| f == &json!([]))
        );
    }
    eventually("the widget to be gone", || async {
        cluster
            .get(&env.key(0, "held"))
            .await
            .ok()
            .filter(Option::is_none)
            .map(|_| ())
    })
    .await;
}

async fn strip_metadata_removes_keys_if_the_uid_matches(cluster: &impl Cluster, env: &Env) {
    let mut widget = env.widget(0, "labelled", json!({ "data": { "k": "v" } }));
    widget["metadata"]["labels"]["example.com/a"] = json!("1");
    widget["metadata"]["labels"]["example.com/b"] = json!("2");
    widget["metadata"]["annotations"] = json!({ "example.com/x": "1", "example.com/y": "2" });
    let created = cluster
        .apply(&env.widgets, &widget, "kro-contract")
        .await
        .expect("create");
    let uid = text(&created, "/metadata/uid").to_owned();
    let key = env.key(0, "labelled");
    let strip = |uid: String| {
        let key = key.clone();
        async move {
            cluster
                .strip_metadata(
                    &key,
                    &uid,
                    &["example.com/a", "example.com/absent"],
                    &["example.com/x"],
                    "kro-contract-strip",
                )
                .await
        }
    };

    assert_eq!(
        strip("00000000-0000-0000-0000-000000000000".to_owned()).await,
        Ok(Stripped::UidChanged)
    );
    let read = cluster.get(&key).await.expect("get").expect("exists");
    assert_eq!(
        text(&read, "/metadata/resourceVersion"),
        text(&created, "/metadata/resourceVersion"),
        "left alone"
    );

    assert_eq!(strip(uid.clone()).await, Ok(Stripped::Yes));
    let stripped = cluster.get(&key).await.expect("get").expect("exists");
    assert_eq!(stripped.pointer("/metadata/labels/example.com~1a"), None);
    assert_eq!(
        stripped.pointer("/metadata/labels/example.com~1b"),
        Some(&json!("2"))
    );
    assert_eq!(
        stripped.pointer("/metadata/annotations/example.com~1x"),
        None
    );
    assert_eq!(
        stripped.pointer("/metadata/annotations/example.com~1y"),
        Some(&json!("2"))
    );
    assert_eq!(stripped.pointer("/spec/data/k"), Some(&json!("v")));
    assert_ne!(
        text(&stripped, "/metadata/resourceVersion"),
        text(&created, "/metadata/resourceVersion")
    );

    assert_eq!(strip(uid.clone()).await, Ok(Stripped::Yes), "again");
    let again = cluster.get(&key).await.expect("get").expect("exists");
    assert_eq!(
        text(&again, "/metadata/resourceVersion"),
        text(&stripped, "/metadata/resourceVersion"),
        "nothing left to remove: no write"
    );

    // The manager that applied them applies them again: they are back.
    let reapplied = cluster
        .apply(&env.widgets, &widget, "kro-contract")
        .await
        .expect("re-apply");
    assert_eq!(
        reapplied.pointer("/metadata/labels/example.com~1a"),
        Some(&json!("1"))
    );
    assert_eq!(
        reapplied.pointer("/metadata/annotations/example.com~1x"),
        Some(&json!("1"))
    );

    assert_eq!(cluster.delete(&key, &uid).await, Ok(Deleted::Yes));
    eventually("the widget to be gone", || async {
        cluster
            .get(&key)
            .await
            .ok()
            .filter(Option::is_none)
            .map(|_| ())
    })
    .await;
    assert_eq!(strip(uid).await, Ok(Stripped::AlreadyGone));
}

async fn install_widget_crd(client: &Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("widgets.{GROUP}") },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList" },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": { "type": "object", "properties": {
                            "data": { "type": "object", "additionalProperties": { "type": "string" } },
                            "size": { "type": "integer", "minimum": 0 }
                        } },
                        "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
                    }
                } }
            }]
        }
    }))
    .expect("CRD literal");
    kro_testenv::apply_crd(client, &crd, "kro-contract-test").await;
}

/// A `KubeCluster`, two fresh namespaces (dropped with the returned value)
/// and the Widget kind served.
async fn kube_env(prefix: &str) -> (KubeCluster, Env, [TestNamespace; 2]) {
    let first = TestNamespace::create(&format!("{prefix}-a")).await;
    let second = TestNamespace::create(&format!("{prefix}-b")).await;
    let client = first.client();
    install_widget_crd(&client).await;
    let cluster = KubeCluster::new(client);
    let env = Env {
        widgets: widgets(),
        namespaces: [first.name().to_owned(), second.name().to_owned()],
        run: first.name().to_owned(),
    };
    // Established comes a moment before the type is served everywhere.
    eventually("widgets to be served", || async {
        cluster
            .list(
                &env.widgets,
                ListScope::Namespace(&env.namespaces[0]),
                &LabelSelector::default(),
            )
            .await
            .ok()
    })
    .await;
    (cluster, env, [first, second])
}

macro_rules! contract {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let cluster = kro_runtime::cluster::MemoryCluster::new();
                    super::$scenario(&cluster, &super::memory_env()).await;
                }
            )*
        }
        mod kube_cluster {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let (cluster, env, _namespaces) = super::kube_env("contract").await;
                    super::$scenario(&cluster, &env).await;
                }
            )*
        }
    };
}

contract!(
    apply_creates_then_identical_apply_changes_nothing,
    a_manager_owns_what_it_applies_and_only_that,
    status_is_kept_across_applies_and_written_with_a_resource_version,
    delete_checks_the_uid,
    finalizers_turn_a_delete_into_a_deletion_timestamp,
    finalizers_are_a_set_each_manager_owns_its_own,
    lists_by_namespace_across_namespaces_and_by_selector,
    find_type_knows_a_type_once_it_has_objects,
    remove_finalizer_removes_it_whoever_added_it,
    strip_metadata_removes_keys_if_the_uid_matches,
);

// ------------------------------------------- KubeCluster only (§4 claims)

/// What only a real API server can say: types it does not serve, objects
/// it rejects.
#[tokio::test]
async fn kube_cluster_reports_unknown_types_and_invalid_objects() {
    let (cluster, env, _namespaces) = kube_env("contract-errors").await;
    let unserved = ResourceType {
        gvk: Gvk {
            group: "nowhere.kro.test".to_owned(),
            ..widgets().gvk
        },
        ..widgets()
    };
    let unserved_version = ResourceType {
        gvk: Gvk {
            version: "v9".to_owned(),
            ..widgets().gvk
        },
        ..widgets()
    };
    for resource in [&unserved, &unserved_version] {
        let key = ObjectKey {
            resource: resource.clone(),
            namespace: Some(env.namespaces[0].clone()),
            name: "a".to_owned(),
        };
        let unknown = ClusterError::UnknownType {
            resource: resource.to_string(),
        };
        assert_eq!(cluster.get(&key).await, Err(unknown.clone()), "get");
        assert_eq!(
            cluster
                .list(
                    resource,
                    ListScope::AllNamespaces,
                    &LabelSelector::default()
                )
                .await,
            Err(unknown.clone()),
            "list"
        );
        let mut object = env.widget(0, "a", json!({}));
        object["apiVersion"] = json!(resource.api_version());
        assert_eq!(
            cluster.apply(resource, &object, "kro-contract").await,
            Err(unknown.clone()),
            "apply"
        );
        assert_eq!(cluster.delete(&key, "uid").await, Err(unknown), "delete");
    }

    // A body that does not fit the schema's types (the API server says 500
    // for this one) and one that breaks a validation rule (422).
    for spec in [json!({ "size": "not a number" }), json!({ "size": -1 })] {
        let invalid = env.widget(0, "a", spec);
        match cluster.apply(&env.widgets, &invalid, "kro-contract").await {
            Err(ClusterError::Invalid { .. }) => {}
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
}
