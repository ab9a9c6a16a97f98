//! The instance side of a pass: who the instance is, and the metadata kro
//! keeps on it (finalizer, labels, ApplySet inventory).

use std::collections::{BTreeMap, BTreeSet};

use kro_graph::api::field_managers;
use kro_graph::api::metadata::{self, GroupKind, InstanceIdentity};
use kro_graph::builder::Graph;
use serde_json::{Map, Value, json};

use super::applyset::inventory_annotations;
use super::{Options, Outcome, ReconcileError};
use crate::cluster::{Cluster, ClusterError};

/// The ApplySet inventory recorded on an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Inventory {
    pub group_kinds: BTreeSet<GroupKind>,
    pub namespaces: BTreeSet<String>,
}

/// The state shared by the steps of one pass.
pub(super) struct Pass<'a, C> {
    pub graph: &'a Graph,
    pub cluster: &'a C,
    pub options: &'a Options,
    pub now: String,
    /// The instance as last stored: updated after each write to it.
    pub instance: Value,
    pub identity: InstanceIdentity,
    pub outcome: Outcome,
    /// The hash of the children left by the last complete prune, kept in
    /// the instance's metadata (see `apply::prune_needed`).
    pub applied_set: Option<String>,
}

impl<'a, C: Cluster> Pass<'a, C> {
    pub fn new(
        graph: &'a Graph,
        instance: &Value,
        cluster: &'a C,
        options: &'a Options,
        now: String,
    ) -> Result<Self, ReconcileError> {
        let instance_type = &graph.instance_type.gvk;
        let metadata = &instance["metadata"];
        let name = metadata["name"].as_str().unwrap_or_default().to_owned();
        let namespace = metadata["namespace"].as_str().map(str::to_owned);
        let uid = metadata["uid"].as_str().unwrap_or_default().to_owned();
        let described = match &namespace {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name.clone(),
        };
        if name.is_empty() || uid.is_empty() {
            return Err(ReconcileError::InvalidInstance {
                instance: described,
                message: "metadata.name and metadata.uid are required".to_owned(),
            });
        }
        let identity = InstanceIdentity {
            name,
            namespace,
            uid,
            group: instance_type.group.clone(),
            version: instance_type.version.clone(),
            kind: instance_type.kind.clone(),
        };
        Ok(Pass {
            graph,
            cluster,
            options,
            now,
            instance: instance.clone(),
            identity,
            outcome: Outcome::default(),
            applied_set: instance["metadata"]["annotations"][metadata::APPLIED_SET_HASH]
                .as_str()
                .map(str::to_owned),
        })
    }

    /// `namespace/name` (or `name`) for messages.
    pub fn described(&self) -> String {
        match &self.identity.namespace {
            Some(namespace) => format!("{namespace}/{}", self.identity.name),
            None => self.identity.name.clone(),
        }
    }

    /// A cluster error of this pass, with what it was doing.
    pub fn cluster_error(&self, action: String, source: ClusterError) -> ReconcileError {
        ReconcileError::Cluster {
            instance: self.described(),
            action,
            source,
        }
    }

    pub fn generation(&self) -> i64 {
        self.instance["metadata"]["generation"]
            .as_i64()
            .unwrap_or_default()
    }

    pub fn is_deleting(&self) -> bool {
        self.instance["metadata"]["deletionTimestamp"].is_string()
    }

    pub fn is_suspended(&self) -> bool {
        metadata::is_suspended(
            self.instance["metadata"]["annotations"][metadata::RECONCILE].as_str(),
        )
    }

