//! `instance_condition_current_status_seconds`, upstream's metric of the
//! `InstanceConditionMetrics` gate: for each condition of each instance,
//! how long it has had its current status.
//!
//! The value is computed when `/metrics` is scraped, from the condition's
//! `lastTransitionTime`, so that it keeps growing while nothing is
//! reconciled; a gauge set during reconciles would stand still. Each
//! condition type of an instance is one series, labelled with its current
//! status and reason: a transition replaces the series rather than leaving
//! the old one behind.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::locks::lock;

use jiff::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use serde_json::Value;

/// The metric's name, upstream's.
const NAME: &str = "instance_condition_current_status_seconds";

/// Which instance: its kind (as the `gvr` label prints it), namespace
/// (empty for a cluster-scoped one) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstanceId {
    /// The instance kind, `group/version, Resource=plural`.
    pub gvr: String,
    /// Its namespace, empty when cluster-scoped.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A condition's current status and since when it has had it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Since {
    status: String,
    reason: String,
    time: Timestamp,
}

/// The labels of one series, upstream's.
#[derive(Debug, Clone, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// The instance kind.
    pub gvr: String,
    /// The instance's namespace.
    pub namespace: String,
    /// The instance's name.
    pub name: String,
    /// The condition type.
    pub condition_type: String,
    /// Its status.
    pub condition_status: String,
    /// Its reason.
    pub reason: String,
}

/// The conditions last seen on each instance; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct ConditionDurations {
    instances: Arc<Mutex<BTreeMap<InstanceId, BTreeMap<String, Since>>>>,
}

impl ConditionDurations {
    fn instances(&self) -> MutexGuard<'_, BTreeMap<InstanceId, BTreeMap<String, Since>>> {
        lock(&self.instances)
    }

    /// Records the conditions an instance has after a reconcile (its
    /// `status.conditions`), replacing what was recorded before: a
    /// condition that is gone loses its series. A condition without a
    /// readable `lastTransitionTime` counts from when it was first seen
    /// with its status and reason, as upstream's.
    pub fn record(&self, instance: InstanceId, conditions: &[Value], now: Timestamp) {
        let mut instances = self.instances();
        let before = instances.remove(&instance).unwrap_or_default();
        let mut after = BTreeMap::new();
        for condition in conditions {
            let text = |field: &str| {
                condition
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let condition_type = text("type");
            if condition_type.is_empty() {
                continue;
            }
            let (status, reason) = (text("status"), text("reason"));
            let time = text("lastTransitionTime")
                .parse::<Timestamp>()
                .ok()
                .or_else(|| {
                    before
                        .get(&condition_type)
                        .filter(|old: &&Since| old.status == status && old.reason == reason)
                        .map(|old| old.time)
                })
                .unwrap_or(now);
            after.insert(
                condition_type,
                Since {
                    status,
                    reason,
                    time,
                },
            );
        }
        if !after.is_empty() {
            instances.insert(instance, after);
        }
    }

    /// Drops the series of an instance that is gone.
    pub fn forget_instance(&self, instance: &InstanceId) {
        self.instances().remove(instance);
    }

    /// Drops the series of every instance of a kind no longer served.
    pub fn forget_kind(&self, gvr: &str) {
        self.instances().retain(|instance, _| instance.gvr != gvr);
    }

    /// Every series and its value at `now`, in label order; a transition
    /// time in the future counts as now.
    pub fn samples(&self, now: Timestamp) -> Vec<(ConditionLabels, f64)> {
        let instances = self.instances();
        let mut samples = Vec::new();
        for (instance, conditions) in instances.iter() {
            for (condition_type, since) in conditions {
                let seconds = now.duration_since(since.time).as_secs_f64().max(0.0);
                samples.push((
                    ConditionLabels {
                        gvr: instance.gvr.clone(),
                        namespace: instance.namespace.clone(),
                        name: instance.name.clone(),
                        condition_type: condition_type.clone(),
                        condition_status: since.status.clone(),
                        reason: since.reason.clone(),
                    },
                    seconds,
                ));
            }
        }
        samples
    }
}

