//! The runtime's scenario suite, written once for any [`Cluster`]: the
//! runtime's own tests run it on `MemoryCluster`
//! (`crates/kro-runtime/tests/memory_scenarios.rs`), the operator's run it
//! on the local control plane through `KubeCluster`
//! (`crates/kro-operator/tests/runtime_scenarios.rs`).
//!
//! It is a module of the library, behind the `scenarios` feature, so that
//! both crates depend on one suite (each enables the feature from its
//! dev-dependencies; no normal build compiles it).
//!
//! Every scenario uses kinds without controllers of their own (ConfigMaps)
//! so that what happens is decided by the runtime and the test alone: a
//! "user" changes objects through server-side apply under another field
//! manager, as `kubectl apply --server-side` would. Each scenario has its
//! own instance kind and object names, so scenarios can share a namespace
//! and a cluster.

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Cluster, ObjectKey, ResourceType};
use crate::state::NodeState;
use crate::{Options, Outcome, Requeue, reconcile};
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::resolver::{BuiltinSchemas, Gvk};
use serde_json::{Value, json};

/// What a scenario needs beyond the cluster itself.
pub trait Harness: Sync {
    /// The cluster under test.
    type Cluster: Cluster;
    /// The cluster.
    fn cluster(&self) -> &Self::Cluster;
    /// The namespace the scenario works in.
    fn namespace(&self) -> &str;
    /// Makes `graph`'s instance kind servable: installs its CRD on a real
    /// cluster.
    fn install(&self, graph: &Graph) -> impl std::future::Future<Output = ()> + Send;
}

const USER: &str = "scenario-user";
const GROUP: &str = "scenarios.kro.run";

/// The type of ConfigMaps, the kind every scenario creates.
pub fn config_map_type() -> ResourceType {
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

/// Builds the graph of an RGD written in YAML, with the instance kind
/// `kind` in the scenarios' group.
pub fn graph(kind: &str, yaml: &str) -> Graph {
    let text = yaml.replace("KIND", kind);
    let mut rgd: ResourceGraphDefinition = serde_saphyr::from_str(&text).expect("scenario RGD");
    rgd.spec.schema.group = Some(GROUP.to_owned());
    Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    )
    .build(&rgd)
    .unwrap_or_else(|e| panic!("scenario RGD for {kind} does not build: {e}"))
}

fn options() -> Options {
    Options {
        rgd_uid: "scenario-rgd-uid".into(),
        requeue_interval: Duration::from_secs(1),
        max_collection_size: 10,
        now: None,
        ..Options::default()
    }
}

struct Instance<'a, H: Harness> {
    harness: &'a H,
    graph: Graph,
    key: ObjectKey,
}

impl<'a, H: Harness> Instance<'a, H> {
    /// Installs the kind and creates an instance named `name` with `spec`.
    async fn create(harness: &'a H, graph: Graph, name: &str, spec: Value) -> Self {
        harness.install(&graph).await;
        let resource = graph.instance_type.clone();
        let key = ObjectKey {
            resource,
            namespace: Some(harness.namespace().to_owned()),
            name: name.to_owned(),
        };
        let instance = Instance {
            harness,
            graph,
            key,
        };
        instance.set_spec(spec).await;
        instance
    }

    async fn set_spec(&self, spec: Value) {
        self.user_apply(json!({ "spec": spec })).await;
    }

    async fn user_apply(&self, mut body: Value) {
        body["apiVersion"] = json!(self.key.resource.api_version());
        body["kind"] = json!(self.key.resource.gvk.kind);
        body["metadata"]["name"] = json!(self.key.name);
        body["metadata"]["namespace"] = json!(self.harness.namespace());
        self.harness
            .cluster()
            .apply(&self.key.resource, &body, USER)
            .await
            .expect("apply the instance as a user");
    }

    async fn get(&self) -> Option<Value> {
        self.harness
            .cluster()
            .get(&self.key)
            .await
            .expect("read the instance")
    }

    /// One pass.
    async fn pass(&self) -> Outcome {
        self.pass_with(&self.graph).await
    }

    async fn pass_with(&self, graph: &Graph) -> Outcome {
        let instance = self.get().await.expect("the instance exists");
        reconcile(graph, &instance, self.harness.cluster(), &options())
            .await
            .expect("the pass completes")
    }

    /// Passes until one changes nothing and asks for no requeue; returns
    /// them all.
    async fn settle(&self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for _ in 0..8 {
            let outcome = self.pass().await;
            let done = outcome.writes == 0 && outcome.requeue == Requeue::None;
            outcomes.push(outcome);
            if done {
                return outcomes;
            }
        }
        panic!(
            "{} did not settle in 8 passes; last: {:#?}",
            self.key,
            outcomes.last()
        );
    }

    async fn status(&self) -> Value {
        self.get().await.expect("the instance exists")["status"].clone()
    }

