//! One instance reconcile: read the instance, run the runtime's pass, and
//! turn its outcome into a queue verdict, routing indexes, metrics,
//! (with the `InstanceConditionEvents` gate) Kubernetes events and (with
//! the `InstanceConditionMetrics` gate) condition durations and log lines.
//!
//! Everything inside one instance (finalizer, labels, ApplySet, applies,
//! pruning, status, deletion waves, suspension) is the runtime's. The
//! reconcile runs on the blocking pool ([`super::isolated`]), under the
//! `--cel-*` limits, so that its CEL never holds a worker thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kro_runtime::cluster::{Cluster, ObjectKey};
use kro_runtime::reconcile::{
    ConditionTransition, EvaluationLimits, Options, Outcome, Requeue, reconcile,
};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::Value;

use super::isolated::off_the_workers;
use super::queue::{Reconcile, Verdict};
use super::{Dynamic, Handler};
use crate::cluster::KubeCluster;
use crate::metrics::condition_durations::InstanceId;
use crate::metrics::{GvrLabels, InstanceTransitionLabels, gvr_label};

/// The instance settings that come from the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceConfig {
    /// `--instance-requeue-interval`: the delay of "look again" requeues;
    /// zero turns them off.
    pub requeue_interval: Duration,
    /// `--rgd-max-collection-size`.
    pub max_collection_size: usize,
    /// The `--cel-*` limits.
    pub evaluation: EvaluationLimits,
    /// The `InstanceConditionEvents` gate.
    pub condition_events: bool,
    /// The `InstanceConditionMetrics` gate.
    pub condition_metrics: bool,
}

/// Reconciles instances for [`super::queue::run`].
pub struct InstanceReconciler {
    dynamic: Dynamic,
    cluster: KubeCluster,
    config: InstanceConfig,
    /// One event recorder per instance kind, so that repeated events of an
    /// instance are counted as a series rather than written anew.
    recorders: Mutex<BTreeMap<String, Recorder>>,
}

impl InstanceReconciler {
    /// A reconciler serving the kinds registered in `dynamic`.
    pub fn new(dynamic: Dynamic, config: InstanceConfig) -> Self {
        let cluster =
            KubeCluster::remembering(dynamic.client().clone(), Arc::clone(dynamic.remembered()));
        Self {
            dynamic,
            cluster,
            config,
            recorders: Mutex::default(),
        }
    }

    async fn pass(&self, handler: &Handler, key: &ObjectKey) -> Verdict {
        // The kind as served now: the key's may predate a change of scope.
        let object = ObjectKey {
            resource: handler.kind().clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        };
        let instance = match self.cluster.get(&object).await {
            Ok(Some(instance)) => instance,
            // Deleted: its finalizer was released by an earlier pass.
            Ok(None) => {
                self.forget(handler, key);
                return Verdict::Done;
            }
            Err(e) => return Verdict::Retry(format!("read {object}: {e}")),
        };
        let options = Options {
            rgd_uid: handler.rgd_uid.clone(),
            requeue_interval: self.config.requeue_interval,
            max_collection_size: self.config.max_collection_size,
            evaluation: self.config.evaluation,
            now: None,
        };
        let outcome = match reconcile(&handler.graph, &instance, &self.cluster, &options).await {
            Ok(outcome) => outcome,
            Err(e) => return Verdict::Retry(e.to_string()),
        };
        self.count(handler, &outcome);
        for released in &outcome.released {
            tracing::info!(
                instance = %object,
                object = %released,
                "released: kro's labels removed, the object stays (deletion policy orphan, or read through an externalRef)"
            );
        }
        if outcome.finalized {
            self.forget(handler, key);
        } else {
            self.dynamic
                .set_external_reads(key, outcome.external_reads.clone());
        }
        self.report_transitions(handler, &instance, &outcome).await;
        if self.config.condition_metrics {
            self.record_conditions(handler, key, &outcome);
        }
        self.verdict(&outcome)
    }

    /// Forgets an instance that is gone: what it read, and its condition
    /// series.
    fn forget(&self, handler: &Handler, key: &ObjectKey) {
        self.dynamic.forget_instance(key);
        self.dynamic
            .metrics()
            .instance_conditions
            .forget_instance(&instance_id(handler, key));
    }

    /// What the pass did, in the metrics.
    fn count(&self, handler: &Handler, outcome: &Outcome) {
        let labels = GvrLabels {
            gvr: gvr_label(handler.kind()),
        };
        let metrics = self.dynamic.metrics();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        metrics
            .cel_evaluations
            .get_or_create(&labels)
            .inc_by(count(outcome.cel_evaluations));
        metrics
            .child_applies
            .get_or_create(&labels)
            .inc_by(count(outcome.applied.len()));
        metrics
            .child_deletes
            .get_or_create(&labels)
            .inc_by(count(outcome.deleted.len()));
    }

    fn verdict(&self, outcome: &Outcome) -> Verdict {
        match outcome.requeue {
            Requeue::None => Verdict::Done,
            Requeue::After(_) if self.config.requeue_interval.is_zero() => Verdict::Done,
            Requeue::After(delay) => Verdict::After(delay),
            Requeue::Backoff => {
                let failed: Vec<String> = outcome
                    .nodes
                    .iter()
                    .filter_map(|node| {
                        node.reason
                            .as_ref()
                            .map(|reason| format!("{}: {reason}", node.id))
                    })
                    .collect();
                Verdict::Retry(format!("resources not reconciled: {}", failed.join("; ")))
            }
        }
    }

