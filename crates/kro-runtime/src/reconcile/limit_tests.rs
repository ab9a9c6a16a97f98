//! The evaluation limits through a whole pass, on the in-memory cluster:
//! whichever limit an expression runs into (its own budget, the pass's
//! budget, the deadline, the size of a result), and wherever it sits (a
//! template field, interpolated text, `forEach`, `includeWhen`,
//! `readyWhen`, a status field), the resource or the status fails with a
//! message naming the resource, the field, the expression and the limit,
//! the instance goes to `ERROR`, the pass asks for a retry with backoff,
//! and the resources that do not depend on it are still applied.

use std::time::Duration;

use kro_cel::{Env, Limits};
use kro_graph::builder::Graph;
use serde_json::json;

use super::*;
use crate::cluster::MemoryCluster;
use crate::state::NodeState;
use crate::test_graphs;

/// An RGD with a ConfigMap `fine` that needs nothing, and a ConfigMap
/// `heavy` whose fields and conditions are `HEAVY` (YAML, indented for the
/// resource's level), with a status field `STATUS`.
fn rgd(heavy: &str, status: &str) -> Graph {
    let yaml = format!(
        r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: limits
spec:
  schema:
    apiVersion: v1alpha1
    kind: Limits
    spec:
      name: string
    status:
{status}
  resources:
    - id: fine
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${{schema.spec.name}}-fine
        data:
          value: ok
    - id: heavy
{heavy}
"#
    );
    // The static estimate would refuse most of these graphs at build time
    // (it is tested in kro-cel and kro-graph); here the runtime's limits,
    // set per pass, are what must stop them.
    let mut env = Env::kro();
    env.set_limits(Limits {
        cost_budget: None,
        static_cost_limit: None,
        static_total_cost_limit: None,
        ..Limits::default()
    });
    let rgd = serde_saphyr::from_str(&yaml).expect("test RGD parses");
    test_graphs::build_with(&rgd, env)
}

/// A ConfigMap template whose `data.value` is `value`.
fn heavy_config_map(value: &str) -> String {
    format!(
        r#"      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${{schema.spec.name}}-heavy
        data:
          value: {value}"#
    )
}

const NO_STATUS: &str = "      fine: ${fine.metadata.name}";

/// Runs one pass of an instance named `name` (its `spec.name` too).
async fn pass(graph: &Graph, name: &str, evaluation: EvaluationLimits) -> Outcome {
    let cluster = MemoryCluster::new();
    let instance = cluster
        .insert(
            &graph.instance_type,
            json!({
                "apiVersion": "kro.run/v1alpha1", "kind": "Limits",
                "metadata": { "name": "limits", "namespace": "default", "generation": 1 },
                "spec": { "name": name }
            }),
        )
        .expect("stored");
    let options = Options {
        rgd_uid: "rgd-uid".into(),
        now: Some("2026-01-01T00:00:00Z".into()),
        evaluation,
        ..Options::default()
    };
    reconcile(graph, &instance, &cluster, &options)
        .await
        .expect("the pass completes")
}

fn node<'o>(outcome: &'o Outcome, id: &str) -> &'o NodeReport {
    outcome
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

/// The message of the `ResourcesReady` condition.
fn resources_ready(outcome: &Outcome) -> String {
    outcome.computed_status["conditions"]
        .as_array()
        .and_then(|conditions| conditions.iter().find(|c| c["type"] == "ResourcesReady"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The instance is in `ERROR`, retried with backoff, and its status says
/// each of `said`; `fine` was applied all the same.
fn assert_failed_for(outcome: &Outcome, said: &[&str]) {
    assert_eq!(outcome.computed_status["state"], "ERROR", "{outcome:#?}");
    assert_eq!(outcome.requeue, Requeue::Backoff);
    let message = resources_ready(outcome);
    for part in said {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(node(outcome, "fine").state, NodeState::Synced);
    assert!(outcome.applied.iter().any(|o| {
        o["metadata"]["name"]
            .as_str()
            .is_some_and(|name| name.ends_with("-fine"))
    }));
}

/// What costs 3,000,000 units before it exists: a list of a million
/// integers.
const MILLION: &str = "${string(lists.range(1000000).size())}";

#[tokio::test]
async fn a_template_field_over_its_budget_fails_its_resource() {
    let graph = rgd(&heavy_config_map(&format!("'{MILLION}'")), NO_STATUS);
    let outcome = pass(&graph, "limits", EvaluationLimits::default()).await;
    assert_failed_for(
        &outcome,
        &[
            "resource error: heavy: data.value: `${string(lists.range(1000000).size())}`",
            "actual cost limit exceeded (per-expression budget of 1000000)",
        ],
    );
    assert_eq!(node(&outcome, "heavy").state, NodeState::Error);
}

#[tokio::test]
async fn the_passes_budget_is_shared_by_its_expressions() {
    // Twenty items of about 15,000 units each: a pass of 100,000 cannot
    // pay for them all.
    let heavy = r#"      forEach:
        - n: ${lists.range(20)}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name + '-heavy-' + string(n)}
        data:
          value: ${string(lists.range(1000).map(j, j).size())}"#;
    let graph = rgd(heavy, NO_STATUS);
    let evaluation = EvaluationLimits {
        reconcile_budget: Some(100_000),
        ..EvaluationLimits::default()
    };
    let outcome = pass(&graph, "limits", evaluation).await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: data.value: `${string(lists.range(1000).map(j, j).size())}`",
            "actual cost limit exceeded (per-reconcile budget of 100000, shared by every expression of the instance)",
        ],
    );
    // With the default budget, the same pass goes through.
    let outcome = pass(&graph, "limits", EvaluationLimits::default()).await;
    assert_eq!(
        node(&outcome, "heavy").state,
        NodeState::Synced,
        "{:?}",
        node(&outcome, "heavy")
    );
    assert_eq!(outcome.desired.len(), 21);
}

#[tokio::test]
async fn copies_of_a_large_template_are_charged() {
    // 100 copies of a 20 KB template: 2 MB, more than 100,000 units pay
    // for, though no expression costs anything.
    let for_each = format!(
        r#"      forEach:
        - n: ${{lists.range(100)}}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${{schema.spec.name + '-heavy-' + string(n)}}
        data:
          value: {}"#,
        "x".repeat(20_000)
    );
    let graph = rgd(&for_each, NO_STATUS);
    let evaluation = EvaluationLimits {
        reconcile_budget: Some(100_000),
        ..EvaluationLimits::default()
    };
    let outcome = pass(&graph, "limits", evaluation).await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: the template's copy: operation cancelled: actual cost limit exceeded (per-reconcile budget of 100000",
        ],
    );
    let outcome = pass(&graph, "limits", EvaluationLimits::default()).await;
    assert_eq!(node(&outcome, "heavy").state, NodeState::Synced);
}

