//! Proves that the local control plane is a real, working Kubernetes: the
//! controllers, scheduler, simulated nodes and API features that kro relies
//! on are all there.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_testenv::{TestNamespace, eventually};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::{Api, Resource};
use serde_json::{Value, json};

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test fixture literal deserializes")
}

#[tokio::test]
async fn api_server_reports_the_pinned_kubernetes_version() {
    let ns = TestNamespace::create("smoke-version").await;
    let version = ns.client().apiserver_version().await.expect("GET /version");
    assert_eq!(version.major, "1");
    assert!(
        version.git_version.starts_with("v1.36."),
        "unexpected version {}",
        version.git_version
    );
}

#[tokio::test]
async fn deployment_reaches_three_available_replicas() {
    let ns = TestNamespace::create("smoke-deployment").await;
    let deployments = ns.api::<Deployment>();
    let deployment: Deployment = from_json(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "web" },
        "spec": {
            "replicas": 3,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": [{ "name": "web", "image": "nginx" }] }
            }
        }
    }));
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create deployment");

    eventually("deployment web to have 3 available replicas", || async {
        let current = deployments.get("web").await.ok()?;
        let available = current.status?.available_replicas?;
        (available == 3).then_some(())
    })
    .await;
}

#[tokio::test]
async fn custom_resource_lifecycle() {
    let ns = TestNamespace::create("smoke-crd").await;
    let client = ns.client();
    // The CRD is cluster-scoped: its group carries the namespace name so
    // that test binaries sharing one control plane never collide.
    let group = format!("{}.smoke.kro.run", ns.name());
    let crd_name = format!("widgets.{group}");
    let crd: CustomResourceDefinition = from_json(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": crd_name },
        "spec": {
            "group": group,
            "names": { "kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList" },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": { "type": "object", "properties": {
                            "size": { "type": "integer", "default": 1 },
                            "colour": { "type": "string" }
                        }}
                    }
                }}
            }]
        }
    }));
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("create CRD");
    kro_testenv::crd_established(&client, &crd_name).await;

    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1alpha1", "Widget"));
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &resource);

    // Watch from before the object exists, so every event is seen. The API
    // server may need a moment after Established before it serves the kind.
    let watch_params = WatchParams::default()
        .fields("metadata.name=blue")
        .timeout(60);
    let mut events = eventually("a watch on widgets", || async {
        widgets.watch(&watch_params, "0").await.ok()
    })
    .await
    .boxed();

    let manager = "kro-smoke";
    let apply = json!({
        "apiVersion": format!("{group}/v1alpha1"),
        "kind": "Widget",
        "metadata": { "name": "blue" },
        "spec": { "colour": "blue" }
    });
    let params = PatchParams::apply(manager);
    let applied = widgets
        .patch("blue", &params, &Patch::Apply(&apply))
        .await
        .expect("server-side apply");
    assert_eq!(applied.data["spec"]["colour"], "blue");
    assert_eq!(
        applied.data["spec"]["size"], 1,
        "the CRD default is applied"
    );
    let managers: Vec<_> = applied
        .meta()
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|entry| entry.manager.as_deref())
        .collect();
    assert!(
        managers.contains(&manager),
        "field manager recorded: {managers:?}"
    );

    let reapplied = json!({
        "apiVersion": format!("{group}/v1alpha1"),
        "kind": "Widget",
        "metadata": { "name": "blue" },
        "spec": { "colour": "green" }
    });
    widgets
        .patch("blue", &params, &Patch::Apply(&reapplied))
        .await
        .expect("re-apply");
    widgets
        .delete("blue", &DeleteParams::default())
        .await
        .expect("delete widget");

    let mut seen = Vec::new();
    while let Some(event) = events.try_next().await.expect("watch stream") {
        let kind = match event {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => panic!("watch error: {e:?}"),
        };
        seen.push(kind);
        if kind == "DELETED" {
            break;
        }
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);

    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete CRD");
}

#[tokio::test]
async fn openapi_v3_serves_apps_v1() {
    let ns = TestNamespace::create("smoke-openapi").await;
    let client = ns.client();
    let get = |uri: String| {
        let client = client.clone();
        async move {
            let request = http::Request::get(uri)
                .body(Vec::new())
                .expect("valid request");
            client.request::<Value>(request).await
        }
    };
    let index = get("/openapi/v3".to_owned())
        .await
        .expect("GET /openapi/v3");
    let apps_url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("apps/v1 listed in the OpenAPI v3 index: {index}"))
        .to_owned();
    let apps = get(apps_url)
        .await
        .expect("GET the apps/v1 OpenAPI v3 document");
    let deployment = &apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["properties"]["spec"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
    );
}

#[tokio::test]
async fn garbage_collector_deletes_owned_objects() {
    let ns = TestNamespace::create("smoke-gc").await;
    let config_maps = ns.api::<ConfigMap>();
    let owner = config_maps
        .create(
            &PostParams::default(),
            &from_json(json!({ "metadata": { "name": "owner" } })),
        )
        .await
        .expect("create owner");
    let owner_ref = owner
        .controller_owner_ref(&())
        .expect("a created object has a uid");
    let owned: ConfigMap = from_json(json!({
        "metadata": { "name": "owned", "ownerReferences": [owner_ref] },
        "data": { "note": "deleted with its owner" }
    }));
    config_maps
        .create(&PostParams::default(), &owned)
        .await
        .expect("create owned");

    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    eventually(
        "the garbage collector to delete configmap owned",
        || async {
            match config_maps.get_opt("owned").await {
                Ok(None) => Some(()),
                _ => None,
            }
        },
    )
    .await;
}
