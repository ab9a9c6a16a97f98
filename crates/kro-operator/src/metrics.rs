//! The Prometheus registry and the metrics the operator records.
//!
//! Names and labels follow upstream kro's (`pkg/metrics`), so dashboards
//! carry over. Counters are registered without the `_total` suffix: the
//! encoder adds it (and a name that already has it panics in debug
//! builds).

pub mod condition_durations;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use kro_runtime::cluster::ResourceType;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use self::condition_durations::ConditionDurations;

/// Labels of `kro_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The operator's version.
    pub version: String,
}

/// Labels of `rest_client_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// kube's name for the call (`get`, `list`, `patch`, `watch`, …), or
    /// `other` for raw requests.
    pub verb: String,
    /// The HTTP status code, or `<error>` when no answer came.
    pub code: String,
}

/// Labels of `leader_election_master_status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseLabels {
    /// The Lease's name.
    pub name: String,
}

/// Labels of the per-RGD metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RgdLabels {
    /// The RGD's name.
    pub name: String,
}

/// Labels of `rgd_state_transitions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RgdTransitionLabels {
    /// The RGD's name.
    pub name: String,
    /// The state before.
    pub from: String,
    /// The state after.
    pub to: String,
}

/// The `gvr` label of a kind, as upstream prints a GroupVersionResource:
/// `group/version, Resource=plural` (the group empty for the core group).
pub fn gvr_label(kind: &ResourceType) -> String {
    format!(
        "{}/{}, Resource={}",
        kind.gvk.group, kind.gvk.version, kind.plural
    )
}

/// Labels of the per-kind instance metrics: the instance kind as
/// `group/version, Resource=plural`, as upstream prints a GVR.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GvrLabels {
    /// The instance kind.
    pub gvr: String,
}

/// Labels of `dynamic_controller_requeue_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequeueLabels {
    /// The instance kind.
    pub gvr: String,
    /// `no_requeue`, `requeue_after` or `rate_limited`.
    pub r#type: String,
}

/// Labels of `dynamic_controller_informer_events_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    /// The watched kind.
    pub gvr: String,
    /// `add`, `update` or `delete`.
    pub event_type: String,
}

/// Labels of `instance_state_transitions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceTransitionLabels {
    /// The instance kind.
    pub gvr: String,
    /// `status.state` before (empty before the first status).
    pub from_state: String,
    /// `status.state` after.
    pub to_state: String,
}

/// A family of duration histograms.
pub type Durations<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets from 5 ms to about 160 s: a reconcile or a graph build.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// Gauges are i64 with an atomic.
pub type IntGauge = Gauge<i64, AtomicI64>;

