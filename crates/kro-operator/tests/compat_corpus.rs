//! The compatibility corpus (`examples/compat/`) through the operator on
//! the local control plane: every RGD recorded as accepted in
//! `verdicts.yaml` becomes Active, every refused one gets
//! `GraphAccepted=False` with the recorded error.
//!
//! The RGDs are applied all at once, to one in-process operator that
//! serves only them; their kinds move to an API group of this test's own
//! (templates of a chained kind follow), so that they meet no other test's
//! kinds. The CRDs of other operators' kinds the corpus uses (`crds/`)
//! are installed first.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::{ConditionStatus, ResourceGraphDefinition, RgdState};
use kro_operator::args::Args;
use kro_testenv::{TestNamespace, WAIT_LIMIT, free_port, kubeconfig_path};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The field manager of the test's own writes.
const TEST_MANAGER: &str = "kro-test";

/// The API group and version kro gives instance kinds by default, which
/// chained templates name.
const KRO_API_VERSION: &str = "kro.run/v1alpha1";

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/compat")
}

/// Reads a corpus file as `kubectl` does: a key written twice keeps its
/// last value.
fn read_yaml(relative: &str) -> Value {
    let text = std::fs::read_to_string(corpus().join(relative))
        .unwrap_or_else(|e| panic!("read {relative}: {e}"));
    serde_saphyr::from_str_with_options(&text, kro_graph::source_map::yaml_options())
        .unwrap_or_else(|e| panic!("parse {relative}: {e}"))
}

/// What the operator should make of one corpus RGD.
enum Expected {
    Active,
    Refused { error: String },
}

/// One corpus RGD as this test applies it.
struct Case {
    file: String,
    name: String,
    body: Value,
    expected: Expected,
}

/// The corpus RGD `file`, renamed, labelled for this test's operator and
/// moved to this test's API group.
fn case(ns: &TestNamespace, file: &str, entry: &Value) -> Case {
    let mut body = read_yaml(file);
    let name = format!("{}-{}", ns.name(), file.trim_end_matches(".yaml"));
    let group = format!("{}.kro.test", ns.name());
    body["metadata"]["name"] = json!(name);
    body["metadata"]["labels"]["kro-test"] = json!(ns.name());
    body["spec"]["schema"]["group"] = json!(group);
    let templates = body["spec"]["resources"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|resource| resource.get_mut("template"));
    for template in templates {
        if template["apiVersion"] == KRO_API_VERSION {
            template["apiVersion"] = json!(format!("{group}/v1alpha1"));
        }
    }
    let expected = match entry["verdict"].as_str() {
        Some("accepted") => Expected::Active,
        Some("refused") => Expected::Refused {
            error: entry["error"].as_str().unwrap_or_default().to_owned(),
        },
        other => panic!("{file}: unknown verdict {other:?}"),
    };
    Case {
        file: file.to_owned(),
        name,
        body,
        expected,
    }
}

/// Starts an operator that serves the RGDs labelled for `ns`.
async fn start_operator(
    ns: &TestNamespace,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let argv = [
        "kro-operator".to_owned(),
        format!("--kubeconfig={}", kubeconfig_path().display()),
        format!("--metrics-bind-address=127.0.0.1:{}", free_port()),
        "--health-probe-bind-address=0".to_owned(),
        format!("--rgd-selector=kro-test={}", ns.name()),
        "--rgd-progress-requeue-delay=1s".to_owned(),
        "--graceful-shutdown-timeout=10s".to_owned(),
        "--allow-crd-deletion".to_owned(),
    ];
    let args = Args::try_parse_from(argv).expect("valid flags");
    let stop = CancellationToken::new();
    let task = tokio::spawn(kro_operator::run(args, stop.clone()));
    kro_testenv::crd_established(&ns.client(), "resourcegraphdefinitions.kro.run").await;
    (stop, task)
}

/// The RGD's `GraphAccepted` condition, if written for its current
/// generation: (status, message).
fn graph_accepted(rgd: &ResourceGraphDefinition) -> Option<(ConditionStatus, String)> {
    rgd.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "GraphAccepted" && c.observed_generation == rgd.metadata.generation)
        .map(|c| (c.status, c.message.clone().unwrap_or_default()))
}

