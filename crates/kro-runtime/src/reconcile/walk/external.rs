//! External references: objects read by name or by selector, never
//! written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_cel::Value;
use kro_graph::builder::GraphResource;

use super::{Step, StepResult, Walked};
use crate::cluster::{Cluster, ListScope, ObjectKey, ResourceType};
use crate::desired::desired_object;
use crate::reconcile::instance::Pass;
use crate::reconcile::{ExternalRead, ExternalTarget};

pub(super) async fn external_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> StepResult {
    let id = &resource.structure.id;
    let kind = resource.resource_type();
    let object = match desired_object(
        resource,
        &walked.bindings,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(object) => object,
        Err(error) => return Ok(Err(error)),
    };
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        return Ok(Ok(Step::Waiting(format!(
            "the name of external reference {id:?} is empty"
        ))));
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
    let key = ObjectKey {
        resource: kind.clone(),
        namespace: namespace.clone(),
        name: name.clone(),
    };
    pass.outcome.external_reads.push(ExternalRead {
        resource: kind.clone(),
        namespace,
        target: ExternalTarget::Name(name),
        matched: Vec::new(),
    });
    let current = pass
        .cluster
        .get(&key)
        .await
        .map_err(|e| pass.cluster_error(format!("read {key} of {id:?}"), e))?;
    Ok(Ok(match current {
        Some(current) => {
            if let Some(uid) = current["metadata"]["uid"].as_str() {
                walked.external_uids.insert(uid.to_owned());
            }
            walked
                .bindings
                .insert(id.clone(), resource.types.value_of(&current));
            Step::Read {
                found: true,
                reason: None,
                items: None,
            }
        }
        None => Step::Read {
            found: false,
            items: None,
            reason: Some(format!(
                "waiting for external reference {id:?}: {key} not found"
            )),
        },
    }))
}

pub(super) async fn external_collection_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> StepResult {
    let id = &resource.structure.id;
    let kind = resource.resource_type();
    let object = match desired_object(
        resource,
        &walked.bindings,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(object) => object,
        Err(error) => return Ok(Err(error)),
    };
    let selector: LabelSelector =
        match serde_json::from_value(object["metadata"]["selector"].clone()) {
            Ok(selector) => selector,
            Err(error) => {
                return Ok(Ok(Step::Failed(format!(
                    "metadata.selector is not a label selector: {error}"
                ))));
            }
        };
    let namespace = if kind.namespaced {
        object["metadata"]["namespace"].as_str().map(str::to_owned)
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
        matched: listed.iter().filter_map(|o| object_key(kind, o)).collect(),
    });
    walked.external_uids.extend(
        listed
            .iter()
            .filter_map(|o| o["metadata"]["uid"].as_str().map(str::to_owned)),
    );
    let items = listed.iter().map(|o| resource.types.value_of(o)).collect();
    walked.bindings.insert(id.clone(), Value::list(items));
    Ok(Ok(Step::Read {
        found: true,
        reason: None,
        items: Some(listed),
    }))
}

/// The key of an object a selector matched.
fn object_key(kind: &ResourceType, object: &serde_json::Value) -> Option<ObjectKey> {
    Some(ObjectKey {
        resource: kind.clone(),
        namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
        name: object["metadata"]["name"].as_str()?.to_owned(),
    })
}
