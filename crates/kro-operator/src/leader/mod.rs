//! Leader election with the Lease `controller.kro.run`, as client-go's
//! leader election does it: the leader renews the Lease every retry period,
//! a standby tries to take it every retry period and does once it expired
//! ([`record`]).
//!
//! Only the leader reconciles; every replica serves its probes. Writes go
//! through a [`fence`] that only a recent renewal keeps open, so a leader
//! stops writing within the renew deadline of its last renewal, before any
//! other replica could take the Lease, even when it cannot reach the API
//! server to learn that it lost. A leader that loses its Lease then stops
//! (the process exits non-zero and is restarted), as controller-runtime
//! does.

pub mod fence;
mod record;

use std::hash::{BuildHasher, Hasher};

use anyhow::Context;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kro_graph::api::field_managers;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::fence::Fence;
use self::record::{Observed, Step, decide};
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

/// The held Lease. Dropping it without [`Leadership::release`] stops the
/// renewals and leaves the Lease to expire instead of handing it over.
pub struct Leadership {
    lost: CancellationToken,
    stop_renewing: CancellationToken,
    renewals: Option<JoinHandle<Elector>>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.stop_renewing.cancel();
    }
}

fn lease_labels() -> LeaseLabels {
    LeaseLabels {
        name: LEASE_NAME.to_owned(),
    }
}

