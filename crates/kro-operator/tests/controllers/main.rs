//! The RGD and instance controllers against the local control plane,
//! with the operator running in-process (`kro_operator::run`).
//!
//! Each test starts its own operator that serves only the RGDs labelled
//! `kro-test=<its namespace>`, and gives its RGDs, kinds and API groups
//! names of their own, so that tests run in parallel on one control plane
//! without two operators acting on the same objects.
//!
//! `KRO_TEST_LOG=<filter>` (such as `kro_operator=debug`) shows the
//! operators' logs.

mod lifecycle;
mod ownership;
mod privilege;

use std::collections::BTreeMap;
use std::path::Path;

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::{ConditionStatus, ResourceGraphDefinition, RgdState};
use kro_operator::args::Args;
use kro_operator::lenient::Lenient;
use kro_testenv::{TestNamespace, eventually, free_port, kubeconfig_path};
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const APPLICATION: &str = include_str!("../../../../examples/application/rgd.yaml");

/// The field manager of the tests' own writes.
const TEST_MANAGER: &str = "kro-test";

/// An operator running in this process.
struct Operator {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    metrics_port: u16,
}

impl Operator {
    /// Starts an operator serving the RGDs of `ns`, with extra flags, and
    /// waits until the RGD CRD it installs is served.
    async fn start(ns: &TestNamespace, flags: &[&str]) -> Self {
        Self::launch(ns, flags, None, kubeconfig_path()).await
    }

    /// [`Operator::start`], with the health probes on `health_port`.
    async fn start_with_probes(ns: &TestNamespace, flags: &[&str], health_port: u16) -> Self {
        Self::launch(ns, flags, Some(health_port), kubeconfig_path()).await
    }

    /// [`Operator::start`], acting with the credentials of `kubeconfig`.
    async fn start_as(ns: &TestNamespace, kubeconfig: &Path, flags: &[&str]) -> Self {
        Self::launch(ns, flags, None, kubeconfig).await
    }

    async fn launch(
        ns: &TestNamespace,
        flags: &[&str],
        health_port: Option<u16>,
        kubeconfig: &Path,
    ) -> Self {
        let metrics_port = free_port();
        let probes = match health_port {
            Some(port) => format!("--health-probe-bind-address=127.0.0.1:{port}"),
            None => "--health-probe-bind-address=0".to_owned(),
        };
        let mut argv = vec![
            "kro-operator".to_owned(),
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
            probes,
            format!("--rgd-selector=kro-test={}", ns.name()),
            "--rgd-progress-requeue-delay=1s".to_owned(),
            "--graceful-shutdown-timeout=10s".to_owned(),
        ];
        argv.extend(flags.iter().map(|f| (*f).to_owned()));
        let args = Args::try_parse_from(argv).expect("valid flags");
        if let Ok(filter) = std::env::var("KRO_TEST_LOG") {
            // Only the first test of the binary installs it; the others
            // share it.
            let _ = kro_operator::telemetry::init(&filter, kro_operator::args::LogFormat::Text);
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(kro_operator::run(args, stop.clone()));
        kro_testenv::crd_established(&ns.client(), "resourcegraphdefinitions.kro.run").await;
        Self {
            stop,
            task,
            metrics_port,
        }
    }

    /// The sum of the samples of `metric` whose labels contain every one of
    /// `labels` (`name="value"`).
    async fn metric(&self, metric: &str, labels: &[&str]) -> f64 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .expect("connect to /metrics");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("send the request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("read /metrics");
        response
            .lines()
            .filter(|line| {
                line.strip_prefix(metric)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
            .filter(|line| labels.iter().all(|label| line.contains(label)))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Stops the operator and checks that it stopped cleanly.
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(30), self.task)
            .await
            .expect("the operator stops within 30 s")
            .expect("the operator task did not panic")
            .expect("the operator stopped without error");
    }
}

fn rgds(client: &Client) -> Api<ResourceGraphDefinition> {
    Api::all(client.clone())
}

fn crds(client: &Client) -> Api<CustomResourceDefinition> {
    Api::all(client.clone())
}

/// An RGD of this test: labelled for its operator, its kind in an API
/// group of its own.
fn rgd(ns: &TestNamespace, name: &str, mut body: Value) -> (String, Value) {
    let name = format!("{}-{name}", ns.name());
    body["apiVersion"] = json!("kro.run/v1alpha1");
    body["kind"] = json!("ResourceGraphDefinition");
    body["metadata"]["name"] = json!(name);
    body["metadata"]["labels"]["kro-test"] = json!(ns.name());
    body["spec"]["schema"]["group"] = json!(group(ns));
    (name, body)
}

fn group(ns: &TestNamespace) -> String {
    format!("{}.kro.test", ns.name())
}

/// The Application example as an RGD of this test.
fn application(ns: &TestNamespace, name: &str) -> (String, Value) {
    let body: Value = serde_saphyr::from_str(APPLICATION).expect("the example parses");
    rgd(ns, name, body)
}

/// A minimal RGD of kind `kind` whose instance spec has `spec`.
fn simple(ns: &TestNamespace, name: &str, kind: &str, spec: Value) -> (String, Value) {
    rgd(
        ns,
        name,
        json!({
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": kind, "spec": spec },
                "resources": [{
                    "id": "config",
                    "template": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": { "name": "${schema.metadata.name}" },
                        "data": { "from": "kro" }
                    }
                }]
            }
        }),
    )
}

