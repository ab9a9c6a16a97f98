//! Upstream kro's command lines start this operator: the one upstream's
//! Helm chart renders with its default values, every flag upstream's binary
//! registers, and Go's flag syntax. The lists are written from upstream's
//! `cmd/controller/main.go`, its chart's `deployment.yaml` and
//! controller-runtime's zap and kubeconfig flags.

use super::*;
use crate::args::logging::{LogLevel, TimeEncoding};

/// Every flag upstream's controller binary takes: its own, controller-
/// runtime's zap logging flags, and the `--kubeconfig` controller-runtime
/// registers.
pub const UPSTREAM_FLAGS: [&str; 34] = [
    "metrics-bind-address",
    "health-probe-bind-address",
    "pprof-bind-address",
    "leader-elect",
    "enable-controller-warmup",
    "leader-election-namespace",
    "allow-crd-deletion",
    "graceful-shutdown-timeout",
    "resource-graph-definition-concurrent-reconciles",
    "graph-revision-concurrent-reconciles",
    "dynamic-controller-concurrent-reconciles",
    "dynamic-controller-rate-limiter-min-delay",
    "dynamic-controller-rate-limiter-max-delay",
    "dynamic-controller-rate-limiter-rate-limit",
    "dynamic-controller-rate-limiter-burst-limit",
    "instance-requeue-interval",
    "dynamic-controller-default-resync-period",
    "dynamic-controller-default-queue-max-retries",
    "client-qps",
    "client-burst",
    "rgd-max-collection-size",
    "rgd-max-collection-dimension-size",
    "feature-gates",
    "rgd-max-graph-revisions",
    "rgd-progress-requeue-delay",
    "leader-election-lease-duration",
    "leader-election-renew-deadline",
    "leader-election-retry-period",
    "zap-devel",
    "zap-encoder",
    "zap-log-level",
    "zap-stacktrace-level",
    "zap-time-encoding",
    "kubeconfig",
];

/// The container arguments upstream's chart renders with its default
/// values, after the kubelet expanded the `$(KRO_...)` variables they
/// refer to.
const UPSTREAM_CHART_DEFAULTS: &[&str] = &[
    "--metrics-bind-address",
    ":8078",
    "--health-probe-bind-address",
    ":8079",
    "--resource-graph-definition-concurrent-reconciles",
    "1",
    "--graph-revision-concurrent-reconciles",
    "1",
    "--dynamic-controller-concurrent-reconciles",
    "1",
    "--zap-log-level",
    "info",
    "--zap-encoder",
    "console",
    "--zap-devel=false",
    "--graceful-shutdown-timeout",
    "60s",
    "--instance-requeue-interval",
    "3s",
    "--dynamic-controller-default-resync-period",
    "36000",
    "--dynamic-controller-default-queue-max-retries",
    "20",
    "--dynamic-controller-rate-limiter-min-delay",
    "200ms",
    "--dynamic-controller-rate-limiter-max-delay",
    "1000s",
    "--client-qps",
    "100",
    "--client-burst",
    "150",
    "--dynamic-controller-rate-limiter-rate-limit",
    "10",
    "--dynamic-controller-rate-limiter-burst-limit",
    "100",
    "--rgd-max-collection-size",
    "1000",
    "--rgd-max-collection-dimension-size",
    "10",
    "--rgd-max-graph-revisions",
    "5",
    "--rgd-progress-requeue-delay",
    "3s",
    "--leader-election-lease-duration",
    "15s",
    "--leader-election-renew-deadline",
    "10s",
    "--leader-election-retry-period",
    "2s",
    "--leader-elect",
];

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    let argv = std::iter::once("kro-operator")
        .chain(args.iter().copied())
        .map(OsString::from);
    Args::try_parse_from(go_style(argv))
}

#[test]
fn every_upstream_flag_exists() {
    let command = Args::command();
    for flag in UPSTREAM_FLAGS {
        assert!(
            command
                .get_arguments()
                .any(|arg| arg.get_long() == Some(flag)),
            "--{flag} is not a flag"
        );
    }
}

/// Upstream's chart with its defaults: this operator's defaults, with
/// leader election on, and a warning for each flag without effect.
#[test]
fn upstream_charts_default_command_line() {
    let mut args = parse(UPSTREAM_CHART_DEFAULTS).expect("upstream's chart's flags");
    assert_eq!(
        args.logging.settings(),
        LogSettings {
            level: LogLevel::Filter("info".into()),
            format: LogFormat::Text,
            time: None,
        }
    );
    let warnings = args.without_effect();
    let named: Vec<&str> = warnings
        .iter()
        .map(|w| w.split('=').next().unwrap_or(w))
        .collect();
    assert_eq!(
        named,
        [
            "--graph-revision-concurrent-reconciles",
            "--rgd-max-graph-revisions"
        ]
    );
    assert!(args.leader_elect);
    assert!(args.lease_timing().is_ok());
    // The rest is this operator's defaults.
    let defaults = parse(&[]).expect("no flags");
    args.leader_elect = false;
    args.leader_election_retry_period = None;
    args.logging = defaults.logging.clone();
    args.inert = defaults.inert.clone();
    assert_eq!(format!("{args:?}"), format!("{defaults:?}"));
}

