//! What the operator's design assumes about the API server and kube-rs,
//! checked (docs/design/operator.md §8): the user agent, no-op applies and
//! watches, label-filtered watches, streaming lists of metadata, and
//! `Controller::graceful_shutdown_on` with a cancellation token.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kro_testenv::{TestNamespace, kubeconfig_path};
use kube::api::{Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn config_map(name: &str, labels: serde_json::Value) -> serde_json::Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": name, "labels": labels }, "data": { "k": "v" } })
}

#[tokio::test]
async fn writes_without_a_field_manager_are_named_after_the_user_agent() {
    let ns = TestNamespace::create("semantics-agent").await;
    let client = kro_operator::client::connect(
        Some(kubeconfig_path()),
        &kro_operator::metrics::Metrics::new(),
    )
    .await
    .expect("connect like the operator");
    let api = Api::<ConfigMap>::namespaced(client, ns.name());
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(config_map("agent", json!({}))).expect("literal"),
        )
        .await
        .expect("create");
    let managers: Vec<_> = created
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["kro"]);
}

/// The next watch event within `limit`, if any (bookmarks skipped).
async fn next_event(
    events: &mut (
             impl futures::Stream<Item = kube::Result<WatchEvent<PartialObjectMeta<ConfigMap>>>> + Unpin
         ),
    limit: Duration,
) -> Option<WatchEvent<PartialObjectMeta<ConfigMap>>> {
    tokio::time::timeout(limit, async {
        loop {
            match events.try_next().await {
                Ok(Some(WatchEvent::Bookmark(_))) => continue,
                Ok(event) => return event,
                Err(e) => panic!("watch failed: {e}"),
            }
        }
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test]
async fn no_op_applies_are_silent_and_a_label_filtered_watch_reports_leaving_objects() {
    let ns = TestNamespace::create("semantics-watch").await;
    let api = Api::<ConfigMap>::namespaced(ns.client(), ns.name());
    let apply = PatchParams::apply("kro-semantics-test").force();
    let owned = config_map("watched", json!({ "kro.run/owned": "true", "keep": "me" }));
    let created = api
        .patch("watched", &apply, &Patch::Apply(&owned))
        .await
        .expect("create");
    let version = created.resource_version().expect("a resourceVersion");

    let params = WatchParams::default().labels("kro.run/owned=true");
    let mut events = api
        .watch_metadata(&params, &version)
        .await
        .expect("start the watch")
        .boxed();

    // A no-op apply changes no resourceVersion, so the watch stays silent.
    let again = api
        .patch("watched", &apply, &Patch::Apply(&owned))
        .await
        .expect("re-apply");
    assert_eq!(again.resource_version(), Some(version));
    let event = next_event(&mut events, Duration::from_secs(3)).await;
    assert!(event.is_none(), "no event for a no-op apply: {event:?}");

    // Dropping the label the watch filters on: the object leaves the
    // watch as DELETED, carrying its old labels (the state that matched),
    // so routing by the child's labels still finds its instance.
    let unowned = config_map("watched", json!({ "keep": "me" }));
    api.patch("watched", &apply, &Patch::Apply(&unowned))
        .await
        .expect("drop the label");
    match next_event(&mut events, Duration::from_secs(30)).await {
        Some(WatchEvent::Deleted(object)) => {
            assert_eq!(object.name_any(), "watched");
            assert_eq!(
                object.labels().get("kro.run/owned").map(String::as_str),
                Some("true"),
                "DELETED carries the object as it was, with the label"
            );
            assert_eq!(object.labels().get("keep").map(String::as_str), Some("me"));
        }
        other => panic!("expected DELETED, got {other:?}"),
    }
}

#[tokio::test]
async fn streaming_lists_of_metadata_work() {
    let ns = TestNamespace::create("semantics-stream").await;
    let client = ns.client();
    let api = Api::<ConfigMap>::namespaced(client.clone(), ns.name());
    let apply = PatchParams::apply("kro-semantics-test").force();
    for name in ["one", "two"] {
        api.patch(
            name,
            &apply,
            &Patch::Apply(&config_map(name, json!({ "stream": "yes" }))),
        )
        .await
        .expect("create");
    }
    let metadata = Api::<PartialObjectMeta<ConfigMap>>::namespaced(client, ns.name());
    let config = watcher::Config::default()
        .labels("stream=yes")
        .streaming_lists();
    let mut stream = watcher(metadata, config).boxed();
    let mut listed = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::InitApply(object))) => listed.push(object.name_any()),
                Ok(Some(watcher::Event::InitDone)) => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the watcher ended"),
                Err(e) => panic!("streaming list failed: {e}"),
            }
        }
    })
    .await
    .expect("the initial list completes");
    listed.sort();
    assert_eq!(listed, ["one", "two"]);
}

#[tokio::test]
async fn a_controller_stops_on_a_cancelled_token() {
    let ns = TestNamespace::create("semantics-controller").await;
    let token = CancellationToken::new();
    let api = Api::<ConfigMap>::namespaced(ns.client(), ns.name());
    // `graceful_shutdown_on` takes the token's owned future: it must be
    // Send + Sync, and it is.
    let controller = Controller::new(api, watcher::Config::default())
        .graceful_shutdown_on(token.clone().cancelled_owned())
        .run(
            |_, _: std::sync::Arc<()>| async { Ok::<_, kube::Error>(Action::await_change()) },
            |_, _, _| Action::await_change(),
            std::sync::Arc::new(()),
        )
        .for_each(|_| async {});
    let running = tokio::spawn(controller);
    tokio::time::sleep(Duration::from_millis(500)).await;
    token.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the controller stops within 10s")
        .expect("the controller task");
}