async fn apply(client: &Client, name: &str, body: &Value) {
    rgds(client)
        .patch(
            name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
        .unwrap_or_else(|e| panic!("apply RGD {name}: {e}"));
}

/// The RGD's conditions by type: (status, reason, message).
fn conditions(
    rgd: &ResourceGraphDefinition,
) -> BTreeMap<String, (ConditionStatus, String, String)> {
    rgd.status
        .iter()
        .flat_map(|s| &s.conditions)
        .map(|c| {
            (
                c.type_.clone(),
                (
                    c.status,
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// Waits until the RGD's status, written for its current generation
/// (`GraphAccepted` is set on every reconcile), satisfies `check`, and
/// returns the RGD.
async fn wait_for(
    client: &Client,
    name: &str,
    what: &str,
    check: impl Fn(&ResourceGraphDefinition) -> bool,
) -> ResourceGraphDefinition {
    let api = rgds(client);
    eventually(&format!("RGD {name}: {what}"), || async {
        let rgd = api.get_opt(name).await.ok()??;
        let current = rgd.status.as_ref()?.conditions.iter().any(|c| {
            c.type_ == "GraphAccepted" && c.observed_generation == rgd.metadata.generation
        });
        (current && check(&rgd)).then_some(rgd)
    })
    .await
}

fn state(rgd: &ResourceGraphDefinition) -> Option<RgdState> {
    rgd.status.as_ref()?.state
}

fn condition_is(rgd: &ResourceGraphDefinition, type_: &str, status: ConditionStatus) -> bool {
    conditions(rgd).get(type_).is_some_and(|c| c.0 == status)
}

#[tokio::test]
async fn the_application_example_becomes_active() {
    let ns = TestNamespace::create("rgd-active").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let (name, body) = application(&ns, "application");
    apply(&client, &name, &body).await;

    let rgd = wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let status = rgd.status.clone().expect("a status");
    assert_eq!(
        status.topological_order,
        ["deployment", "service", "ingress"]
    );
    let resources: Vec<(String, Vec<String>)> = status
        .resources
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.dependencies.iter().map(|d| d.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        resources,
        [
            ("service".to_owned(), vec!["deployment".to_owned()]),
            ("ingress".to_owned(), vec!["service".to_owned()]),
        ]
    );
    let crd_name = format!("applications.{}", group(&ns));
    let by_type = conditions(&rgd);
    let expected = [
        (
            "GraphAccepted",
            "Valid",
            "resource graph and schema are valid".to_owned(),
        ),
        (
            "KindReady",
            "Ready",
            "kind Application has been accepted and ready".to_owned(),
        ),
        (
            "ControllerReady",
            "Running",
            "controller is running".to_owned(),
        ),
        ("Ready", "Ready", String::new()),
    ];
    for (type_, reason, message) in expected {
        assert_eq!(
            by_type.get(type_),
            Some(&(ConditionStatus::True, reason.to_owned(), message)),
            "{type_}"
        );
    }
    assert_eq!(by_type.len(), 4, "{by_type:?}");
    assert_eq!(
        status.conditions.last().map(|c| c.type_.as_str()),
        Some("Ready"),
        "the root comes last"
    );
    assert!(
        rgd.metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == "kro.run/finalizer")
    );

    let crd = crds(&client)
        .get(&crd_name)
        .await
        .expect("the instance CRD");
    let labels = crd.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kro.run/owned").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels
            .get("kro.run/resource-graph-definition-name")
            .map(String::as_str),
        Some(name.as_str())
    );
    assert_eq!(
        labels.get("kro.run/resource-graph-definition-id"),
        rgd.metadata.uid.as_ref()
    );
    let established = crd
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "the CRD is Established");
    operator.stop().await;
}

#[tokio::test]
async fn invalid_graphs_are_reported_where_they_are_wrong() {
    let ns = TestNamespace::create("rgd-invalid").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;

    let (cycle, body) = rgd(
        &ns,
        "cycle",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Cycle" },
            "resources": [
                { "id": "a", "template": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "a" }, "data": { "x": "${b.metadata.name}" } } },
                { "id": "b", "template": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "b" }, "data": { "x": "${a.metadata.name}" } } }
            ]
        }}),
    );
    apply(&client, &cycle, &body).await;
    let (typed, body) = rgd(
        &ns,
        "type-error",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Typed", "spec": { "name": "string" } },
            "resources": [
                { "id": "deploy", "template": { "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": { "name": "d" },
                    "spec": { "replicas": "${schema.spec.name}",
                        "selector": { "matchLabels": { "a": "b" } },
                        "template": { "metadata": { "labels": { "a": "b" } },
                            "spec": { "containers": [{ "name": "c", "image": "i" }] } } } } }
            ]
        }}),
    );
    apply(&client, &typed, &body).await;
    let (unknown, body) = rgd(
        &ns,
        "unknown-field",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Unknown" },
            "resources": [
                { "id": "cm", "template": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "x" }, "dta": { "a": "b" } } }
            ]
        }}),
    );
    apply(&client, &unknown, &body).await;

    for (name, located) in [
        (&cycle, "spec.resources"),
        (&typed, "spec.resources[0].template.spec.replicas"),
        (&unknown, "spec.resources[0].template.dta"),
    ] {
        let rgd = wait_for(&client, name, "GraphAccepted=False", |r| {
            condition_is(r, "GraphAccepted", ConditionStatus::False)
        })
        .await;
        let by_type = conditions(&rgd);
        let (_, reason, message) = &by_type["GraphAccepted"];
        assert_eq!(reason, "InvalidResourceGraph");
        assert!(message.contains(located), "{name}: {message}");
        assert_eq!(state(&rgd), Some(RgdState::Inactive));
        let (status, ready_reason, _) = &by_type["Ready"];
        assert_eq!(
            (*status, ready_reason.as_str()),
            (ConditionStatus::False, "InvalidResourceGraph")
        );
        assert!(
            rgd.status
                .as_ref()
                .is_some_and(|s| s.topological_order.is_empty()),
            "no order for an invalid graph"
        );
    }
    assert!(
        crds(&client)
            .get_opt(&format!("cycles.{}", group(&ns)))
            .await
            .expect("read CRD")
            .is_none(),
        "no CRD for an invalid graph"
    );
    let rgd = rgds(&client).get(&cycle).await.expect("the cycle RGD");
    let message = &conditions(&rgd)["GraphAccepted"].2;
    assert!(message.contains("cycle"), "{message}");
    operator.stop().await;
}

