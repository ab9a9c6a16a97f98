//! The Prometheus registry and the metrics the operator records today.
//!
//! Counters are registered without the `_total` suffix: the encoder adds it
//! (and a name that already has it panics in debug builds).

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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

/// Every metric the operator records; cheap to clone (the series are
/// shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// 1 while this process holds the leader Lease, else 0; the name and
    /// meaning follow controller-runtime.
    pub leader: Family<LeaseLabels, Gauge<i64, AtomicI64>>,
    /// API requests by verb and status code.
    pub requests: Family<RequestLabels, Counter>,
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
        registry.register("kro_build_info", "The operator's version", build);
        let leader = Family::default();
        registry.register(
            "leader_election_master_status",
            "1 while this process is the leader, else 0",
            leader.clone(),
        );
        let requests = Family::default();
        registry.register(
            "rest_client_requests",
            "API server requests by kube verb and HTTP status code",
            requests.clone(),
        );
        Self {
            registry: Arc::new(registry),
            leader,
            requests,
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
