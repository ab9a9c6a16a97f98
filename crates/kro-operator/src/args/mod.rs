//! Command-line flags, with upstream kro's names, defaults and syntax
//! (`cmd/controller/main.go`, and the zap and kubeconfig flags
//! controller-runtime adds), so that upstream's command lines and Helm
//! values start this operator.
//!
//! Each upstream flag does here what it does there, or is mapped to ours
//! ([`logging`]), or is accepted without effect and named in a warning at
//! startup ([`inert`]);
//! `docs/operator.md` lists them all.

pub mod inert;
pub mod logging;
pub mod values;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, Parser};
use kro_cel::Limits;
use kro_graph::feature_gates::{self, FeatureGates, parse_feature_gates};
use kro_runtime::EvaluationLimits;

use crate::client::RateLimit;

pub use self::logging::{LogFormat, LogSettings};
pub use self::values::{BindAddress, parse_bind_address, parse_bool, parse_duration, parse_qps};

/// `--leader-election-retry-period` when not given, upstream's.
const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Kubernetes operator for kro ResourceGraphDefinitions.
#[derive(Debug, Clone, Parser)]
#[command(name = "kro-operator", version, about)]
pub struct Args {
    /// Path to a kubeconfig. Without it: $KUBECONFIG, then the in-cluster
    /// service account, then ~/.kube/config.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Requests per second to the API server (a token bucket, as
    /// client-go's); a watch counts once, when it starts. 0 or less: no
    /// limit.
    #[arg(long, default_value_t = 100.0, value_parser = parse_qps)]
    pub client_qps: f64,

    /// Requests that may go at once, after a quiet spell, before
    /// `--client-qps` paces them: the bucket's size.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..))]
    pub client_burst: u32,

    /// Address of the Prometheus endpoint (/metrics); `0` disables it.
    #[arg(long, default_value = ":8078", value_parser = parse_bind_address)]
    pub metrics_bind_address: BindAddress,

    /// Address of the /healthz and /readyz probes; `0` disables them.
    #[arg(long, default_value = ":8079", value_parser = parse_bind_address)]
    pub health_probe_bind_address: BindAddress,