#[tokio::test]
async fn a_kind_owned_by_another_rgd_or_by_nobody_is_refused() {
    let ns = TestNamespace::create("rgd-conflict").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;

    let (first, body) = simple(&ns, "first", "Shared", json!({ "size": "integer" }));
    apply(&client, &first, &body).await;
    wait_for(&client, &first, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let (second, body) = simple(&ns, "second", "Shared", json!({ "other": "string" }));
    apply(&client, &second, &body).await;
    let rgd = wait_for(&client, &second, "KindReady=False", |r| {
        condition_is(r, "KindReady", ConditionStatus::False)
    })
    .await;
    let crd_name = format!("shareds.{}", group(&ns));
    assert_eq!(
        conditions(&rgd)["KindReady"],
        (
            ConditionStatus::False,
            "Failed".to_owned(),
            format!(
                "failed to update CRD {crd_name}: CRD is owned by another ResourceGraphDefinition {first}"
            )
        )
    );
    assert_eq!(state(&rgd), Some(RgdState::Inactive));
    // The first keeps its kind, with its own schema.
    let crd = crds(&client).get(&crd_name).await.expect("the CRD");
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("serialises");
    assert!(
        schema
            .pointer("/openAPIV3Schema/properties/spec/properties/size")
            .is_some()
    );
    let first_rgd = rgds(&client).get(&first).await.expect("the first RGD");
    assert_eq!(state(&first_rgd), Some(RgdState::Active));

    // A CRD kro did not make.
    let foreign = format!("foreigns.{}", group(&ns));
    let foreign_crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": foreign },
            "spec": {
                "group": group(&ns),
                "names": { "kind": "Foreign", "plural": "foreigns", "singular": "foreign", "listKind": "ForeignList" },
                "scope": "Namespaced",
                "versions": [{ "name": "v1alpha1", "served": true, "storage": true,
                    "schema": { "openAPIV3Schema": { "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true } } }]
            }
        }))
    .expect("a valid CRD");
    kro_testenv::apply_crd(&client, &foreign_crd, TEST_MANAGER).await;
    let (third, body) = simple(&ns, "third", "Foreign", json!({}));
    apply(&client, &third, &body).await;
    let rgd = wait_for(&client, &third, "KindReady=False", |r| {
        condition_is(r, "KindReady", ConditionStatus::False)
    })
    .await;
    assert_eq!(
        conditions(&rgd)["KindReady"].2,
        format!("failed to update CRD {foreign}: CRD already exists and is not owned by KRO")
    );
    operator.stop().await;
}

#[tokio::test]
async fn breaking_changes_are_refused_until_allowed() {
    let ns = TestNamespace::create("rgd-breaking").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let crd_name = format!("evolvings.{}", group(&ns));
    let has_port = |crd: &CustomResourceDefinition| {
        serde_json::to_value(&crd.spec.versions[0].schema)
            .ok()
            .and_then(|s| {
                s.pointer("/openAPIV3Schema/properties/spec/properties/port")
                    .cloned()
            })
            .is_some()
    };

    let (name, body) = simple(
        &ns,
        "evolving",
        "Evolving",
        json!({ "name": "string", "port": "integer" }),
    );
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    // Adding an optional field is fine.
    let (_, added) = simple(
        &ns,
        "evolving",
        "Evolving",
        json!({ "name": "string", "port": "integer", "note": "string" }),
    );
    apply(&client, &name, &added).await;
    wait_for(&client, &name, "Active after adding a field", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    // Removing one is not.
    let (_, removed) = simple(&ns, "evolving", "Evolving", json!({ "name": "string" }));
    apply(&client, &name, &removed).await;
    let rgd = wait_for(&client, &name, "KindReady=False", |r| {
        condition_is(r, "KindReady", ConditionStatus::False)
    })
    .await;
    let message = &conditions(&rgd)["KindReady"].2;
    assert!(
        message.starts_with(&format!("cannot update CRD {crd_name}: breaking changes")),
        "{message}"
    );
    assert!(message.contains("spec.port"), "{message}");
    assert_eq!(state(&rgd), Some(RgdState::Inactive));
    assert!(
        has_port(&crds(&client).get(&crd_name).await.expect("CRD")),
        "unchanged"
    );

    // The annotation lets it through.
    let mut allowed = removed.clone();
    allowed["metadata"]["annotations"]["kro.run/allow-breaking-changes"] = json!("true");
    apply(&client, &name, &allowed).await;
    wait_for(&client, &name, "Active with the annotation", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let crd = crds(&client).get(&crd_name).await.expect("CRD");
    assert!(!has_port(&crd), "the field is gone");
    operator.stop().await;
}

#[tokio::test]
async fn deleting_an_rgd_keeps_its_crd_unless_allowed() {
    let ns = TestNamespace::create("rgd-delete").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let (kept, body) = simple(&ns, "kept", "Kept", json!({}));
    apply(&client, &kept, &body).await;
    wait_for(&client, &kept, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    // No instance: nothing to wait for (lifecycle.rs deletes an RGD that
    // has one).
    rgds(&client)
        .delete(&kept, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    eventually("the RGD to be gone", || async {
        rgds(&client)
            .get_opt(&kept)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        crds(&client)
            .get_opt(&format!("kepts.{}", group(&ns)))
            .await
            .expect("read CRD")
            .is_some(),
        "the CRD stays"
    );
    operator.stop().await;

    let operator = Operator::start(&ns, &["--allow-crd-deletion"]).await;
    let (dropped, body) = simple(&ns, "dropped", "Dropped", json!({}));
    apply(&client, &dropped, &body).await;
    wait_for(&client, &dropped, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    rgds(&client)
        .delete(&dropped, &DeleteParams::default())
        .await
        .expect("delete the RGD");
    let crd_name = format!("droppeds.{}", group(&ns));
    eventually("the CRD to be gone", || async {
        crds(&client)
            .get_opt(&crd_name)
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    operator.stop().await;
}

/// An API handle for the instances of a kind of this test.
fn instances(ns: &TestNamespace, kind: &str, plural: &str) -> Api<DynamicObject> {
    instances_as(ns.client(), ns, kind, plural)
}

/// [`instances`], through `client` (acting as someone else).
fn instances_as(
    client: Client,
    ns: &TestNamespace,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: group(ns),
        version: "v1alpha1".to_owned(),
        api_version: format!("{}/v1alpha1", group(ns)),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    };
    Api::namespaced_with(client, ns.name(), &resource)
}

async fn create_instance(
    ns: &TestNamespace,
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    spec: Value,
) {
    let body = json!({
        "apiVersion": format!("{}/v1alpha1", group(ns)),
        "kind": kind,
        "metadata": { "name": name },
        "spec": spec,
    });
    api.patch(
        name,
        &PatchParams::apply(TEST_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap_or_else(|e| panic!("apply instance {name}: {e}"));
}

#[tokio::test]
async fn an_application_instance_becomes_active_and_is_deleted_with_its_resources() {
    let ns = TestNamespace::create("instance-app").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let (name, body) = application(&ns, "application");
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let apps = instances(&ns, "Application", "applications");
    create_instance(
        &ns,
        &apps,
        "Application",
        "my-application-instance",
        json!({ "name": "my-awesome-app", "ingress": { "enabled": true } }),
    )
    .await;
    let instance = eventually("the instance to be ACTIVE with 3 replicas", || async {
        let instance = apps.get_opt("my-application-instance").await.ok()??;
        let status = instance.data.get("status")?;
        (status.get("state")? == "ACTIVE" && status.get("availableReplicas")? == 3)
            .then_some(instance)
    })
    .await;
    let conditions = instance.data["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True"),
        "{conditions:?}"
    );
    assert!(
        instance.data["status"]["deploymentConditions"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "the Deployment's conditions are projected"
    );
    let deployments = ns.api::<Deployment>();
    let deployment = deployments
        .get("my-awesome-app")
        .await
        .expect("the Deployment");
    assert_eq!(
        deployment
            .status
            .as_ref()
            .and_then(|s| s.available_replicas),
        Some(3)
    );
    let labels = deployment.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kro.run/instance-name").map(String::as_str),
        Some("my-application-instance")
    );
    let services = ns.api::<Service>();
    let service = services
        .get("my-awesome-app-service")
        .await
        .expect("the Service");
    assert_eq!(
        service.spec.and_then(|s| s.selector),
        Some(BTreeMap::from([(
            "app".to_owned(),
            "my-awesome-app".to_owned()
        )]))
    );
    let ingresses = ns.api::<Ingress>();
    ingresses
        .get("my-awesome-app-ingress")
        .await
        .expect("the Ingress");

    // Settled: the operator writes nothing more, and builds no graph again.
    let writes = || async {
        let mut total = 0.0;
        for verb in ["patch", "put", "post", "delete"] {
            total += operator
                .metric("rest_client_requests_total", &[&format!("verb=\"{verb}\"")])
                .await;
        }
        total
    };
    let rgd_label = [format!("name=\"{name}\"")];
    let rgd_label: Vec<&str> = rgd_label.iter().map(String::as_str).collect();
    let builds = || operator.metric("rgd_graph_build_total", &rgd_label);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (writes_before, builds_before) = (writes().await, builds().await);
    assert!(
        writes_before > 0.0 && builds_before > 0.0,
        "the counters count"
    );
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(writes().await, writes_before, "no writes once settled");
    assert_eq!(
        builds().await,
        builds_before,
        "no graph builds once settled"
    );
    assert!(
        operator
            .metric("instance_reconcile_total", &["Resource=applications"])
            .await
            >= 1.0
    );
    assert_eq!(
        operator
            .metric("instance_state_transitions_total", &["to_state=\"ACTIVE\""])
            .await,
        1.0
    );

    apps.delete("my-application-instance", &DeleteParams::default())
        .await
        .expect("delete the instance");
    eventually("the instance and its resources to be gone", || async {
        let gone = apps
            .get_opt("my-application-instance")
            .await
            .ok()?
            .is_none()
            && deployments.get_opt("my-awesome-app").await.ok()?.is_none()
            && services
                .get_opt("my-awesome-app-service")
                .await
                .ok()?
                .is_none()
            && ingresses
                .get_opt("my-awesome-app-ingress")
                .await
                .ok()?
                .is_none();
        gone.then_some(())
    })
    .await;
    operator.stop().await;
}

#[tokio::test]
async fn an_invalid_update_leaves_instances_served_by_the_last_good_graph() {
    let ns = TestNamespace::create("instance-last-good").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &["--feature-gates=InstanceConditionEvents=true"]).await;
    let (name, body) = simple(&ns, "notes", "Note", json!({ "text": "string" }));
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let mut broken = body.clone();
    broken["spec"]["resources"][0]["template"]["data"]["from"] = json!("${nope.missing}");
    apply(&client, &name, &broken).await;
    wait_for(&client, &name, "GraphAccepted=False", |r| {
        condition_is(r, "GraphAccepted", ConditionStatus::False)
    })
    .await;

    let notes = instances(&ns, "Note", "notes");
    create_instance(&ns, &notes, "Note", "first", json!({ "text": "hello" })).await;
    let config_maps = ns.api::<ConfigMap>();
    let config = eventually("the ConfigMap of the last good graph", || async {
        config_maps.get_opt("first").await.ok()?
    })
    .await;
    assert_eq!(
        config.data.and_then(|d| d.get("from").cloned()).as_deref(),
        Some("kro")
    );

    // With the gate on, condition changes are published as events.
    let events = ns.api::<k8s_openapi::api::events::v1::Event>();
    let ready = eventually("a Ready event for the instance", || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("Ready")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("first")
                && e.note
                    .as_deref()
                    .is_some_and(|n| n.ends_with("-> True: Ready"))
        })
    })
    .await;
    assert_eq!(ready.type_.as_deref(), Some("Normal"));
    assert_eq!(
        ready.reporting_controller.as_deref(),
        Some(format!("kro/notes.{}-controller", group(&ns)).as_str())
    );
    operator.stop().await;
}

#[tokio::test]
async fn spec_changes_hand_edits_and_external_objects_reach_the_instance() {
    let ns = TestNamespace::create("instance-routing").await;
    let client = ns.client();
    // No timed requeues: only watch events bring the instance back.
    let operator = Operator::start(&ns, &["--instance-requeue-interval=0"]).await;
    let config_maps = ns.api::<ConfigMap>();
    let settings = |value: &str| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "settings" },
            "data": { "value": value }
        })
    };
    config_maps
        .patch(
            "settings",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(settings("one")),
        )
        .await
        .expect("the external ConfigMap");

    let (name, body) = rgd(
        &ns,
        "watched",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Watched", "spec": { "text": "string" } },
            "resources": [
                { "id": "settings", "externalRef": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "settings" } } },
                { "id": "copy", "template": { "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "${schema.metadata.name}" },
                    "data": { "text": "${schema.spec.text}", "setting": "${settings.data.value}" } } }
            ]
        }}),
    );
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let watched = instances(&ns, "Watched", "watcheds");
    let data_is = |text: &'static str, setting: &'static str| {
        let config_maps = config_maps.clone();
        async move {
            let data = config_maps.get_opt("w").await.ok()??.data?;
            (data.get("text")? == text && data.get("setting")? == setting).then_some(())
        }
    };
    create_instance(&ns, &watched, "Watched", "w", json!({ "text": "hello" })).await;
    eventually("the copy of the first spec", || data_is("hello", "one")).await;

    create_instance(&ns, &watched, "Watched", "w", json!({ "text": "bye" })).await;
    eventually("the copy of the changed spec", || data_is("bye", "one")).await;

    config_maps
        .patch(
            "w",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "w" }, "data": { "text": "tampered" }
            })),
        )
        .await
        .expect("a hand edit");
    eventually("the hand edit undone", || data_is("bye", "one")).await;

    config_maps
        .patch(
            "settings",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(settings("two")),
        )
        .await
        .expect("change the external ConfigMap");
    eventually("the external change copied", || data_is("bye", "two")).await;
    operator.stop().await;
}

