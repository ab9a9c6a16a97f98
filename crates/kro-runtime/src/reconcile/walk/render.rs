//! Resources made from templates: one object, or one per element of a
//! `forEach` collection.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_cel::{Allowance, Value};
use kro_graph::api::AdoptionPolicy;
use kro_graph::api::metadata::{self, collection_item_labels};
use kro_graph::builder::{CompiledExpression, Context, GraphResource};
use serde_json::{Map, Value as Json, json};

use super::walked::{DesiredObject, Step, Walked};
use crate::cluster::{Cluster, ListScope, ObjectKey, ResourceType, is_terminating};
use crate::collection::{Item, expand};
use crate::desired::desired_object;
use crate::reconcile::outcome::ReconcileError;
use crate::reconcile::ownership::claim;
use crate::reconcile::pass::Pass;
use crate::reconcile::scope::Scope;

pub(super) async fn resource_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> Result<Step, ReconcileError> {
    let id = &resource.structure.id;
    let object = match desired_object(resource, &walked.bindings, &mut pass.allowance) {
        Ok(object) => object,
        Err(error) => return Ok(error.into()),
    };
    let mut desired = match prepare(pass, resource, object, wave, None) {
        Ok(desired) => desired,
        Err(message) => return Ok(Step::Failed(message)),
    };
    let current = pass
        .cluster
        .get(&desired.key)
        .await
        .map_err(|e| pass.cluster_error(format!("read {} of {id:?}", desired.key), e))?;
    // Before anything is bound or written: what is not the instance's is
    // neither read into its status nor applied.
    if let Err(refusal) = claim(
        &pass.identity,
        id,
        adoption_of(resource),
        &desired.key,
        current.as_ref(),
    ) {
        return Ok(Step::Failed(refusal));
    }
    if let Some(current) = &current {
        if is_terminating(current) {
            walked.child_deleting = Some(format!("{} of {id:?} is being deleted", desired.key));
        }
        walked
            .bindings
            .insert(id.clone(), resource.types.value_of(current));
    }
    desired.current = current;
    Ok(Step::Rendered(vec![desired]))
}

pub(super) async fn collection_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> Result<Step, ReconcileError> {
    let rendered = items(pass, resource, &walked.bindings)
        .and_then(|items| render_items(pass, resource, &walked.bindings, wave, items));
    let mut desired = match rendered {
        Ok(desired) => desired,
        Err(step) => return Ok(step),
    };
    if let Some(refusal) = observe_items(pass, resource, walked, &mut desired).await? {
        return Ok(Step::Failed(refusal));
    }
    Ok(Step::Rendered(desired))
}

fn adoption_of(resource: &GraphResource) -> AdoptionPolicy {
    resource.structure.lifecycle.unwrap_or_default().adoption
}

/// The items of a collection: the product of its `forEach` dimensions.
fn items<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    bindings: &BTreeMap<String, Value>,
) -> Result<Vec<Item>, Step> {
    let mut dimensions = Vec::new();
    for expression in resource
        .expressions
        .iter()
        .filter(|e| e.context == Context::ForEach)
    {
        let name = resource
            .structure
            .for_each
            .get(dimensions.len())
            .map(|(name, _)| name.clone())
            .unwrap_or_default();
        let values = dimension(&name, expression, bindings, &mut pass.allowance)?;
        dimensions.push((name, values));
    }
    expand(&dimensions, pass.options.max_collection_size)
        .map_err(|error| Step::Failed(error.to_string()))
}

/// The values of one `forEach` dimension: its expression must return a
/// list.
fn dimension(
    name: &str,
    expression: &CompiledExpression,
    bindings: &BTreeMap<String, Value>,
    allowance: &mut Allowance,
) -> Result<Vec<Json>, Step> {
    let source = &expression.source;
    let items = match expression.compiled.eval_within(bindings, allowance) {
        Ok(Value::List(items)) => items,
        Ok(Value::Null) => {
            return Err(Step::Failed(format!(
                "forEach {name:?}: `${{{source}}}` returned null, expected list"
            )));
        }
        Ok(other) => {
            return Err(Step::Failed(format!(
                "forEach {name:?}: `${{{source}}}` returned {}, expected list",
                other.type_name()
            )));
        }
        Err(error) if error.is_missing_data() => {
            return Err(Step::Waiting(format!(
                "forEach {name:?}: `${{{source}}}`: {error}"
            )));
        }
        Err(error) => {
            return Err(Step::Failed(format!(
                "forEach {name:?}: `${{{source}}}`: {error}"
            )));
        }
    };
    items
        .iter()
        .map(Value::to_json)
        .collect::<Result<Vec<Json>, _>>()
        .map_err(|error| Step::Failed(format!("forEach {name:?}: {error}")))
}

/// One desired object per item, with the item's iterators bound. Two items
/// with the same identity fail the resource.
fn render_items<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    bindings: &BTreeMap<String, Value>,
    wave: usize,
    items: Vec<Item>,
) -> Result<Vec<DesiredObject>, Step> {
    let size = items.len();
    let mut desired = Vec::with_capacity(size);
    let mut identities = BTreeSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let scope = Scope {
            base: bindings,
            extra: item
                .iter()
                .map(|(name, value)| (name.clone(), Value::from_json(value)))
                .collect(),
        };
        let object = desired_object(resource, &scope, &mut pass.allowance)?;
        let prepared =
            prepare(pass, resource, object, wave, Some((index, size))).map_err(Step::Failed)?;
        if !identities.insert(prepared.key.clone()) {
            return Err(Step::Failed(format!(
                "identity collision: duplicate identity: {}",
                identity_text(&prepared.key)
            )));
        }
        desired.push(prepared);
    }
    Ok(desired)
}

