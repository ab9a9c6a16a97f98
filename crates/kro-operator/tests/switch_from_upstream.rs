//! Switching a cluster from upstream kro to ours, on the local control
//! plane: what upstream left behind (an instance CRD as upstream generates
//! it, an instance with upstream's labels, finalizer and ApplySet
//! inventory, and its child) is taken over by our operator, running
//! in-process, without annotations or manual steps.
//!
//! The objects are written here as upstream writes them (its labels,
//! field managers and ApplySet hashes, computed independently of our code),
//! so that a change of ours that would strand an upstream installation
//! fails this test.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::metadata::version_label;
use kro_graph::api::{ResourceGraphDefinition, RgdState};
use kro_operator::args::Args;
use kro_testenv::{TestNamespace, eventually, free_port, kubeconfig_path};
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// The instance CRD as upstream kro generates it for the RGD below: a
/// timestamp projected into a status object is schemaless, and the
/// conditions are typed as upstream types them. The `team` label is one
/// upstream copied from an earlier version of the RGD's `schema.metadata`.
/// `GROUP`, `RGD` and `RGD_UID` are filled in per test.
const UPSTREAM_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: switcheds.GROUP
  labels:
    kro.run/owned: "true"
    kro.run/kro-version: v0.9.1
    kro.run/resource-graph-definition-id: RGD_UID
    kro.run/resource-graph-definition-name: RGD
    team: platform
spec:
  group: GROUP
  names:
    kind: Switched
    listKind: SwitchedList
    plural: switcheds
    singular: switched
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources:
        status: {}
      additionalPrinterColumns:
        - name: State
          type: string
          jsonPath: .status.state
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              type: object
              properties:
                value:
                  type: string
            status:
              type: object
              properties:
                state:
                  type: string
                conditions:
                  type: array
                  items:
                    type: object
                    properties:
                      type:
                        type: string
                      status:
                        type: string
                      reason:
                        type: string
                      message:
                        type: string
                      lastTransitionTime:
                        type: string
                        format: date-time
                      observedGeneration:
                        type: integer
                config:
                  type: object
                  properties:
                    name:
                      type: string
                    created:
                      x-kubernetes-preserve-unknown-fields: true
"#;

/// The version upstream stamped on what it wrote.
const UPSTREAM_VERSION: &str = "v0.9.1";

/// An operator running in this process, serving only this test's RGDs.
struct Operator {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Operator {
    async fn start(ns: &TestNamespace) -> Self {
        let args = Args::try_parse_from([
            "kro-operator".to_owned(),
            format!("--kubeconfig={}", kubeconfig_path().display()),
            format!("--metrics-bind-address=127.0.0.1:{}", free_port()),
            "--health-probe-bind-address=0".to_owned(),
            format!("--rgd-selector=kro-test={}", ns.name()),
            "--rgd-progress-requeue-delay=1s".to_owned(),
            "--graceful-shutdown-timeout=10s".to_owned(),
        ])
        .expect("valid flags");
        if let Ok(filter) = std::env::var("KRO_TEST_LOG") {
            let _ = kro_operator::telemetry::init(&filter, kro_operator::args::LogFormat::Text);
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(kro_operator::run(args, stop.clone()));
        kro_testenv::crd_established(&ns.client(), "resourcegraphdefinitions.kro.run").await;
        Self { stop, task }
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(30), self.task)
            .await
            .expect("the operator stops within 30 s")
            .expect("the operator task did not panic")
            .expect("the operator stopped without error");
    }
}

/// Upstream's ApplySet id of an instance: base64url(sha256 of
/// `name.namespace.kind.group`), unpadded.
fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest))
}

/// Upstream's checksum of an inventory: id, group-kinds and additional
/// namespaces joined by NUL.
fn inventory_hash(id: &str, group_kinds: &str, namespaces: &str) -> String {
    let digest = Sha256::digest(format!("{id}\0{group_kinds}\0{namespaces}").as_bytes());
    format!("sha256:{}", URL_SAFE_NO_PAD.encode(digest))
}