#[tokio::test]
async fn an_rgd_can_use_the_kind_of_another_defined_after_it() {
    let ns = TestNamespace::create("rgd-chain").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let api_version = format!("{}/v1alpha1", group(&ns));

    // The outer RGD names a kind nobody serves yet.
    let (outer, body) = rgd(
        &ns,
        "outer",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Outer", "spec": { "value": "string" } },
            "resources": [{ "id": "inner", "template": {
                "apiVersion": api_version, "kind": "Inner",
                "metadata": { "name": "${schema.metadata.name}" },
                "spec": { "value": "${schema.spec.value}" } } }]
        }}),
    );
    apply(&client, &outer, &body).await;
    let rgd = wait_for(&client, &outer, "GraphAccepted=False", |r| {
        condition_is(r, "GraphAccepted", ConditionStatus::False)
    })
    .await;
    let message = &conditions(&rgd)["GraphAccepted"].2;
    assert!(message.contains("schema not found"), "{message}");

    let (inner, body) = simple(&ns, "inner", "Inner", json!({ "value": "string" }));
    apply(&client, &inner, &body).await;
    wait_for(&client, &inner, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    wait_for(&client, &outer, "Active once Inner is served", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let outers = instances(&ns, "Outer", "outers");
    create_instance(&ns, &outers, "Outer", "chained", json!({ "value": "v" })).await;
    let inners = instances(&ns, "Inner", "inners");
    eventually("the Inner instance and its ConfigMap", || async {
        inners.get_opt("chained").await.ok()??;
        ns.api::<ConfigMap>().get_opt("chained").await.ok()?
    })
    .await;
    operator.stop().await;
}

#[tokio::test]
async fn cluster_scoped_instances_create_and_delete_namespaced_resources() {
    let ns = TestNamespace::create("instance-cluster").await;
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    let (name, mut body) = simple(&ns, "global", "Global", json!({}));
    body["spec"]["schema"]["scope"] = json!("Cluster");
    body["spec"]["resources"][0]["template"]["metadata"]["namespace"] = json!(ns.name());
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;

    let resource = ApiResource {
        group: group(&ns),
        version: "v1alpha1".to_owned(),
        api_version: format!("{}/v1alpha1", group(&ns)),
        kind: "Global".to_owned(),
        plural: "globals".to_owned(),
    };
    let globals = Api::<DynamicObject>::all_with(client.clone(), &resource);
    let instance = format!("{}-global", ns.name());
    let body = json!({
        "apiVersion": resource.api_version, "kind": "Global",
        "metadata": { "name": instance }, "spec": {}
    });
    globals
        .patch(
            &instance,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .expect("create the instance");
    let config_maps = ns.api::<ConfigMap>();
    eventually("the instance ACTIVE and its ConfigMap", || async {
        let object = globals.get_opt(&instance).await.ok()??;
        config_maps.get_opt(&instance).await.ok()??;
        (object.data["status"]["state"] == "ACTIVE").then_some(())
    })
    .await;

    globals
        .delete(&instance, &DeleteParams::default())
        .await
        .expect("delete the instance");
    eventually("the instance and its ConfigMap gone", || async {
        let gone = globals.get_opt(&instance).await.ok()?.is_none()
            && config_maps.get_opt(&instance).await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    operator.stop().await;
}

#[tokio::test]
async fn an_operator_killed_mid_way_is_replaced_by_one_that_finishes_the_work() {
    let ns = TestNamespace::create("instance-killed").await;
    let client = ns.client();
    let (name, body) = application(&ns, "application");
    apply_rgd_crd_first(&client).await;
    apply(&client, &name, &body).await;

    // The binary, killed with SIGKILL as soon as it has started the work.
    let mut killed = tokio::process::Command::new(env!("CARGO_BIN_EXE_kro-operator"))
        .args([
            format!("--kubeconfig={}", kubeconfig_path().display()),
            "--metrics-bind-address=0".to_owned(),
            "--health-probe-bind-address=0".to_owned(),
            format!("--rgd-selector=kro-test={}", ns.name()),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start kro-operator");
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let apps = instances(&ns, "Application", "applications");
    create_instance(
        &ns,
        &apps,
        "Application",
        "survivor",
        json!({ "name": "survivor", "ingress": { "enabled": false } }),
    )
    .await;
    let deployments = ns.api::<Deployment>();
    eventually("the Deployment to be created", || async {
        deployments.get_opt("survivor").await.ok()?
    })
    .await;
    killed.start_kill().expect("kill the operator");
    killed.wait().await.expect("the operator is gone");

    let operator = Operator::start(&ns, &[]).await;
    eventually("the instance ACTIVE under the new operator", || async {
        let instance = apps.get_opt("survivor").await.ok()??;
        let status = instance.data.get("status")?;
        (status.get("state")? == "ACTIVE" && status.get("availableReplicas")? == 3).then_some(())
    })
    .await;
    assert!(
        ns.api::<Service>()
            .get_opt("survivor-service")
            .await
            .expect("read the Service")
            .is_some()
    );
    operator.stop().await;
}

/// Installs the RGD CRD as the operator would, for a test that writes an
/// RGD before any operator runs.
async fn apply_rgd_crd_first(client: &Client) {
    kro_testenv::apply_crd(
        client,
        &kro_graph::api::resource_graph_definition_crd(),
        "kro.run/operator",
    )
    .await;
}

/// Starts an operator and registers the RGD `body`; returns the operator
/// and the API of its instances.
async fn serve(
    ns: &TestNamespace,
    rgd_name: &str,
    body: Value,
    kind: &str,
    plural: &str,
) -> (Operator, Api<DynamicObject>) {
    let client = ns.client();
    let operator = Operator::start(ns, &[]).await;
    let (name, body) = rgd(ns, rgd_name, body);
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    (operator, instances(ns, kind, plural))
}

/// Waits until `check` holds for the set of ConfigMap names that start
/// with `prefix`.
async fn config_map_names(ns: &TestNamespace, prefix: &str, wanted: &[&str]) {
    let config_maps = ns.api::<ConfigMap>();
    let wanted: Vec<String> = wanted.iter().map(|w| format!("{prefix}{w}")).collect();
    eventually(&format!("ConfigMaps {wanted:?}"), || async {
        let mut names: Vec<String> = config_maps
            .list(&Default::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        (names == wanted).then_some(())
    })
    .await;
}

#[tokio::test]
async fn include_when_turned_off_deletes_the_ingress_and_on_recreates_it() {
    let ns = TestNamespace::create("instance-include").await;
    let body: Value = serde_saphyr::from_str(APPLICATION).expect("the example parses");
    let (operator, apps) = serve(&ns, "toggle", body, "Application", "applications").await;
    let ingresses = ns.api::<Ingress>();
    let ingress_exists = |exists: bool| {
        let ingresses = ingresses.clone();
        async move {
            let found = ingresses.get_opt("toggled-ingress").await.ok()?.is_some();
            (found == exists).then_some(())
        }
    };
    let spec = |enabled: bool| json!({ "name": "toggled", "ingress": { "enabled": enabled } });
    create_instance(&ns, &apps, "Application", "toggle", spec(true)).await;
    eventually("the Ingress", || ingress_exists(true)).await;
    create_instance(&ns, &apps, "Application", "toggle", spec(false)).await;
    eventually("the Ingress pruned", || ingress_exists(false)).await;
    assert!(
        ns.api::<Service>()
            .get_opt("toggled-service")
            .await
            .expect("read")
            .is_some(),
        "only the Ingress goes"
    );
    create_instance(&ns, &apps, "Application", "toggle", spec(true)).await;
    eventually("the Ingress back", || ingress_exists(true)).await;
    operator.stop().await;
}

#[tokio::test]
async fn ready_when_on_deployment_availability_gates_a_dependent() {
    let ns = TestNamespace::create("instance-ready").await;
    let body = json!({ "spec": {
        "schema": { "apiVersion": "v1alpha1", "kind": "Gated", "spec": { "name": "string" } },
        "resources": [
            { "id": "deployment",
              "readyWhen": ["${deployment.status.availableReplicas == deployment.spec.replicas}"],
              "template": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": { "name": "${schema.spec.name}" },
                "spec": { "replicas": 2,
                  "selector": { "matchLabels": { "app": "${schema.spec.name}" } },
                  "template": { "metadata": { "labels": { "app": "${schema.spec.name}" } },
                    "spec": { "containers": [{ "name": "app", "image": "nginx" }] } } } } },
            { "id": "report", "template": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "${schema.spec.name}-report" },
                "data": { "available": "${string(deployment.status.availableReplicas)}" } } }
        ]
    }});
    let (operator, gated) = serve(&ns, "gated", body, "Gated", "gateds").await;
    create_instance(&ns, &gated, "Gated", "g", json!({ "name": "gated" })).await;
    let report = eventually("the dependent ConfigMap", || async {
        ns.api::<ConfigMap>().get_opt("gated-report").await.ok()?
    })
    .await;
    // Rendered only once the Deployment was available: never earlier.
    assert_eq!(
        report
            .data
            .unwrap_or_default()
            .get("available")
            .map(String::as_str),
        Some("2")
    );
    operator.stop().await;
}

#[tokio::test]
async fn collections_scale_up_and_down() {
    let ns = TestNamespace::create("instance-fleet").await;
    let body = json!({ "spec": {
        "schema": { "apiVersion": "v1alpha1", "kind": "Fleet", "spec": { "zones": "[]string" } },
        "resources": [{ "id": "zone", "forEach": [{ "z": "${schema.spec.zones}" }], "template": {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "fleet-${z}" }, "data": { "zone": "${z}" } } }]
    }});
    let (operator, fleets) = serve(&ns, "fleet", body, "Fleet", "fleets").await;
    let zones = |zones: &[&str]| json!({ "zones": zones });
    create_instance(&ns, &fleets, "Fleet", "f", zones(&["a", "b"])).await;
    config_map_names(&ns, "fleet-", &["a", "b"]).await;
    create_instance(&ns, &fleets, "Fleet", "f", zones(&["a", "b", "c", "d"])).await;
    config_map_names(&ns, "fleet-", &["a", "b", "c", "d"]).await;
    create_instance(&ns, &fleets, "Fleet", "f", zones(&["c"])).await;
    config_map_names(&ns, "fleet-", &["c"]).await;
    operator.stop().await;
}

/// Applies a ConfigMap `name` with the label `team`.
async fn team_member(ns: &TestNamespace, name: &str, team: &str) {
    let body = json!({ "apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": { "name": name, "labels": { "team": team } } });
    ns.api::<ConfigMap>()
        .patch(
            name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
        .unwrap_or_else(|e| panic!("team member {name}: {e}"));
}

/// An RGD whose instances count the ConfigMaps of their team (selected
/// by label) into the ConfigMap `roster`.
fn roster(ns: &TestNamespace) -> Value {
    json!({ "spec": {
        "schema": { "apiVersion": "v1alpha1", "kind": "Roster", "spec": { "team": "string" } },
        "resources": [
            { "id": "team", "externalRef": { "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "namespace": ns.name(),
                              "selector": { "matchLabels": { "team": "${schema.spec.team}" } } } } },
            { "id": "roster", "template": { "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "roster" },
                "data": { "size": "${string(size(team))}" } } }
        ]
    }})
}

/// Waits until the roster counts `size` members.
async fn roster_size(ns: &TestNamespace, size: &str) {
    let config_maps = ns.api::<ConfigMap>();
    eventually(&format!("a roster of {size}"), || async {
        let data = config_maps.get_opt("roster").await.ok()??.data?;
        (data.get("size")? == size).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_external_selector_change_rerenders_its_dependents() {
    let ns = TestNamespace::create("instance-selector").await;
    team_member(&ns, "member-1", "blue").await;
    let (operator, rosters) = serve(&ns, "roster", roster(&ns), "Roster", "rosters").await;
    create_instance(&ns, &rosters, "Roster", "r", json!({ "team": "blue" })).await;
    roster_size(&ns, "1").await;
    team_member(&ns, "member-2", "blue").await;
    roster_size(&ns, "2").await;
    operator.stop().await;
}

#[tokio::test]
async fn objects_relabelled_out_of_and_into_an_external_selection_reach_the_instance() {
    let ns = TestNamespace::create("instance-relabel").await;
    let client = ns.client();
    // Both members exist before the operator watches ConfigMaps, and no
    // timed requeue brings the instance back: only the relabel events do.
    team_member(&ns, "member-1", "blue").await;
    team_member(&ns, "member-2", "blue").await;
    let operator = Operator::start(&ns, &["--instance-requeue-interval=0"]).await;
    let (name, body) = rgd(&ns, "roster", roster(&ns));
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let rosters = instances(&ns, "Roster", "rosters");
    create_instance(&ns, &rosters, "Roster", "r", json!({ "team": "blue" })).await;
    roster_size(&ns, "2").await;

    team_member(&ns, "member-1", "red").await;
    roster_size(&ns, "1").await;
    team_member(&ns, "member-1", "blue").await;
    roster_size(&ns, "2").await;
    operator.stop().await;
}

/// A CRD of kind `Widget` in an API group of this test, whose spec has
/// the string fields `fields`.
fn widget_crd(ns: &TestNamespace, fields: &[&str]) -> CustomResourceDefinition {
    let group = widget_group(ns);
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|field| ((*field).to_owned(), json!({ "type": "string" })))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("widgets.{group}") },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget",
                       "listKind": "WidgetList" },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "properties": {
                    "spec": { "type": "object", "properties": properties }
                } } }
            }]
        }
    }))
    .expect("CRD literal")
}