    /// Deletes the instance as a user would (it stays while kro's finalizer
    /// is on it).
    async fn delete(&self) {
        let instance = self.get().await.expect("the instance exists");
        let uid = instance["metadata"]["uid"]
            .as_str()
            .expect("uid")
            .to_owned();
        self.harness
            .cluster()
            .delete(&self.key, &uid)
            .await
            .expect("delete the instance");
    }
}

fn config_map_key<H: Harness>(harness: &H, name: &str) -> ObjectKey {
    ObjectKey {
        resource: config_map_type(),
        namespace: Some(harness.namespace().to_owned()),
        name: name.to_owned(),
    }
}

async fn config_map<H: Harness>(harness: &H, name: &str) -> Option<Value> {
    harness
        .cluster()
        .get(&config_map_key(harness, name))
        .await
        .expect("read a ConfigMap")
}

/// Creates or changes a ConfigMap as a user.
async fn user_config_map<H: Harness>(harness: &H, name: &str, labels: Value, data: Value) {
    let body = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": name, "namespace": harness.namespace(), "labels": labels },
        "data": data,
    });
    harness
        .cluster()
        .apply(&config_map_type(), &body, USER)
        .await
        .expect("apply a ConfigMap as a user");
}

fn state_of<'a>(outcome: &'a Outcome, id: &str) -> (NodeState, Option<&'a str>) {
    let node = outcome
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id} in {:#?}", outcome.nodes));
    (node.state, node.reason.as_deref())
}

/// Three ConfigMaps in a chain, the last one optional.
const CHAIN: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      value: string
      enabled: boolean
    status:
      base: ${base.data.value}
      derived: ${derived.data.value}
  resources:
    - id: base
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-base
        data:
          value: ${schema.spec.value}
    - id: derived
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-derived
        data:
          value: from ${base.data.value}
    - id: optional
      includeWhen:
        - ${schema.spec.enabled}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-optional
        data:
          value: ${derived.data.value}
"#;

