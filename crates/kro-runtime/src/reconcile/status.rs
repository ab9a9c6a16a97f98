//! The instance's status: projected fields, conditions and state, written
//! only when it differs from what is stored.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use kro_cel::template::{RenderError, Rendered, Segment};
use kro_cel::{Allowance, Value};
use kro_graph::api::{Condition, ConditionSet, ConditionStatus, READY};
use kro_graph::builder::types::SCHEMA;
use kro_graph::builder::{Graph, StatusField};
use serde_json::{Map, Value as Json, json};

use super::apply::Applied;
use super::outcome::{ConditionTransition, ReconcileError, Requeue};
use super::pass::Pass;
use super::scope::Scope;
use crate::cluster::Cluster;
use crate::state::{InstanceState, NodeState};

const INSTANCE_MANAGED: &str = "InstanceManaged";
const GRAPH_RESOLVED: &str = "GraphResolved";
const RESOURCES_READY: &str = "ResourcesReady";
const DEPENDENTS: [&str; 3] = [INSTANCE_MANAGED, GRAPH_RESOLVED, RESOURCES_READY];

/// How `ResourcesReady` ends up.
struct ResourcesReady {
    status: ConditionStatus,
    reason: &'static str,
    message: String,
}

/// The status after a normal pass.
pub(super) async fn write<C: Cluster>(
    pass: &mut Pass<'_, C>,
    applied: &Applied,
) -> Result<(), ReconcileError> {
    let mut errors = Vec::new();
    let mut status = project_fields(
        &pass.graph.status.fields,
        &applied.bindings,
        &mut pass.allowance,
        &mut errors,
    );
    let mut resources = resources_ready(applied);
    if !errors.is_empty() {
        // A status expression that fails will fail again: the instance is
        // in error, and the operator retries with backoff.
        let failed = format!("status error: {}", errors.join("; "));
        resources = match resources.status {
            ConditionStatus::True => ResourcesReady {
                status: ConditionStatus::False,
                reason: "NotReady",
                message: failed,
            },
            _ => ResourcesReady {
                message: format!("{}; {failed}", resources.message),
                ..resources
            },
        };
        pass.outcome.requeue = Requeue::Backoff;
    }
    let mut builtins = previous_conditions(pass)
        .into_iter()
        .filter(|c| is_builtin(&c.type_))
        .collect();
    let ready = set_builtins(pass, &mut builtins, &resources, None);
    let states: Vec<NodeState> = applied.nodes.iter().map(|n| n.state).collect();
    let mut state = InstanceState::from_nodes(ready, states);
    if !errors.is_empty() {
        state = InstanceState::Error;
    }
    let conditions = if pass.graph.status.conditions.is_empty() {
        builtins
    } else {
        let (conditions, degraded) = custom_conditions(pass, &builtins, &applied.bindings);
        if degraded {
            state = InstanceState::Error;
        }
        conditions
    };
    status.insert("state".into(), json!(state.as_str()));
    status.insert("conditions".into(), json!(conditions));
    store(pass, Json::Object(status)).await
}

/// The status of a suspended instance: its projected fields stay.
pub(super) async fn write_suspended<C: Cluster>(
    pass: &mut Pass<'_, C>,
) -> Result<(), ReconcileError> {
    let resources = ResourcesReady {
        status: ConditionStatus::False,
        reason: "ReconciliationSuspended",
        message: "reconciliation is suspended by the kro.run/reconcile annotation".to_owned(),
    };
    overlay(pass, &resources, None, None).await
}

/// The status of an instance being deleted: `DELETING`, its projected
/// fields kept.
pub(super) async fn write_deleting<C: Cluster>(
    pass: &mut Pass<'_, C>,
    message: String,
) -> Result<(), ReconcileError> {
    let resources = ResourcesReady {
        status: ConditionStatus::Unknown,
        reason: "UnderDeletion",
        message,
    };
    overlay(pass, &resources, Some(InstanceState::Deleting), None).await
}