/// Whether the RGD has reached what its case expects.
fn reached(case: &Case, rgd: &ResourceGraphDefinition) -> bool {
    let accepted = graph_accepted(rgd);
    match &case.expected {
        Expected::Active => {
            rgd.status.as_ref().and_then(|s| s.state) == Some(RgdState::Active)
                && accepted.is_some_and(|(status, _)| status == ConditionStatus::True)
        }
        Expected::Refused { error } => accepted.is_some_and(|(status, message)| {
            status == ConditionStatus::False && message.contains(error.as_str())
        }),
    }
}

/// Where each RGD that has not reached its expectation stands.
fn describe(case: &Case, rgd: Option<&ResourceGraphDefinition>) -> String {
    let wanted = match &case.expected {
        Expected::Active => "Active".to_owned(),
        Expected::Refused { error } => format!("GraphAccepted=False with `{error}`"),
    };
    let conditions: Vec<String> = rgd
        .and_then(|r| r.status.as_ref())
        .into_iter()
        .flat_map(|s| &s.conditions)
        .map(|c| {
            format!(
                "{}={:?} {}",
                c.type_,
                c.status,
                c.message.as_deref().unwrap_or_default()
            )
        })
        .collect();
    format!(
        "{}: expected {wanted}, have {}",
        case.file,
        conditions.join("; ")
    )
}

async fn install_crds(client: &Client, files: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for file in files {
        let crd: CustomResourceDefinition =
            serde_json::from_value(read_yaml(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        names.push(kro_testenv::apply_crd(client, &crd, TEST_MANAGER).await);
    }
    names
}

#[tokio::test]
async fn every_corpus_rgd_gets_its_recorded_verdict_from_the_operator() {
    let ns = TestNamespace::create("compat").await;
    let client = ns.client();
    let manifest = read_yaml("verdicts.yaml");
    let entries = manifest.as_object().expect("verdicts.yaml is a mapping");

    let mut crd_files: Vec<String> = entries
        .values()
        .flat_map(|entry| entry["crds"].as_array().into_iter().flatten())
        .filter_map(|file| file.as_str().map(str::to_owned))
        .collect();
    crd_files.sort();
    crd_files.dedup();
    let crd_names = install_crds(&client, &crd_files).await;

    let (stop, task) = start_operator(&ns).await;
    let rgds = Api::<ResourceGraphDefinition>::all(client.clone());
    let cases: Vec<Case> = entries
        .iter()
        .map(|(file, entry)| case(&ns, file, entry))
        .collect();
    for case in &cases {
        rgds.patch(
            &case.name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&case.body),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", case.file));
    }

    let selector = ListParams::default().labels(&format!("kro-test={}", ns.name()));
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let missed = loop {
        let listed: BTreeMap<String, ResourceGraphDefinition> = rgds
            .list(&selector)
            .await
            .expect("list the RGDs")
            .items
            .into_iter()
            .filter_map(|rgd| Some((rgd.metadata.name.clone()?, rgd)))
            .collect();
        let missed: Vec<String> = cases
            .iter()
            .filter(|case| !listed.get(&case.name).is_some_and(|rgd| reached(case, rgd)))
            .map(|case| describe(case, listed.get(&case.name)))
            .collect();
        if missed.is_empty() || tokio::time::Instant::now() >= deadline {
            break missed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    for case in &cases {
        rgds.delete(&case.name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e}", case.file));
    }
    kro_testenv::eventually("the corpus RGDs deleted", || async {
        rgds.list(&selector)
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the operator stops within 30 s")
        .expect("the operator task did not panic")
        .expect("the operator stopped without error");
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    for name in crd_names {
        crds.delete(&name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete CRD {name}: {e}"));
    }

    assert!(
        missed.is_empty(),
        "{} of {} corpus RGDs do not get their verdict from the operator:\n{}",
        missed.len(),
        cases.len(),
        missed.join("\n")
    );
}