/// Creation in dependency order across passes, data pending in templates
/// and status, an update propagating, and a steady state without writes.
pub async fn create_update_and_steady_state<H: Harness>(harness: &H) {
    let spec = json!({ "name": "chain", "value": "one", "enabled": true });
    let instance = Instance::create(harness, graph("Chain", CHAIN), "chain", spec).await;

    let first = instance.pass().await;
    assert_eq!(state_of(&first, "base").0, NodeState::Synced);
    let (derived, reason) = state_of(&first, "derived");
    assert_eq!(derived, NodeState::InProgress);
    assert!(reason.is_some_and(|r| r.contains("base")), "{reason:?}");
    assert!(matches!(first.requeue, Requeue::After(_)));
    let status = instance.status().await;
    assert_eq!(status["state"], "IN_PROGRESS");
    assert_eq!(status["base"], "one");
    assert!(
        status.get("derived").is_none(),
        "pending field dropped: {status}"
    );
    assert!(config_map(harness, "chain-derived").await.is_none());
    let metadata = &instance.get().await.expect("instance")["metadata"];
    assert!(
        metadata["finalizers"]
            .to_string()
            .contains("kro.run/finalizer")
    );
    assert_eq!(
        metadata["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );

    let settled = instance.settle().await;
    let last = settled.last().expect("a pass");
    assert_eq!(last.writes, 0, "a steady instance costs no writes");
    let status = instance.status().await;
    assert_eq!(status["state"], "ACTIVE");
    assert_eq!(status["derived"], "from one");
    let optional = config_map(harness, "chain-optional")
        .await
        .expect("optional");
    assert_eq!(optional["data"]["value"], "from one");
    let labels = &optional["metadata"]["labels"];
    assert_eq!(labels["kro.run/node-id"], "optional");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kro");
    assert_eq!(labels["kro.run/instance-kind"], "Chain");
    assert_eq!(
        optional["metadata"]["annotations"]["internal.kro.run/apply-order"],
        "3"
    );
    let ready = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready")
        .clone();
    assert_eq!(ready["status"], "True");

    instance
        .set_spec(json!({ "name": "chain", "value": "two", "enabled": true }))
        .await;
    instance.settle().await;
    let optional = config_map(harness, "chain-optional")
        .await
        .expect("optional");
    assert_eq!(optional["data"]["value"], "from two");
    assert_eq!(instance.status().await["base"], "two");
}

/// `includeWhen` turned off prunes the object; turned on recreates it.
pub async fn include_when_toggles<H: Harness>(harness: &H) {
    let spec = json!({ "name": "toggle", "value": "v", "enabled": true });
    let instance = Instance::create(harness, graph("Toggle", CHAIN), "toggle", spec).await;
    instance.settle().await;
    assert!(config_map(harness, "toggle-optional").await.is_some());

    instance
        .set_spec(json!({ "name": "toggle", "value": "v", "enabled": false }))
        .await;
    let outcomes = instance.settle().await;
    assert_eq!(
        state_of(outcomes.last().expect("a pass"), "optional").0,
        NodeState::Skipped
    );
    assert!(
        outcomes
            .iter()
            .flat_map(|o| &o.deleted)
            .any(|k| k.name == "toggle-optional")
    );
    assert!(config_map(harness, "toggle-optional").await.is_none());
    assert_eq!(instance.status().await["state"], "ACTIVE");

    instance
        .set_spec(json!({ "name": "toggle", "value": "v", "enabled": true }))
        .await;
    instance.settle().await;
    assert!(config_map(harness, "toggle-optional").await.is_some());
}

/// A changed child is put back; a field another manager added stays.
pub async fn drift_is_corrected<H: Harness>(harness: &H) {
    let spec = json!({ "name": "drift", "value": "kept", "enabled": false });
    let instance = Instance::create(harness, graph("Drift", CHAIN), "drift", spec).await;
    instance.settle().await;
    user_config_map(
        harness,
        "drift-base",
        json!({}),
        json!({ "value": "changed by hand", "extra": "mine" }),
    )
    .await;
    let outcome = instance.pass().await;
    assert!(outcome.writes > 0);
    let base = config_map(harness, "drift-base").await.expect("base");
    assert_eq!(base["data"]["value"], "kept");
    assert_eq!(base["data"]["extra"], "mine");
}

const GATED: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
  resources:
    - id: gate
      readyWhen:
        - ${"open" in gate.data && gate.data.open == "yes"}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-gate
        data:
          purpose: gate
    - id: behind
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-behind
        data:
          purpose: ${gate.data.purpose}
"#;

/// `readyWhen` holds back the dependents until it holds.
pub async fn ready_when_gates_dependents<H: Harness>(harness: &H) {
    let spec = json!({ "name": "gated" });
    let instance = Instance::create(harness, graph("Gated", GATED), "gated", spec).await;
    instance.pass().await;
    let outcome = instance.pass().await;
    assert_eq!(state_of(&outcome, "gate").0, NodeState::WaitingForReadiness);
    assert_eq!(state_of(&outcome, "behind").0, NodeState::InProgress);
    assert!(config_map(harness, "gated-behind").await.is_none());
    assert_eq!(instance.status().await["state"], "IN_PROGRESS");

    user_config_map(harness, "gated-gate", json!({}), json!({ "open": "yes" })).await;
    instance.settle().await;
    assert!(config_map(harness, "gated-behind").await.is_some());
    assert_eq!(instance.status().await["state"], "ACTIVE");
}

const FLEET: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      zones: "[]string"
    status:
      count: ${size(workers)}
  resources:
    - id: workers
      forEach:
        - zone: ${schema.spec.zones}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-${zone}
        data:
          zone: ${zone}
"#;

async fn fleet_names<H: Harness>(harness: &H, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for zone in ["a", "b", "c", "d", "e"] {
        let name = format!("{prefix}-{zone}");
        if config_map(harness, &name).await.is_some() {
            names.push(name);
        }
    }
    names
}

/// A collection is created, scaled up and scaled down.
pub async fn collections_scale<H: Harness>(harness: &H) {
    let spec = json!({ "name": "fleet", "zones": ["a", "b", "c"] });
    let instance = Instance::create(harness, graph("Fleet", FLEET), "fleet", spec).await;
    instance.settle().await;
    assert_eq!(
        fleet_names(harness, "fleet").await,
        ["fleet-a", "fleet-b", "fleet-c"]
    );
    assert_eq!(instance.status().await["count"], 3);
    let item = config_map(harness, "fleet-b").await.expect("item");
    assert_eq!(item["metadata"]["labels"]["kro.run/collection-index"], "1");
    assert_eq!(item["metadata"]["labels"]["kro.run/collection-size"], "3");

    instance
        .set_spec(json!({ "name": "fleet", "zones": ["a", "b", "c", "d", "e"] }))
        .await;
    instance.settle().await;
    assert_eq!(fleet_names(harness, "fleet").await.len(), 5);

    instance
        .set_spec(json!({ "name": "fleet", "zones": ["b"] }))
        .await;
    instance.settle().await;
    assert_eq!(fleet_names(harness, "fleet").await, ["fleet-b"]);
    assert_eq!(instance.status().await["count"], 1);

    instance
        .set_spec(json!({ "name": "fleet", "zones": ["a", "b", "c", "d", "e", "a"] }))
        .await;
    let outcome = instance.pass().await;
    let (state, reason) = state_of(&outcome, "workers");
    assert_eq!(state, NodeState::Error);
    assert!(
        reason.is_some_and(|r| r.contains("identity collision")),
        "{reason:?}"
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
    assert_eq!(
        fleet_names(harness, "fleet").await,
        ["fleet-b"],
        "nothing pruned on error"
    );
}

const READER: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      team: string
  resources:
    - id: shared
      externalRef:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-shared
    - id: team
      externalRef:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          selector:
            matchLabels:
              team: ${schema.spec.team}
    - id: summary
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-summary
        data:
          shared: ${shared.data.value}
          members: ${string(size(team))}
"#;

/// A namespace that every cluster has and no harness uses.
const OTHER_NAMESPACE: &str = "kube-public";

/// External references by name and by selector: read, never written,
/// never deleted; a change to them re-renders their dependents.
pub async fn external_refs<H: Harness>(harness: &H) {
    let spec = json!({ "name": "reader", "team": "reader-team" });
    let instance = Instance::create(harness, graph("Reader", READER), "reader", spec).await;
    let outcome = instance.pass().await;
    let (state, reason) = state_of(&outcome, "shared");
    assert_eq!(state, NodeState::WaitingForReadiness);
    assert!(
        reason.is_some_and(|r| r.contains("not found")),
        "{reason:?}"
    );
    assert_eq!(state_of(&outcome, "summary").0, NodeState::InProgress);
    assert_eq!(outcome.external_reads.len(), 2);

    user_config_map(
        harness,
        "reader-shared",
        json!({}),
        json!({ "value": "v1" }),
    )
    .await;
    user_config_map(
        harness,
        "reader-m1",
        json!({ "team": "reader-team" }),
        json!({}),
    )
    .await;
    instance.settle().await;
    let summary = config_map(harness, "reader-summary")
        .await
        .expect("summary");
    assert_eq!(summary["data"]["shared"], "v1");
    assert_eq!(summary["data"]["members"], "1");

    user_config_map(
        harness,
        "reader-shared",
        json!({}),
        json!({ "value": "v2" }),
    )
    .await;
    user_config_map(
        harness,
        "reader-m2",
        json!({ "team": "reader-team" }),
        json!({}),
    )
    .await;
    // A matching object in another namespace is not the instance's to read:
    // a selector without a namespace stays in the instance's own.
    let elsewhere = ObjectKey {
        resource: config_map_type(),
        namespace: Some(OTHER_NAMESPACE.to_owned()),
        name: format!("{}-reader-m3", harness.namespace()),
    };
    let outside = harness
        .cluster()
        .apply(
            &config_map_type(),
            &json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": elsewhere.name, "namespace": OTHER_NAMESPACE,
                    "labels": { "team": "reader-team" },
                },
            }),
            USER,
        )
        .await
        .expect("apply a ConfigMap in another namespace");
    let settled = instance.settle().await;
    let summary = config_map(harness, "reader-summary")
        .await
        .expect("summary");
    assert_eq!(summary["data"]["shared"], "v2");
    assert_eq!(summary["data"]["members"], "2");
    let mut matched: Vec<&str> = settled
        .last()
        .into_iter()
        .flat_map(|outcome| &outcome.external_reads)
        .flat_map(|read| &read.matched)
        .map(|key| key.name.as_str())
        .collect();
    matched.sort_unstable();
    assert_eq!(
        matched,
        ["reader-m1", "reader-m2"],
        "what the selector matched"
    );
    let outside_uid = outside["metadata"]["uid"].as_str().unwrap_or_default();
    harness
        .cluster()
        .delete(&elsewhere, outside_uid)
        .await
        .expect("delete the ConfigMap in another namespace");
    let shared = config_map(harness, "reader-shared").await.expect("shared");
    assert!(
        shared["metadata"]["labels"].get("kro.run/owned").is_none(),
        "never labelled"
    );

    instance.delete().await;
    for _ in 0..6 {
        if instance.pass().await.finalized {
            break;
        }
    }
    assert!(instance.get().await.is_none());
    assert!(config_map(harness, "reader-summary").await.is_none());
    assert!(
        config_map(harness, "reader-shared").await.is_some(),
        "never deleted"
    );
    assert!(
        config_map(harness, "reader-m1").await.is_some(),
        "never deleted"
    );
}

