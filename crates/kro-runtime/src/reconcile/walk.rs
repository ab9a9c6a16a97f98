//! The walk of a pass: each resource in topological order, deciding
//! whether it is included, computing its desired objects and observing the
//! current ones. Nothing is written here; the apply step does that.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_cel::kro_lib::{RUNTIME_VARIABLE, runtime_value};
use kro_cel::{Activation, Value};
use kro_graph::builder::{Context, GraphResource, NodeKind};
use serde_json::{Value as Json, json};

use super::instance::{Pass, resource_type};
use super::{ExternalRead, ExternalTarget, ReconcileError};
use crate::cluster::{Cluster, ListScope, ObjectKey, ResourceType};
use crate::collection::expand;
use crate::desired::{DesiredError, conditions_hold, desired_object};
use crate::metadata::{self, collection_item_labels};
use crate::state::NodeState;

/// The variable bound to a collection item in its `readyWhen`.
const EACH: &str = "each";

/// One object a resource wants applied.
#[derive(Debug, Clone)]
pub(super) struct DesiredObject {
    pub key: ObjectKey,
    /// The object to apply, with kro's labels and annotations.
    pub object: Json,
    /// The object as observed before the pass, if it exists.
    pub current: Option<Json>,
}

/// What the walk decided for one resource.
#[derive(Debug, Clone)]
pub(super) struct NodeRun {
    pub id: String,
    pub kind: NodeKind,
    pub resource_type: ResourceType,
    pub state: NodeState,
    pub reason: Option<String>,
    /// The objects to apply (resources and collections only).
    pub desired: Vec<DesiredObject>,
    /// Whether the desired objects were computed: false when the resource
    /// is skipped, waiting or failed.
    pub rendered: bool,
    /// Whether dependents may use it: observed and ready, or skipped.
    pub ready: bool,
}

/// The result of the walk.
pub(super) struct Walked {
    pub nodes: Vec<NodeRun>,
    /// Some resource waits for data: pruning would delete objects that
    /// are only missing for now.
    pub pending: bool,
    /// A child is being deleted by someone else: nothing is applied until
    /// it is gone (applying would recreate it half-way through).
    pub child_deleting: Option<String>,
    /// The UIDs of the external objects read: never pruned, even when
    /// they carry this instance's ApplySet label (a resource turned from a
    /// template into an externalRef).
    pub external_uids: BTreeSet<String>,
    /// `schema`, `runtime` and every observed resource, as CEL values.
    pub bindings: BTreeMap<String, Value>,
}

/// Variables of a base activation plus a few more (an item's iterators or
/// `each`), looked up first.
pub(super) struct Scope<'a> {
    pub base: &'a BTreeMap<String, Value>,
    pub extra: Vec<(String, Value)>,
}

impl Activation for Scope<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.base.get(name).cloned())
    }
}

/// The bindings without the resources in `hidden`.
struct ReadyOnly<'a> {
    base: &'a BTreeMap<String, Value>,
    hidden: &'a [&'a str],
}

impl Activation for ReadyOnly<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        if self.hidden.contains(&name) {
            return None;
        }
        self.base.get(name).cloned()
    }
}

/// How one resource ended in the walk, before its objects are applied.
enum Step {
    Skipped(String),
    Waiting(String),
    Failed(String),
    Rendered(Vec<DesiredObject>),
    /// An external reference was read (or not found); a selector's
    /// objects are judged one by one.
    Read {
        found: bool,
        reason: Option<String>,
        items: Option<Vec<Json>>,
    },
}

