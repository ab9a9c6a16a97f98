//! Deleting an instance's children, in waves, from the inventory recorded
//! on the instance alone: no template is evaluated and no external
//! reference read, so deletion works even when the graph or the objects it
//! reads are broken.
//!
//! Each child carries its wave in `internal.kro.run/apply-order`
//! (dependents have higher numbers). A pass deletes the members of the
//! highest wave still present and asks to run again; a wave must be gone
//! (child finalizers included) before the next one starts. When nothing is
//! left, the finalizer is released and the API server removes the
//! instance.

use kro_graph::api::metadata::{self, FINALIZER};

use super::applyset::{delete, members, recorded_inventory};
use super::outcome::{ReconcileError, Requeue};
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
    let members = members(pass, &inventory, &[]).await?;
    let wave_of = |object: &serde_json::Value| {
        object["metadata"]["annotations"][metadata::APPLY_ORDER]
            .as_str()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let Some(wave) = members.iter().map(|(_, o)| wave_of(o)).max() else {
        return release(pass).await;
    };
    super::status::write_deleting(pass, format!("deleting apply-order wave {wave}")).await?;
    for (key, object) in &members {
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
async fn release<C: Cluster>(pass: &mut Pass<'_, C>) -> Result<(), ReconcileError> {
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
