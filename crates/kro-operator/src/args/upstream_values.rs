//! Upstream kro's Helm values install this operator: the chart knows every
//! key of upstream's chart, and a values file written as for upstream's
//! chart (`charts/kro/ci/upstream-values.yaml`, rendered by `cargo xtask
//! manifests` into `upstream-values.rendered.yaml`) gives flags this binary
//! takes, meaning what upstream's keys mean.

use serde_json::Value;

use super::logging::LogLevel;
use super::tests::{deployment_args, workspace_file};
use super::*;

/// Every key of upstream's chart: those its `values.yaml` documents, and
/// the two its templates read besides (`metrics.service.labels` and
/// `.annotations`).
pub const UPSTREAM_VALUES: [&str; 79] = [
    "nameOverride",
    "fullnameOverride",
    "additionalLabels",
    "metadata.includeHelmChart",
    "metadata.includeManagedBy",
    "image.repository",
    "image.tag",
    "image.ko",
    "image.pullPolicy",
    "imagePullSecrets",
    "serviceAccount.create",
    "serviceAccount.automount",
    "serviceAccount.annotations",
    "serviceAccount.name",
    "rbac.mode",
    "deployment.replicaCount",
    "deployment.containerPort",
    "deployment.podAnnotations",
    "deployment.podLabels",
    "deployment.podSecurityContext",
    "deployment.securityContext",
    "deployment.resources",
    "deployment.nodeSelector",
    "deployment.tolerations",
    "deployment.affinity",
    "deployment.topologySpreadConstraints",
    "deployment.priorityClassName",
    "deployment.hostNetwork",
    "deployment.dnsPolicy",
    "deployment.extraVolumes",
    "deployment.extraVolumeMounts",
    "deployment.extraEnv",
    "debug.pprof.enabled",
    "debug.pprof.port",
    "debug.pprof.service.enabled",
    "debug.pprof.service.type",
    "config.allowCRDDeletion",
    "config.clientQps",
    "config.clientBurst",
    "config.enableLeaderElection",
    "config.leaderElectionNamespace",
    "config.leaderElectionLeaseDuration",
    "config.leaderElectionRenewDeadline",
    "config.leaderElectionRetryPeriod",
    "config.enableControllerWarmup",
    "config.metricsBindAddress",
    "config.healthProbeBindAddress",
    "config.resourceGraphDefinitionConcurrentReconciles",
    "config.resourceGraphDefinitionProgressRequeueDelay",
    "config.graphRevisionConcurrentReconciles",
    "config.gracefulShutdownTimeout",
    "config.dynamicControllerConcurrentReconciles",
    "config.dynamicControllerDefaultResyncPeriod",
    "config.dynamicControllerDefaultQueueMaxRetries",
    "config.dynamicControllerRateLimiterMinDelay",
    "config.dynamicControllerRateLimiterMaxDelay",
    "config.dynamicControllerRateLimiterRateLimit",
    "config.dynamicControllerRateLimiterBurstLimit",
    "config.logLevel",
    "config.logEncoder",
    "config.development",
    "config.rgd.maxCollectionSize",
    "config.rgd.maxCollectionDimensionSize",
    "config.rgd.maxGraphRevisions",
    "config.instance.requeueInterval",
    "config.featureGates",
    "metrics.service.create",
    "metrics.service.type",
    "metrics.service.port",
    "metrics.service.labels",
    "metrics.service.annotations",
    "metrics.serviceMonitor.enabled",
    "metrics.serviceMonitor.additionalLabels",
    "metrics.serviceMonitor.interval",
    "metrics.serviceMonitor.scrapeTimeout",
    "metrics.serviceMonitor.telemetryPath",
    "metrics.serviceMonitor.targetLabels",
    "metrics.serviceMonitor.metricRelabelings",
    "metrics.serviceMonitor.relabelings",
];

/// The values file written as for upstream's chart.
const UPSTREAM_STYLE_VALUES: &str = "charts/kro/ci/upstream-values.yaml";

fn yaml(file: &str) -> Value {
    serde_saphyr::from_str(&workspace_file(file)).unwrap_or_else(|e| panic!("parse {file}: {e}"))
}

