//! Leader election with the Lease `controller.kro.run`
//! (kube-lease-manager).
//!
//! Only the leader reconciles; every replica serves its probes. A leader
//! that loses its Lease stops (the process exits non-zero and is
//! restarted), as controller-runtime does: carrying on could let two
//! replicas write at once.

use std::hash::{BuildHasher, Hasher};

use anyhow::Context;
use kro_graph::api::field_managers;
use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::args::LeaseTiming;
use crate::metrics::{LeaseLabels, Metrics};

/// The Lease's name, upstream's.
pub const LEASE_NAME: &str = "controller.kro.run";

/// This process's identity in the Lease: the host name (the pod name in a
/// cluster), and a random part so that two processes on one host differ.
fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kro-operator".to_owned());
    // RandomState is seeded randomly per process; mixing in the pid and
    // the time is belt and braces.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!("{host}_{:016x}", hasher.finish())
}

/// The held Lease. Dropping it without [`Leadership::release`] leaves the
/// Lease to expire instead of handing it over at once.
pub struct Leadership {
    changes: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
    metrics: Metrics,
}

fn lease_labels() -> LeaseLabels {
    LeaseLabels {
        name: LEASE_NAME.to_owned(),
    }
}

/// Waits until this process holds the Lease in `namespace`; `None` when
/// `shutdown` comes first.
pub async fn acquire(
    client: Client,
    namespace: &str,
    timing: LeaseTiming,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Leadership>> {
    let identity = identity();
    // `args` checked 0 < grace < duration, which LeaseParams::new asserts.
    let params = LeaseParams::new(&identity, timing.duration_seconds, timing.grace_seconds)
        .with_field_manager(field_managers::LEADER_ELECTION);
    let manager = LeaseManagerBuilder::new(client, LEASE_NAME)
        .with_namespace(namespace)
        .with_parameters(params)
        .build()
        .await
        .with_context(|| format!("set up the Lease {namespace}/{LEASE_NAME}"))?;
    metrics.leader.get_or_create(&lease_labels()).set(0);
    tracing::info!(%identity, lease = %format!("{namespace}/{LEASE_NAME}"), "waiting for the leader Lease");
    let (mut changes, task) = manager.watch().await;
    loop {
        if *changes.borrow_and_update() {
            break;
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                drop(changes);
                // The watch loop releases nothing it does not hold.
                let _ = task.await;
                return Ok(None);
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    // The watch loop ended without our asking: say why.
                    return Err(match task.await {
                        Ok(Err(e)) => anyhow::Error::new(e).context("leader election failed"),
                        Ok(Ok(_)) => anyhow::anyhow!("leader election stopped"),
                        Err(e) => anyhow::Error::new(e).context("leader election task"),
                    });
                }
            }
        }
    }
    tracing::info!(%identity, "became the leader");
    metrics.leader.get_or_create(&lease_labels()).set(1);
    Ok(Some(Leadership {
        changes,
        task,
        metrics: metrics.clone(),
    }))
}

impl Leadership {
    /// Completes when the Lease is lost (another process took it, or the
    /// election loop ended).
    pub async fn lost(&mut self) {
        loop {
            if self.changes.changed().await.is_err() || !*self.changes.borrow_and_update() {
                return;
            }
        }
    }

    /// Gives the Lease up, so that a standby replica takes over at once
    /// rather than when the Lease expires.
    pub async fn release(self) -> anyhow::Result<()> {
        // Closing the channel makes the watch loop release the Lease and
        // end.
        drop(self.changes);
        let released = self.task.await.context("leader election task")?;
        self.metrics.leader.get_or_create(&lease_labels()).set(0);
        released.map(|_| ()).context("release the leader Lease")
    }
}
