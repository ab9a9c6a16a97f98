//! Applying a CRD and waiting until the API server has Established it:
//! what both the RGD CRD's install at startup ([`crate::install_rgd_crd`])
//! and each RGD's instance CRD ([`crate::rgd::instance_crd`]) do, written
//! once so that both apply with the same field manager and wait the same
//! way.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::field_managers;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use thiserror::Error;

/// Why a CRD is not Established.
#[derive(Debug, Error)]
pub enum EstablishError {
    /// The server-side apply failed.
    #[error("apply CRD {crd}: {source}")]
    Apply {
        /// The CRD's name.
        crd: String,
        /// The error.
        source: kube::Error,
    },
    /// Watching the CRD failed.
    #[error("watch CRD {crd}: {source}")]
    Watch {
        /// The CRD's name.
        crd: String,
        /// The error.
        source: kube::runtime::wait::Error,
    },
    /// The CRD is not Established within the time allowed.
    #[error("CRD {crd} is not established after {waited:?}")]
    NotEstablished {
        /// The CRD's name.
        crd: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// Applies `crd`, named `name`, server-side and forced, then waits up to
/// `timeout` until it is Established. Returns the CRD as the API server
/// holds it then.
pub async fn apply_and_await(
    api: &Api<CustomResourceDefinition>,
    name: &str,
    crd: &CustomResourceDefinition,
    timeout: Duration,
) -> Result<CustomResourceDefinition, EstablishError> {
    let applied = api
        .patch(
            name,
            &PatchParams::apply(field_managers::OPERATOR).force(),
            &Patch::Apply(crd),
        )
        .await
        .map_err(|source| EstablishError::Apply {
            crd: name.to_owned(),
            source,
        })?;
    if conditions::is_crd_established().matches_object(Some(&applied)) {
        tracing::debug!(crd = %name, "CRD applied, established");
        return Ok(applied);
    }
    tracing::debug!(crd = %name, "CRD applied, waiting until established");
    await_established(api, name, timeout).await
}

/// Waits up to `timeout` until the CRD `name` is Established.
pub async fn await_established(
    api: &Api<CustomResourceDefinition>,
    name: &str,
    timeout: Duration,
) -> Result<CustomResourceDefinition, EstablishError> {
    let not_established = || EstablishError::NotEstablished {
        crd: name.to_owned(),
        waited: timeout,
    };
    tokio::time::timeout(
        timeout,
        await_condition(api.clone(), name, conditions::is_crd_established()),
    )
    .await
    .map_err(|_| not_established())?
    .map_err(|source| EstablishError::Watch {
        crd: name.to_owned(),
        source,
    })?
    // The condition matched, so the object was there.
    .ok_or_else(not_established)
}