fn widget_group(ns: &TestNamespace) -> String {
    format!("{}.widgets.kro.test", ns.name())
}

#[tokio::test]
async fn an_rgd_refused_for_a_missing_field_is_accepted_once_the_crd_has_it() {
    let ns = TestNamespace::create("rgd-crd-upgrade").await;
    let client = ns.client();
    let crd_name = kro_testenv::apply_crd(&client, &widget_crd(&ns, &["size"]), TEST_MANAGER).await;
    let operator = Operator::start(&ns, &[]).await;
    let (name, body) = rgd(
        &ns,
        "painted",
        json!({ "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Painted", "spec": { "colour": "string" } },
            "resources": [{ "id": "widget", "template": {
                "apiVersion": format!("{}/v1", widget_group(&ns)), "kind": "Widget",
                "metadata": { "name": "${schema.metadata.name}" },
                "spec": { "size": "small", "colour": "${schema.spec.colour}" } } }]
        }}),
    );
    apply(&client, &name, &body).await;
    // Until the CRD's schema is published the kind is unknown; then the
    // field is.
    let refused = wait_for(&client, &name, "refused for the missing field", |r| {
        conditions(r)
            .get("GraphAccepted")
            .is_some_and(|c| c.0 == ConditionStatus::False && c.2.contains("colour"))
    })
    .await;
    assert_eq!(state(&refused), Some(RgdState::Inactive));

    // The CRD is upgraded; nobody touches the RGD.
    kro_testenv::apply_crd(&client, &widget_crd(&ns, &["size", "colour"]), TEST_MANAGER).await;
    wait_for(&client, &name, "Active once the CRD has the field", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let rgd = rgds(&client).get(&name).await.expect("the RGD");
    assert_eq!(
        rgd.metadata.generation, refused.metadata.generation,
        "the RGD was not edited"
    );

    let painted = instances(&ns, "Painted", "painteds");
    create_instance(&ns, &painted, "Painted", "p", json!({ "colour": "red" })).await;
    let widget = ApiResource {
        group: widget_group(&ns),
        version: "v1".to_owned(),
        api_version: format!("{}/v1", widget_group(&ns)),
        kind: "Widget".to_owned(),
        plural: "widgets".to_owned(),
    };
    let widgets = Api::<DynamicObject>::namespaced_with(client.clone(), ns.name(), &widget);
    eventually("the Widget with its colour", || async {
        let widget = widgets.get_opt("p").await.ok()??;
        (widget.data["spec"]["colour"] == "red").then_some(())
    })
    .await;
    operator.stop().await;
    crds(&client)
        .delete(&crd_name, &DeleteParams::default())
        .await
        .expect("delete the Widget CRD");
}