/// Deletion goes in reverse topological waves, one wave per pass, from
/// the inventory alone: it works with a graph that no longer names the
/// children.
pub async fn deletion_in_waves_from_the_inventory<H: Harness>(harness: &H) {
    let spec = json!({ "name": "waves", "value": "v", "enabled": true });
    let instance = Instance::create(harness, graph("Waves", CHAIN), "waves", spec).await;
    instance.settle().await;
    user_config_map(harness, "waves-bystander", json!({}), json!({})).await;

    instance.delete().await;
    let emptied = graph(
        "Waves",
        r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      value: string
      enabled: boolean
  resources:
    - id: unrelated
      externalRef:
        apiVersion: v1
        kind: Secret
        metadata:
          name: never-there
"#,
    );
    let mut order = Vec::new();
    for _ in 0..6 {
        let outcome = instance.pass_with(&emptied).await;
        if outcome.finalized {
            break;
        }
        assert!(matches!(outcome.requeue, Requeue::After(_)));
        assert_eq!(
            outcome.computed_status["state"], "DELETING",
            "{:#?}",
            outcome.computed_status
        );
        order.push(
            outcome
                .deleted
                .iter()
                .map(|k| k.name.clone())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        order,
        [
            vec!["waves-optional".to_owned()],
            vec!["waves-derived".to_owned()],
            vec!["waves-base".to_owned()]
        ]
    );
    assert!(instance.get().await.is_none(), "the finalizer was released");
    assert!(
        config_map(harness, "waves-bystander").await.is_some(),
        "nothing else"
    );
}

/// A suspended instance is left alone until the annotation goes.
pub async fn suspension<H: Harness>(harness: &H) {
    let spec = json!({ "name": "paused", "value": "one", "enabled": false });
    let instance = Instance::create(harness, graph("Paused", CHAIN), "paused", spec).await;
    instance.settle().await;
    instance
        .user_apply(json!({
            "metadata": { "annotations": { "kro.run/reconcile": "Suspended" } },
            "spec": { "name": "paused", "value": "two", "enabled": false }
        }))
        .await;
    let outcome = instance.pass().await;
    assert!(outcome.applied.is_empty());
    let status = instance.status().await;
    let resources_ready = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "ResourcesReady")
        .expect("ResourcesReady")
        .clone();
    assert_eq!(resources_ready["reason"], "ReconciliationSuspended");
    assert_eq!(
        config_map(harness, "paused-base").await.expect("base")["data"]["value"],
        "one"
    );

    instance
        .user_apply(json!({
            "metadata": { "annotations": {} },
            "spec": { "name": "paused", "value": "two", "enabled": false }
        }))
        .await;
    instance.settle().await;
    assert_eq!(
        config_map(harness, "paused-base").await.expect("base")["data"]["value"],
        "two"
    );
}

