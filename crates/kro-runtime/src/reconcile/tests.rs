//! Unit tests of the pass on the user's Application example, on the
//! in-memory cluster: what `kro render` shows, pass by pass.

use std::time::Duration;

use kro_graph::api::metadata::{APPLYSET_PART_OF, InstanceIdentity};
use kro_graph::builder::Graph;
use serde_json::json;

use super::*;
use crate::cluster::MemoryCluster;
use crate::state::NodeState;
use crate::test_graphs::{application, from_yaml};

fn options() -> Options {
    Options {
        rgd_uid: "rgd-uid".into(),
        now: Some("2026-01-01T00:00:00Z".into()),
        ..Options::default()
    }
}

fn seeded(cluster: &MemoryCluster, graph: &Graph) -> serde_json::Value {
    seed(
        cluster,
        graph,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Application",
            "metadata": { "name": "demo", "namespace": "default", "generation": 1 },
            "spec": { "name": "my-app", "image": "nginx", "ingress": { "enabled": true } }
        }),
    )
}

/// Stores `instance` as the API server would have it.
fn seed(cluster: &MemoryCluster, graph: &Graph, instance: serde_json::Value) -> serde_json::Value {
    cluster.insert(&graph.instance_type, instance).unwrap()
}

fn state(outcome: &Outcome, id: &str) -> NodeState {
    outcome.nodes.iter().find(|n| n.id == id).unwrap().state
}

#[tokio::test]
async fn the_application_goes_forward_one_dependency_per_pass() {
    let graph = application();
    let cluster = MemoryCluster::new();
    let instance = seeded(&cluster, &graph);

    let first = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    assert_eq!(state(&first, "deployment"), NodeState::Synced);
    assert_eq!(state(&first, "service"), NodeState::InProgress);
    assert_eq!(state(&first, "ingress"), NodeState::InProgress);
    assert_eq!(first.applied.len(), 1);
    assert_eq!(first.applied[0]["spec"]["replicas"], 3);
    assert_eq!(first.requeue, Requeue::After(Duration::from_secs(3)));
    assert!(first.cel_evaluations > 0, "evaluations are counted");

    let instance = cluster.get(&key(&graph)).await.unwrap().unwrap();
    let second = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    assert_eq!(state(&second, "service"), NodeState::Synced);
    assert_eq!(state(&second, "ingress"), NodeState::InProgress);
    assert_eq!(second.applied.len(), 1, "the Deployment is unchanged");
    assert_eq!(second.applied[0]["kind"], "Service");

    let instance = cluster.get(&key(&graph)).await.unwrap().unwrap();
    let third = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    assert_eq!(state(&third, "ingress"), NodeState::Synced);
    assert_eq!(third.computed_status["state"], "ACTIVE");

    let instance = cluster.get(&key(&graph)).await.unwrap().unwrap();
    let lists = cluster.list_count();
    let steady = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    assert_eq!(steady.writes, 0);
    assert_eq!(
        cluster.list_count(),
        lists,
        "no pruning lists in steady state"
    );
    assert_eq!(steady.requeue, Requeue::None);
    assert_eq!(steady.desired.len(), 3);
}

fn key(graph: &Graph) -> crate::cluster::ObjectKey {
    crate::cluster::ObjectKey {
        resource: graph.instance_type.clone(),
        namespace: Some("default".into()),
        name: "demo".into(),
    }
}

