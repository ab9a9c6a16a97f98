//! CRDs in tests: installing one and waiting until its kind is served.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};

use crate::WAIT_LIMIT;

/// Waits until the CRD `name` is Established.
///
/// # Panics
///
/// After [`WAIT_LIMIT`], or if the watch fails.
pub async fn crd_established(client: &Client, name: &str) {
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    tokio::time::timeout(
        WAIT_LIMIT,
        await_condition(crds, name, conditions::is_crd_established()),
    )
    .await
    .unwrap_or_else(|_| panic!("CRD {name} not established within {WAIT_LIMIT:?}"))
    .unwrap_or_else(|e| panic!("watch CRD {name}: {e}"));
}

/// Server-side applies `crd` as `field_manager` (idempotent: test binaries
/// sharing a control plane may install the same CRD) and waits until it is
/// Established. Returns its name.
///
/// # Panics
///
/// If the API server refuses the CRD, or it is not established in time.
pub async fn apply_crd(
    client: &Client,
    crd: &CustomResourceDefinition,
    field_manager: &str,
) -> String {
    let name = crd.metadata.name.clone().expect("a CRD has a name");
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            &name,
            &PatchParams::apply(field_manager).force(),
            &Patch::Apply(crd),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
    crd_established(client, &name).await;
    name
}