const CONDITIONS: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
    status:
      conditions:
        - '${runtime.newCondition({type: "BaseWritten", status: base.data.written == "yes" ? "True" : "False", reason: "Checked", message: "looked at the base"})}'
        - '${runtime.newCondition({type: "KroReady", status: runtime.condition(schema, "ResourcesReady").status, reason: "Mirrored", message: "the view of kro"})}'
  resources:
    - id: base
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-base
        data:
          written: "yes"
"#;

/// Custom conditions replace kro's in the status and can read them.
pub async fn custom_conditions<H: Harness>(harness: &H) {
    let spec = json!({ "name": "custom" });
    let graph = graph("Custom", CONDITIONS);
    let instance = Instance::create(harness, graph, "custom", spec).await;
    instance.settle().await;
    let status = instance.status().await;
    let types: Vec<&str> = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert_eq!(types, ["BaseWritten", "KroReady"], "{status}");
    for condition in status["conditions"].as_array().expect("conditions") {
        assert_eq!(condition["status"], "True", "{condition}");
    }
    assert_eq!(status["state"], "ACTIVE");
}

const TWINS: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
  resources:
    - id: first
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
    - id: second
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
"#;

/// Two resources rendering the same object fail, and nothing is applied.
pub async fn two_resources_rendering_one_object<H: Harness>(harness: &H) {
    let spec = json!({ "name": "twins" });
    let instance = Instance::create(harness, graph("Twins", TWINS), "twins", spec).await;
    let outcome = instance.pass().await;
    let (state, reason) = state_of(&outcome, "second");
    assert_eq!(state, NodeState::Error);
    assert!(
        reason.is_some_and(|r| r.contains("resourceID: first conflicts with resourceID: second")),
        "{reason:?}"
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
    assert!(outcome.applied.is_empty());
    assert_eq!(instance.status().await["state"], "ERROR");
    assert!(config_map(harness, "twins").await.is_none());
}

/// Kro's finalizer is released even when another manager also applied it
/// (an instance restored from a backup, or applied from a dump).
pub async fn deletion_releases_a_finalizer_another_manager_added<H: Harness>(harness: &H) {
    let spec = json!({ "name": "restored", "value": "v", "enabled": false });
    let instance = Instance::create(harness, graph("Restored", CHAIN), "restored", spec).await;
    instance
        .user_apply(json!({
            "metadata": { "finalizers": ["kro.run/finalizer"] },
            "spec": { "name": "restored", "value": "v", "enabled": false }
        }))
        .await;
    instance.settle().await;
    instance.delete().await;
    let mut finalized = false;
    for _ in 0..6 {
        if instance.pass().await.finalized {
            finalized = true;
            break;
        }
    }
    assert!(finalized);
    assert!(instance.get().await.is_none(), "the instance is gone");
    assert!(config_map(harness, "restored-base").await.is_none());
}

const CAUTIOUS: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
  resources:
    - id: gate
      readyWhen:
        - ${"open" in gate.data}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-gate
        data:
          purpose: gate
    - id: guarded
      includeWhen:
        - ${"open" in gate.data && gate.data.open == "yes"}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-guarded
"#;

/// An `includeWhen` reading a resource waits until that resource is
/// ready, rather than deciding (and pruning) on a half-ready object.
pub async fn include_when_waits_for_ready_dependencies<H: Harness>(harness: &H) {
    let spec = json!({ "name": "cautious" });
    let instance = Instance::create(harness, graph("Cautious", CAUTIOUS), "cautious", spec).await;
    instance.pass().await;
    let outcome = instance.pass().await;
    assert_eq!(
        state_of(&outcome, "guarded").0,
        NodeState::InProgress,
        "not skipped"
    );
    user_config_map(
        harness,
        "cautious-gate",
        json!({}),
        json!({ "open": "yes" }),
    )
    .await;
    instance.settle().await;
    assert!(config_map(harness, "cautious-guarded").await.is_some());
}

const ADOPTED: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      value: string
      enabled: boolean
  resources:
    - id: base
      externalRef:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-base
"#;

/// A resource turned from a template into an `externalRef` (adopting an
/// object the instance created) is read from then on, never pruned; it is
/// released (kro's labels removed), so that the instance's deletion does
/// not delete it either.
pub async fn a_resource_turned_external_is_kept<H: Harness>(harness: &H) {
    let spec = json!({ "name": "adopted", "value": "v", "enabled": false });
    let instance = Instance::create(harness, graph("Adopted", CHAIN), "adopted", spec).await;
    instance.settle().await;
    let external = graph("Adopted", ADOPTED);
    let mut released = Vec::new();
    for _ in 0..3 {
        released.extend(instance.pass_with(&external).await.released);
    }
    assert_eq!(released, [config_map_key(harness, "adopted-base")]);
    let base = config_map(harness, "adopted-base").await.expect("kept");
    assert!(!is_member(&base), "released: {base}");
    assert_eq!(base["data"]["value"], "v", "otherwise untouched");
    assert!(
        config_map(harness, "adopted-derived").await.is_none(),
        "pruned"
    );

    instance.delete().await;
    finalize(&instance, &external).await;
    assert!(
        config_map(harness, "adopted-base").await.is_some(),
        "an object turned external is never deleted"
    );
}

/// Whether `object` carries kro's membership label (any ApplySet's).
fn is_member(object: &Value) -> bool {
    object["metadata"]["labels"]
        .get("applyset.kubernetes.io/part-of")
        .is_some()
}

/// Runs deletion passes with `graph` until the finalizer is released.
async fn finalize<H: Harness>(instance: &Instance<'_, H>, graph: &Graph) {
    for _ in 0..6 {
        if instance.pass_with(graph).await.finalized {
            assert!(instance.get().await.is_none(), "the instance is gone");
            return;
        }
    }
    panic!("{} was not finalized in 6 passes", instance.key);
}

/// The resourceVersion of a ConfigMap, which any write changes.
async fn version_of<H: Harness>(harness: &H, name: &str) -> Value {
    config_map(harness, name)
        .await
        .unwrap_or_else(|| panic!("ConfigMap {name} exists"))["metadata"]["resourceVersion"]
        .clone()
}

/// An object a template names that exists already and is not the
/// instance's is left untouched, whether the resource renders one object
/// or a collection; the resource says which object and how to opt in, and
/// the instance's deletion leaves it too.
pub async fn an_unowned_object_is_left_alone_and_reported<H: Harness>(harness: &H) {
    user_config_map(
        harness,
        "squat-base",
        json!({}),
        json!({ "value": "theirs" }),
    )
    .await;
    user_config_map(harness, "squat-b", json!({}), json!({ "zone": "theirs" })).await;
    let before = version_of(harness, "squat-base").await;
    let spec = json!({ "name": "squat", "value": "mine", "enabled": false });
    let instance = Instance::create(harness, graph("Squat", CHAIN), "squat", spec).await;
    let outcome = instance.pass().await;
    let (state, reason) = state_of(&outcome, "base");
    assert_eq!(state, NodeState::Error);
    let expected = format!(
        "ConfigMap {}/squat-base already exists and is not managed by this instance; kro leaves \
         it alone (to let resource \"base\" adopt it, annotate its template with \
         lifecycle.kro.run/adoption-policy: adopt)",
        harness.namespace()
    );
    assert_eq!(reason, Some(expected.as_str()));
    assert_eq!(outcome.requeue, Requeue::Backoff);
    assert!(outcome.applied.is_empty(), "{:#?}", outcome.applied);
    assert_eq!(instance.status().await["state"], "ERROR");
    assert_eq!(version_of(harness, "squat-base").await, before, "untouched");

    let fleet = Instance::create(
        harness,
        graph("SquatFleet", FLEET),
        "squat-fleet",
        json!({ "name": "squat", "zones": ["a", "b"] }),
    )
    .await;
    let outcome = fleet.pass().await;
    let (state, reason) = state_of(&outcome, "workers");
    assert_eq!(state, NodeState::Error);
    assert!(
        reason.is_some_and(|r| r.contains("/squat-b already exists")),
        "{reason:?}"
    );
    assert!(
        config_map(harness, "squat-a").await.is_none(),
        "no item of a refused collection is written"
    );
    let item = config_map(harness, "squat-b").await.expect("kept");
    assert_eq!(item["data"]["zone"], "theirs");
    assert!(!is_member(&item));

    for (instance, graph) in [(&instance, &instance.graph), (&fleet, &fleet.graph)] {
        instance.delete().await;
        finalize(instance, graph).await;
    }
    assert_eq!(
        version_of(harness, "squat-base").await,
        before,
        "never deleted"
    );
    assert!(
        config_map(harness, "squat-b").await.is_some(),
        "never deleted"
    );
}

/// One resource per lifecycle policy; all but `adopted` only while
/// `keep` holds.
const POLICIES: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      keep: boolean
  resources:
    - id: adopted
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-adopted
          annotations:
            lifecycle.kro.run/adoption-policy: adopt
        data:
          owner: kro
    - id: orphaned
      includeWhen:
        - ${schema.spec.keep}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-orphaned
          annotations:
            lifecycle.kro.run/deletion-policy: orphan
    - id: retained
      includeWhen:
        - ${schema.spec.keep}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-retained
          annotations:
            lifecycle.kro.run/deletion-policy: retain
    - id: deleted
      includeWhen:
        - ${schema.spec.keep}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-deleted
"#;

/// [`POLICIES`] without the resources `keep` guards.
const POLICIES_TRIMMED: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: scenario-KIND
spec:
  schema:
    apiVersion: v1alpha1
    kind: KIND
    spec:
      name: string
      keep: boolean
  resources:
    - id: adopted
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-adopted
          annotations:
            lifecycle.kro.run/adoption-policy: adopt
        data:
          owner: kro
"#;

/// Passes with `graph` until one changes nothing and asks for no requeue;
/// returns them all.
async fn settle_with<H: Harness>(instance: &Instance<'_, H>, graph: &Graph) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for _ in 0..8 {
        let outcome = instance.pass_with(graph).await;
        let done = outcome.writes == 0 && outcome.requeue == Requeue::None;
        outcomes.push(outcome);
        if done {
            return outcomes;
        }
    }
    panic!("{} did not settle in 8 passes", instance.key);
}