#[tokio::test]
async fn an_instance_without_a_uid_is_refused() {
    let graph = application();
    let error = reconcile(
        &graph,
        &json!({ "metadata": { "name": "x" } }),
        &MemoryCluster::new(),
        &options(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "instance x: metadata.name and metadata.uid are required"
    );
}

const SET_READINESS: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: sets
spec:
  schema:
    apiVersion: v1alpha1
    kind: Sets
    spec:
      name: string
  resources:
    - id: config
      readyWhen:
        - ${config.metadata.finalizers == ["example.com/b", "example.com/a"]}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
    - id: after
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${config.metadata.name}-after
"#;

/// Observed objects are converted with their kind's types, so a `set` list
/// (`metadata.finalizers`) compares regardless of order, as in the API
/// server.
#[tokio::test]
async fn observed_set_lists_compare_regardless_of_order() {
    let graph = from_yaml(SET_READINESS);
    let cluster = MemoryCluster::new();
    let config_maps = graph.resources[0].resource_type().clone();
    // The instance's own child (one it did not own would not be read).
    let instance_type = &graph.instance_type.gvk;
    let applyset = InstanceIdentity {
        name: "s".into(),
        namespace: Some("default".into()),
        uid: String::new(),
        group: instance_type.group.clone(),
        version: instance_type.version.clone(),
        kind: instance_type.kind.clone(),
    }
    .applyset_id();
    cluster
        .insert(
            &config_maps,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "s", "namespace": "default",
                              "labels": { APPLYSET_PART_OF: applyset },
                              "finalizers": ["example.com/a", "example.com/b"] }
            }),
        )
        .unwrap();
    let instance = seed(
        &cluster,
        &graph,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Sets",
            "metadata": { "name": "s", "namespace": "default" },
            "spec": { "name": "s" }
        }),
    );
    let outcome = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    assert_eq!(state(&outcome, "config"), NodeState::Synced);
    assert_eq!(state(&outcome, "after"), NodeState::Synced);
}

const OPTIONAL_INCLUDE: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: optional
spec:
  schema:
    apiVersion: v1alpha1
    kind: Optional
    spec:
      name: string
      monitoring:
        enabled: boolean
  resources:
    - id: monitor
      includeWhen:
        - ${schema.spec.monitoring.enabled}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
"#;

/// An includeWhen reading a field the instance does not have fails (the
/// data will not arrive by waiting) instead of holding pruning off.
#[tokio::test]
async fn an_include_when_on_a_missing_instance_field_fails() {
    let graph = from_yaml(OPTIONAL_INCLUDE);
    let cluster = MemoryCluster::new();
    let instance = seed(
        &cluster,
        &graph,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Optional",
            "metadata": { "name": "o", "namespace": "default" },
            "spec": { "name": "o" }
        }),
    );
    let outcome = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    let monitor = &outcome.nodes[0];
    assert_eq!(monitor.state, NodeState::Error);
    assert!(
        monitor
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("includeWhen") && r.contains("monitoring")),
        "{monitor:?}"
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
}

const FAILING_STATUS: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: failing
spec:
  schema:
    apiVersion: v1alpha1
    kind: Failing
    spec:
      name: string
    status:
      ratio: ${100 / (size(schema.spec.name) - 1)}
      name: ${config.metadata.name}
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
"#;

/// A status expression that fails for good (not waiting for data) puts
/// the instance in error with the field and the expression, instead of
/// silently leaving the field out.
#[tokio::test]
async fn a_failing_status_expression_is_an_error() {
    let graph = from_yaml(FAILING_STATUS);
    let cluster = MemoryCluster::new();
    let instance = seed(
        &cluster,
        &graph,
        json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Failing",
            "metadata": { "name": "f", "namespace": "default" },
            "spec": { "name": "x" }
        }),
    );
    let outcome = reconcile(&graph, &instance, &cluster, &options())
        .await
        .unwrap();
    let status = &outcome.computed_status;
    assert_eq!(status["state"], "ERROR");
    assert_eq!(status["name"], "x", "the other fields are written");
    assert!(status.get("ratio").is_none());
    let resources_ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "ResourcesReady")
        .unwrap()
        .clone();
    assert_eq!(resources_ready["status"], "False");
    let message = resources_ready["message"].as_str().unwrap();
    assert!(
        message.contains("status.ratio") && message.contains("100 / (size(schema.spec.name) - 1)"),
        "{message}"
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
}
