//! The state of one pass ([`Pass`]), shared by its steps: the graph, the
//! cluster, the instance as last stored and who it is, what its CEL
//! evaluations may still spend, and the outcome being built; with the one write of the metadata kro keeps on the
//! instance (finalizer, labels, and the ApplySet annotations that
//! `applyset` computes).

use std::collections::BTreeMap;

use kro_cel::Allowance;
use kro_graph::api::field_managers;
use kro_graph::api::metadata::{self, InstanceIdentity};
use kro_graph::builder::Graph;
use serde_json::{Map, Value, json};

use super::options::Options;
use super::outcome::{Outcome, ReconcileError};
use crate::cluster::{Cluster, ClusterError, is_terminating};

/// The state shared by the steps of one pass.
pub(super) struct Pass<'a, C> {
    pub graph: &'a Graph,
    pub cluster: &'a C,
    pub options: &'a Options,
    pub now: String,
    /// The instance as last stored: updated after each write to it.
    pub instance: Value,
    pub identity: InstanceIdentity,
    /// What the pass's CEL evaluations may still spend: every expression
    /// evaluated and every result kept draws from it.
    pub allowance: Allowance,
    pub outcome: Outcome,
    /// The hash of the children left by the last complete prune, kept in
    /// the instance's metadata (see `applyset::prune_needed`).
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
            allowance: options.evaluation.allowance(),
            outcome: Outcome::default(),
            applied_set: instance["metadata"]["annotations"][metadata::APPLIED_SET_HASH]
                .as_str()
                .map(str::to_owned),
        })
    }

    /// The outcome, with the count of CEL evaluations.
    pub fn finish(mut self) -> Outcome {
        self.outcome.cel_evaluations = self.allowance.evaluations();
        self.outcome
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
        is_terminating(&self.instance)
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

    /// Applies the instance metadata kro owns (its labels, its finalizer and
    /// `annotations`, the ApplySet's), unless it is already there.
    pub async fn write_metadata(
        &mut self,
        annotations: BTreeMap<String, String>,
    ) -> Result<(), ReconcileError> {
        let labels = self
            .identity
            .instance_labels(&self.graph.rgd, &self.options.rgd_uid);
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