#[tokio::test]
async fn an_evaluation_past_its_deadline_fails() {
    // Within every budget, but over the 10,000 units after which the
    // clock is first read.
    let value = "'${string(lists.range(5000).map(i, i).size())}'";
    let graph = rgd(&heavy_config_map(value), NO_STATUS);
    let evaluation = EvaluationLimits {
        timeout: Some(Duration::ZERO),
        ..EvaluationLimits::default()
    };
    let outcome = pass(&graph, "limits", evaluation).await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: data.value: `${string(lists.range(5000).map(i, i).size())}`",
            "evaluation deadline exceeded (evaluation timeout of 0s)",
        ],
    );
}

#[tokio::test]
async fn results_and_interpolated_text_are_limited() {
    let small = EvaluationLimits {
        expression: Limits {
            max_result_size: 100,
            ..Limits::default()
        },
        ..EvaluationLimits::default()
    };
    let long_name = "n".repeat(60);

    let standalone = rgd(
        &heavy_config_map("${schema.spec.name + schema.spec.name}"),
        NO_STATUS,
    );
    let outcome = pass(&standalone, &long_name, small).await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: data.value: `${schema.spec.name + schema.spec.name}`",
            "over the limit of 100 (Limits::max_result_size)",
        ],
    );

    let interpolated = rgd(
        &heavy_config_map("${schema.spec.name}-${schema.spec.name}"),
        NO_STATUS,
    );
    let outcome = pass(&interpolated, &long_name, small).await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: data.value: `${schema.spec.name}`",
            "the result as JSON would reach 121 bytes, over the limit of 100",
        ],
    );
}

#[tokio::test]
async fn for_each_include_when_and_ready_when_are_limited() {
    let for_each = r#"      forEach:
        - n: ${lists.range(1000000)}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name + '-heavy-' + string(n)}"#;
    let outcome = pass(
        &rgd(for_each, NO_STATUS),
        "limits",
        EvaluationLimits::default(),
    )
    .await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: forEach \"n\": `${lists.range(1000000)}`",
            "per-expression budget of 1000000",
        ],
    );

    let include_when = format!(
        "      includeWhen:\n        - ${{lists.range(1000000).size() > 0}}\n{}",
        heavy_config_map("ok")
    );
    let outcome = pass(
        &rgd(&include_when, NO_STATUS),
        "limits",
        EvaluationLimits::default(),
    )
    .await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: includeWhen: ",
            "`${lists.range(1000000).size() > 0}`",
            "per-expression budget of 1000000",
        ],
    );

    let ready_when = format!(
        "      readyWhen:\n        - ${{lists.range(1000000).size() > 0}}\n{}",
        heavy_config_map("ok")
    );
    let outcome = pass(
        &rgd(&ready_when, NO_STATUS),
        "limits",
        EvaluationLimits::default(),
    )
    .await;
    assert_failed_for(
        &outcome,
        &[
            "heavy: readyWhen: ",
            "`${lists.range(1000000).size() > 0}`",
            "per-expression budget of 1000000",
        ],
    );
}

#[tokio::test]
async fn a_status_field_over_its_budget_fails_the_status() {
    let status = "      fine: ${fine.metadata.name}\n      heavy: ${string(lists.range(1000000).size()) + schema.spec.name}";
    let graph = rgd(&heavy_config_map("ok"), status);
    let outcome = pass(&graph, "limits", EvaluationLimits::default()).await;
    assert_eq!(outcome.computed_status["state"], "ERROR");
    assert_eq!(outcome.requeue, Requeue::Backoff);
    let message = resources_ready(&outcome);
    assert!(
        message.contains(
            "status error: status.heavy: `${string(lists.range(1000000).size()) + \
             schema.spec.name}`: operation cancelled: actual cost limit exceeded (per-expression budget of 1000000)"
        ),
        "{message}"
    );
    // The fields that could be computed are written.
    assert_eq!(outcome.computed_status["fine"], "limits-fine");
}