/// The schema at `path` (property names) below the CRD's root, as JSON.
fn schema_at(crd: &CustomResourceDefinition, path: &[&str]) -> Value {
    let mut schema =
        serde_json::to_value(&crd.spec.versions[0].schema).expect("serialises")["openAPIV3Schema"]
            .take();
    for name in path {
        schema = schema["properties"][*name].take();
    }
    schema
}

#[tokio::test]
async fn a_cluster_switches_from_upstream_without_recreating_anything() {
    let ns = TestNamespace::create("switch").await;
    let client = ns.client();
    let group = format!("{}.kro.test", ns.name());
    let rgd_name = format!("{}-switched", ns.name());
    let crd_name = format!("switcheds.{group}");

    // What upstream left: its CRD, created by its manager.
    let yaml = UPSTREAM_CRD
        .replace("RGD_UID", "0b6a1f0e-upstream-rgd-uid")
        .replace("GROUP", &group)
        .replace("RGD", &rgd_name);
    let upstream_crd: CustomResourceDefinition =
        serde_saphyr::from_str(&yaml).expect("the upstream CRD parses");
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let upstream_manager = PostParams {
        field_manager: Some("kro".to_owned()),
        ..PostParams::default()
    };
    crds.create(&upstream_manager, &upstream_crd)
        .await
        .expect("create the upstream CRD");
    kro_testenv::crd_established(&client, &crd_name).await;

    // An instance as upstream manages it: labels, finalizer, inventory.
    let resource = ApiResource {
        group: group.clone(),
        version: "v1alpha1".to_owned(),
        api_version: format!("{group}/v1alpha1"),
        kind: "Switched".to_owned(),
        plural: "switcheds".to_owned(),
    };
    let instances = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &resource);
    let id = applyset_id("taken-over", ns.name(), "Switched", &group);
    let instance: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1alpha1"),
        "kind": "Switched",
        "metadata": {
            "name": "taken-over",
            "labels": {
                "kro.run/owned": "true",
                "kro.run/kro-version": UPSTREAM_VERSION,
                "kro.run/resource-graph-definition-id": "0b6a1f0e-upstream-rgd-uid",
                "kro.run/resource-graph-definition-name": rgd_name,
                "applyset.kubernetes.io/id": id,
            },
            "annotations": {
                "applyset.kubernetes.io/tooling": format!("kro/{UPSTREAM_VERSION}"),
                "applyset.kubernetes.io/contains-group-kinds": "ConfigMap",
                "applyset.kubernetes.io/additional-namespaces": "",
                "internal.kro.run/applyset-inventory-hash": inventory_hash(&id, "ConfigMap", ""),
            },
            "finalizers": ["kro.run/finalizer"],
        },
        "spec": { "value": "new" },
    }))
    .expect("an instance");
    let instance = instances
        .create(&PostParams::default(), &instance)
        .await
        .expect("create the instance");
    let instance_uid = instance.metadata.uid.clone().expect("a uid");

    // Its child, rendered by upstream from an older spec.
    let config_maps = ns.api::<ConfigMap>();
    let child = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "taken-over",
            "labels": {
                "kro.run/owned": "true",
                "kro.run/kro-version": UPSTREAM_VERSION,
                "kro.run/instance-id": instance_uid,
                "kro.run/instance-name": "taken-over",
                "kro.run/instance-namespace": ns.name(),
                "kro.run/instance-group": group,
                "kro.run/instance-version": "v1alpha1",
                "kro.run/instance-kind": "Switched",
                "app.kubernetes.io/managed-by": "kro",
                "kro.run/node-id": "config",
                "applyset.kubernetes.io/part-of": id,
            },
            "annotations": { "internal.kro.run/apply-order": "0" },
        },
        "data": { "value": "old" },
    });
    let child = config_maps
        .patch(
            "taken-over",
            &PatchParams::apply("kro.run/applyset").force(),
            &Patch::Apply(&child),
        )
        .await
        .expect("create the child");
    let child_uid = child.metadata.uid.clone().expect("a uid");

    // Our operator, and the RGD upstream served.
    let operator = Operator::start(&ns).await;
    let rgd = json!({
        "apiVersion": "kro.run/v1alpha1",
        "kind": "ResourceGraphDefinition",
        "metadata": { "name": rgd_name, "labels": { "kro-test": ns.name() } },
        "spec": {
            "schema": {
                "apiVersion": "v1alpha1",
                "kind": "Switched",
                "group": group,
                "spec": { "value": "string" },
                "status": { "config": {
                    "name": "${config.metadata.name}",
                    "created": "${config.metadata.creationTimestamp}",
                } },
            },
            "resources": [{
                "id": "config",
                "template": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": "${schema.metadata.name}" },
                    "data": { "value": "${schema.spec.value}" },
                },
            }],
        },
    });
    let rgds = Api::<ResourceGraphDefinition>::all(client.clone());
    rgds.patch(
        &rgd_name,
        &PatchParams::apply("kro-test").force(),
        &Patch::Apply(&rgd),
    )
    .await
    .expect("apply the RGD");
    let rgd = eventually("the RGD to be Active", || async {
        let rgd = rgds.get_opt(&rgd_name).await.ok()??;
        (rgd.status.as_ref()?.state == Some(RgdState::Active)).then_some(rgd)
    })
    .await;

    // The CRD is ours now: typed where upstream left it schemaless, with no
    // field left to upstream's manager.
    let crd = crds.get(&crd_name).await.expect("the CRD");
    let typed = schema_at(&crd, &["status", "config", "created"]);
    assert_eq!(typed["type"], "string", "{typed}");
    assert!(
        typed.get("x-kubernetes-preserve-unknown-fields").is_none(),
        "upstream's schemaless marker is gone: {typed}"
    );
    let labels = crd.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kro.run/resource-graph-definition-id"),
        rgd.metadata.uid.as_ref()
    );
    assert_eq!(
        labels.get("team"),
        None,
        "a label only upstream wrote is gone"
    );
    let managers: Vec<(String, String)> = crd
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.subresource.as_deref().unwrap_or_default().is_empty())
        .map(|entry| {
            (
                entry.manager.clone().unwrap_or_default(),
                entry.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        managers,
        [("kro.run/operator".to_owned(), "Apply".to_owned())]
    );

    // The instance is reconciled, its child adopted rather than recreated.
    let reconciled = eventually("the instance to be ACTIVE", || async {
        let instance = instances.get_opt("taken-over").await.ok()??;
        (instance.data["status"]["state"] == "ACTIVE").then_some(instance)
    })
    .await;
    let child = config_maps.get("taken-over").await.expect("the child");
    assert_eq!(child.metadata.uid.as_deref(), Some(child_uid.as_str()));
    assert_eq!(
        child.data.and_then(|d| d.get("value").cloned()).as_deref(),
        Some("new")
    );
    let created = child
        .metadata
        .creation_timestamp
        .map(|t| t.0.to_string())
        .expect("a creation time");
    let projected = &reconciled.data["status"]["config"];
    assert_eq!(projected["name"], "taken-over");
    assert_eq!(
        projected["created"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok()),
        created.parse::<jiff::Timestamp>().ok()
    );
    assert_eq!(
        reconciled
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kro.run/kro-version")),
        Some(&version_label())
    );

    // Deleting the instance deletes the child, then releases the finalizer.
    instances
        .delete("taken-over", &DeleteParams::default())
        .await
        .expect("delete the instance");
    eventually("the child and the instance to be gone", || async {
        let gone = config_maps.get_opt("taken-over").await.ok()?.is_none()
            && instances.get_opt("taken-over").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    operator.stop().await;
    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete the CRD");
}
