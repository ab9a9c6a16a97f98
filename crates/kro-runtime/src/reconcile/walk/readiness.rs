//! Readiness: `readyWhen` on what was observed or stored.

use std::collections::BTreeMap;

use kro_cel::Value;
use kro_graph::builder::{Context, GraphResource, NodeKind};
use serde_json::Value as Json;

use super::{DesiredObject, Scope};
use crate::desired::conditions_hold;

/// The variable bound to a collection item in its `readyWhen`.
const EACH: &str = "each";

/// Whether a rendered resource is ready for its dependents, judged on the
/// objects observed before this pass. A failing `readyWhen` is not ready;
/// the apply step reports it.
pub(super) fn is_ready(
    resource: &GraphResource,
    desired: &[DesiredObject],
    bindings: &BTreeMap<String, Value>,
    evaluations: &mut usize,
) -> bool {
    let ready = match resource.structure.kind {
        NodeKind::Collection => collection_ready(
            resource,
            desired.iter().map(|d| d.current.as_ref()),
            bindings,
            evaluations,
        ),
        _ if desired.iter().all(|d| d.current.is_some()) => {
            ready_when_holds(resource, bindings, None, evaluations)
        }
        _ => Ok(false),
    };
    ready.unwrap_or(false)
}

/// Whether every item of a collection exists and satisfies `readyWhen`
/// with `each` bound to it. An empty collection is ready.
pub(in crate::reconcile) fn collection_ready<'a>(
    resource: &GraphResource,
    items: impl Iterator<Item = Option<&'a Json>>,
    bindings: &BTreeMap<String, Value>,
    evaluations: &mut usize,
) -> Result<bool, String> {
    for item in items {
        let Some(item) = item else {
            return Ok(false);
        };
        if !has_ready_when(resource) {
            continue;
        }
        if !ready_when_holds(
            resource,
            bindings,
            Some((EACH, resource.types.value_of(item))),
            evaluations,
        )? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn has_ready_when(resource: &GraphResource) -> bool {
    resource
        .expressions
        .iter()
        .any(|e| e.context == Context::ReadyWhen)
}

/// Whether the resource's `readyWhen` conditions hold; missing data means
/// not yet, and any other failure is an error (a condition that can never
/// hold must not wait forever in silence).
pub(in crate::reconcile) fn ready_when_holds(
    resource: &GraphResource,
    bindings: &BTreeMap<String, Value>,
    extra: Option<(&str, Value)>,
    evaluations: &mut usize,
) -> Result<bool, String> {
    let scope = Scope {
        base: bindings,
        extra: extra
            .map(|(name, value)| vec![(name.to_owned(), value)])
            .unwrap_or_default(),
    };
    match conditions_hold(resource, Context::ReadyWhen, &scope, evaluations) {
        Ok(holds) => Ok(holds),
        Err(error) if error.is_pending() => Ok(false),
        Err(error) => Err(format!("readyWhen: {error}")),
    }
}