pub(super) async fn run<C: Cluster>(pass: &mut Pass<'_, C>) -> Result<Walked, ReconcileError> {
    let graph = pass.graph;
    let mut bindings = BTreeMap::new();
    bindings.insert(
        "schema".to_owned(),
        graph.instance_types.value_of(&pass.instance),
    );
    bindings.insert(RUNTIME_VARIABLE.to_owned(), runtime_value());
    let waves: BTreeMap<&str, usize> = graph.dependencies.deletion_waves().into_iter().collect();
    let mut walked = Walked {
        nodes: Vec::new(),
        pending: false,
        child_deleting: None,
        external_uids: BTreeSet::new(),
        bindings,
    };
    for id in &graph.topological_order {
        let Some(resource) = graph.resources.iter().find(|r| &r.structure.id == id) else {
            continue;
        };
        let wave = waves.get(id.as_str()).copied().unwrap_or(1);
        let step = step(pass, resource, &mut walked, wave).await?;
        let structure = &resource.structure;
        let mut node = NodeRun {
            id: id.clone(),
            kind: structure.kind,
            resource_type: resource_type(&structure.schema),
            state: NodeState::InProgress,
            reason: None,
            desired: Vec::new(),
            rendered: false,
            ready: false,
        };
        match step {
            Step::Skipped(reason) => {
                node.state = NodeState::Skipped;
                node.reason = Some(reason);
                node.ready = true;
            }
            Step::Waiting(reason) => {
                walked.pending = true;
                node.reason = Some(reason);
            }
            Step::Failed(reason) => {
                node.state = NodeState::Error;
                node.reason = Some(reason);
            }
            Step::Rendered(desired) => {
                node.ready = is_ready(
                    resource,
                    &desired,
                    &walked.bindings,
                    &mut pass.outcome.cel_evaluations,
                );
                node.desired = desired;
                node.rendered = true;
            }
            Step::Read {
                found,
                reason,
                items,
            } => {
                let ready = match &items {
                    Some(items) => collection_ready(
                        resource,
                        items.iter().map(Some),
                        &walked.bindings,
                        &mut pass.outcome.cel_evaluations,
                    ),
                    None if found => ready_when_holds(
                        resource,
                        &walked.bindings,
                        None,
                        &mut pass.outcome.cel_evaluations,
                    ),
                    None => Ok(false),
                };
                match ready {
                    Ok(true) => node.state = NodeState::Synced,
                    Ok(false) => {
                        walked.pending = true;
                        node.state = NodeState::WaitingForReadiness;
                        node.reason =
                            Some(reason.unwrap_or_else(|| {
                                format!("readyWhen of {id:?} does not hold yet")
                            }));
                    }
                    Err(error) => {
                        node.state = NodeState::Error;
                        node.reason = Some(error);
                    }
                }
                node.ready = node.state == NodeState::Synced;
            }
        }
        walked.nodes.push(node);
        if walked.child_deleting.is_some() {
            break;
        }
    }
    Ok(walked)
}

/// Processes one resource: inclusion, dependencies, desired state,
/// observation. Observed objects are bound for the resources after it.
async fn step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> Result<Step, ReconcileError> {
    let previous = |dependency: &str| walked.nodes.iter().find(|n| n.id == dependency);
    if let Some(skipped) = resource
        .dependencies
        .iter()
        .find(|d| previous(d).is_some_and(|n| n.state == NodeState::Skipped))
    {
        return Ok(Step::Skipped(format!(
            "depends on {skipped:?}, which is skipped"
        )));
    }
    // An includeWhen reading a resource that is not ready yet waits, as
    // upstream: judged on a half-ready object, it could skip (and prune) a
    // resource that should stay.
    let not_ready: Vec<&str> = resource
        .dependencies
        .iter()
        .filter(|d| previous(d).is_some_and(|n| !n.ready))
        .map(String::as_str)
        .collect();
    let ready_only = ReadyOnly {
        base: &walked.bindings,
        hidden: &not_ready,
    };
    match conditions_hold(
        resource,
        Context::IncludeWhen,
        &ready_only,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(true) => {}
        Ok(false) => return Ok(Step::Skipped("includeWhen is false".to_owned())),
        Err(DesiredError::Pending { .. }) => {
            return Ok(Step::Waiting(
                "includeWhen waits for data of its dependencies".to_owned(),
            ));
        }
        Err(error) => return Ok(Step::Failed(format!("includeWhen: {error}"))),
    }
    if let Some(waiting) = resource
        .dependencies
        .iter()
        .find(|d| previous(d).is_some_and(|n| !n.ready))
    {
        return Ok(Step::Waiting(format!(
            "waiting for {waiting:?} to be ready"
        )));
    }
    match resource.structure.kind {
        NodeKind::Resource => resource_step(pass, resource, walked, wave).await,
        NodeKind::Collection => collection_step(pass, resource, walked, wave).await,
        NodeKind::External => external_step(pass, resource, walked).await,
        NodeKind::ExternalCollection => external_collection_step(pass, resource, walked).await,
    }
    .map(|step| match step {
        Ok(step) => step,
        Err(error) if error.is_pending() => Step::Waiting(error.to_string()),
        Err(error) => Step::Failed(error.to_string()),
    })
}

type StepResult = Result<Result<Step, DesiredError>, ReconcileError>;