/// The chart's schema, which refuses unknown keys, has each of upstream's.
#[test]
fn the_schema_has_every_upstream_key() {
    let schema: Value = serde_json::from_str(&workspace_file("charts/kro/values.schema.json"))
        .expect("values.schema.json is JSON");
    for key in UPSTREAM_VALUES {
        let mut node = &schema;
        for part in key.split('.') {
            node = &node["properties"][part];
        }
        assert!(node.is_object(), "values.schema.json has no {key}");
    }
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
    assert_eq!(
        schema["properties"]["config"]["additionalProperties"],
        Value::Bool(false)
    );
}

/// The upstream-style values file sets every key, so that its rendering
/// covers them all.
#[test]
fn the_upstream_style_values_set_every_key() {
    let values = yaml(UPSTREAM_STYLE_VALUES);
    for key in UPSTREAM_VALUES {
        let pointer = format!("/{}", key.replace('.', "/"));
        assert!(
            values.pointer(&pointer).is_some(),
            "{UPSTREAM_STYLE_VALUES} does not set {key}"
        );
    }
}

/// What the chart renders from the upstream-style values: flags this
/// binary takes, with upstream's meaning, and a warning for each key that
/// changes nothing here.
#[test]
fn upstream_style_values_give_upstreams_settings() {
    let rendered = deployment_args("charts/kro/ci/upstream-values.rendered.yaml");
    let argv = std::iter::once("kro-operator".to_owned()).chain(rendered);
    let args = Args::try_parse_from(argv).expect("the rendered flags parse");
    // config.logLevel: panic keeps the fatal error; logEncoder: json;
    // development: false with both given changes neither.
    assert_eq!(
        args.logging.settings(),
        LogSettings {
            level: LogLevel::FatalOnly,
            format: LogFormat::Json,
            time: None,
        }
    );
    assert!(args.leader_elect && args.allow_crd_deletion);
    assert_eq!(args.leader_election_namespace, "kro-leases");
    assert_eq!(
        args.lease_timing(),
        Ok(LeaseTiming {
            duration_seconds: 30,
            renew_deadline: Duration::from_secs(20),
            retry_period: Duration::from_secs(4),
        })
    );
    assert_eq!(
        args.client_rate_limit(),
        RateLimit {
            qps: 200.0,
            burst: 300
        }
    );
    assert_eq!(args.resource_graph_definition_concurrent_reconciles, 2);
    assert_eq!(args.rgd_progress_requeue_delay, Duration::from_secs(5));
    assert_eq!(args.graceful_shutdown_timeout, Duration::from_secs(90));
    assert_eq!(args.dynamic_controller_concurrent_reconciles, 8);
    assert_eq!(args.dynamic_controller_default_resync_period, 7200);
    assert_eq!(args.dynamic_controller_default_queue_max_retries, 10);
    assert_eq!(
        args.dynamic_controller_rate_limiter_min_delay,
        Duration::from_millis(100)
    );
    assert_eq!(
        args.dynamic_controller_rate_limiter_max_delay,
        Duration::from_secs(300)
    );
    assert_eq!(args.dynamic_controller_rate_limiter_rate_limit, 20);
    assert_eq!(args.dynamic_controller_rate_limiter_burst_limit, 200);
    assert_eq!(args.rgd_max_collection_size, 500);
    assert_eq!(args.rgd_max_collection_dimension_size, 5);
    assert_eq!(args.instance_requeue_interval, Duration::ZERO);
    assert_eq!(
        args.feature_gates,
        FeatureGates {
            cel_omit_function: true,
            instance_condition_metrics: true,
            ..FeatureGates::default()
        }
    );
    let warnings = args.without_effect();
    let named: Vec<&str> = warnings
        .iter()
        .map(|w| w.split(['=', ' ']).next().unwrap_or(w))
        .collect();
    assert_eq!(
        named,
        [
            "--enable-controller-warmup",
            "--pprof-bind-address",
            "--graph-revision-concurrent-reconciles",
            "--rgd-max-graph-revisions",
        ]
    );
}

/// docs/operator.md says what each of upstream's keys does here.
#[test]
fn the_docs_list_every_upstream_key() {
    let docs = workspace_file("docs/operator.md");
    for key in UPSTREAM_VALUES {
        assert!(
            docs.contains(&format!("`{key}`")),
            "docs/operator.md does not list `{key}`"
        );
    }
}