#[tokio::test]
async fn deletion_goes_in_reverse_order_and_waits_for_each_wave() {
    let ns = TestNamespace::create("instance-waves").await;
    let body: Value = serde_saphyr::from_str(APPLICATION).expect("the example parses");
    let (operator, apps) = serve(&ns, "waves", body, "Application", "applications").await;
    let spec = json!({ "name": "waves", "ingress": { "enabled": true } });
    create_instance(&ns, &apps, "Application", "waves", spec).await;
    eventually("the instance ACTIVE", || async {
        let instance = apps.get_opt("waves").await.ok()??;
        (instance.data["status"]["state"] == "ACTIVE").then_some(())
    })
    .await;
    // A finalizer of ours holds the Service (the middle wave).
    let services = ns.api::<Service>();
    let hold = |finalizers: Value| {
        json!({ "apiVersion": "v1", "kind": "Service",
                "metadata": { "name": "waves-service", "finalizers": finalizers } })
    };
    services
        .patch(
            "waves-service",
            &PatchParams::apply("test-holder").force(),
            &Patch::Apply(hold(json!(["kro.test/hold"]))),
        )
        .await
        .expect("hold the Service");
    let sentinel =
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "bystander" } });
    ns.api::<ConfigMap>()
        .patch(
            "bystander",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(sentinel),
        )
        .await
        .expect("an object of nobody's");
    apps.delete("waves", &DeleteParams::default())
        .await
        .expect("delete the instance");

    let deployments = ns.api::<Deployment>();
    let ingresses = ns.api::<Ingress>();
    eventually("the Ingress gone and the Service terminating", || async {
        let ingress_gone = ingresses.get_opt("waves-ingress").await.ok()?.is_none();
        let service = services.get_opt("waves-service").await.ok()??;
        (ingress_gone && service.metadata.deletion_timestamp.is_some()).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let deployment = deployments.get_opt("waves").await.expect("read");
    assert!(
        deployment.is_some_and(|d| d.metadata.deletion_timestamp.is_none()),
        "the Deployment waits while the Service is not gone"
    );

    services
        .patch(
            "waves-service",
            &PatchParams::apply("test-holder").force(),
            &Patch::Apply(hold(json!([]))),
        )
        .await
        .expect("release the Service");
    eventually("the instance and the Deployment gone", || async {
        let gone = apps.get_opt("waves").await.ok()?.is_none()
            && deployments.get_opt("waves").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    assert!(
        ns.api::<ConfigMap>()
            .get_opt("bystander")
            .await
            .expect("read")
            .is_some(),
        "nothing else is deleted"
    );
    operator.stop().await;
}

#[tokio::test]
async fn a_suspended_instance_is_left_alone_until_resumed() {
    let ns = TestNamespace::create("instance-suspend").await;
    let (name, body) = simple(&ns, "paused", "Paused", json!({ "text": "string" }));
    let client = ns.client();
    let operator = Operator::start(&ns, &[]).await;
    apply(&client, &name, &body).await;
    wait_for(&client, &name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    let paused = instances(&ns, "Paused", "pauseds");
    create_instance(&ns, &paused, "Paused", "p", json!({ "text": "t" })).await;
    let config_maps = ns.api::<ConfigMap>();
    let from_is = |value: &'static str| {
        let config_maps = config_maps.clone();
        async move {
            let data = config_maps.get_opt("p").await.ok()??.data?;
            (data.get("from")? == value).then_some(())
        }
    };
    eventually("the ConfigMap", || from_is("kro")).await;

    let annotate = |value: Option<&str>| {
        json!({
            "apiVersion": format!("{}/v1alpha1", group(&ns)), "kind": "Paused",
            "metadata": { "name": "p", "annotations": match value {
                Some(value) => json!({ "kro.run/reconcile": value }),
                None => json!({}),
            } },
            "spec": { "text": "t" }
        })
    };
    paused
        .patch(
            "p",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(annotate(Some("suspended"))),
        )
        .await
        .expect("suspend");
    eventually("ResourcesReady to say suspended", || async {
        let instance = paused.get_opt("p").await.ok()??;
        instance.data["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "ResourcesReady" && c["reason"] == "ReconciliationSuspended")
            .then_some(())
    })
    .await;
    config_maps
        .patch(
            "p",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({ "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "p" }, "data": { "from": "a person" } })),
        )
        .await
        .expect("a hand edit");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        from_is("a person").await.is_some(),
        "left alone while suspended"
    );

    paused
        .patch(
            "p",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(annotate(None)),
        )
        .await
        .expect("resume");
    eventually("the hand edit undone after resuming", || from_is("kro")).await;
    operator.stop().await;
}

/// `GET /healthz` on `port` from this thread, as a kubelet probes: its
/// status code, or `None` when no answer came within a second.
fn healthz(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let second = std::time::Duration::from_secs(1);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, second).ok()?;
    stream.set_read_timeout(Some(second)).ok()?;
    stream.set_write_timeout(Some(second)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// An expression whose evaluation runs until a limit stops it: 64 million
/// iterations, within the static estimate's limit (10⁹ units) so that the
/// RGD is accepted, of which the per-reconcile budget below pays for a
/// fraction (seconds of CEL per reconcile).
const RUNAWAY: &str =
    "${string(lists.range(400).all(i, lists.range(400).all(j, lists.range(400).all(k, k >= 0))))}";

/// One tenant's runaway expression: its instance goes to ERROR naming the
/// expression and the budget, and is retried with backoff; meanwhile an
/// instance of another RGD becomes ACTIVE and `/healthz` answers at once
/// every time, because evaluation runs off the async runtime (this test's
/// operator shares the test's single-threaded runtime: CEL on it would
/// silence the probe for as long as each evaluation runs).
#[tokio::test]
async fn a_runaway_expression_fails_its_instance_and_nothing_else() {
    let ns = TestNamespace::create("instance-runaway").await;
    let client = ns.client();
    let health_port = free_port();
    let operator = Operator::start_with_probes(
        &ns,
        &[
            // No budget per expression: the pass's budget stops it.
            "--cel-cost-budget=0",
            "--cel-reconcile-cost-budget=50000000",
            "--cel-evaluation-timeout=30s",
        ],
        health_port,
    )
    .await;
    // Probed from a thread of its own, so that a starved runtime cannot
    // hide from the probe.
    let probing = CancellationToken::new();
    let probes = std::thread::spawn({
        let probing = probing.clone();
        move || {
            let mut answers = Vec::new();
            while !probing.is_cancelled() {
                answers.push(healthz(health_port));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            answers
        }
    });

    let (runaway, body) = rgd(
        &ns,
        "runaway",
        json!({
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": "Runaway", "spec": { "text": "string" } },
                "resources": [{
                    "id": "heavy",
                    "template": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": { "name": "${schema.metadata.name}" },
                        "data": { "value": RUNAWAY }
                    }
                }]
            }
        }),
    );
    let (calm, calm_body) = simple(&ns, "calm", "Calm", json!({ "text": "string" }));
    for (name, body) in [(&runaway, &body), (&calm, &calm_body)] {
        apply(&client, name, body).await;
        wait_for(&client, name, "Active", |r| {
            state(r) == Some(RgdState::Active)
        })
        .await;
    }

    let runaways = instances(&ns, "Runaway", "runaways");
    create_instance(&ns, &runaways, "Runaway", "r", json!({ "text": "t" })).await;
    let calms = instances(&ns, "Calm", "calms");
    create_instance(&ns, &calms, "Calm", "c", json!({ "text": "t" })).await;

    let message = eventually("the runaway instance in ERROR", || async {
        let instance = runaways.get_opt("r").await.ok()??;
        let status = &instance.data["status"];
        (status["state"] == "ERROR").then_some(())?;
        status["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "ResourcesReady")?["message"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    assert!(
        message.contains(&format!("resource error: heavy: data.value: `{RUNAWAY}`")),
        "{message}"
    );
    assert!(
        message.contains("actual cost limit exceeded (per-reconcile budget of 50000000"),
        "{message}"
    );
    eventually("the calm instance ACTIVE", || async {
        let instance = calms.get_opt("c").await.ok()??;
        (instance.data["status"]["state"] == "ACTIVE").then_some(())
    })
    .await;
    // Retried with backoff: the runaway fails again and again.
    eventually("the runaway to be retried", || async {
        let retries = operator
            .metric("instance_reconcile_errors_total", &["Resource=runaways"])
            .await;
        (retries >= 2.0).then_some(())
    })
    .await;

    probing.cancel();
    let answers = probes.join().expect("the probes ran");
    assert!(answers.len() > 10, "{answers:?}");
    assert!(
        answers.iter().all(|answer| *answer == Some(200)),
        "/healthz answered within a second every time: {answers:?}"
    );
    operator.stop().await;
}

/// `{"n":{"n":...1...}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "n": inner }))
}

#[tokio::test]
async fn an_rgd_nested_too_deep_is_refused_alone_and_the_others_are_served() {
    let ns = TestNamespace::create("deep-rgd").await;
    let client = ns.client();
    let lenient = Api::<Lenient<ResourceGraphDefinition>>::all(client.clone());

    // Both RGDs exist before the operator starts, so that its first list of
    // RGDs holds the deep one: that list used to fail as a whole, forever.
    apply_rgd_crd_first(&client).await;
    let (deep_name, mut deep) = simple(&ns, "deep", "Deep", json!({ "text": "string" }));
    deep["spec"]["resources"][0]["template"]["data"]["nested"] = nested(200);
    // The answer is the deep RGD: only a lenient read takes it.
    lenient
        .patch(
            &deep_name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&deep),
        )
        .await
        .unwrap_or_else(|e| panic!("apply RGD {deep_name}: {e}"));
    let (good_name, good) = simple(
        &ns,
        "good",
        "Good",
        json!({ "text": "string", "extra": "object" }),
    );
    apply(&client, &good_name, &good).await;

    let operator = Operator::start(&ns, &[]).await;
    wait_for(&client, &good_name, "Active", |r| {
        state(r) == Some(RgdState::Active)
    })
    .await;
    // A deep instance first (its `managedFields` are as deep, and the
    // metadata watch of the kind reads them), then an ordinary one.
    let goods = instances(&ns, "Good", "goods");
    let deep_instance = json!({
        "apiVersion": format!("{}/v1alpha1", group(&ns)),
        "kind": "Good",
        "metadata": { "name": "deep" },
        "spec": { "text": "deep", "extra": nested(200) },
    });
    let resource = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(&group(&ns), "v1alpha1", "Good"),
        "goods",
    );
    Api::<Lenient<DynamicObject>>::namespaced_with(client.clone(), ns.name(), &resource)
        .patch(
            "deep",
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&deep_instance),
        )
        .await
        .expect("apply the deep instance");
    create_instance(&ns, &goods, "Good", "one", json!({ "text": "hi" })).await;
    let config_maps = ns.api::<ConfigMap>();
    eventually("the good instance's ConfigMap", || async {
        config_maps.get_opt("one").await.ok()?
    })
    .await;

    let refusal = eventually("the deep RGD refused", || async {
        let Lenient::Unreadable(unreadable) = lenient.get(&deep_name).await.ok()? else {
            panic!("the deep RGD reads");
        };
        let status: kro_graph::api::ResourceGraphDefinitionStatus =
            serde_json::from_value(unreadable.status?).ok()?;
        status
            .conditions
            .into_iter()
            .find(|c| c.type_ == "GraphAccepted" && c.status == ConditionStatus::False)
    })
    .await;
    let message = refusal.message.unwrap_or_default();
    assert!(
        message.contains("cannot read this ResourceGraphDefinition")
            && message.contains("recursion limit"),
        "{message}"
    );
    for resource in ["Resource=resourcegraphdefinitions", "Resource=goods"] {
        assert!(
            operator
                .metric("unreadable_objects_total", &[resource])
                .await
                >= 1.0,
            "{resource} counted"
        );
    }

    // It can still be deleted: its finalizer is removed.
    match lenient.delete(&deep_name, &DeleteParams::default()).await {
        // kube reads the answer, the RGD, through a plain `Value` first.
        Ok(_) | Err(kube::Error::SerdeError(_)) => {}
        Err(e) => panic!("delete the deep RGD: {e}"),
    }
    eventually("the deep RGD gone", || async {
        lenient
            .get_opt(&deep_name)
            .await
            .ok()
            .and_then(|found| found.is_none().then_some(()))
    })
    .await;
    operator.stop().await;
}
