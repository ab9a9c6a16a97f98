//! Deleting an instance's children, in waves, from the inventory recorded
//! on the instance alone: no template is evaluated and no external
//! reference read, so deletion works even when the graph or the objects it
//! reads are broken.
//!
//! Each member is disposed of as its live deletion policy says
//! (`ownership::deletion_policy`): members to `retain` are left as they
//! are and members to `orphan` are released at once (neither needs an
//! order, nothing is removed); the others are deleted. Each child carries
//! its wave in `internal.kro.run/apply-order` (dependents have higher
//! numbers). A pass deletes the members of the highest wave still present
//! and asks to run again; a wave must be gone (child finalizers included)
//! before the next one starts. When nothing is left to delete, the
//! finalizer is released and the API server removes the instance.

use kro_graph::api::DeletionPolicy;
use kro_graph::api::metadata::{self, FINALIZER};

use super::applyset::{delete, members, recorded_inventory, release};
use super::outcome::{ReconcileError, Requeue};
use super::ownership::deletion_policy;
use super::pass::Pass;
use crate::cluster::{Cluster, is_terminating};

pub(super) async fn run<C: Cluster>(pass: &mut Pass<'_, C>) -> Result<(), ReconcileError> {
    if !pass.has_finalizer() {
        return Ok(());
    }
    let inventory = match recorded_inventory(pass) {
        Ok(inventory) => inventory.unwrap_or_default(),
        Err(problem) => {
            pass.outcome.requeue = Requeue::After(pass.options.requeue_interval);
            return super::status::write_deleting(pass, format!("deletion blocked: {problem}"))
                .await;
        }
    };
    let mut doomed = Vec::new();
    let mut released = true;
    for (key, object) in members(pass, &inventory, &[]).await? {
        let uid = object["metadata"]["uid"].as_str().unwrap_or_default();
        match deletion_policy(&object) {
            DeletionPolicy::Delete => doomed.push((key, object)),
            DeletionPolicy::Orphan => released &= release(pass, &key, uid).await?,
            DeletionPolicy::Retain => {}
        }
    }
    let wave_of = |object: &serde_json::Value| {
        object["metadata"]["annotations"][metadata::APPLY_ORDER]
            .as_str()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let Some(wave) = doomed.iter().map(|(_, o)| wave_of(o)).max() else {
        if released {
            return release_finalizer(pass).await;
        }
        // A member to orphan was recreated meanwhile: the next pass finds
        // the new one.
        pass.outcome.requeue = Requeue::After(pass.options.requeue_interval);
        return Ok(());
    };
    super::status::write_deleting(pass, format!("deleting apply-order wave {wave}")).await?;
    for (key, object) in &doomed {
        if wave_of(object) != wave || is_terminating(object) {
            continue;
        }
        let uid = object["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        delete(pass, key, &uid).await?;
    }
    pass.outcome.requeue = Requeue::After(pass.options.requeue_interval);
    Ok(())
}

/// Removes kro's finalizer, whoever added it (an instance restored from a
/// backup or re-applied from a dump carries it under another manager).
async fn release_finalizer<C: Cluster>(pass: &mut Pass<'_, C>) -> Result<(), ReconcileError> {
    let stored = pass
        .cluster
        .remove_finalizer(&pass.graph.instance_type, &pass.instance, FINALIZER)
        .await
        .map_err(|e| pass.cluster_error("release the finalizer".into(), e))?;
    pass.outcome.writes += 1;
    pass.outcome.finalized = true;
    if let Some(stored) = stored {
        pass.instance = stored;
    }
    Ok(())
}