/// Reads the current items into their desired items, claims them, and
/// binds them in collection order once every item exists. Returns why the
/// collection may not be applied when an item is not the instance's to
/// write (and then binds nothing).
async fn observe_items<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    desired: &mut [DesiredObject],
) -> Result<Option<String>, ReconcileError> {
    let id = &resource.structure.id;
    read_items(pass, resource, desired).await?;
    let refusals: Vec<String> = desired
        .iter()
        .filter_map(|item| {
            let adoption = adoption_of(resource);
            claim(
                &pass.identity,
                id,
                adoption,
                &item.key,
                item.current.as_ref(),
            )
            .err()
        })
        .collect();
    if !refusals.is_empty() {
        return Ok(Some(refusals.join("; ")));
    }
    // Dependents see the items in the order of the collection.
    let mut observed = Vec::new();
    for item in desired.iter() {
        if let Some(current) = &item.current {
            if is_terminating(current) {
                walked.child_deleting = Some(format!("{} of {id:?} is being deleted", item.key));
            }
            observed.push(resource.types.value_of(current));
        }
    }
    if observed.len() == desired.len() {
        walked.bindings.insert(id.clone(), Value::list(observed));
    }
    Ok(None)
}

/// Sets each item's current object: listed by instance and node id, in
/// every namespace; an item the list does not have is read by name, since
/// an object of that name may exist without kro's labels.
async fn read_items<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    desired: &mut [DesiredObject],
) -> Result<(), ReconcileError> {
    let id = &resource.structure.id;
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([
            (metadata::INSTANCE_ID.to_owned(), pass.identity.uid.clone()),
            (metadata::NODE_ID.to_owned(), id.clone()),
        ])),
        ..LabelSelector::default()
    };
    let listed = pass
        .cluster
        .list(
            resource.resource_type(),
            ListScope::AllNamespaces,
            &selector,
        )
        .await
        .map_err(|e| pass.cluster_error(format!("list the items of {id:?}"), e))?;
    let mut by_key: BTreeMap<(Option<String>, String), Json> = listed
        .into_iter()
        .map(|object| {
            let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            ((namespace, name), object)
        })
        .collect();
    for item in desired.iter_mut() {
        item.current = match by_key.remove(&(item.key.namespace.clone(), item.key.name.clone())) {
            Some(listed) => Some(listed),
            None => pass
                .cluster
                .get(&item.key)
                .await
                .map_err(|e| pass.cluster_error(format!("read {} of {id:?}", item.key), e))?,
        };
    }
    Ok(())
}

/// Gives a rendered object its namespace, key, labels and annotations.
fn prepare<C: Cluster>(
    pass: &Pass<'_, C>,
    resource: &GraphResource,
    mut object: Json,
    wave: usize,
    item: Option<(usize, usize)>,
) -> Result<DesiredObject, String> {
    let Some(metadata) = object.get_mut("metadata").and_then(Json::as_object_mut) else {
        return Err("the rendered object has no metadata".to_owned());
    };
    let kind = resource.resource_type();
    let namespace = namespace_of(pass, kind, metadata)?;
    let name = match metadata.get("name").and_then(Json::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => return Err("metadata.name is empty".to_owned()),
    };
    let mut labels = pass.identity.child_labels(&resource.structure.id);
    if let Some((index, size)) = item {
        labels.extend(collection_item_labels(index, size));
    }
    mark(metadata, labels, wave);
    Ok(DesiredObject {
        key: ObjectKey {
            resource: kind.clone(),
            namespace,
            name,
        },
        object,
        current: None,
    })
}

/// The object's namespace: its own, else the instance's, for namespaced
/// kinds (written into `metadata`); none, and removed, for the others.
fn namespace_of<C: Cluster>(
    pass: &Pass<'_, C>,
    kind: &ResourceType,
    metadata: &mut Map<String, Json>,
) -> Result<Option<String>, String> {
    if !kind.namespaced {
        metadata.remove("namespace");
        return Ok(None);
    }
    if let Some(namespace) = metadata.get("namespace").and_then(Json::as_str)
        && !namespace.is_empty()
    {
        return Ok(Some(namespace.to_owned()));
    }
    let Some(namespace) = &pass.identity.namespace else {
        return Err(
            "must resolve metadata.namespace when the instance is cluster-scoped".to_owned(),
        );
    };
    metadata.insert("namespace".into(), json!(namespace));
    Ok(Some(namespace.clone()))
}

/// Adds kro's labels and the deletion wave to an object's metadata.
fn mark(metadata: &mut Map<String, Json>, labels: BTreeMap<String, String>, wave: usize) {
    let label_map = metadata
        .entry("labels")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(label_map) = label_map {
        for (key, value) in labels {
            label_map.insert(key, Json::String(value));
        }
    }
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(annotations) = annotations {
        annotations.insert(metadata::APPLY_ORDER.into(), json!(wave.to_string()));
    }
}

fn identity_text(key: &ObjectKey) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        key.resource.gvk.group,
        key.resource.gvk.version,
        key.resource.gvk.kind,
        key.namespace.as_deref().unwrap_or_default(),
        key.name
    )
}