/// Every upstream flag at once, each away from its default, in the forms
/// Go's flag package takes.
#[test]
fn every_upstream_flag_in_one_command_line() {
    let args = parse(&[
        "--kubeconfig=/etc/kro/kubeconfig",
        "--metrics-bind-address=127.0.0.1:9090",
        "-health-probe-bind-address",
        ":9091",
        "--pprof-bind-address=:6060",
        "-leader-elect",
        "--enable-controller-warmup=true",
        "--leader-election-namespace",
        "kro-system",
        "--allow-crd-deletion=1",
        "--graceful-shutdown-timeout=2m",
        "--resource-graph-definition-concurrent-reconciles=4",
        "--graph-revision-concurrent-reconciles=4",
        "--dynamic-controller-concurrent-reconciles=8",
        "--dynamic-controller-rate-limiter-min-delay=100ms",
        "--dynamic-controller-rate-limiter-max-delay=5m",
        "--dynamic-controller-rate-limiter-rate-limit=20",
        "--dynamic-controller-rate-limiter-burst-limit=200",
        "--instance-requeue-interval=0",
        "--dynamic-controller-default-resync-period=600",
        "--dynamic-controller-default-queue-max-retries=5",
        "--client-qps=50.5",
        "--client-burst=75",
        "--rgd-max-collection-size=50",
        "--rgd-max-collection-dimension-size=3",
        "--feature-gates=CELOmitFunction=true,InstanceConditionEvents=true,InstanceConditionMetrics=true",
        "--rgd-max-graph-revisions=10",
        "--rgd-progress-requeue-delay=1s",
        "--leader-election-lease-duration=30s",
        "--leader-election-renew-deadline=20s",
        "--leader-election-retry-period=5s",
        "--zap-devel",
        "--zap-encoder=json",
        "-zap-log-level=3",
        "--zap-stacktrace-level=panic",
        "--zap-time-encoding=rfc3339nano",
    ])
    .expect("every upstream flag");
    assert!(args.leader_elect && args.allow_crd_deletion);
    assert_eq!(
        args.health_probe_bind_address,
        BindAddress::Listen("0.0.0.0:9091".into())
    );
    assert_eq!(args.leader_election_namespace, "kro-system");
    assert_eq!(args.graceful_shutdown_timeout, Duration::from_secs(120));
    assert_eq!(args.instance_requeue_interval, Duration::ZERO);
    assert_eq!(
        args.feature_gates,
        FeatureGates {
            cel_omit_function: true,
            instance_condition_events: true,
            instance_condition_metrics: true,
        }
    );
    assert_eq!(
        args.lease_timing(),
        Ok(LeaseTiming {
            duration_seconds: 30,
            renew_deadline: Duration::from_secs(20),
            retry_period: Duration::from_secs(5),
        })
    );
    assert_eq!(
        args.logging.settings(),
        LogSettings {
            level: LogLevel::Filter("trace".into()),
            format: LogFormat::Json,
            time: Some(TimeEncoding::Rfc3339Nano),
        }
    );
    // Each flag without effect here is named once.
    let warnings = args.without_effect().join("\n");
    for flag in [
        "--zap-devel",
        "--zap-stacktrace-level",
        "--enable-controller-warmup",
        "--pprof-bind-address",
        "--graph-revision-concurrent-reconciles",
        "--rgd-max-graph-revisions",
    ] {
        assert_eq!(warnings.matches(flag).count(), 1, "{flag} in:\n{warnings}");
    }
    assert_eq!(args.without_effect().len(), 6);
}

/// Go's syntax: booleans with `=value`, `-name` for `--name`; a bare
/// boolean takes no separate value, as in Go.
#[test]
fn go_flag_syntax() {
    for (flag, elect) in [
        ("--leader-elect", true),
        ("-leader-elect", true),
        ("--leader-elect=true", true),
        ("--leader-elect=false", false),
        ("--leader-elect=F", false),
        ("-leader-elect=0", false),
    ] {
        assert_eq!(parse(&[flag]).expect(flag).leader_elect, elect, "{flag}");
    }
    assert!(parse(&["--leader-elect", "false"]).is_err());
    assert!(parse(&["--leader-elect=maybe"]).is_err());
    assert!(
        !parse(&["--enable-controller-warmup=false"])
            .expect("parses")
            .inert
            .enable_controller_warmup
    );
    // Only this operator's names are rewritten.
    assert!(parse(&["-unknown-flag"]).is_err());
    let rewritten = go_style(["kro-operator", "-client-qps", "-1", "--", "-x"].map(OsString::from));
    assert_eq!(
        rewritten,
        ["kro-operator", "--client-qps", "-1", "--", "-x"].map(OsString::from)
    );
}

/// Our names and upstream's for one setting cannot both be given.
#[test]
fn ours_and_upstreams_name_conflict() {
    assert!(parse(&["--log-level=debug", "--zap-log-level=info"]).is_err());
    assert!(parse(&["--log-format=json", "--zap-encoder=console"]).is_err());
    let args = parse(&["--log-level=panic", "--zap-encoder=console"]).expect("parses");
    assert_eq!(args.logging.settings().level, LogLevel::FatalOnly);
}

/// docs/operator.md says what each of upstream's flags does here.
#[test]
fn the_docs_list_every_upstream_flag() {
    let docs = super::tests::workspace_file("docs/operator.md");
    for flag in UPSTREAM_FLAGS {
        assert!(
            docs.contains(&format!("`--{flag}")),
            "docs/operator.md does not list --{flag}"
        );
    }
}