/// After the guarded resources went (pruned): `orphaned` is released,
/// `retained` kept as it was, `deleted` deleted.
async fn assert_pruned_per_policy<H: Harness>(harness: &H, prefix: &str, outcomes: &[Outcome]) {
    let orphaned = config_map(harness, &format!("{prefix}-orphaned"))
        .await
        .expect("an orphaned object stays");
    assert!(!is_member(&orphaned), "released: {orphaned}");
    assert!(
        orphaned["metadata"]["labels"]
            .get("kro.run/owned")
            .is_none(),
        "every kro label goes: {orphaned}"
    );
    assert_eq!(
        orphaned["metadata"]["annotations"]["lifecycle.kro.run/deletion-policy"], "orphan",
        "the author's annotation stays"
    );
    let released: Vec<&ObjectKey> = outcomes.iter().flat_map(|o| &o.released).collect();
    assert_eq!(
        released,
        [&config_map_key(harness, &format!("{prefix}-orphaned"))]
    );
    let retained = config_map(harness, &format!("{prefix}-retained"))
        .await
        .expect("a retained object stays");
    assert!(is_member(&retained), "as it was: {retained}");
    assert!(
        config_map(harness, &format!("{prefix}-deleted"))
            .await
            .is_none()
    );
}

/// Adoption takes over an object of no ApplySet; pruning (by
/// `includeWhen` or by the resource leaving the graph) deletes, releases
/// or keeps each object as its deletion policy says; an orphaned object is
/// not the instance's any more. An object of another ApplySet is refused
/// even with adoption.
pub async fn adoption_and_deletion_policies_through_prune<H: Harness>(harness: &H) {
    user_config_map(
        harness,
        "life-adopted",
        json!({ "app": "legacy" }),
        json!({ "owner": "user", "extra": "mine" }),
    )
    .await;
    let spec = json!({ "name": "life", "keep": true });
    let instance = Instance::create(harness, graph("Life", POLICIES), "life", spec).await;
    instance.settle().await;
    let adopted = config_map(harness, "life-adopted").await.expect("adopted");
    assert!(is_member(&adopted), "adopted: {adopted}");
    assert_eq!(adopted["data"]["owner"], "kro");
    assert_eq!(
        adopted["data"]["extra"], "mine",
        "what kro does not set stays"
    );
    assert_eq!(instance.status().await["state"], "ACTIVE");

    instance
        .set_spec(json!({ "name": "life", "keep": false }))
        .await;
    let outcomes = instance.settle().await;
    assert_pruned_per_policy(harness, "life", &outcomes).await;
    assert_eq!(instance.status().await["state"], "ACTIVE");

    // Back on: the retained object is still the instance's, the orphaned
    // one no longer is.
    instance
        .set_spec(json!({ "name": "life", "keep": true }))
        .await;
    let outcome = instance.pass().await;
    assert_eq!(state_of(&outcome, "retained").0, NodeState::Synced);
    let (state, reason) = state_of(&outcome, "orphaned");
    assert_eq!(state, NodeState::Error);
    assert!(
        reason.is_some_and(|r| r.contains("/life-orphaned already exists")),
        "{reason:?}"
    );

    // The same through the graph: the guarded resources removed.
    let spec = json!({ "name": "trim", "keep": true });
    let trimmed = Instance::create(harness, graph("Trim", POLICIES), "trim", spec).await;
    trimmed.settle().await;
    let outcomes = settle_with(&trimmed, &graph("Trim", POLICIES_TRIMMED)).await;
    assert_pruned_per_policy(harness, "trim", &outcomes).await;

    user_config_map(
        harness,
        "foreign-adopted",
        json!({ "applyset.kubernetes.io/part-of": "applyset-someone-else-v1" }),
        json!({ "owner": "them" }),
    )
    .await;
    let before = version_of(harness, "foreign-adopted").await;
    let spec = json!({ "name": "foreign", "keep": false });
    let foreign = Instance::create(harness, graph("Foreign", POLICIES), "foreign", spec).await;
    let outcome = foreign.pass().await;
    let (state, reason) = state_of(&outcome, "adopted");
    assert_eq!(state, NodeState::Error);
    assert!(
        reason.is_some_and(|r| r.contains(
            "belongs to another ApplySet (applyset-someone-else-v1); kro leaves it alone, even with adoption"
        )),
        "{reason:?}"
    );
    assert_eq!(version_of(harness, "foreign-adopted").await, before);
}