/// Waits until this process holds the Lease in `namespace`, then opens
/// `fence` and keeps renewing; `None` when `shutdown` comes first. Failed
/// attempts are logged and tried again every retry period.
pub async fn acquire(
    client: Client,
    namespace: &str,
    timing: LeaseTiming,
    fence: Fence,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Leadership>> {
    let mut elector = Elector {
        api: Api::namespaced(client, namespace),
        identity: identity(),
        timing,
        observed: None,
        fence,
    };
    metrics.leader.get_or_create(&lease_labels()).set(0);
    tracing::info!(identity = %elector.identity, lease = %format!("{namespace}/{LEASE_NAME}"), "waiting for the leader Lease");
    loop {
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            attempt = elector.attempt() => attempt,
        };
        match attempt {
            Ok(Attempt::Leading { sent }) => {
                elector.confirmed(sent);
                break;
            }
            Ok(Attempt::HeldByOther | Attempt::Conflict) => {}
            Err(e) => tracing::warn!("taking the leader Lease failed, trying again: {e}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(timing.retry_period) => {}
        }
    }
    tracing::info!(identity = %elector.identity, "became the leader");
    metrics.leader.get_or_create(&lease_labels()).set(1);
    let lost = CancellationToken::new();
    let stop_renewing = CancellationToken::new();
    let renewals =
        tokio::spawn(elector.renew(lost.clone(), stop_renewing.clone(), metrics.clone()));
    Ok(Some(Leadership {
        lost,
        stop_renewing,
        renewals: Some(renewals),
    }))
}

impl Leadership {
    /// Completes when leadership is lost: another process took the Lease,
    /// or no renewal succeeded within the renew deadline (the fence is
    /// closed by then).
    pub async fn lost(&mut self) {
        self.lost.cancelled().await;
    }

    /// Gives the Lease up, so that a standby replica takes over at its next
    /// attempt rather than when the Lease expires. Writes stop first.
    pub async fn release(mut self, metrics: &Metrics) -> anyhow::Result<()> {
        self.stop_renewing.cancel();
        let Some(renewals) = self.renewals.take() else {
            return Ok(());
        };
        let elector = renewals.await.context("the Lease renewal task")?;
        let still_leading = elector.fence.is_open();
        elector.fence.close();
        metrics.leader.get_or_create(&lease_labels()).set(0);
        if still_leading {
            elector
                .give_up()
                .await
                .context("release the leader Lease")?;
        }
        Ok(())
    }
}

/// What one attempt on the Lease found.
enum Attempt {
    /// This replica holds the Lease, as written by a request sent at `sent`.
    Leading { sent: Instant },
    /// Another replica holds it.
    HeldByOther,
    /// Someone wrote it between our read and our write.
    Conflict,
}

/// One replica's side of the election.
struct Elector {
    api: Api<Lease>,
    identity: String,
    timing: LeaseTiming,
    observed: Option<Observed>,
    fence: Fence,
}

impl Elector {
    /// Reads the Lease and renews or takes it when it should.
    async fn attempt(&mut self) -> Result<Attempt, kube::Error> {
        let sent = Instant::now();
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.held_spec(LeaseSpec::default(), true)),
            };
            return written(self.api.create(&post_params(), &lease).await, sent);
        };
        let spec = lease.spec.take().unwrap_or_default();
        let taking = match decide(&spec, &self.identity, &mut self.observed, sent) {
            Step::Wait => return Ok(Attempt::HeldByOther),
            Step::Renew => false,
            Step::Take => true,
        };
        lease.spec = Some(self.held_spec(spec, taking));
        written(
            self.api.replace(LEASE_NAME, &post_params(), &lease).await,
            sent,
        )
    }

    /// `spec` renewed now by this replica; `taking` marks a new term.
    fn held_spec(&self, mut spec: LeaseSpec, taking: bool) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        if taking {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.map_or(0, |n| n + 1));
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds =
            Some(i32::try_from(self.timing.duration_seconds).unwrap_or(i32::MAX));
        spec
    }

    /// Keeps the fence open until `sent + renew deadline`.
    fn confirmed(&self, sent: Instant) {
        self.fence.open_until(sent + self.timing.renew_deadline);
    }

    /// Renews every retry period until `stop`; on loss, closes the fence and
    /// cancels `lost`. Returns itself for [`Leadership::release`].
    async fn renew(
        mut self,
        lost: CancellationToken,
        stop: CancellationToken,
        metrics: Metrics,
    ) -> Elector {
        loop {
            tokio::select! {
                () = stop.cancelled() => return self,
                () = tokio::time::sleep(self.timing.retry_period) => {}
            }
            let Some(deadline) = self.fence.deadline() else {
                break;
            };
            // An attempt that hangs past the deadline is as good as failed.
            let attempt = tokio::select! {
                () = stop.cancelled() => return self,
                attempt = tokio::time::timeout_at(deadline, self.attempt()) => attempt,
            };
            match attempt {
                Ok(Ok(Attempt::Leading { sent })) => self.confirmed(sent),
                Ok(Ok(Attempt::HeldByOther)) => {
                    tracing::error!("another replica holds the leader Lease");
                    break;
                }
                Ok(Ok(Attempt::Conflict)) => {}
                Ok(Err(e)) => tracing::warn!("renewing the leader Lease failed: {e}"),
                Err(_) => tracing::warn!("renewing the leader Lease timed out"),
            }
            if !self.fence.is_open() {
                tracing::error!(
                    "the leader Lease was not renewed within {:?}; writes stopped",
                    self.timing.renew_deadline
                );
                break;
            }
        }
        self.fence.close();
        metrics.leader.get_or_create(&lease_labels()).set(0);
        lost.cancel();
        self
    }

    /// Marks the Lease free (no holder, expiring at once), if this replica
    /// still holds it.
    async fn give_up(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            return Ok(());
        };
        let mut spec = lease.spec.take().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        self.api
            .replace(LEASE_NAME, &post_params(), &lease)
            .await
            .map(drop)
    }
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(field_managers::LEADER_ELECTION.to_owned()),
    }
}

/// A write's result as an attempt: a conflict (409) is a lost race, not
/// an error.
fn written(result: Result<Lease, kube::Error>, sent: Instant) -> Result<Attempt, kube::Error> {
    match result {
        Ok(_) => Ok(Attempt::Leading { sent }),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
        Err(e) => Err(e),
    }
}
