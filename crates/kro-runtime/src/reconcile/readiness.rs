//! Readiness: `readyWhen` judged on a resource's objects, as observed by
//! the walk or as stored by the apply step, or read by an external
//! reference. One verdict, [`Readiness`], whoever asks; turning it into a
//! node's state is `NodeRun::judge`'s.

use std::collections::BTreeMap;

use kro_cel::{Allowance, Value};
use kro_graph::builder::types::EACH;
use kro_graph::builder::{Context, GraphResource, NodeKind};
use serde_json::Value as Json;

use super::scope::Scope;
use crate::desired::conditions_hold;

/// Whether a resource is ready for its dependents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Readiness {
    /// Every object exists and satisfies `readyWhen`.
    Ready,
    /// Not yet, and why: an object or the data `readyWhen` reads is
    /// missing, or `readyWhen` does not hold.
    Waiting(String),
    /// `readyWhen` failed for another reason than missing data: a
    /// condition that can never hold must not wait forever in silence.
    Failed(String),
}

/// The readiness of `resource` from its objects (`None`: not there). A
/// collection, of templates or of objects read by selector, is ready when
/// every item is, judged with `each` bound to it (an empty one is ready);
/// any other resource once its object exists and `readyWhen` holds.
pub(super) fn of<'a>(
    resource: &GraphResource,
    objects: impl IntoIterator<Item = Option<&'a Json>>,
    bindings: &BTreeMap<String, Value>,
    allowance: &mut Allowance,
) -> Readiness {
    let mut objects = objects.into_iter();
    match resource.structure.kind {
        NodeKind::Collection | NodeKind::ExternalCollection => {
            items(resource, objects, bindings, allowance)
        }
        _ if objects.all(|object| object.is_some()) => {
            ready_when(resource, bindings, None, allowance)
        }
        _ => not_yet(resource),
    }
}

fn items<'a>(
    resource: &GraphResource,
    items: impl Iterator<Item = Option<&'a Json>>,
    bindings: &BTreeMap<String, Value>,
    allowance: &mut Allowance,
) -> Readiness {
    let judged = has_ready_when(resource);
    for item in items {
        let Some(item) = item else {
            return not_yet(resource);
        };
        if !judged {
            continue;
        }
        let each = (EACH, resource.types.value_of(item));
        let readiness = ready_when(resource, bindings, Some(each), allowance);
        if readiness != Readiness::Ready {
            return readiness;
        }
    }
    Readiness::Ready
}

fn has_ready_when(resource: &GraphResource) -> bool {
    resource
        .expressions
        .iter()
        .any(|e| e.context == Context::ReadyWhen)
}

/// Whether the resource's `readyWhen` conditions hold, with `extra` bound
/// besides the bindings; missing data means not yet.
fn ready_when(
    resource: &GraphResource,
    bindings: &BTreeMap<String, Value>,
    extra: Option<(&str, Value)>,
    allowance: &mut Allowance,
) -> Readiness {
    let scope = Scope {
        base: bindings,
        extra: extra
            .map(|(name, value)| vec![(name.to_owned(), value)])
            .unwrap_or_default(),
    };
    match conditions_hold(resource, Context::ReadyWhen, &scope, allowance) {
        Ok(true) => Readiness::Ready,
        Ok(false) => not_yet(resource),
        Err(error) if error.is_pending() => not_yet(resource),
        Err(error) => Readiness::Failed(format!("readyWhen: {error}")),
    }
}

fn not_yet(resource: &GraphResource) -> Readiness {
    Readiness::Waiting(format!(
        "readyWhen of {:?} does not hold yet",
        resource.structure.id
    ))
}