/// The instance's deletion deletes, releases or keeps each member as its
/// deletion policy says, adopted objects included.
pub async fn deletion_policies_through_instance_deletion<H: Harness>(harness: &H) {
    user_config_map(
        harness,
        "end-adopted",
        json!({}),
        json!({ "owner": "user" }),
    )
    .await;
    let spec = json!({ "name": "end", "keep": true });
    let instance = Instance::create(harness, graph("End", POLICIES), "end", spec).await;
    instance.settle().await;

    instance.delete().await;
    let mut released = Vec::new();
    let mut finalized = false;
    for _ in 0..6 {
        let outcome = instance.pass().await;
        released.extend(outcome.released);
        if outcome.finalized {
            finalized = true;
            break;
        }
    }
    assert!(finalized, "the retained member does not hold the deletion");
    assert!(instance.get().await.is_none());
    assert_eq!(released, [config_map_key(harness, "end-orphaned")]);
    let orphaned = config_map(harness, "end-orphaned").await.expect("orphaned");
    assert!(!is_member(&orphaned), "released: {orphaned}");
    let retained = config_map(harness, "end-retained").await.expect("retained");
    assert!(is_member(&retained), "as it was: {retained}");
    assert!(config_map(harness, "end-deleted").await.is_none());
    assert!(
        config_map(harness, "end-adopted").await.is_none(),
        "adopted, then deleted with the instance"
    );
}

/// An inventory edited into something unusable stops management instead
/// of being overwritten (which would forget the children it names).
pub async fn an_unusable_inventory_stops_management<H: Harness>(harness: &H) {
    let spec = json!({ "name": "tampered", "value": "v", "enabled": false });
    let instance = Instance::create(harness, graph("Tampered", CHAIN), "tampered", spec).await;
    instance.settle().await;
    instance
        .user_apply(json!({
            "metadata": { "annotations": {
                "applyset.kubernetes.io/contains-group-kinds": "Secret"
            } },
            "spec": { "name": "tampered", "value": "changed", "enabled": false }
        }))
        .await;
    let outcome = instance.pass().await;
    assert!(outcome.applied.is_empty() && outcome.deleted.is_empty());
    assert_eq!(outcome.requeue, Requeue::Backoff);
    let status = instance.status().await;
    assert_eq!(status["state"], "ERROR");
    let managed = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "InstanceManaged")
        .expect("InstanceManaged")
        .clone();
    assert_eq!(managed["status"], "False");
    assert!(
        managed["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid ApplySet inventory")),
        "{managed}"
    );
    assert_eq!(
        config_map(harness, "tampered-base").await.expect("kept")["data"]["value"],
        "v"
    );
}