    async fn report_transitions(&self, handler: &Handler, instance: &Value, outcome: &Outcome) {
        let state = |status: &Value| {
            status
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let from_state = instance.get("status").map(state).unwrap_or_default();
        let to_state = state(&outcome.computed_status);
        if from_state != to_state && !to_state.is_empty() {
            self.dynamic
                .metrics()
                .instance_state_transitions
                .get_or_create(&InstanceTransitionLabels {
                    gvr: gvr_label(handler.kind()),
                    from_state,
                    to_state,
                })
                .inc();
        }
        if !self.config.condition_events || outcome.transitions.is_empty() {
            return;
        }
        let recorder = self.recorder(handler);
        let reference = object_reference(instance);
        for transition in &outcome.transitions {
            if let Err(e) = recorder.publish(&event(transition), &reference).await {
                tracing::warn!(instance = ?reference.name, "publish an event: {e}");
            }
        }
    }

    /// The `InstanceConditionMetrics` gate: the conditions' durations, and
    /// a debug line per condition whose status changed (upstream logs them
    /// at verbosity 2). The pass's span names the instance.
    fn record_conditions(&self, handler: &Handler, key: &ObjectKey, outcome: &Outcome) {
        let conditions = outcome
            .computed_status
            .get("conditions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        self.dynamic.metrics().instance_conditions.record(
            instance_id(handler, key),
            conditions,
            jiff::Timestamp::now(),
        );
        for transition in &outcome.transitions {
            tracing::debug!(
                condition_type = %transition.condition_type,
                old_status = transition.from.as_deref().unwrap_or("none"),
                new_status = %transition.to,
                reason = %transition.reason,
                "condition transitioned"
            );
        }
    }

    fn recorder(&self, handler: &Handler) -> Recorder {
        let controller = format!(
            "kro/{}-controller",
            handler
                .graph
                .instance_crd
                .metadata
                .name
                .clone()
                .unwrap_or_default()
        );
        self.recorders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(controller.clone())
            .or_insert_with(|| {
                Recorder::new(
                    self.dynamic.client().clone(),
                    Reporter {
                        controller,
                        instance: None,
                    },
                )
            })
            .clone()
    }
}

/// The event of one condition transition, as upstream words it.
fn event(transition: &ConditionTransition) -> Event {
    Event {
        type_: if transition.to == "True" {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: transition.condition_type.clone(),
        note: Some(format!(
            "{} -> {}: {}",
            transition.from.as_deref().unwrap_or("none"),
            transition.to,
            transition.reason
        )),
        action: "Reconcile".to_owned(),
        secondary: None,
    }
}

/// An instance as the condition metric labels it.
fn instance_id(handler: &Handler, key: &ObjectKey) -> InstanceId {
    InstanceId {
        gvr: gvr_label(handler.kind()),
        namespace: key.namespace.clone().unwrap_or_default(),
        name: key.name.clone(),
    }
}

fn object_reference(instance: &Value) -> ObjectReference {
    let text = |pointer: &str| {
        instance
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    ObjectReference {
        api_version: text("/apiVersion"),
        kind: text("/kind"),
        name: text("/metadata/name"),
        namespace: text("/metadata/namespace"),
        uid: text("/metadata/uid"),
        resource_version: text("/metadata/resourceVersion"),
        field_path: None,
    }
}

impl Reconcile for InstanceReconciler {
    /// One pass over an instance, on a thread of the blocking pool.
    async fn reconcile(self: Arc<Self>, key: ObjectKey) -> Verdict {
        let described = key.to_string();
        off_the_workers(async move { self.reconcile_here(key).await })
            .await
            .unwrap_or_else(|| {
                Verdict::Retry(format!("the reconcile of {described} was cancelled"))
            })
    }
}

impl InstanceReconciler {
    /// One pass over an instance, inside a span naming it (kind, namespace,
    /// name), so that every log line of the pass says which instance it is
    /// about.
    #[tracing::instrument(
        skip_all,
        fields(kind = %key.resource, namespace = key.namespace.as_deref(), name = %key.name)
    )]
    async fn reconcile_here(&self, key: ObjectKey) -> Verdict {
        // The kind may have stopped being served since the key was queued.
        let Some(handler) = self.dynamic.handler(&key.resource) else {
            return Verdict::Done;
        };
        let labels = GvrLabels {
            gvr: gvr_label(handler.kind()),
        };
        let metrics = self.dynamic.metrics();
        metrics.instance_reconciles.get_or_create(&labels).inc();
        let started = Instant::now();
        let verdict = self.pass(&handler, &key).await;
        metrics
            .instance_reconcile_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        if matches!(verdict, Verdict::Retry(_)) {
            metrics
                .instance_reconcile_errors
                .get_or_create(&labels)
                .inc();
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_upstreams_wording() {
        let transition = ConditionTransition {
            condition_type: "Ready".into(),
            from: None,
            to: "False".into(),
            reason: "ResourcesNotReady".into(),
            message: "waiting".into(),
        };
        let e = event(&transition);
        assert_eq!(e.type_, EventType::Warning);
        assert_eq!(e.reason, "Ready");
        assert_eq!(e.note.as_deref(), Some("none -> False: ResourcesNotReady"));
        let e = event(&ConditionTransition {
            from: Some("False".into()),
            to: "True".into(),
            ..transition
        });
        assert_eq!(e.type_, EventType::Normal);
        assert_eq!(e.note.as_deref(), Some("False -> True: ResourcesNotReady"));
    }
}
