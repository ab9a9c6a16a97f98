//! [`KubeCluster`]: the runtime's [`Cluster`] interface on a live API
//! server, with kube-rs.
//!
//! No discovery (the graph knows each type's plural and scope from its
//! schema). Reads go to the API server, unless the cluster remembers the
//! object ([`Remembered`], for the instance reconciles): then a read the
//! watches confirm is still current is answered from memory, and every
//! object read or written is remembered as the API server returned it,
//! `managedFields` included. Objects cross the interface as JSON, as the
//! runtime renders them.
//!
//! Lists read their items one by one ([`crate::lenient`]): an object that
//! cannot be read (nested too deep) fails the list with its name rather
//! than with a bare parse error.

mod errors;
mod remembered;
mod selector;

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_runtime::cluster::{
    Cluster, ClusterError, Deleted, ListScope, ObjectKey, ResourceType, Stripped,
    finalizers_without,
};
use kro_schema::kinds::Gvk;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    Preconditions, PropagationPolicy,
};
use kube::core::{DynamicResourceScope, TypeMeta};
use kube::{Api, Client, Resource};
use serde_json::Value;

use crate::lenient::Lenient;

pub use errors::{NotFound, from_kube, from_status, not_found};
pub use remembered::Remembered;
pub use selector::{SelectorStringError, selector_string};

/// Objects per page when listing: large enough that most lists take one
/// request, small enough that a huge list does not arrive as one body.
const LIST_PAGE_SIZE: u32 = 500;

/// A [`Cluster`] backed by a kube-rs [`Client`]. Cheap to clone.
#[derive(Clone)]
pub struct KubeCluster {
    client: Client,
    remembered: Option<Arc<Remembered>>,
}