/// Every metric the operator records; cheap to clone (the series are
/// shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// 1 while this process holds the leader Lease, else 0; the name and
    /// meaning follow controller-runtime.
    pub leader: Family<LeaseLabels, IntGauge>,
    /// API requests by verb and status code.
    pub requests: Family<RequestLabels, Counter>,
    /// Graph builds per RGD.
    pub rgd_graph_builds: Family<RgdLabels, Counter>,
    /// Graph builds that failed, per RGD.
    pub rgd_graph_build_errors: Family<RgdLabels, Counter>,
    /// How long graph builds take, per RGD.
    pub rgd_graph_build_duration: Durations<RgdLabels>,
    /// Changes of an RGD's `status.state`.
    pub rgd_state_transitions: Family<RgdTransitionLabels, Counter>,
    /// RGDs whose deletion was handled.
    pub rgd_deletions: Family<RgdLabels, Counter>,
    /// Instance reconciles started by the shared queue, per kind.
    pub reconciles: Family<GvrLabels, Counter>,
    /// How long instance reconciles take, per kind.
    pub reconcile_duration: Durations<GvrLabels>,
    /// What the queue did after each reconcile.
    pub requeues: Family<RequeueLabels, Counter>,
    /// Reconciles that returned an error, per kind.
    pub handler_errors: Family<GvrLabels, Counter>,
    /// Reconciles that panicked, per kind.
    pub reconcile_panics: Family<GvrLabels, Counter>,
    /// Instances waiting in the queue (due or not).
    pub queue_length: IntGauge,
    /// Instance kinds served.
    pub gvr_count: IntGauge,
    /// Watches running.
    pub watch_count: IntGauge,
    /// Watch events received, per watched kind.
    pub watch_events: Family<WatchEventLabels, Counter>,
    /// Objects listed or watched that could not be read (see
    /// [`crate::lenient`]), per kind; each read counts.
    pub unreadable_objects: Family<GvrLabels, Counter>,
    /// Child and external-object events routed, per watched kind.
    pub routes: Family<GvrLabels, Counter>,
    /// Routed events that reached at least one instance.
    pub route_matches: Family<GvrLabels, Counter>,
    /// Instance reconciles, per kind (upstream's instance metric).
    pub instance_reconciles: Family<GvrLabels, Counter>,
    /// Instance reconciles that failed, per kind.
    pub instance_reconcile_errors: Family<GvrLabels, Counter>,
    /// How long instance reconciles take, per kind.
    pub instance_reconcile_duration: Durations<GvrLabels>,
    /// Changes of an instance's `status.state`.
    pub instance_state_transitions: Family<InstanceTransitionLabels, Counter>,
    /// CEL expressions evaluated by instance reconciles (upstream's name).
    pub cel_evaluations: Family<GvrLabels, Counter>,
    /// Children applied by instance reconciles (unchanged ones are not).
    pub child_applies: Family<GvrLabels, Counter>,
    /// Children deleted by instance reconciles: pruned, or in deletion.
    pub child_deletes: Family<GvrLabels, Counter>,
    /// How long each instance condition has had its status (the
    /// `InstanceConditionMetrics` gate; empty without it).
    pub instance_conditions: ConditionDurations,
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let build: Family<BuildLabels, Gauge<i64, AtomicI64>> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        let metrics = Self {
            registry: Arc::default(),
            leader: Family::default(),
            requests: Family::default(),
            rgd_graph_builds: Family::default(),
            rgd_graph_build_errors: Family::default(),
            rgd_graph_build_duration: Family::new_with_constructor(duration_histogram),
            rgd_state_transitions: Family::default(),
            rgd_deletions: Family::default(),
            reconciles: Family::default(),
            reconcile_duration: Family::new_with_constructor(duration_histogram),
            requeues: Family::default(),
            handler_errors: Family::default(),
            reconcile_panics: Family::default(),
            queue_length: IntGauge::default(),
            gvr_count: IntGauge::default(),
            watch_count: IntGauge::default(),
            watch_events: Family::default(),
            unreadable_objects: Family::default(),
            routes: Family::default(),
            route_matches: Family::default(),
            instance_reconciles: Family::default(),
            instance_reconcile_errors: Family::default(),
            instance_reconcile_duration: Family::new_with_constructor(duration_histogram),
            instance_state_transitions: Family::default(),
            cel_evaluations: Family::default(),
            child_applies: Family::default(),
            child_deletes: Family::default(),
            instance_conditions: ConditionDurations::default(),
        };
        let m = &metrics;
        registry.register("kro_build_info", "The operator's version", build);
        registry.register(
            "leader_election_master_status",
            "1 while this process is the leader, else 0",
            m.leader.clone(),
        );
        registry.register(
            "rest_client_requests",
            "API server requests by kube verb and HTTP status code",
            m.requests.clone(),
        );
        registry.register(
            "rgd_graph_build",
            "Graph builds per ResourceGraphDefinition",
            m.rgd_graph_builds.clone(),
        );
        registry.register(
            "rgd_graph_build_errors",
            "Graph builds that failed",
            m.rgd_graph_build_errors.clone(),
        );
        registry.register(
            "rgd_graph_build_duration_seconds",
            "Duration of graph builds",
            m.rgd_graph_build_duration.clone(),
        );
        registry.register(
            "rgd_state_transitions",
            "Changes of a ResourceGraphDefinition's state",
            m.rgd_state_transitions.clone(),
        );
        registry.register(
            "rgd_deletions",
            "ResourceGraphDefinition deletions handled",
            m.rgd_deletions.clone(),
        );
        registry.register(
            "dynamic_controller_reconcile",
            "Instance reconciles run by the shared queue",
            m.reconciles.clone(),
        );
        registry.register(
            "dynamic_controller_reconcile_duration_seconds",
            "Duration of instance reconciles",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "dynamic_controller_requeue",
            "What the queue did after a reconcile",
            m.requeues.clone(),
        );
        registry.register(
            "dynamic_controller_handler_errors",
            "Instance reconciles that failed",
            m.handler_errors.clone(),
        );
        registry.register(
            "dynamic_controller_reconcile_panics",
            "Instance reconciles that panicked",
            m.reconcile_panics.clone(),
        );
        registry.register(
            "dynamic_controller_queue_length",
            "Instances in the queue",
            m.queue_length.clone(),
        );
        registry.register(
            "dynamic_controller_gvr_count",
            "Instance kinds served",
            m.gvr_count.clone(),
        );
        registry.register(
            "dynamic_controller_watch_count",
            "Metadata watches running",
            m.watch_count.clone(),
        );
        registry.register(
            "dynamic_controller_informer_events",
            "Watch events received",
            m.watch_events.clone(),
        );
        registry.register(
            "unreadable_objects",
            "Objects listed or watched that could not be read",
            m.unreadable_objects.clone(),
        );
        registry.register(
            "dynamic_controller_route",
            "Child and external object events routed",
            m.routes.clone(),
        );
        registry.register(
            "dynamic_controller_route_match",
            "Routed events that reached an instance",
            m.route_matches.clone(),
        );
        registry.register(
            "instance_reconcile",
            "Instance reconciles",
            m.instance_reconciles.clone(),
        );
        registry.register(
            "instance_reconcile_errors",
            "Instance reconciles that failed",
            m.instance_reconcile_errors.clone(),
        );
        registry.register(
            "instance_reconcile_duration_seconds",
            "Duration of instance reconciles",
            m.instance_reconcile_duration.clone(),
        );
        registry.register(
            "instance_state_transitions",
            "Changes of an instance's state",
            m.instance_state_transitions.clone(),
        );
        registry.register(
            "cel_expr_eval",
            "CEL expressions evaluated by instance reconciles",
            m.cel_evaluations.clone(),
        );
        registry.register(
            "instance_child_apply",
            "Children applied by instance reconciles",
            m.child_applies.clone(),
        );
        registry.register(
            "instance_child_delete",
            "Children deleted by instance reconciles",
            m.child_deletes.clone(),
        );
        registry.register_collector(Box::new(m.instance_conditions.clone()));
        Self {
            registry: Arc::new(registry),
            ..metrics
        }
    }

    /// The registry, for the `/metrics` endpoint.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text;

    #[test]
    fn names_are_upstreams() {
        let metrics = Metrics::new();
        let gvr = GvrLabels {
            gvr: "kro.run/v1alpha1, Resource=apps".to_owned(),
        };
        metrics.reconciles.get_or_create(&gvr).inc();
        metrics.instance_reconciles.get_or_create(&gvr).inc();
        metrics.cel_evaluations.get_or_create(&gvr).inc_by(4);
        metrics.child_applies.get_or_create(&gvr).inc();
        metrics
            .rgd_graph_build_duration
            .get_or_create(&RgdLabels {
                name: "app".to_owned(),
            })
            .observe(0.01);
        metrics
            .requeues
            .get_or_create(&RequeueLabels {
                gvr: gvr.gvr.clone(),
                r#type: "requeue_after".to_owned(),
            })
            .inc();
        let mut text = String::new();
        prometheus_text::encode(&mut text, metrics.registry()).expect("encodes");
        for line in [
            "dynamic_controller_reconcile_total{gvr=\"kro.run/v1alpha1, Resource=apps\"} 1",
            "instance_reconcile_total{gvr=\"kro.run/v1alpha1, Resource=apps\"} 1",
            "cel_expr_eval_total{gvr=\"kro.run/v1alpha1, Resource=apps\"} 4",
            "instance_child_apply_total{gvr=\"kro.run/v1alpha1, Resource=apps\"} 1",
            "dynamic_controller_requeue_total{gvr=\"kro.run/v1alpha1, Resource=apps\",type=\"requeue_after\"} 1",
            "rgd_graph_build_duration_seconds_count{name=\"app\"} 1",
            "dynamic_controller_queue_length 0",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(!text.contains("_total_total"));
    }
}