    /// Elect a leader with the Lease `controller.kro.run` before
    /// reconciling, so that only one replica acts.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false",
          value_parser = parse_bool, action = ArgAction::Set)]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease; empty: the namespace of the
    /// kubeconfig context or service account.
    #[arg(long, default_value = "")]
    pub leader_election_namespace: String,

    /// How long a leader's Lease is valid without renewal (whole seconds).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long a leader keeps trying to renew its Lease: writes stop at
    /// once when no renewal succeeded for this long, and leadership ends
    /// (whole seconds, less than the lease duration).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// How often the leader renews its Lease and a standby tries to take it
    /// (positive, less than the renew deadline; default 2s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub leader_election_retry_period: Option<Duration>,

    /// How long shutdown may take after SIGTERM or SIGINT before the
    /// process exits anyway.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub graceful_shutdown_timeout: Duration,

    /// Delete an RGD's generated CRD (and so every instance of it) when the
    /// RGD is deleted. Off: the CRD and its instances stay.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false",
          value_parser = parse_bool, action = ArgAction::Set)]
    pub allow_crd_deletion: bool,

    /// For each RGD served, write ClusterRoles that add its instance kind
    /// to the built-in admin and edit (read-write) and view (read-only)
    /// ClusterRoles, owned by the RGD. Needs rights on clusterroles.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false",
          value_parser = parse_bool, action = ArgAction::Set)]
    pub instance_user_roles: bool,

    /// How many RGDs are reconciled at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub resource_graph_definition_concurrent_reconciles: u16,

    /// How long an RGD waits before it is looked at again when it waits
    /// for something (a kind it names that is not served yet, its CRD to
    /// become Established).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub rgd_progress_requeue_delay: Duration,

    /// The most objects one forEach collection may render.
    #[arg(long, default_value_t = 1000)]
    pub rgd_max_collection_size: usize,

    /// The most forEach dimensions one resource may have.
    #[arg(long, default_value_t = 10)]
    pub rgd_max_collection_dimension_size: usize,

    /// How many instances are reconciled at once, across every kind.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub dynamic_controller_concurrent_reconciles: u16,

    /// The first retry delay of an instance whose reconcile failed; it
    /// doubles with each further failure.
    #[arg(long, default_value = "200ms", value_parser = parse_duration)]
    pub dynamic_controller_rate_limiter_min_delay: Duration,

    /// The longest retry delay of a failing instance.
    #[arg(long, default_value = "1000s", value_parser = parse_duration)]
    pub dynamic_controller_rate_limiter_max_delay: Duration,

    /// Retries after failures, per second, across every instance.
    #[arg(long, default_value_t = 10)]
    pub dynamic_controller_rate_limiter_rate_limit: u32,

    /// Retries after failures that may happen at once, across every
    /// instance.
    #[arg(long, default_value_t = 100)]
    pub dynamic_controller_rate_limiter_burst_limit: u32,

    /// Every instance is reconciled again after this many seconds, even
    /// without a change (upstream's informer resync); 0 turns it off.
    #[arg(long, default_value_t = 36000)]
    pub dynamic_controller_default_resync_period: u64,

    /// From this many failures in a row of an instance's reconcile, each
    /// failure is logged as an error. The instance is still retried, at
    /// most every `--dynamic-controller-rate-limiter-max-delay` (upstream
    /// drops it from the queue).
    #[arg(long, default_value_t = 20)]
    pub dynamic_controller_default_queue_max_retries: u32,

    /// How long an instance waits before it is looked at again while its
    /// resources are becoming ready or being deleted; 0 turns these
    /// requeues off.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub instance_requeue_interval: Duration,

    /// The cost budget of one CEL expression's evaluation, in cost units
    /// (docs/cel.md, "Cost model"): at most 16 bytes allocated a unit, and
    /// 10 to 50 ms of work for the default. 0: unlimited.
    #[arg(long, value_name = "UNITS", default_value_t = 1_000_000)]
    pub cel_cost_budget: u64,

    /// The cost budget of one reconcile of one instance, shared by all its
    /// expressions and the results they keep: at most 16 bytes a unit
    /// (64 MiB for the default). 0: unlimited.
    #[arg(long, value_name = "UNITS", default_value_t = EvaluationLimits::DEFAULT_RECONCILE_BUDGET)]
    pub cel_reconcile_cost_budget: u64,

    /// The largest result of one CEL expression, as JSON, in bytes: a
    /// template field, a status field, an interpolated string.
    #[arg(long, value_name = "BYTES", default_value_t = 3 << 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub cel_max_result_size: usize,

    /// How long one CEL evaluation may run, by the wall clock; 0: no
    /// deadline.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub cel_evaluation_timeout: Duration,

    /// Feature gates (see [`kro_graph::feature_gates`]).
    #[arg(long, default_value = "", value_parser = parse_feature_gates, help = feature_gates::HELP)]
    pub feature_gates: FeatureGates,

    /// Serve only the RGDs whose labels match this selector (such as
    /// `team=a`), so that several operators can share a cluster; tests use
    /// it. Empty: every RGD.
    #[arg(long, default_value = "", hide = true)]
    pub rgd_selector: String,

    /// The logging flags, ours and zap's.
    #[command(flatten)]
    pub logging: logging::LogFlags,

    /// Upstream's flags without effect here.
    #[command(flatten)]
    pub inert: inert::InertFlags,
}

/// The leader-election timing, checked: `retry_period < renew_deadline <
/// duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long the Lease is valid without renewal (the Lease's
    /// `leaseDurationSeconds`).
    pub duration_seconds: u64,
    /// How long a leader may go without a successful renewal before it
    /// stops writing and gives leadership up.
    pub renew_deadline: Duration,
    /// The pause between two renewals, or two attempts to take the Lease.
    pub retry_period: Duration,
}

impl Args {
    /// Parses a command line as upstream's Go binary does: `-name` is also
    /// `--name` ([`go_style`]).
    pub fn parse_command_line<I: IntoIterator<Item = OsString>>(args: I) -> Self {
        Self::parse_from(go_style(args))
    }