async fn resource_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> StepResult {
    let id = &resource.structure.id;
    let object = match desired_object(
        resource,
        &walked.bindings,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(object) => object,
        Err(error) => return Ok(Err(error)),
    };
    let mut desired = match prepare(pass, resource, object, wave, None) {
        Ok(desired) => desired,
        Err(message) => return Ok(Ok(Step::Failed(message))),
    };
    let current = pass
        .cluster
        .get(&desired.key)
        .await
        .map_err(|e| pass.cluster_error(format!("read {} of {id:?}", desired.key), e))?;
    if let Some(current) = &current {
        if is_terminating(current) {
            walked.child_deleting = Some(format!("{} of {id:?} is being deleted", desired.key));
        }
        walked
            .bindings
            .insert(id.clone(), resource.types.value_of(current));
    }
    desired.current = current;
    Ok(Ok(Step::Rendered(vec![desired])))
}

async fn collection_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
    wave: usize,
) -> StepResult {
    let id = &resource.structure.id;
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
        pass.outcome.cel_evaluations += 1;
        let values = match expression.compiled.eval(&walked.bindings) {
            Ok(Value::List(items)) => items.iter().map(Value::to_json).collect(),
            Ok(Value::Null) => {
                return Ok(Ok(Step::Failed(format!(
                    "forEach {name:?}: `${{{}}}` returned null, expected list",
                    expression.source
                ))));
            }
            Ok(other) => {
                return Ok(Ok(Step::Failed(format!(
                    "forEach {name:?}: `${{{}}}` returned {}, expected list",
                    expression.source,
                    other.type_name()
                ))));
            }
            Err(error) if error.is_missing_data() => {
                return Ok(Ok(Step::Waiting(format!(
                    "forEach {name:?}: `${{{}}}`: {error}",
                    expression.source
                ))));
            }
            Err(error) => {
                return Ok(Ok(Step::Failed(format!(
                    "forEach {name:?}: `${{{}}}`: {error}",
                    expression.source
                ))));
            }
        };
        let values: Result<Vec<Json>, _> = values;
        match values {
            Ok(values) => dimensions.push((name, values)),
            Err(error) => return Ok(Ok(Step::Failed(format!("forEach {name:?}: {error}")))),
        }
    }
    let items = match expand(&dimensions, pass.options.max_collection_size) {
        Ok(items) => items,
        Err(error) => return Ok(Ok(Step::Failed(error.to_string()))),
    };
    let size = items.len();
    let mut desired = Vec::with_capacity(size);
    let mut identities = BTreeSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let scope = Scope {
            base: &walked.bindings,
            extra: item
                .iter()
                .map(|(name, value)| (name.clone(), Value::from_json(value)))
                .collect(),
        };
        let object = match desired_object(resource, &scope, &mut pass.outcome.cel_evaluations) {
            Ok(object) => object,
            Err(error) => return Ok(Err(error)),
        };
        let prepared = match prepare(pass, resource, object, wave, Some((index, size))) {
            Ok(prepared) => prepared,
            Err(message) => return Ok(Ok(Step::Failed(message))),
        };
        if !identities.insert(prepared.key.clone()) {
            return Ok(Ok(Step::Failed(format!(
                "identity collision: duplicate identity: {}",
                identity_text(&prepared.key)
            ))));
        }
        desired.push(prepared);
    }
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([
            (metadata::INSTANCE_ID.to_owned(), pass.identity.uid.clone()),
            (metadata::NODE_ID.to_owned(), id.clone()),
        ])),
        ..LabelSelector::default()
    };
    let resource_type = resource_type(&resource.structure.schema);
    let listed = pass
        .cluster
        .list(&resource_type, ListScope::AllNamespaces, &selector)
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
    // The list comes in namespace/name order; dependents see the items in
    // the order of the collection.
    let mut observed = Vec::new();
    for item in &mut desired {
        let current = by_key.remove(&(item.key.namespace.clone(), item.key.name.clone()));
        if let Some(current) = &current {
            if is_terminating(current) {
                walked.child_deleting = Some(format!("{} of {id:?} is being deleted", item.key));
            }
            observed.push(resource.types.value_of(current));
        }
        item.current = current;
    }
    if observed.len() == desired.len() {
        walked.bindings.insert(id.clone(), Value::list(observed));
    }
    Ok(Ok(Step::Rendered(desired)))
}

