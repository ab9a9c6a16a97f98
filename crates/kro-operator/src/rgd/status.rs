//! An RGD's `status`: its conditions, state, and the graph's order.

use kro_graph::api::{
    Condition, ConditionSet, ResourceDependency, ResourceGraphDefinitionStatus, ResourceInfo,
    RgdState,
};
use kro_graph::builder::Graph;
use serde_json::{Value, json};

/// The graph is valid.
pub const GRAPH_ACCEPTED: &str = "GraphAccepted";
/// The instance CRD is applied and Established.
pub const KIND_READY: &str = "KindReady";
/// Instances of the kind are being served.
pub const CONTROLLER_READY: &str = "ControllerReady";

/// The conditions the root `Ready` summarises.
pub const DEPENDENTS: &[&str] = &[GRAPH_ACCEPTED, KIND_READY, CONTROLLER_READY];

/// Conditions this operator never sets, removed when found: the pre-v0.9
/// name of `GraphAccepted`, and upstream's GraphRevision condition (we keep
/// the last accepted graph in memory and its spec on the instance CRD
/// instead; a value left by upstream would never change again).
const PRUNED: &[&str] = &["ResourceGraphAccepted", "GraphRevisionsResolved"];

/// The conditions of `status`, without those we never set.
pub fn current_conditions(status: Option<&ResourceGraphDefinitionStatus>) -> Vec<Condition> {
    status
        .map(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !PRUNED.contains(&c.type_.as_str()))
        .collect()
}

/// The condition set of an RGD over `conditions`.
pub fn condition_set<'a>(
    generation: i64,
    creation_timestamp: &'a str,
    conditions: &'a mut Vec<Condition>,
) -> ConditionSet<'a> {
    ConditionSet::new(DEPENDENTS, generation, creation_timestamp, conditions)
}

/// `status.resources`: the resources with at least one dependency, in
/// topological order, as upstream lists them.
pub fn resource_info(graph: &Graph) -> Vec<ResourceInfo> {
    graph
        .topological_order
        .iter()
        .filter_map(|id| graph.resource(id))
        .filter(|r| !r.dependencies.is_empty())
        .map(|r| ResourceInfo {
            id: r.structure.id.clone(),
            dependencies: r
                .dependencies
                .iter()
                .map(|id| ResourceDependency { id: id.clone() })
                .collect(),
        })
        .collect()
}

/// The status to write. `Active` needs every dependent True, whatever their
/// generation (upstream's rule; `Ready` is stricter).
pub fn status(
    conditions: Vec<Condition>,
    topological_order: Vec<String>,
    resources: Vec<ResourceInfo>,
) -> ResourceGraphDefinitionStatus {
    let all_true = DEPENDENTS.iter().all(|type_| {
        conditions
            .iter()
            .any(|c| c.type_ == *type_ && c.status == kro_graph::api::ConditionStatus::True)
    });
    ResourceGraphDefinitionStatus {
        state: Some(if all_true {
            RgdState::Active
        } else {
            RgdState::Inactive
        }),
        topological_order,
        resources,
        conditions,
    }
}

/// The merge patch that makes the live status `status`. Empty lists are
/// written as such: a merge patch that leaves a field out keeps its old
/// value, and an invalid update must clear the last good graph's order.
pub fn merge_patch(status: &ResourceGraphDefinitionStatus) -> Result<Value, serde_json::Error> {
    Ok(json!({
        "status": {
            "state": status.state,
            "topologicalOrder": status.topological_order,
            "resources": serde_json::to_value(&status.resources)?,
            "conditions": serde_json::to_value(&status.conditions)?,
        }
    }))
}

/// The state as upstream's metric labels write it.
pub fn state_name(state: Option<RgdState>) -> &'static str {
    match state {
        Some(RgdState::Active) => "Active",
        Some(RgdState::Inactive) => "Inactive",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_graph::api::ConditionStatus;

    fn condition(type_: &str, status: ConditionStatus) -> Condition {
        Condition {
            type_: type_.to_owned(),
            status,
            last_transition_time: None,
            reason: None,
            message: None,
            observed_generation: Some(1),
        }
    }

    #[test]
    fn active_needs_every_dependent() {
        let mut conditions: Vec<Condition> = DEPENDENTS
            .iter()
            .map(|t| condition(t, ConditionStatus::True))
            .collect();
        assert_eq!(
            status(conditions.clone(), vec![], vec![]).state,
            Some(RgdState::Active)
        );
        conditions[1].status = ConditionStatus::False;
        assert_eq!(
            status(conditions, vec![], vec![]).state,
            Some(RgdState::Inactive)
        );
    }

    #[test]
    fn legacy_conditions_are_pruned() {
        let live = ResourceGraphDefinitionStatus {
            conditions: vec![
                condition("ResourceGraphAccepted", ConditionStatus::True),
                condition("GraphRevisionsResolved", ConditionStatus::Unknown),
                condition(GRAPH_ACCEPTED, ConditionStatus::True),
            ],
            ..ResourceGraphDefinitionStatus::default()
        };
        let kept: Vec<String> = current_conditions(Some(&live))
            .into_iter()
            .map(|c| c.type_)
            .collect();
        assert_eq!(kept, [GRAPH_ACCEPTED]);
    }

    #[test]
    fn the_patch_clears_empty_lists() {
        let patch = merge_patch(&status(vec![], vec![], vec![])).expect("serialises");
        assert_eq!(patch["status"]["topologicalOrder"], json!([]));
        assert_eq!(patch["status"]["resources"], json!([]));
        assert_eq!(patch["status"]["state"], json!("Inactive"));
    }
}