    /// A warning for each flag given that changes nothing here (or less
    /// than upstream's does), for the log at startup.
    pub fn without_effect(&self) -> Vec<String> {
        let mut warnings = self.logging.without_effect();
        warnings.extend(self.inert.without_effect());
        warnings
    }

    /// The client rate limit from `--client-qps` and `--client-burst`.
    pub fn client_rate_limit(&self) -> RateLimit {
        if self.client_qps > 0.0 {
            RateLimit {
                qps: self.client_qps,
                burst: self.client_burst,
            }
        } else {
            RateLimit::UNLIMITED
        }
    }

    /// What the CEL evaluations of one instance reconcile may spend, from
    /// the `--cel-*` flags (0 turning a budget or the deadline off).
    pub fn evaluation_limits(&self) -> EvaluationLimits {
        let unless_zero = |n: u64| (n != 0).then_some(n);
        EvaluationLimits {
            expression: Limits {
                cost_budget: unless_zero(self.cel_cost_budget),
                max_result_size: self.cel_max_result_size,
                ..Limits::default()
            },
            reconcile_budget: unless_zero(self.cel_reconcile_cost_budget),
            timeout: (!self.cel_evaluation_timeout.is_zero())
                .then_some(self.cel_evaluation_timeout),
        }
    }

    /// Checks what clap cannot: relations between flags, refused here
    /// with the flags named.
    pub fn lease_timing(&self) -> Result<LeaseTiming, String> {
        let whole = |name: &str, d: Duration| {
            if d.subsec_nanos() != 0 || d.is_zero() {
                Err(format!(
                    "--{name} must be a positive whole number of seconds, got {d:?}"
                ))
            } else {
                Ok(d.as_secs())
            }
        };
        let duration = whole(
            "leader-election-lease-duration",
            self.leader_election_lease_duration,
        )?;
        let renew = whole(
            "leader-election-renew-deadline",
            self.leader_election_renew_deadline,
        )?;
        if renew >= duration {
            return Err(format!(
                "--leader-election-renew-deadline ({renew}s) must be less than \
                 --leader-election-lease-duration ({duration}s)"
            ));
        }
        let retry = self
            .leader_election_retry_period
            .unwrap_or(DEFAULT_RETRY_PERIOD);
        if retry.is_zero() || retry >= self.leader_election_renew_deadline {
            return Err(format!(
                "--leader-election-retry-period ({retry:?}) must be positive and less than \
                 --leader-election-renew-deadline ({renew}s)"
            ));
        }
        Ok(LeaseTiming {
            duration_seconds: duration,
            renew_deadline: self.leader_election_renew_deadline,
            retry_period: retry,
        })
    }
}

/// Rewrites Go's single-dash flags (`-leader-elect`, `-zap-log-level=info`)
/// to clap's `--name`. Only this operator's flag names are rewritten, so
/// that a value such as `-1` stays as it is.
pub fn go_style<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let command = Args::command();
    let names: BTreeSet<&str> = command
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .collect();
    args.into_iter()
        .map(|arg| {
            let name = arg
                .to_str()
                .and_then(|text| text.strip_prefix('-'))
                .filter(|rest| !rest.starts_with('-'))
                .map(|rest| rest.split('=').next().unwrap_or(rest));
            match name {
                Some(name) if names.contains(name) => {
                    let mut long = OsString::from("-");
                    long.push(&arg);
                    long
                }
                _ => arg,
            }
        })
        .collect()
}