impl Collector for ConditionDurations {
    /// Nothing, not even the metric's description, while there is no
    /// series (the gate is off, or no instance has conditions yet).
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let samples = self.samples(Timestamp::now());
        if samples.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(
            NAME,
            "How long, in seconds, an instance status condition has had its current status",
            None,
            MetricType::Gauge,
        )?;
        for (labels, seconds) in &samples {
            ConstGauge::new(*seconds).encode(metric.encode_family(labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(name: &str) -> InstanceId {
        InstanceId {
            gvr: "kro.run/v1alpha1, Resource=apps".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a timestamp")
    }

    #[test]
    fn values_grow_from_the_transition_time() {
        let durations = ConditionDurations::default();
        durations.record(
            instance("a"),
            &[
                json!({"type": "Ready", "status": "False", "reason": "Waiting",
                       "lastTransitionTime": "2026-01-01T00:00:00Z"}),
                json!({"type": "GraphResolved", "status": "True", "reason": "Resolved",
                       "lastTransitionTime": "2026-01-01T00:01:00Z"}),
            ],
            at("2026-01-01T00:02:00Z"),
        );
        let samples = durations.samples(at("2026-01-01T00:10:00Z"));
        let values: Vec<(&str, &str, f64)> = samples
            .iter()
            .map(|(l, v)| (l.condition_type.as_str(), l.condition_status.as_str(), *v))
            .collect();
        assert_eq!(
            values,
            [("GraphResolved", "True", 540.0), ("Ready", "False", 600.0)]
        );
        // A transition time ahead of the clock counts as now.
        assert_eq!(durations.samples(at("2025-12-31T00:00:00Z"))[0].1, 0.0);
    }

    #[test]
    fn a_transition_replaces_the_series_and_gone_conditions_lose_theirs() {
        let durations = ConditionDurations::default();
        let first = at("2026-01-01T00:00:00Z");
        durations.record(
            instance("a"),
            &[
                json!({"type": "Ready", "status": "False", "reason": "Waiting"}),
                json!({"type": "Old", "status": "True", "reason": "X"}),
            ],
            first,
        );
        // No lastTransitionTime: the first sighting counts, while the
        // status and reason stay.
        durations.record(
            instance("a"),
            &[json!({"type": "Ready", "status": "False", "reason": "Waiting"})],
            at("2026-01-01T00:05:00Z"),
        );
        let samples = durations.samples(at("2026-01-01T00:10:00Z"));
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].1, 600.0);
        durations.record(
            instance("a"),
            &[json!({"type": "Ready", "status": "True", "reason": "Ready"})],
            at("2026-01-01T00:09:00Z"),
        );
        let samples = durations.samples(at("2026-01-01T00:10:00Z"));
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].0.condition_status, "True");
        assert_eq!(samples[0].1, 60.0);
    }

    #[test]
    fn instances_and_kinds_are_forgotten() {
        let durations = ConditionDurations::default();
        let now = at("2026-01-01T00:00:00Z");
        let ready = [json!({"type": "Ready", "status": "True", "reason": "Ready"})];
        durations.record(instance("a"), &ready, now);
        durations.record(instance("b"), &ready, now);
        durations.forget_instance(&instance("a"));
        assert_eq!(durations.samples(now).len(), 1);
        durations.forget_kind("kro.run/v1alpha1, Resource=apps");
        assert!(durations.samples(now).is_empty());
    }

    #[test]
    fn encodes_upstreams_name_and_labels_only_when_there_are_series() {
        use prometheus_client::encoding::prometheus_text::encode;
        use prometheus_client::registry::Registry;
        let durations = ConditionDurations::default();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(durations.clone()));
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        assert!(!text.contains(NAME), "{text}");
        durations.record(
            instance("a"),
            &[json!({"type": "Ready", "status": "True", "reason": "Ready",
                     "lastTransitionTime": "2020-01-01T00:00:00Z"})],
            Timestamp::now(),
        );
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains(
                "instance_condition_current_status_seconds{gvr=\"kro.run/v1alpha1, Resource=apps\",\
                 namespace=\"default\",name=\"a\",condition_type=\"Ready\",condition_status=\"True\",\
                 reason=\"Ready\"} "
            ),
            "{text}"
        );
    }
}
