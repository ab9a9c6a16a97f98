//! The kro operator as a library, so that tests can run its parts
//! in-process; the `kro-operator` binary is a thin `main` around [`run`].
//!
//! [`run`] connects, serves the HTTP endpoints, installs the RGD CRD, takes
//! the leader Lease if asked to, then runs the RGD controller ([`rgd`]) and
//! the dynamic instance controller ([`dynamic`]) until it is told to stop.

pub mod args;
pub mod client;
pub mod cluster;
pub mod dynamic;
pub mod establish_crd;
pub mod http;
pub mod install_rgd_crd;
pub mod leader;
pub mod lenient;
pub mod live_schemas;
mod locks;
pub mod metrics;
pub mod rgd;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::args::Args;
use crate::leader::Leadership;
use crate::leader::fence::Fence;
use crate::metrics::Metrics;

/// Runs the operator until `shutdown` is cancelled (or the leader Lease is
/// lost, which is an error), then shuts down in order within
/// `--graceful-shutdown-timeout`: one deadline for all the steps together,
/// so that the process is gone before the kubelet's grace period ends
/// however many steps are slow.
pub async fn run(args: Args, shutdown: CancellationToken) -> anyhow::Result<()> {
    let lease_timing = if args.leader_elect {
        Some(args.lease_timing().map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let metrics = Metrics::new();
    // With leader election, the controllers write only while leadership is
    // confirmed; the fence opens when the Lease is taken.
    let fence = lease_timing.map(|_| Fence::closed());
    let clients = client::connect_rate_limited(
        args.kubeconfig.as_deref(),
        &metrics,
        args.client_rate_limit(),
        fence.clone(),
    )
    .await?;

    // The endpoints come first: probes must answer while this replica waits
    // for the Lease, and a taken port should fail startup at once.
    let stop_servers = CancellationToken::new();
    let mut servers = Vec::new();
    if let Some(listener) = http::bind("metrics", &args.metrics_bind_address).await? {
        servers.push(http::spawn(
            "metrics",
            listener,
            http::metrics_router(metrics.clone()),
            stop_servers.clone().cancelled_owned(),
        ));
    }
    if let Some(listener) = http::bind("health probe", &args.health_probe_bind_address).await? {
        servers.push(http::spawn(
            "health probes",
            listener,
            http::health_router(),
            stop_servers.clone().cancelled_owned(),
        ));
    }

    let (outcome, leadership, deadline) =
        operate(&args, clients, lease_timing.zip(fence), &metrics, &shutdown).await;

    tracing::info!("shutting down");
    let deadline = deadline.unwrap_or_else(|| Instant::now() + args.graceful_shutdown_timeout);
    if let Some(leadership) = leadership {
        within(
            deadline,
            "release the leader Lease",
            leadership.release(&metrics),
        )
        .await;
    }
    stop_servers.cancel();
    within(deadline, "stop the HTTP servers", join_all(servers)).await;
    outcome
}

/// Startup after the endpoints, then the wait for the end. Returns the
/// Lease, if held, for the shutdown sequence to release, and the shutdown
/// deadline once controllers were started (stopping them spends part of it).
async fn operate(
    args: &Args,
    clients: client::Clients,
    election: Option<(args::LeaseTiming, Fence)>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> (anyhow::Result<()>, Option<Leadership>, Option<Instant>) {
    let client = clients.api;
    // Every replica installs the same CRD, leader or not.
    let installed = tokio::select! {
        installed = install_rgd_crd::install(&clients.unfenced) => installed,
        () = shutdown.cancelled() => return (Ok(()), None, None),
    };
    if let Err(e) = installed {
        return (Err(e), None, None);
    }

    let mut leadership = None;
    if let Some((timing, fence)) = election {
        let namespace = if args.leader_election_namespace.is_empty() {
            client.default_namespace().to_owned()
        } else {
            args.leader_election_namespace.clone()
        };
        match leader::acquire(
            clients.unfenced,
            &namespace,
            timing,
            fence,
            metrics,
            shutdown,
        )
        .await
        {
            Ok(Some(held)) => leadership = Some(held),
            Ok(None) => return (Ok(()), None, None),
            Err(e) => return (Err(e), None, None),
        }
    }

    let controllers = Controllers::start(args, client, metrics);
    let outcome = match leadership.as_mut() {
        Some(held) => tokio::select! {
            () = shutdown.cancelled() => Ok(()),
            () = held.lost() => Err(anyhow::anyhow!("lost the leader Lease")),
        },
        None => {
            shutdown.cancelled().await;
            Ok(())
        }
    };
    let deadline = Instant::now() + args.graceful_shutdown_timeout;
    controllers.stop(deadline).await;
    (outcome, leadership, Some(deadline))
}

/// The graph builder the RGD controller uses: schemas from the live
/// server (built-in kinds as a fallback), CEL as the feature gates allow,
/// compiled under the `--cel-*` limits of one expression.
fn graph_builder(args: &Args, schemas: &live_schemas::LiveSchemas) -> kro_graph::builder::Builder {
    let mut env = args.feature_gates.cel_env();
    env.set_limits(args.evaluation_limits().expression);
    kro_graph::builder::Builder::new(
        Arc::new(schemas.with_builtin_fallback()),
        env,
        kro_graph::builder::BuildOptions {
            max_collection_dimensions: args.rgd_max_collection_dimension_size,
        },
    )
}

/// The flags of the instance reconcile.
fn instance_config(args: &Args) -> dynamic::instance::InstanceConfig {
    dynamic::instance::InstanceConfig {
        requeue_interval: args.instance_requeue_interval,
        max_collection_size: args.rgd_max_collection_size,
        evaluation: args.evaluation_limits(),
        condition_events: args.feature_gates.instance_condition_events,
        condition_metrics: args.feature_gates.instance_condition_metrics,
    }
}

/// The flags of the instance work queue.
fn queue_config(args: &Args) -> dynamic::QueueConfig {
    dynamic::QueueConfig {
        concurrency: usize::from(args.dynamic_controller_concurrent_reconciles),
        min_delay: args.dynamic_controller_rate_limiter_min_delay,
        max_delay: args.dynamic_controller_rate_limiter_max_delay,
        rate_limit: args.dynamic_controller_rate_limiter_rate_limit,
        burst: args.dynamic_controller_rate_limiter_burst_limit,
        max_retries: args.dynamic_controller_default_queue_max_retries,
        shutdown_grace: args.graceful_shutdown_timeout,
    }
}

/// The flags of the RGD controller.
fn rgd_config(args: &Args) -> rgd::RgdConfig {
    rgd::RgdConfig {
        allow_crd_deletion: args.allow_crd_deletion,
        progress_delay: args.rgd_progress_requeue_delay,
        concurrency: args.resource_graph_definition_concurrent_reconciles,
        selector: args.rgd_selector.clone(),
        instance_user_roles: args.instance_user_roles,
    }
}

/// The running controllers.
struct Controllers {
    stop: CancellationToken,
    dynamic: dynamic::Dynamic,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Controllers {
    fn start(args: &Args, client: kube::Client, metrics: &Metrics) -> Self {
        let stop = CancellationToken::new();
        let schemas = live_schemas::LiveSchemas::new(client.clone());
        let builder = graph_builder(args, &schemas);
        let (dynamic, requests) = dynamic::Dynamic::new(client.clone(), metrics.clone());
        let reconciler =
            dynamic::instance::InstanceReconciler::new(dynamic.clone(), instance_config(args));
        let context = rgd::RgdContext::new(
            client,
            schemas,
            builder,
            dynamic.clone(),
            metrics.clone(),
            rgd_config(args),
        );
        let mut tasks = vec![
            (
                "the RGD controller",
                tokio::spawn(rgd::run(Arc::new(context), stop.clone())),
            ),
            (
                "the instance controller",
                tokio::spawn(dynamic::queue::run(
                    requests,
                    dynamic.queue().clone(),
                    Arc::new(reconciler),
                    queue_config(args),
                    metrics.clone(),
                    stop.clone(),
                )),
            ),
        ];
        if args.dynamic_controller_default_resync_period > 0 {
            let period = Duration::from_secs(args.dynamic_controller_default_resync_period);
            tasks.push((
                "the resync timer",
                tokio::spawn(resync(dynamic.clone(), period, stop.clone())),
            ));
        }
        Self {
            stop,
            dynamic,
            tasks,
        }
    }

    /// Stops the controllers: reconciles in progress may finish until
    /// `deadline`, then the watches stop.
    async fn stop(self, deadline: Instant) {
        self.stop.cancel();
        for (name, task) in self.tasks {
            within(deadline, &format!("stop {name}"), async {
                if let Err(e) = task.await {
                    tracing::error!("{name}: {e}");
                }
            })
            .await;
        }
        self.dynamic.stop_watches();
    }
}

/// Reconciles every instance every `period` (upstream's informer resync).
async fn resync(dynamic: dynamic::Dynamic, period: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => dynamic.resync(),
        }
    }
}

/// Waits for every server, logging the ones that failed.
async fn join_all(servers: Vec<JoinHandle<anyhow::Result<()>>>) {
    for server in servers {
        match server.await.context("HTTP server task") {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => tracing::error!("{e:#}"),
        }
    }
}

/// Runs one shutdown step until `deadline` at most; a step that fails or
/// takes too long is logged and skipped, so that shutdown always finishes.
async fn within<F, T>(deadline: Instant, step: &str, future: F)
where
    F: Future<Output = T>,
    T: StepOutcome,
{
    match tokio::time::timeout_at(deadline, future).await {
        Ok(outcome) => outcome.log(step),
        Err(_) => tracing::warn!("{step}: gave up at the shutdown deadline"),
    }
}

/// What a shutdown step returns.
trait StepOutcome {
    fn log(self, step: &str);
}

impl StepOutcome for () {
    fn log(self, _: &str) {}
}

impl StepOutcome for anyhow::Result<()> {
    fn log(self, step: &str) {
        if let Err(e) = self {
            tracing::warn!("{step}: {e:#}");
        }
    }
}
