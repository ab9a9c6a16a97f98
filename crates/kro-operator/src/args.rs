//! Command-line flags, with upstream kro's names and defaults
//! (`cmd/controller/main.go`).
//!
//! Only flags that do something are here; the others arrive with the code
//! that uses them (see `docs/operator.md`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kro_graph::feature_gates::{self, FeatureGates, parse_feature_gates};

use crate::client::RateLimit;

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
    #[arg(long, default_value_t = false)]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease; empty: the namespace of the
    /// kubeconfig context or service account.
    #[arg(long, default_value = "")]
    pub leader_election_namespace: String,

    /// How long a leader's Lease is valid without renewal (whole seconds).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// Upstream: how long a leader keeps trying to renew. Here the leader
    /// renews its Lease `lease-duration - renew-deadline` before it expires
    /// (whole seconds, less than the lease duration).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// Accepted for compatibility with upstream's flags and Helm values,
    /// and checked (positive, less than the renew deadline), but the lease
    /// manager schedules its own retries: a candidate tries again when the
    /// current Lease expires.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,

    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or
    /// `tracing` directives such as `info,kro_operator=debug`.
    #[arg(long, default_value = "info")]
    pub log_level: String,

    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long shutdown may take after SIGTERM or SIGINT before the
    /// process exits anyway.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub graceful_shutdown_timeout: Duration,

    /// Delete an RGD's generated CRD (and so every instance of it) when the
    /// RGD is deleted. Off: the CRD and its instances stay.
    #[arg(long, default_value_t = false)]
    pub allow_crd_deletion: bool,

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

    /// An instance whose reconcile fails this many times in a row is
    /// dropped from the queue until something about it changes.
    #[arg(long, default_value_t = 20)]
    pub dynamic_controller_default_queue_max_retries: u32,

    /// How long an instance waits before it is looked at again while its
    /// resources are becoming ready or being deleted; 0 turns these
    /// requeues off.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub instance_requeue_interval: Duration,

    /// Feature gates (see [`kro_graph::feature_gates`]).
    #[arg(long, default_value = "", value_parser = parse_feature_gates, help = feature_gates::HELP)]
    pub feature_gates: FeatureGates,

    /// Serve only the RGDs whose labels match this selector (such as
    /// `team=a`), so that several operators can share a cluster; tests use
    /// it. Empty: every RGD.
    #[arg(long, default_value = "", hide = true)]
    pub rgd_selector: String,
}

/// Parses `--client-qps`: any number but NaN, which would make every
/// comparison with the bucket false.
pub fn parse_qps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(qps) if !qps.is_nan() => Ok(qps),
        _ => Err(format!("{text:?} is not a number of requests per second")),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where an HTTP endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddress {
    /// `0`: the endpoint is off (upstream's convention).
    Disabled,
    /// `host:port`, as given to the socket layer; Go's `:port` (every
    /// interface) is written `0.0.0.0:port`.
    Listen(String),
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddress::Disabled => f.write_str("0"),
            BindAddress::Listen(address) => f.write_str(address),
        }
    }
}

/// Parses a bind address as upstream writes them: `0`, `:8080`,
/// `127.0.0.1:8080`, `[::1]:8080` or `localhost:8080`.
pub fn parse_bind_address(text: &str) -> Result<BindAddress, String> {
    if text == "0" {
        return Ok(BindAddress::Disabled);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not host:port, :port or 0"))?;
    port.parse::<u16>()
        .map_err(|_| format!("{text:?} has no valid port"))?;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(BindAddress::Listen(format!("{host}:{port}")))
}

/// Parses a Go duration: a sequence of decimal numbers with units `ns`,
/// `us` (or `µs`), `ms`, `s`, `m` and `h`, such as `200ms`, `1m30s` or
/// `1.5h`; `0` alone is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?} (examples: 200ms, 15s, 1m30s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// The leader-election timing in whole seconds, as the lease manager
/// takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long the Lease is valid without renewal.
    pub duration_seconds: u64,
    /// How long before expiry the leader renews it.
    pub grace_seconds: u64,
}

impl Args {
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

    /// Checks what clap cannot: relations between flags. The lease manager
    /// panics on a grace period outside `(0, duration)`, so that is
    /// refused here, with the flags named.
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
        if self.leader_election_retry_period.is_zero()
            || self.leader_election_retry_period >= self.leader_election_renew_deadline
        {
            return Err(format!(
                "--leader-election-retry-period ({:?}) must be positive and less than \
                 --leader-election-renew-deadline ({renew}s)",
                self.leader_election_retry_period
            ));
        }
        Ok(LeaseTiming {
            duration_seconds: duration,
            grace_seconds: duration - renew,
        })
    }
}

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
        assert_eq!(args.leader_election_retry_period, Duration::from_secs(2));
        assert_eq!(args.graceful_shutdown_timeout, Duration::from_secs(60));
        assert_eq!(args.log_format, LogFormat::Text);
        assert!(!args.allow_crd_deletion);
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
                grace_seconds: 5
            })
        );
    }

    #[test]
    fn bind_addresses() {
        assert_eq!(parse_bind_address("0"), Ok(BindAddress::Disabled));
        assert_eq!(
            parse_bind_address("127.0.0.1:9000"),
            Ok(BindAddress::Listen("127.0.0.1:9000".into()))
        );
        assert_eq!(
            parse_bind_address("[::1]:9000"),
            Ok(BindAddress::Listen("[::1]:9000".into()))
        );
        assert!(parse_bind_address("8080").is_err());
        assert!(parse_bind_address(":http").is_err());
        assert!(parse_bind_address(":70000").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "s", "1x", "-1s", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
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
    fn workspace_file(path: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The Helm chart has a value for every flag: its Deployment template
    /// names each one.
    #[test]
    fn the_chart_passes_every_flag() {
        use clap::CommandFactory;
        let template = workspace_file("charts/kro/templates/deployment.yaml");
        for arg in Args::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
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
    /// leader election the chart turns on).
    #[test]
    fn the_charts_defaults_are_the_flags_defaults() {
        for file in ["deploy/kro.yaml", "deploy/kro-aggregation.yaml"] {
            let documents: Vec<serde_json::Value> =
                serde_saphyr::from_multiple(&workspace_file(file))
                    .unwrap_or_else(|e| panic!("parse {file}: {e}"));
            let deployment = documents
                .iter()
                .find(|d| d["kind"] == "Deployment")
                .unwrap_or_else(|| panic!("no Deployment in {file}"));
            let flags: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
                .as_array()
                .unwrap_or_else(|| panic!("no container args in {file}"))
                .iter()
                .map(|arg| {
                    arg.as_str()
                        .unwrap_or_else(|| panic!("{arg} is not a string"))
                })
                .collect();
            let mut rendered = parse(&flags).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(rendered.leader_elect, "{file}");
            rendered.leader_elect = false;
            let defaults = parse(&[]).expect("no flags");
            assert_eq!(format!("{rendered:?}"), format!("{defaults:?}"), "{file}");
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