    pub fn has_finalizer(&self) -> bool {
        self.instance["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == metadata::FINALIZER))
    }

    /// The inventory recorded in the instance's annotations; `None` when
    /// the instance was never managed, `Err` when it was edited into
    /// something unusable.
    pub fn recorded_inventory(&self) -> Result<Option<Inventory>, String> {
        let annotations = &self.instance["metadata"]["annotations"];
        let Some(tooling) = annotations[metadata::APPLYSET_TOOLING].as_str() else {
            let partial = [
                metadata::APPLYSET_GROUP_KINDS,
                metadata::APPLYSET_ADDITIONAL_NAMESPACES,
                metadata::APPLYSET_INVENTORY_HASH,
            ]
            .iter()
            .any(|key| !annotations[*key].is_null())
                || !self.instance["metadata"]["labels"][metadata::APPLYSET_ID].is_null();
            if partial {
                return Err("the ApplySet tooling annotation is missing".to_owned());
            }
            return Ok(None);
        };
        if !tooling.starts_with("kro/") {
            return Err(format!("the ApplySet tooling is {tooling:?}, not kro's"));
        }
        let id = self.instance["metadata"]["labels"][metadata::APPLYSET_ID].as_str();
        if id != Some(self.identity.applyset_id().as_str()) {
            return Err("the ApplySet id label does not match the instance".to_owned());
        }
        let kinds = annotations[metadata::APPLYSET_GROUP_KINDS]
            .as_str()
            .ok_or("the ApplySet group-kinds annotation is missing")?;
        let namespaces = annotations[metadata::APPLYSET_ADDITIONAL_NAMESPACES]
            .as_str()
            .unwrap_or_default();
        let inventory = Inventory {
            group_kinds: split(kinds).map(parse_group_kind).collect(),
            namespaces: split(namespaces).map(str::to_owned).collect(),
        };
        if let Some(hash) = annotations[metadata::APPLYSET_INVENTORY_HASH].as_str() {
            let expected = self.inventory_annotations(&inventory);
            if expected
                .get(metadata::APPLYSET_INVENTORY_HASH)
                .map(String::as_str)
                != Some(hash)
            {
                return Err("the ApplySet inventory hash does not match its annotations".to_owned());
            }
        }
        Ok(Some(inventory))
    }

    pub fn inventory_annotations(&self, inventory: &Inventory) -> BTreeMap<String, String> {
        inventory_annotations(
            &self.identity.applyset_id(),
            &inventory.group_kinds,
            &inventory.namespaces,
            self.identity.namespace.as_deref(),
        )
    }

    /// Makes sure the instance carries kro's finalizer, labels and an
    /// inventory, writing them in one apply when any is missing. The
    /// inventory comes with the finalizer so that deletion can always find
    /// the children (there are none before it is written). An inventory
    /// edited into something unusable is not overwritten: the children it
    /// names would be forgotten. The problem is returned instead.
    pub async fn ensure_managed(&mut self) -> Result<Result<(), String>, ReconcileError> {
        match self.recorded_inventory() {
            Ok(inventory) => {
                self.write_metadata(&inventory.unwrap_or_default()).await?;
                Ok(Ok(()))
            }
            Err(problem) => Ok(Err(format!("invalid ApplySet inventory: {problem}"))),
        }
    }

    /// Applies the instance metadata kro owns, unless it is already there.
    pub async fn write_metadata(&mut self, inventory: &Inventory) -> Result<(), ReconcileError> {
        let labels = self
            .identity
            .instance_labels(&self.graph.rgd, &self.options.rgd_uid);
        let mut annotations = self.inventory_annotations(inventory);
        if let Some(hash) = &self.applied_set {
            annotations.insert(metadata::APPLIED_SET_HASH.to_owned(), hash.clone());
        }
        let current = &self.instance["metadata"];
        let has = |field: &str, wanted: &BTreeMap<String, String>| {
            wanted
                .iter()
                .all(|(k, v)| current[field][k].as_str() == Some(v.as_str()))
        };
        if has("labels", &labels) && has("annotations", &annotations) && self.has_finalizer() {
            return Ok(());
        }
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(self.identity.name));
        if let Some(namespace) = &self.identity.namespace {
            metadata.insert("namespace".into(), json!(namespace));
        }
        metadata.insert("labels".into(), json!(labels));
        metadata.insert("annotations".into(), json!(annotations));
        metadata.insert("finalizers".into(), json!([metadata::FINALIZER]));
        let body = json!({
            "apiVersion": self.graph.instance_type.api_version(),
            "kind": self.graph.instance_type.gvk.kind,
            "metadata": metadata,
        });
        let stored = self
            .cluster
            .apply(
                &self.graph.instance_type,
                &body,
                field_managers::INSTANCE_METADATA,
            )
            .await
            .map_err(|e| self.cluster_error("write the instance's metadata".into(), e))?;
        self.outcome.writes += 1;
        // The last finalizer released on an instance being deleted lets the
        // API server remove it: what comes back may be its last state.
        if stored.is_object() {
            self.instance = stored;
        }
        Ok(())
    }
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_group_kind(text: &str) -> GroupKind {
    match text.split_once('.') {
        Some((kind, group)) => GroupKind {
            group: group.to_owned(),
            kind: kind.to_owned(),
        },
        None => GroupKind {
            group: String::new(),
            kind: text.to_owned(),
        },
    }
}
