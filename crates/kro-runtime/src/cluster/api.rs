//! The [`Cluster`] trait, with the contract each method keeps, and the
//! types it speaks in: object keys, list scopes, delete results and
//! errors.

use std::fmt;
use std::future::Future;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kro_schema::kinds::ResourceType;
use serde_json::Value;
use thiserror::Error;

/// The finalizers of `object` without `finalizer`: the list a
/// [`Cluster::remove_finalizer`] leaves.
pub fn finalizers_without(object: &Value, finalizer: &str) -> Vec<Value> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.as_str() != Some(finalizer))
        .cloned()
        .collect()
}

/// Whether `object` is being deleted: it has a `deletionTimestamp` and
/// lingers only for its finalizers.
pub fn is_terminating(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"].is_string()
}

/// One object: its type, namespace (for namespaced types) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The object's type.
    pub resource: ResourceType,
    /// Its namespace; `None` for cluster-scoped types.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `object`, of type `resource`, with the checks the API
    /// server makes first on an object about to be written: a name, and a
    /// namespace for namespaced types (ignored for cluster-scoped ones).
    pub fn of(resource: &ResourceType, object: &Value) -> Result<Self, ClusterError> {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
        };
        let name = text("/metadata/name").ok_or_else(|| ClusterError::Invalid {
            key: resource.to_string(),
            message: "metadata.name: Required value".to_owned(),
        })?;
        let namespace = if resource.namespaced {
            let namespace = text("/metadata/namespace").ok_or_else(|| ClusterError::Invalid {
                key: format!("{resource} {name}"),
                message: "metadata.namespace: Required value".to_owned(),
            })?;
            Some(namespace.to_owned())
        } else {
            None
        };
        Ok(Self {
            resource: resource.clone(),
            namespace,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {}/{}", self.resource, namespace, self.name),
            None => write!(f, "{} {}", self.resource, self.name),
        }
    }
}

/// Where to list objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope<'a> {
    /// One namespace (or, for cluster-scoped types, the whole cluster).
    Namespace(&'a str),
    /// Every namespace.
    AllNamespaces,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The object is deleted or being deleted (it may have finalizers).
    Yes,
    /// It was already gone.
    AlreadyGone,
    /// An object of that name exists but with another UID: it was recreated
    /// since it was observed, and was left alone.
    UidChanged,
}

/// What a [`Cluster::strip_metadata`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stripped {
    /// The keys are gone from the object (or were never on it).
    Yes,
    /// The object was already gone.
    AlreadyGone,
    /// An object of that name exists but with another UID: it was recreated
    /// since it was observed, and was left alone.
    UidChanged,
}

/// Why a cluster operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClusterError {
    /// The API server rejected the object as invalid (HTTP 422).
    #[error("{key} is invalid: {message}")]
    Invalid {
        /// The object.
        key: String,
        /// The API server's message.
        message: String,
    },
    /// A precondition or resource version did not match (HTTP 409).
    #[error("conflict on {key}: {message}")]
    Conflict {
        /// The object.
        key: String,
        /// The API server's message.
        message: String,
    },
    /// The caller may not do this (HTTP 403).
    #[error("forbidden: {message}")]
    Forbidden {
        /// The API server's message.
        message: String,
    },
    /// The type is not served (it has no CRD, or its CRD is gone).
    #[error("{resource} is not served by the API server")]
    UnknownType {
        /// The type.
        resource: String,
    },
    /// Anything else: transport errors, timeouts, server errors.
    #[error("{message}")]
    Other {
        /// What happened.
        message: String,
    },
}

/// The operations the runtime needs from a cluster.
///
/// Every method is async and `Send`, so a reconcile can run on a
/// multi-threaded runtime. Implementations must treat `apply` as a
/// server-side apply with `force`: the applied object states every field
/// `field_manager` owns, and the result is the object as stored.
pub trait Cluster: Send + Sync {
    /// Reads one object; `None` when it does not exist.
    fn get(
        &self,
        key: &ObjectKey,
    ) -> impl Future<Output = Result<Option<Value>, ClusterError>> + Send;

    /// Lists objects of a type whose labels match `selector`, ordered by
    /// namespace and name.
    fn list(
        &self,
        resource: &ResourceType,
        scope: ListScope<'_>,
        selector: &LabelSelector,
    ) -> impl Future<Output = Result<Vec<Value>, ClusterError>> + Send;

    /// Server-side applies `object` (which carries apiVersion, kind and
    /// metadata.name) as `field_manager`, with force, and returns the stored
    /// object.
    fn apply(
        &self,
        resource: &ResourceType,
        object: &Value,
        field_manager: &str,
    ) -> impl Future<Output = Result<Value, ClusterError>> + Send;

    /// Deletes an object if its UID is still `uid`.
    fn delete(
        &self,
        key: &ObjectKey,
        uid: &str,
    ) -> impl Future<Output = Result<Deleted, ClusterError>> + Send;

    /// Replaces the status of an existing object with `object["status"]`,
    /// if its resourceVersion still matches `object`'s, and returns the
    /// stored object.
    fn write_status(
        &self,
        resource: &ResourceType,
        object: &Value,
    ) -> impl Future<Output = Result<Value, ClusterError>> + Send;

    /// The type the cluster serves for a group and kind, if any: for
    /// objects recorded in an instance's inventory that the graph no
    /// longer names. The preferred version is as good as any other: only
    /// metadata is read through it.
    fn find_type(
        &self,
        group: &str,
        kind: &str,
    ) -> impl Future<Output = Result<Option<ResourceType>, ClusterError>> + Send;

    /// Removes the `labels` and `annotations` (keys) from an object if its
    /// UID is still `uid`, as a merge patch by `field_manager`: whoever
    /// owned those fields, they are gone, and nothing else changes. A
    /// patch that removes nothing writes nothing.
    fn strip_metadata(
        &self,
        key: &ObjectKey,
        uid: &str,
        labels: &[&str],
        annotations: &[&str],
        field_manager: &str,
    ) -> impl Future<Output = Result<Stripped, ClusterError>> + Send;

    /// Removes `finalizer` from `object` (as read: its resourceVersion must
    /// still match) whoever added it, as a merge patch of the remaining
    /// list. Returns the stored object, or `None` when it is gone.
    fn remove_finalizer(
        &self,
        resource: &ResourceType,
        object: &Value,
        finalizer: &str,
    ) -> impl Future<Output = Result<Option<Value>, ClusterError>> + Send;
}
