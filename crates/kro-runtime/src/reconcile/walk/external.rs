//! External references: objects read by name or by selector, never
//! written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_cel::Value;
use kro_graph::builder::GraphResource;
use serde_json::Value as Json;

use super::walked::{Step, Walked};
use crate::cluster::{Cluster, ListScope, ObjectKey};
use crate::desired::desired_object;
use crate::reconcile::outcome::{ExternalRead, ExternalTarget, ReconcileError};
use crate::reconcile::ownership::is_member;
use crate::reconcile::pass::Pass;
use crate::reconcile::readiness::{self, Readiness};

pub(super) async fn external_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> Result<Step, ReconcileError> {
    let id = &resource.structure.id;
    let key = desired_object(resource, &walked.bindings, &mut pass.allowance)
        .map_err(Step::from)
        .and_then(|object| target(pass, resource, &object));
    let key = match key {
        Ok(key) => key,
        Err(step) => return Ok(step),
    };
    pass.outcome.external_reads.push(ExternalRead {
        resource: key.resource.clone(),
        namespace: key.namespace.clone(),
        target: ExternalTarget::Name(key.name.clone()),
        matched: Vec::new(),
    });
    let current = pass
        .cluster
        .get(&key)
        .await
        .map_err(|e| pass.cluster_error(format!("read {key} of {id:?}"), e))?;
    let Some(current) = current else {
        return Ok(Step::Read(Readiness::Waiting(format!(
            "waiting for external reference {id:?}: {key} not found"
        ))));
    };
    note_read(pass, walked, &key, &current);
    walked
        .bindings
        .insert(id.clone(), resource.types.value_of(&current));
    Ok(Step::Read(readiness::of(
        resource,
        [Some(&current)],
        &walked.bindings,
        &mut pass.allowance,
    )))
}

/// The object an external reference names: its rendered name, and for
/// namespaced kinds its namespace, else the instance's, else `default`.
/// An empty name waits (it may come from data not there yet).
fn target<C: Cluster>(
    pass: &Pass<'_, C>,
    resource: &GraphResource,
    object: &Json,
) -> Result<ObjectKey, Step> {
    let kind = resource.resource_type();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(Step::Waiting(format!(
            "the name of external reference {:?} is empty",
            resource.structure.id
        )));
    }
    let namespace = if kind.namespaced {
        object["metadata"]["namespace"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| pass.identity.namespace.clone())
            .or_else(|| Some("default".to_owned()))
    } else {
        None
    };
    Ok(ObjectKey {
        resource: kind.clone(),
        namespace,
        name: name.to_owned(),
    })
}

pub(super) async fn external_collection_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> Result<Step, ReconcileError> {
    let id = &resource.structure.id;
    let kind = resource.resource_type();
    let object = match desired_object(resource, &walked.bindings, &mut pass.allowance) {
        Ok(object) => object,
        Err(error) => return Ok(error.into()),
    };
    let selector: LabelSelector =
        match serde_json::from_value(object["metadata"]["selector"].clone()) {
            Ok(selector) => selector,
            Err(error) => {
                return Ok(Step::Failed(format!(
                    "metadata.selector is not a label selector: {error}"
                )));
            }
        };
    // Without a namespace, a selector reads the instance's own namespace
    // (upstream: every namespace, so that whoever creates an instance reads
    // objects of namespaces they have no right to). Only a cluster-scoped
    // instance, which needs cluster-wide rights to create, reads them all.
    let namespace = if kind.namespaced {
        object["metadata"]["namespace"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| pass.identity.namespace.clone())
    } else {
        None
    };
    let scope = match &namespace {
        Some(namespace) => ListScope::Namespace(namespace),
        None => ListScope::AllNamespaces,
    };
    let listed = pass
        .cluster
        .list(kind, scope, &selector)
        .await
        .map_err(|e| pass.cluster_error(format!("list the objects of {id:?}"), e))?;
    pass.outcome.external_reads.push(ExternalRead {
        resource: kind.clone(),
        namespace: namespace.clone(),
        target: ExternalTarget::Selector(selector.clone()),
        matched: listed
            .iter()
            .filter_map(|object| ObjectKey::of(kind, object).ok())
            .collect(),
    });
    for object in &listed {
        if let Ok(key) = ObjectKey::of(kind, object) {
            note_read(pass, walked, &key, object);
        }
    }
    let items = listed.iter().map(|o| resource.types.value_of(o)).collect();
    walked.bindings.insert(id.clone(), Value::list(items));
    Ok(Step::Read(readiness::of(
        resource,
        listed.iter().map(Some),
        &walked.bindings,
        &mut pass.allowance,
    )))
}

/// Records an external object read: never pruned, and released when it
/// is a member of this instance's ApplySet.
fn note_read<C: Cluster>(pass: &Pass<'_, C>, walked: &mut Walked, key: &ObjectKey, object: &Json) {
    let Some(uid) = object["metadata"]["uid"].as_str() else {
        return;
    };
    walked.external_uids.insert(uid.to_owned());
    if is_member(&pass.identity, object) {
        walked.members_read.push((key.clone(), uid.to_owned()));
    }
}