#[cfg(test)]
mod upstream_command_lines;
#[cfg(test)]
mod upstream_values;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("kro-operator").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_upstreams() {
        let args = parse(&[]).expect("no flags");
        assert_eq!(
            args.metrics_bind_address,
            BindAddress::Listen("0.0.0.0:8078".into())
        );
        assert_eq!(
            args.health_probe_bind_address,
            BindAddress::Listen("0.0.0.0:8079".into())
        );
        assert!(!args.leader_elect);
        assert_eq!(args.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(args.leader_election_renew_deadline, Duration::from_secs(10));
        assert_eq!(args.leader_election_retry_period, None);
        assert_eq!(args.graceful_shutdown_timeout, Duration::from_secs(60));
        assert_eq!(
            args.logging.settings(),
            LogSettings {
                level: logging::LogLevel::Filter("info".into()),
                format: LogFormat::Text,
                time: None
            }
        );
        assert!(!args.allow_crd_deletion);
        assert!(!args.instance_user_roles);
        assert_eq!(args.resource_graph_definition_concurrent_reconciles, 1);
        assert_eq!(args.rgd_progress_requeue_delay, Duration::from_secs(3));
        assert_eq!(args.rgd_max_collection_size, 1000);
        assert_eq!(args.rgd_max_collection_dimension_size, 10);
        assert_eq!(args.dynamic_controller_concurrent_reconciles, 1);
        assert_eq!(
            args.dynamic_controller_rate_limiter_min_delay,
            Duration::from_millis(200)
        );
        assert_eq!(
            args.dynamic_controller_rate_limiter_max_delay,
            Duration::from_secs(1000)
        );
        assert_eq!(args.dynamic_controller_rate_limiter_rate_limit, 10);
        assert_eq!(args.dynamic_controller_rate_limiter_burst_limit, 100);
        assert_eq!(args.dynamic_controller_default_resync_period, 36000);
        assert_eq!(args.dynamic_controller_default_queue_max_retries, 20);
        assert_eq!(args.instance_requeue_interval, Duration::from_secs(3));
        assert_eq!(args.evaluation_limits(), EvaluationLimits::default());
        assert_eq!(args.feature_gates, FeatureGates::default());
        assert_eq!(
            args.client_rate_limit(),
            RateLimit {
                qps: 100.0,
                burst: 150
            }
        );
        assert_eq!(args.rgd_selector, "");
        assert_eq!(
            args.lease_timing(),
            Ok(LeaseTiming {
                duration_seconds: 15,
                renew_deadline: Duration::from_secs(10),
                retry_period: Duration::from_secs(2),
            })
        );
        assert_eq!(args.inert, inert::InertFlags::default());
        assert!(args.without_effect().is_empty());
    }