/// The status of an instance whose inventory cannot be trusted: nothing
/// is reconciled until someone repairs it.
pub(super) async fn write_unmanaged<C: Cluster>(
    pass: &mut Pass<'_, C>,
    problem: String,
) -> Result<(), ReconcileError> {
    let resources = ResourcesReady {
        status: ConditionStatus::False,
        reason: "NotReady",
        message: "resources are not reconciled while the instance cannot be managed".to_owned(),
    };
    overlay(pass, &resources, Some(InstanceState::Error), Some(&problem)).await
}

/// The status of a pass the cluster stopped half-way.
pub(super) async fn write_failed<C: Cluster>(
    pass: &mut Pass<'_, C>,
    message: String,
) -> Result<(), ReconcileError> {
    let resources = ResourcesReady {
        status: ConditionStatus::False,
        reason: "NotReady",
        message: format!("resource reconciliation failed: {message}"),
    };
    overlay(pass, &resources, Some(InstanceState::Error), None).await
}

/// Keeps the stored status and overlays kro's conditions (and the state,
/// when given).
async fn overlay<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resources: &ResourcesReady,
    state: Option<InstanceState>,
    unmanaged: Option<&str>,
) -> Result<(), ReconcileError> {
    let mut status = pass.instance["status"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut conditions = previous_conditions(pass);
    let ready = set_builtins(pass, &mut conditions, resources, unmanaged);
    let state = state.unwrap_or(if ready {
        InstanceState::Active
    } else {
        InstanceState::InProgress
    });
    if !pass.graph.status.conditions.is_empty() {
        // Author conditions stay as they are; only kro's ResourcesReady
        // shows what happens.
        conditions.retain(|c| c.type_ == RESOURCES_READY || !is_builtin(&c.type_));
    }
    status.insert("state".into(), json!(state.as_str()));
    status.insert("conditions".into(), json!(conditions));
    store(pass, Json::Object(status)).await
}

fn is_builtin(type_: &str) -> bool {
    DEPENDENTS.contains(&type_) || type_ == READY
}

fn previous_conditions<C: Cluster>(pass: &Pass<'_, C>) -> Vec<Condition> {
    serde_json::from_value(pass.instance["status"]["conditions"].clone()).unwrap_or_default()
}

/// Sets kro's conditions; returns whether `Ready` is True. `unmanaged`
/// says why kro cannot manage the instance, if it cannot.
fn set_builtins<C: Cluster>(
    pass: &Pass<'_, C>,
    conditions: &mut Vec<Condition>,
    resources: &ResourcesReady,
    unmanaged: Option<&str>,
) -> bool {
    let generation = pass.generation();
    let created = pass.instance["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or(&pass.now)
        .to_owned();
    let mut set = ConditionSet::new(&DEPENDENTS, generation, &created, conditions);
    match unmanaged {
        None => set.set_true_with_reason(
            INSTANCE_MANAGED,
            "Managed",
            "instance is managed by kro",
            &pass.now,
        ),
        Some(problem) => set.set_false(INSTANCE_MANAGED, "ManagementFailed", problem, &pass.now),
    };
    set.set_true_with_reason(
        GRAPH_RESOLVED,
        "Resolved",
        "the resource graph is resolved",
        &pass.now,
    );
    set.set(
        RESOURCES_READY,
        resources.status,
        resources.reason,
        &resources.message,
        &pass.now,
    );
    set.is_ready()
}

fn resources_ready(applied: &Applied) -> ResourcesReady {
    if let Some(reason) = &applied.child_deleting {
        return ResourcesReady {
            status: ConditionStatus::False,
            reason: "ResourceDeleting",
            message: reason.clone(),
        };
    }
    let describe = |states: &[NodeState]| -> Vec<String> {
        applied
            .nodes
            .iter()
            .filter(|n| states.contains(&n.state))
            .map(|n| match &n.reason {
                Some(reason) => format!("{}: {reason}", n.id),
                None => n.id.clone(),
            })
            .collect()
    };
    let failed = describe(&[NodeState::Error]);
    if !failed.is_empty() {
        return ResourcesReady {
            status: ConditionStatus::False,
            reason: "NotReady",
            message: format!("resource error: {}", failed.join("; ")),
        };
    }
    let waiting = describe(&[NodeState::InProgress, NodeState::WaitingForReadiness]);
    if !waiting.is_empty() {
        return ResourcesReady {
            status: ConditionStatus::False,
            reason: "NotReady",
            message: format!("awaiting resource readiness: {}", waiting.join("; ")),
        };
    }
    ResourcesReady {
        status: ConditionStatus::True,
        reason: "AllResourcesReady",
        message: "all resources are ready".to_owned(),
    }
}

/// The projected status fields whose expressions could be evaluated;
/// fields waiting for data are left out.
fn project_fields(
    fields: &[StatusField],
    bindings: &BTreeMap<String, Value>,
    allowance: &mut Allowance,
    errors: &mut Vec<String>,
) -> Map<String, Json> {
    let mut status = Json::Object(Map::new());
    for field in fields {
        // A null is left out: the API server drops it from a stored
        // status, and writing it would make every pass look like a change.
        let value = match field_value(field, bindings, allowance) {
            Ok(Some(value)) if !value.is_null() => value,
            Ok(_) => continue,
            Err(error) => {
                errors.push(format!("status.{}: {error}", field.path));
                continue;
            }
        };
        set_path(&mut status, field.path.segments(), value);
    }
    // Kro writes these two itself.
    let mut status = match status {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    status.remove("state");
    status.remove("conditions");
    status
}

/// A field's value: `Ok(None)` while its data is pending (or it is
/// omitted), `Err` when an expression fails for good.
fn field_value(
    field: &StatusField,
    bindings: &BTreeMap<String, Value>,
    allowance: &mut Allowance,
) -> Result<Option<Json>, String> {
    let mut expressions = field.expressions.iter();
    // The expression a limit of the text is reported against: the last
    // one evaluated.
    let last = Cell::new("");
    let rendered = allowance
        .render(
            &field.template,
            |allowance, _| {
                let Some(expression) = expressions.next() else {
                    return Ok(None);
                };
                last.set(&expression.source);
                match expression.compiled.eval_within(bindings, allowance) {
                    Ok(value) => Ok(Some(value)),
                    Err(error) if error.is_missing_data() => Ok(None),
                    Err(error) => Err(format!("`${{{}}}`: {error}", expression.source)),
                }
            },
            |error| format!("`${{{}}}`: {error}", last.get()),
        )
        .map_err(|error| match error {
            RenderError::Eval(message) => message,
            RenderError::NotAString { ref expression, .. } => {
                format!("`${{{expression}}}`: {error}")
            }
        })?;
    match rendered {
        None => Ok(None),
        Some(Rendered::Text(text)) => Ok(Some(Json::String(text))),
        Some(Rendered::Value { value, expression }) => allowance
            .to_template_json(&value)
            .map_err(|error| format!("`${{{}}}`: {error}", expression.source)),
    }
}

fn set_path(root: &mut Json, path: &[Segment], value: Json) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    match first {
        Segment::Key(key) => {
            if !root.is_object() {
                *root = Json::Object(Map::new());
            }
            if let Json::Object(map) = root {
                set_path(map.entry(key.clone()).or_insert(Json::Null), rest, value);
            }
        }
        Segment::Index(index) => {
            if !root.is_array() {
                *root = Json::Array(Vec::new());
            }
            if let Json::Array(items) = root {
                if items.len() <= *index {
                    items.resize(index + 1, Json::Null);
                }
                set_path(&mut items[*index], rest, value);
            }
        }
    }
}

/// The author's conditions, evaluated with `schema` showing kro's freshly
/// computed built-in conditions. Returns them and whether evaluation was
/// degraded (a failure or a type computed twice), which makes the state
/// `ERROR`. Conditions written before whose types are missing now stay.
fn custom_conditions<C: Cluster>(
    pass: &mut Pass<'_, C>,
    builtins: &[Condition],
    bindings: &BTreeMap<String, Value>,
) -> (Vec<Condition>, bool) {
    let mut schema = pass.instance.clone();
    schema["status"]["conditions"] = json!(builtins);
    let scope = Scope {
        base: bindings,
        extra: vec![(
            SCHEMA.to_owned(),
            pass.graph.instance_types.value_of(&schema),
        )],
    };
    let (computed, mut degraded) = evaluate_conditions(pass.graph, &scope, &mut pass.allowance);
    let duplicated = duplicated_types(&computed);
    degraded |= !duplicated.is_empty();
    let previous: Vec<Condition> = previous_conditions(pass)
        .into_iter()
        .filter(|c| !is_builtin(&c.type_))
        .collect();
    let generation = pass.generation();
    let mut result: Vec<Condition> = Vec::new();
    for mut condition in computed
        .into_iter()
        .filter(|c| !duplicated.contains(&c.type_))
    {
        let before = previous.iter().find(|p| p.type_ == condition.type_);
        condition.last_transition_time = match before {
            Some(before) if before.status == condition.status => {
                before.last_transition_time.clone()
            }
            _ => Some(pass.now.clone()),
        };
        condition.observed_generation = Some(generation);
        result.push(condition);
    }
    for kept in previous {
        if !result.iter().any(|c| c.type_ == kept.type_) {
            result.push(kept);
        }
    }
    (result, degraded)
}

/// Every condition the author's expressions return (one or a list each),
/// and whether any failed or returned something that is not a condition.
/// Missing data leaves an expression out.
fn evaluate_conditions(
    graph: &Graph,
    scope: &Scope<'_>,
    allowance: &mut Allowance,
) -> (Vec<Condition>, bool) {
    let mut degraded = false;
    let mut computed: Vec<Condition> = Vec::new();
    for expression in &graph.status.conditions {
        let value = match expression.compiled.eval_within(scope, allowance) {
            Ok(value) => value,
            Err(error) if error.is_missing_data() => continue,
            Err(_) => {
                degraded = true;
                continue;
            }
        };
        let items = match value {
            Value::List(items) => items.iter().cloned().collect(),
            other => vec![other],
        };
        for item in items {
            match item.to_json().ok().and_then(|json| condition_of(&json)) {
                Some(condition) => computed.push(condition),
                None => degraded = true,
            }
        }
    }
    (computed, degraded)
}

/// The condition types computed more than once.
fn duplicated_types(computed: &[Condition]) -> BTreeSet<String> {
    let mut seen = BTreeMap::new();
    for condition in computed {
        *seen.entry(condition.type_.clone()).or_insert(0) += 1;
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(type_, _)| type_)
        .collect()
}

fn condition_of(json: &Json) -> Option<Condition> {
    let status = match json["status"].as_str()? {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        "Unknown" => ConditionStatus::Unknown,
        _ => return None,
    };
    let type_ = json["type"].as_str().filter(|t| !t.is_empty())?;
    Some(Condition {
        type_: type_.to_owned(),
        status,
        last_transition_time: None,
        reason: json["reason"].as_str().map(str::to_owned),
        message: json["message"].as_str().map(str::to_owned),
        observed_generation: None,
    })
}

/// Writes `status` unless the stored one is the same, and records the
/// condition transitions.
async fn store<C: Cluster>(pass: &mut Pass<'_, C>, status: Json) -> Result<(), ReconcileError> {
    pass.outcome.transitions = transitions(
        &pass.instance["status"]["conditions"],
        &status["conditions"],
    );
    pass.outcome.computed_status = status.clone();
    if same(&pass.instance["status"], &status) {
        return Ok(());
    }
    let mut body = pass.instance.clone();
    body["status"] = status.clone();
    let stored = pass
        .cluster
        .write_status(&pass.graph.instance_type, &body)
        .await
        .map_err(|e| pass.cluster_error("write the instance's status".into(), e))?;
    pass.outcome.writes += 1;
    pass.outcome.status = Some(status);
    pass.instance = stored;
    Ok(())
}

fn transitions(before: &Json, after: &Json) -> Vec<ConditionTransition> {
    let status_of = |list: &Json, type_: &str| -> Option<String> {
        list.as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .and_then(|c| c["status"].as_str().map(str::to_owned))
    };
    after
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|condition| {
            let type_ = condition["type"].as_str()?;
            let to = condition["status"].as_str()?.to_owned();
            let from = status_of(before, type_);
            (from.as_deref() != Some(to.as_str())).then(|| ConditionTransition {
                condition_type: type_.to_owned(),
                from,
                to,
                reason: condition["reason"].as_str().unwrap_or_default().to_owned(),
                message: condition["message"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// JSON equality where `3` and `3.0` are the same number, as they are
/// once stored.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
        }
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}
