//! Installs or updates the `ResourceGraphDefinition` CRD at startup.
//!
//! The operator ships the CRD it serves (`kro_graph::api`), so a new
//! operator version brings its CRD along. Helm also installs it; where RBAC
//! forbids the operator to write CRDs, an existing CRD is used as it is.

use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::resource_graph_definition_crd;
use kube::{Api, Client};

use crate::establish_crd::{EstablishError, apply_and_await, await_established};

/// How long the CRD may take to become Established.
pub const ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(60);

/// Applies the RGD CRD (server-side, forced) and waits until it is
/// Established.
pub async fn install(client: &Client) -> anyhow::Result<()> {
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    let crd = resource_graph_definition_crd();
    let name = crd
        .metadata
        .name
        .clone()
        .context("the bundled RGD CRD has no name")?;
    let established = match apply_and_await(&crds, &name, &crd, ESTABLISHED_TIMEOUT).await {
        Err(EstablishError::Apply {
            source: kube::Error::Api(status),
            ..
        }) if status.code == 403 => {
            match crds.get_opt(&name).await {
                Ok(Some(_)) => tracing::warn!(
                    crd = %name,
                    "may not update the CRD (403); using the one installed"
                ),
                Ok(None) => bail!("may not create the CRD {name} (403), and it is not installed"),
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("may not update the CRD {name} (403), nor read it")
                    });
                }
            }
            await_established(&crds, &name, ESTABLISHED_TIMEOUT).await
        }
        other => other,
    };
    match established {
        Ok(_) => {}
        Err(EstablishError::Apply { source, .. }) => {
            return Err(source).with_context(|| format!("apply the CRD {name}"));
        }
        Err(EstablishError::Watch { source, .. }) => {
            return Err(source).with_context(|| format!("watch the CRD {name}"));
        }
        Err(EstablishError::NotEstablished { .. }) => {
            bail!("the CRD {name} was not established within {ESTABLISHED_TIMEOUT:?}")
        }
    }
    tracing::info!(crd = %name, "CRD established");
    Ok(())
}
