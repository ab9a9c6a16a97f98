//! Upstream's flags that this operator accepts, so that upstream's command
//! lines and Helm values start it, but that change nothing here: each one
//! given is named in a warning at startup (see [`InertFlags::without_effect`]).

use clap::ArgAction;

use super::values::{BindAddress, parse_bind_address, parse_bool};

/// Flags without effect here.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Accepted for upstream's command lines, without effect")]
pub struct InertFlags {
    /// Upstream: start the watches before the leader Lease is won, to fill
    /// caches. Here the controllers keep no object caches; a new leader
    /// starts its watches when it takes over.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_bool,
          action = ArgAction::Set)]
    pub enable_controller_warmup: bool,

    /// Upstream: the address of Go's pprof profiler (in its debug image
    /// only). There is no such endpoint here.
    #[arg(long, value_name = "ADDRESS", value_parser = parse_bind_address)]
    pub pprof_bind_address: Option<BindAddress>,

    /// Upstream: GraphRevision reconciles run at once. This operator has
    /// no GraphRevisions.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub graph_revision_concurrent_reconciles: Option<i64>,

    /// Upstream: GraphRevisions kept per RGD. This operator has no
    /// GraphRevisions.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rgd_max_graph_revisions: Option<i64>,
}

impl InertFlags {
    /// A warning for each of these flags that was given (the warm-up only
    /// when asked for).
    pub fn without_effect(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.enable_controller_warmup {
            warnings.push(
                "--enable-controller-warmup has no effect: the controllers keep no object caches \
                 to fill before the leader Lease is won; a new leader starts its watches when it \
                 takes over"
                    .to_owned(),
            );
        }
        if let Some(address) = &self.pprof_bind_address {
            warnings.push(format!(
                "--pprof-bind-address={address} has no effect: there is no pprof endpoint (a Go \
                 profiler); use a sampling profiler such as perf, and /metrics"
            ));
        }
        if let Some(n) = self.graph_revision_concurrent_reconciles {
            warnings.push(format!(
                "--graph-revision-concurrent-reconciles={n} has no effect: there are no \
                 GraphRevisions here; each RGD's graph is built in its own reconcile \
                 (--resource-graph-definition-concurrent-reconciles)"
            ));
        }
        if let Some(n) = self.rgd_max_graph_revisions {
            warnings.push(format!(
                "--rgd-max-graph-revisions={n} has no effect: there are no GraphRevisions here; \
                 only each RGD's last good graph is kept, in memory"
            ));
        }
        warnings
    }
}