async fn external_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> StepResult {
    let id = &resource.structure.id;
    let object = match desired_object(
        resource,
        &walked.bindings,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(object) => object,
        Err(error) => return Ok(Err(error)),
    };
    let resource_type = resource_type(&resource.structure.schema);
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        return Ok(Ok(Step::Waiting(format!(
            "the name of external reference {id:?} is empty"
        ))));
    }
    let namespace = if resource_type.namespaced {
        object["metadata"]["namespace"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| pass.identity.namespace.clone())
            .or_else(|| Some("default".to_owned()))
    } else {
        None
    };
    let key = ObjectKey {
        resource: resource_type.clone(),
        namespace: namespace.clone(),
        name: name.clone(),
    };
    pass.outcome.external_reads.push(ExternalRead {
        resource: resource_type,
        namespace,
        target: ExternalTarget::Name(name),
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

async fn external_collection_step<C: Cluster>(
    pass: &mut Pass<'_, C>,
    resource: &GraphResource,
    walked: &mut Walked,
) -> StepResult {
    let id = &resource.structure.id;
    let object = match desired_object(
        resource,
        &walked.bindings,
        &mut pass.outcome.cel_evaluations,
    ) {
        Ok(object) => object,
        Err(error) => return Ok(Err(error)),
    };
    let resource_type = resource_type(&resource.structure.schema);
    let selector: LabelSelector =
        match serde_json::from_value(object["metadata"]["selector"].clone()) {
            Ok(selector) => selector,
            Err(error) => {
                return Ok(Ok(Step::Failed(format!(
                    "metadata.selector is not a label selector: {error}"
                ))));
            }
        };
    let namespace = if resource_type.namespaced {
        object["metadata"]["namespace"].as_str().map(str::to_owned)
    } else {
        None
    };
    pass.outcome.external_reads.push(ExternalRead {
        resource: resource_type.clone(),
        namespace: namespace.clone(),
        target: ExternalTarget::Selector(selector.clone()),
    });
    let scope = match &namespace {
        Some(namespace) => ListScope::Namespace(namespace),
        None => ListScope::AllNamespaces,
    };
    let listed = pass
        .cluster
        .list(&resource_type, scope, &selector)
        .await
        .map_err(|e| pass.cluster_error(format!("list the objects of {id:?}"), e))?;
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

/// Gives a rendered object its namespace, key, labels and annotations.
fn prepare<C: Cluster>(
    pass: &Pass<'_, C>,
    resource: &GraphResource,
    mut object: Json,
    wave: usize,
    item: Option<(usize, usize)>,
) -> Result<DesiredObject, String> {
    let resource_type = resource_type(&resource.structure.schema);
    let Some(metadata) = object.get_mut("metadata").and_then(Json::as_object_mut) else {
        return Err("the rendered object has no metadata".to_owned());
    };
    let namespace = if resource_type.namespaced {
        match metadata.get("namespace").and_then(Json::as_str) {
            Some(namespace) if !namespace.is_empty() => Some(namespace.to_owned()),
            _ => match &pass.identity.namespace {
                Some(namespace) => {
                    metadata.insert("namespace".into(), json!(namespace));
                    Some(namespace.clone())
                }
                None => {
                    return Err(
                        "must resolve metadata.namespace when the instance is cluster-scoped"
                            .to_owned(),
                    );
                }
            },
        }
    } else {
        metadata.remove("namespace");
        None
    };
    let name = match metadata.get("name").and_then(Json::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => return Err("metadata.name is empty".to_owned()),
    };
    let mut labels = pass.identity.child_labels(&resource.structure.id);
    if let Some((index, size)) = item {
        labels.extend(collection_item_labels(index, size));
    }
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
    Ok(DesiredObject {
        key: ObjectKey {
            resource: resource_type,
            namespace,
            name,
        },
        object,
        current: None,
    })
}

fn identity_text(key: &ObjectKey) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        key.resource.group,
        key.resource.version,
        key.resource.kind,
        key.namespace.as_deref().unwrap_or_default(),
        key.name
    )
}

pub(super) fn is_terminating(object: &Json) -> bool {
    object["metadata"]["deletionTimestamp"].is_string()
}

/// Whether a rendered resource is ready for its dependents, judged on the
/// objects observed before this pass. A failing `readyWhen` is not ready;
/// the apply step reports it.
fn is_ready(
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
pub(super) fn collection_ready<'a>(
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
pub(super) fn ready_when_holds(
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
