//! The kro operator as a library, so that tests can run its parts
//! in-process; the `kro-operator` binary is a thin `main` around [`run`].
//!
//! What runs today is the foundation the controllers will stand on: the
//! client, the HTTP endpoints, the RGD CRD, leader election and graceful
//! shutdown. The RGD and instance controllers come with the graph builder
//! and the runtime pass (see `docs/operator.md`).

pub mod args;
pub mod client;
pub mod cluster;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod rgd_crd;
pub mod schema;
pub mod telemetry;

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::args::Args;
use crate::leader::Leadership;
use crate::metrics::Metrics;

/// Runs the operator until `shutdown` is cancelled (or the leader Lease is
/// lost, which is an error), then shuts down in order within
/// `--graceful-shutdown-timeout`.
pub async fn run(args: Args, shutdown: CancellationToken) -> anyhow::Result<()> {
    let lease_timing = if args.leader_elect {
        Some(args.lease_timing().map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let metrics = Metrics::new();
    let client = client::connect(args.kubeconfig.as_deref(), &metrics).await?;

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

    let (outcome, leadership) = operate(&args, client, lease_timing, &metrics, &shutdown).await;

    tracing::info!("shutting down");
    let timeout = args.graceful_shutdown_timeout;
    if let Some(leadership) = leadership {
        within(timeout, "release the leader Lease", leadership.release()).await;
    }
    stop_servers.cancel();
    within(timeout, "stop the HTTP servers", join_all(servers)).await;
    outcome
}

/// Startup after the endpoints, then the wait for the end. Returns the
/// Lease, if held, for the shutdown sequence to release.
async fn operate(
    args: &Args,
    client: kube::Client,
    lease_timing: Option<args::LeaseTiming>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> (anyhow::Result<()>, Option<Leadership>) {
    let installed = tokio::select! {
        installed = rgd_crd::install(&client) => installed,
        () = shutdown.cancelled() => return (Ok(()), None),
    };
    if let Err(e) = installed {
        return (Err(e), None);
    }

    let mut leadership = None;
    if let Some(timing) = lease_timing {
        let namespace = if args.leader_election_namespace.is_empty() {
            client.default_namespace().to_owned()
        } else {
            args.leader_election_namespace.clone()
        };
        match leader::acquire(client.clone(), &namespace, timing, metrics, shutdown).await {
            Ok(Some(held)) => leadership = Some(held),
            Ok(None) => return (Ok(()), None),
            Err(e) => return (Err(e), None),
        }
    }

    // The controllers start here once they exist; until then the operator
    // holds its Lease, serves its endpoints and waits.
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
    (outcome, leadership)
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

/// Runs one shutdown step for at most `limit`; a step that fails or takes
/// too long is logged and skipped, so that shutdown always finishes.
async fn within<F, T>(limit: Duration, step: &str, future: F)
where
    F: Future<Output = T>,
    T: StepOutcome,
{
    match tokio::time::timeout(limit, future).await {
        Ok(outcome) => outcome.log(step),
        Err(_) => tracing::warn!("{step}: gave up after {limit:?}"),
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