    #[test]
    fn evaluation_limits() {
        let args = parse(&[
            "--cel-cost-budget=5000",
            "--cel-reconcile-cost-budget=0",
            "--cel-max-result-size=1024",
            "--cel-evaluation-timeout=250ms",
        ])
        .expect("parses");
        let limits = args.evaluation_limits();
        assert_eq!(limits.expression.cost_budget, Some(5000));
        assert_eq!(limits.expression.max_result_size, 1024);
        assert_eq!(limits.reconcile_budget, None);
        assert_eq!(limits.timeout, Some(Duration::from_millis(250)));
        let args = parse(&["--cel-cost-budget=0", "--cel-evaluation-timeout=0"]).expect("parses");
        assert_eq!(args.evaluation_limits().expression.cost_budget, None);
        assert_eq!(args.evaluation_limits().timeout, None);
        for bad in [
            "--cel-max-result-size=0",
            "--cel-cost-budget=-1",
            "--cel-evaluation-timeout=soon",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad}");
        }
    }

    /// The gates' own parsing is tested in kro-graph, where it lives.
    #[test]
    fn feature_gates() {
        let args = parse(&["--feature-gates=InstanceConditionEvents=true, CELOmitFunction=false"])
            .expect("parses");
        assert_eq!(
            args.feature_gates,
            FeatureGates {
                instance_condition_events: true,
                ..FeatureGates::default()
            }
        );
        assert!(parse(&["--feature-gates=Nope=true"]).is_err());
        assert!(parse(&["--feature-gates=CELOmitFunction"]).is_err());
        assert!(parse(&["--feature-gates=CELOmitFunction=yes"]).is_err());
        assert!(parse(&["--dynamic-controller-concurrent-reconciles=0"]).is_err());
    }

    #[test]
    fn client_rate_limit() {
        let args = parse(&["--client-qps=20.5", "--client-burst", "30"]).expect("parses");
        assert_eq!(
            args.client_rate_limit(),
            RateLimit {
                qps: 20.5,
                burst: 30
            }
        );
        for off in ["--client-qps=0", "--client-qps=-1"] {
            let args = parse(&[off]).expect("parses");
            assert_eq!(args.client_rate_limit(), RateLimit::UNLIMITED, "{off}");
        }
        // Helm renders large numbers from values files in exponent form.
        let args = parse(&["--client-qps=1e+06"]).expect("parses");
        assert_eq!(args.client_qps, 1e6);
        for bad in [
            "--client-qps=NaN",
            "--client-qps=fast",
            "--client-qps=",
            "--client-burst=0",
            "--client-burst=-1",
            "--client-burst=1.5",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad}");
        }
    }

    /// A file of the workspace, for the tests that hold the chart to the
    /// flags.
    pub(super) fn workspace_file(path: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The container arguments of the Deployment in a file the chart
    /// rendered.
    pub(super) fn deployment_args(file: &str) -> Vec<String> {
        let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&workspace_file(file))
            .unwrap_or_else(|e| panic!("parse {file}: {e}"));
        let deployment = documents
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .unwrap_or_else(|| panic!("no Deployment in {file}"));
        deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap_or_else(|| panic!("no container args in {file}"))
            .iter()
            .map(|arg| {
                arg.as_str()
                    .unwrap_or_else(|| panic!("{arg} is not a string"))
                    .to_owned()
            })
            .collect()
    }

    /// The Helm chart has a value for every flag: its Deployment template
    /// names each one. Upstream's chart has no value for zap's time
    /// encoding and stack trace level either (`deployment.extraArgs`
    /// passes them), and `config.logLevel` becomes `--log-level`, which
    /// takes zap's levels too.
    #[test]
    fn the_chart_passes_every_flag() {
        let template = workspace_file("charts/kro/templates/deployment.yaml");
        let without_value = ["zap-time-encoding", "zap-stacktrace-level", "zap-log-level"];
        for arg in Args::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if without_value.contains(&long) {
                continue;
            }
            // Written out (`--name=` or a bare `--name`) or, with the
            // `kro.flag` helper, as a quoted name.
            let written = [
                format!("--{long}="),
                format!("--{long}\n"),
                format!("\"{long}\""),
            ];
            assert!(
                written.iter().any(|w| template.contains(w.as_str())),
                "charts/kro/templates/deployment.yaml does not pass --{long}"
            );
        }
    }

    /// The plain manifests, rendered from the chart with its defaults, pass
    /// flags this binary accepts, with its own defaults (but for the
    /// leader election and the per-RGD user roles the chart turns on).
    #[test]
    fn the_charts_defaults_are_the_flags_defaults() {
        for file in ["deploy/kro.yaml", "deploy/kro-unrestricted.yaml"] {
            let args = deployment_args(file);
            let flags: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut rendered = parse(&flags).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(rendered.leader_elect, "{file}");
            rendered.leader_elect = false;
            assert!(rendered.instance_user_roles, "{file}");
            rendered.instance_user_roles = false;
            let defaults = parse(&[]).expect("no flags");
            // The chart writes the default level out; what counts is the
            // logging it sets up.
            assert_eq!(rendered.logging.settings(), defaults.logging.settings());
            rendered.logging = defaults.logging.clone();
            assert_eq!(format!("{rendered:?}"), format!("{defaults:?}"), "{file}");
            assert!(rendered.without_effect().is_empty(), "{file}");
        }
    }

    #[test]
    fn lease_timing_is_checked() {
        let args = parse(&[
            "--leader-election-lease-duration=10s",
            "--leader-election-renew-deadline=10s",
        ])
        .expect("parses");
        assert!(args.lease_timing().is_err());
        let args = parse(&["--leader-election-lease-duration=1500ms"]).expect("parses");
        assert!(args.lease_timing().is_err());
        let args = parse(&["--leader-election-retry-period=10s"]).expect("parses");
        assert!(args.lease_timing().is_err());
        assert!(parse(&["--log-format=xml"]).is_err());
    }
}