impl KubeCluster {
    /// A cluster interface over `client`, reading every object from the
    /// API server.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            remembered: None,
        }
    }

    /// A cluster interface over `client` that remembers the objects it
    /// reads and writes in `remembered`, and reads them from there while
    /// the watches feeding it confirm they are current.
    pub fn remembering(client: Client, remembered: Arc<Remembered>) -> Self {
        Self {
            client,
            remembered: Some(remembered),
        }
    }

    /// Remembers what the API server answered for `key`: the object, or
    /// nothing known (`None`: gone, or a write failed).
    fn remember(&self, key: &ObjectKey, object: Option<&Value>) {
        if let Some(remembered) = &self.remembered {
            match object {
                Some(object) => remembered.keep(key, object),
                None => remembered.forget(key),
            }
        }
    }

    /// The API handle for `resource`, in `namespace` when the type is
    /// namespaced and one is given, else across the cluster.
    fn api(&self, resource: &ResourceType, namespace: Option<&str>) -> Api<DynamicObject> {
        self.api_of(resource, namespace)
    }

    /// [`Self::api`], reading objects as `K`.
    fn api_of<K>(&self, resource: &ResourceType, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = ApiResource, Scope = DynamicResourceScope>,
    {
        let ar = api_resource(resource);
        match namespace {
            Some(namespace) if resource.namespaced => {
                Api::namespaced_with(self.client.clone(), namespace, &ar)
            }
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }
}

/// kube's description of a type, built from what the graph knows.
pub(crate) fn api_resource(resource: &ResourceType) -> ApiResource {
    ApiResource {
        group: resource.gvk.group.clone(),
        version: resource.gvk.version.clone(),
        api_version: resource.api_version(),
        kind: resource.gvk.kind.clone(),
        plural: resource.plural.clone(),
    }
}

/// An object as JSON, with `apiVersion` and `kind` filled in: the items
/// of a list of a built-in type come without them.
fn to_json(resource: &ResourceType, mut object: DynamicObject) -> Result<Value, ClusterError> {
    if object.types.is_none() {
        object.types = Some(TypeMeta {
            api_version: resource.api_version(),
            kind: resource.gvk.kind.clone(),
        });
    }
    serde_json::to_value(object).map_err(|e| ClusterError::Other {
        message: format!("{resource}: encode object: {e}"),
    })
}

/// The (namespace, name) an object is listed under.
fn sort_key(object: &Value) -> (String, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (text("/metadata/namespace"), text("/metadata/name"))
}

/// A merge patch that removes `labels` and `annotations` from an object
/// whose UID is `uid`: a merge patch carrying `metadata.uid` is refused
/// when the stored object's UID differs (the field is immutable).
fn strip_patch(uid: &str, labels: &[&str], annotations: &[&str]) -> Value {
    let removed = |keys: &[&str]| -> serde_json::Map<String, Value> {
        keys.iter()
            .map(|key| ((*key).to_owned(), Value::Null))
            .collect()
    };
    serde_json::json!({
        "metadata": {
            "uid": uid,
            "labels": removed(labels),
            "annotations": removed(annotations),
        }
    })
}

/// Whether a refused strip patch was refused for its UID: the object was
/// recreated since it was observed. The API server answers 422 Invalid,
/// "metadata.uid: ... field is immutable" (checked against the local
/// control plane in `tests/cluster_contract.rs`).
fn uid_refused(status: &kube::core::Status) -> bool {
    status.code == 422 && status.message.contains("metadata.uid")
}

impl Cluster for KubeCluster {
    async fn strip_metadata(
        &self,
        key: &ObjectKey,
        uid: &str,
        labels: &[&str],
        annotations: &[&str],
        field_manager: &str,
    ) -> Result<Stripped, ClusterError> {
        // Whatever comes of it, the object is read again next time.
        self.remember(key, None);
        let api = self.api(&key.resource, key.namespace.as_deref());
        let patch = strip_patch(uid, labels, annotations);
        let params = PatchParams {
            field_manager: Some(field_manager.to_owned()),
            ..PatchParams::default()
        };
        match api.patch(&key.name, &params, &Patch::Merge(&patch)).await {
            Ok(_) => Ok(Stripped::Yes),
            Err(kube::Error::Api(status)) => match not_found(&status) {
                Some(NotFound::Object) => Ok(Stripped::AlreadyGone),
                Some(NotFound::Type) => Err(ClusterError::UnknownType {
                    resource: key.resource.to_string(),
                }),
                None if uid_refused(&status) => Ok(Stripped::UidChanged),
                None => Err(from_status(&status, &key.to_string())),
            },
            Err(e) => Err(from_kube(e, &key.resource.to_string(), &key.to_string())),
        }
    }

    async fn remove_finalizer(
        &self,
        resource: &ResourceType,
        object: &Value,
        finalizer: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let remaining = finalizers_without(object, finalizer);
        // A merge patch replaces the list whoever owns its entries; the
        // resourceVersion makes it fail on a list changed meanwhile.
        let patch = serde_json::json!({
            "metadata": {
                "finalizers": remaining,
                "resourceVersion": object.pointer("/metadata/resourceVersion"),
            }
        });
        let api = self.api(resource, key.namespace.as_deref());
        let stored = match api
            .patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(stored) => to_json(resource, stored).map(Some),
            Err(kube::Error::Api(status)) if not_found(&status) == Some(NotFound::Object) => {
                Ok(None)
            }
            Err(e) => Err(from_kube(e, &resource.to_string(), &key.to_string())),
        };
        self.remember(&key, stored.as_ref().ok().and_then(Option::as_ref));
        stored
    }

    async fn find_type(
        &self,
        group: &str,
        kind: &str,
    ) -> Result<Option<ResourceType>, ClusterError> {
        let api_group = match kube::discovery::group(&self.client, group).await {
            Ok(api_group) => api_group,
            Err(kube::Error::Discovery(_)) => return Ok(None),
            Err(e) => return Err(from_kube(e, group, &format!("group {group:?}"))),
        };
        Ok(api_group
            .recommended_kind(kind)
            .map(|(resource, capabilities)| ResourceType {
                gvk: Gvk {
                    group: resource.group,
                    version: resource.version,
                    kind: resource.kind,
                },
                plural: resource.plural,
                namespaced: capabilities.scope == kube::discovery::Scope::Namespaced,
            }))
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Value>, ClusterError> {
        if let Some(object) = self.remembered.as_ref().and_then(|r| r.confirmed(key)) {
            return Ok(Some(object));
        }
        let api = self.api(&key.resource, key.namespace.as_deref());
        // Not `get_opt`: it folds every 404 into `None`, and a type that is
        // not served must not look like a missing object.
        let read = match api.get(&key.name).await {
            Ok(object) => Some(to_json(&key.resource, object)?),
            Err(kube::Error::Api(status)) if not_found(&status) == Some(NotFound::Object) => None,
            Err(e) => return Err(from_kube(e, &key.resource.to_string(), &key.to_string())),
        };
        self.remember(key, read.as_ref());
        Ok(read)
    }

    async fn list(
        &self,
        resource: &ResourceType,
        scope: ListScope<'_>,
        selector: &LabelSelector,
    ) -> Result<Vec<Value>, ClusterError> {
        let labels = selector_string(selector).map_err(|e| ClusterError::Invalid {
            key: resource.to_string(),
            message: e.to_string(),
        })?;
        let namespace = match scope {
            ListScope::Namespace(namespace) => Some(namespace),
            ListScope::AllNamespaces => None,
        };
        let api = self.api_of::<Lenient<DynamicObject>>(resource, namespace);
        let mut params = ListParams::default().limit(LIST_PAGE_SIZE);
        if !labels.is_empty() {
            params = params.labels(&labels);
        }
        let mut found = Vec::new();
        loop {
            let page = api.list(&params).await.map_err(|e| {
                let name = resource.to_string();
                from_kube(e, &name, &name)
            })?;
            for object in page.items {
                match object {
                    Lenient::Read(object) => found.push(to_json(resource, object)?),
                    Lenient::Unreadable(unreadable) => {
                        return Err(ClusterError::Other {
                            message: format!(
                                "{resource} {}/{}: cannot read the object: {}",
                                unreadable.metadata.namespace.unwrap_or_default(),
                                unreadable.metadata.name.unwrap_or_default(),
                                unreadable.error
                            ),
                        });
                    }
                }
            }
            match page.metadata.continue_.filter(|token| !token.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        // The API server lists in storage-key order, which is this order
        // today; sorting makes it the interface's promise, not an accident.
        found.sort_by_cached_key(sort_key);
        Ok(found)
    }

    async fn apply(
        &self,
        resource: &ResourceType,
        object: &Value,
        field_manager: &str,
    ) -> Result<Value, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let api = self.api(resource, key.namespace.as_deref());
        let params = PatchParams::apply(field_manager).force();
        let stored = match api.patch(&key.name, &params, &Patch::Apply(object)).await {
            Ok(stored) => to_json(resource, stored),
            Err(e) => Err(from_kube(e, &resource.to_string(), &key.to_string())),
        };
        self.remember(&key, stored.as_ref().ok());
        stored
    }

    async fn delete(&self, key: &ObjectKey, uid: &str) -> Result<Deleted, ClusterError> {
        self.remember(key, None);
        let api = self.api(&key.resource, key.namespace.as_deref());
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            // Dependents (owner references) go in the background, as
            // kubectl does; the runtime orders its own deletions.
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match api.delete(&key.name, &params).await {
            // Gone at once, or marked for deletion (it has finalizers).
            Ok(_) => Ok(Deleted::Yes),
            Err(kube::Error::Api(status)) => match not_found(&status) {
                Some(NotFound::Object) => Ok(Deleted::AlreadyGone),
                Some(NotFound::Type) => Err(ClusterError::UnknownType {
                    resource: key.resource.to_string(),
                }),
                // A failed UID precondition is a 409 Conflict.
                None if status.code == 409 => Ok(Deleted::UidChanged),
                None => Err(from_status(&status, &key.to_string())),
            },
            Err(e) => Err(from_kube(e, &key.resource.to_string(), &key.to_string())),
        }
    }

    async fn write_status(
        &self,
        resource: &ResourceType,
        object: &Value,
    ) -> Result<Value, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let typed: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| ClusterError::Invalid {
                key: key.to_string(),
                message: e.to_string(),
            })?;
        let api = self.api(resource, key.namespace.as_deref());
        // A PUT carries the object's resourceVersion, so a stale one is a
        // 409 Conflict and the runtime retries after a fresh read.
        let stored = match api
            .replace_status(&key.name, &PostParams::default(), &typed)
            .await
        {
            Ok(stored) => to_json(resource, stored),
            Err(e) => Err(from_kube(e, &resource.to_string(), &key.to_string())),
        };
        self.remember(&key, stored.as_ref().ok());
        stored
    }
}
