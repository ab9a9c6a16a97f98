//! The instance CRD of an RGD: who may own it, which updates are allowed,
//! and making it so on the API server.
//!
//! Upstream creates the CRD and merge-patches it; we server-side apply it
//! after the same checks, so fields we stop writing are removed and a hand
//! edit of a field we own is undone. People cannot tell the difference.
//!
//! A CRD upstream kro created is ours to take over: its labels are the
//! ones we write, changes of its status schema are never breaking, and
//! before our first apply its fields are handed to our field manager
//! ([`super::field_takeover`]), so that no field only upstream wrote stays.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::field_managers;
use kro_graph::api::metadata::{KRO_VERSION, OWNED, RGD_ID, RGD_NAME, version_label};
use kro_schema::evolution::{compare_crds, summarize_breaking};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use thiserror::Error;

use super::field_takeover::takeover_patch;
use crate::establish_crd::{EstablishError, apply_and_await};

/// The RGD annotation that lets a breaking change of the CRD through.
pub const ALLOW_BREAKING_CHANGES: &str = "kro.run/allow-breaking-changes";

/// How long a CRD may take to become Established before the RGD is looked
/// at again. Short, because RGDs are reconciled a few at a time and a new
/// CRD is normally established within a second.
pub const ESTABLISHED_WAIT: Duration = Duration::from_secs(30);

/// Why the existing CRD may not be updated. The messages are upstream's,
/// since people search for them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// A CRD of that name exists and kro did not create it.
    #[error("failed to update CRD {crd}: CRD already exists and is not owned by KRO")]
    NotOwned {
        /// The CRD's name.
        crd: String,
    },
    /// Another RGD defines the same kind.
    #[error("failed to update CRD {crd}: CRD is owned by another ResourceGraphDefinition {owner}")]
    OwnedByAnother {
        /// The CRD's name.
        crd: String,
        /// The RGD named in its labels.
        owner: String,
    },
    /// The update would break existing instances or their clients.
    #[error("cannot update CRD {crd}: {summary}")]
    Breaking {
        /// The CRD's name.
        crd: String,
        /// The first breaking changes.
        summary: String,
    },
}

/// Why the CRD is not ready.
#[derive(Debug, Error)]
pub enum EnsureError {
    /// The update was refused; it stays refused until the RGD, its
    /// annotations or the CRD change.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The API server did not do what was asked.
    #[error("{action} CRD {crd}: {source}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The CRD's name.
        crd: String,
        /// The error.
        source: kube::Error,
    },
    /// Waiting for the CRD failed.
    #[error("watch CRD {crd}: {source}")]
    Watch {
        /// The CRD's name.
        crd: String,
        /// The error.
        source: kube::runtime::wait::Error,
    },
    /// The CRD was applied but is not Established yet.
    #[error("CRD {crd} is not established after {waited:?}")]
    NotEstablished {
        /// The CRD's name.
        crd: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The graph's CRD has no name (the builder always sets one).
    #[error("the generated CRD has no name")]
    Unnamed,
}

impl From<EstablishError> for EnsureError {
    /// The same failures, worded as before they were shared with the RGD
    /// CRD's install.
    fn from(error: EstablishError) -> Self {
        match error {
            EstablishError::Apply { crd, source } => EnsureError::Api {
                action: "apply",
                crd,
                source,
            },
            EstablishError::Watch { crd, source } => EnsureError::Watch { crd, source },
            EstablishError::NotEstablished { crd, waited } => {
                EnsureError::NotEstablished { crd, waited }
            }
        }
    }
}

/// The CRD to apply: the graph's, labelled as kro's and as this RGD's, so
/// that ownership can be checked and the RGD found from the CRD.
pub fn desired_crd(
    generated: &CustomResourceDefinition,
    rgd_name: &str,
    rgd_uid: &str,
) -> CustomResourceDefinition {
    let mut crd = generated.clone();
    let labels = crd.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(OWNED.to_owned(), "true".to_owned());
    labels.insert(KRO_VERSION.to_owned(), version_label());
    labels.insert(RGD_ID.to_owned(), rgd_uid.to_owned());
    labels.insert(RGD_NAME.to_owned(), rgd_name.to_owned());
    crd
}

/// Whether `existing` may be replaced by `desired` for RGD `rgd_name`.
/// A CRD owned by the same RGD name but another UID (the RGD was deleted
/// and created again, or upstream kro created it) is adopted, as upstream
/// does. Only breaking changes outside the status are refused (see
/// `kro_schema::evolution`).
pub fn check_update(
    existing: &CustomResourceDefinition,
    desired: &CustomResourceDefinition,
    rgd_name: &str,
    allow_breaking: bool,
) -> Result<(), Refusal> {
    let crd = desired.metadata.name.clone().unwrap_or_default();
    let label = |key: &str| {
        existing
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(key))
            .map(String::as_str)
    };
    if label(OWNED) != Some("true") {
        return Err(Refusal::NotOwned { crd });
    }
    if label(RGD_NAME) != Some(rgd_name) {
        return Err(Refusal::OwnedByAnother {
            crd,
            owner: label(RGD_NAME).unwrap_or_default().to_owned(),
        });
    }
    if allow_breaking {
        return Ok(());
    }
    match summarize_breaking(&compare_crds(existing, desired)) {
        Some(summary) => Err(Refusal::Breaking { crd, summary }),
        None => Ok(()),
    }
}

/// Creates or updates the CRD and waits until it is Established. Returns
/// the kind the API server accepted.
pub async fn ensure(
    client: &Client,
    desired: &CustomResourceDefinition,
    rgd_name: &str,
    allow_breaking: bool,
) -> Result<String, EnsureError> {
    let name = desired.metadata.name.clone().ok_or(EnsureError::Unnamed)?;
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let failed = |action: &'static str| {
        let crd = name.clone();
        move |source| EnsureError::Api {
            action,
            crd,
            source,
        }
    };
    if let Some(existing) = api.get_opt(&name).await.map_err(failed("read"))? {
        check_update(&existing, desired, rgd_name, allow_breaking)?;
        if let Some(patch) = takeover_patch(&existing, field_managers::OPERATOR) {
            tracing::info!(crd = %name, "taking over the fields another manager wrote");
            let params = PatchParams {
                field_manager: Some(field_managers::OPERATOR.to_owned()),
                ..PatchParams::default()
            };
            api.patch(&name, &params, &Patch::Merge(&patch))
                .await
                .map_err(failed("take over"))?;
        }
    }
    let established = apply_and_await(&api, &name, desired, ESTABLISHED_WAIT).await?;
    Ok(established
        .status
        .and_then(|s| s.accepted_names)
        .map(|names| names.kind)
        .unwrap_or_else(|| desired.spec.names.kind.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_graph::api::ResourceGraphDefinition;
    use kro_graph::builder::Builder;
    use kro_graph::resolver::BuiltinSchemas;
    use std::sync::Arc;

    /// The instance CRD the graph builder generates for `rgd`.
    fn instance_crd_of(rgd: serde_json::Value) -> CustomResourceDefinition {
        let rgd: ResourceGraphDefinition = serde_json::from_value(rgd).expect("a valid RGD");
        let builder = Builder::new(
            Arc::new(BuiltinSchemas::new()),
            kro_cel::Env::kro(),
            kro_graph::builder::BuildOptions::default(),
        );
        builder.build(&rgd).expect("builds").instance_crd
    }

    fn generated(spec: serde_json::Value) -> CustomResourceDefinition {
        instance_crd_of(serde_json::json!({
            "metadata": { "name": "web" },
            "spec": { "schema": { "apiVersion": "v1alpha1", "kind": "Web", "spec": spec } }
        }))
    }

    #[test]
    fn labels_name_kro_and_the_rgd() {
        let crd = desired_crd(&generated(serde_json::json!({})), "web", "uid-1");
        let labels = crd.metadata.labels.expect("labels");
        assert_eq!(labels[OWNED], "true");
        assert_eq!(labels[RGD_NAME], "web");
        assert_eq!(labels[RGD_ID], "uid-1");
        assert_eq!(crd.metadata.name.as_deref(), Some("webs.kro.run"));
    }

    #[test]
    fn ownership_is_checked_first() {
        let desired = desired_crd(&generated(serde_json::json!({})), "web", "uid-1");
        let mut foreign = desired.clone();
        foreign.metadata.labels = None;
        assert_eq!(
            check_update(&foreign, &desired, "web", true)
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "failed to update CRD webs.kro.run: CRD already exists and is not owned by KRO"
        );
        let other = desired_crd(&generated(serde_json::json!({})), "other", "uid-2");
        assert_eq!(
            check_update(&other, &desired, "web", true)
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "failed to update CRD webs.kro.run: CRD is owned by another ResourceGraphDefinition other"
        );
        let recreated = desired_crd(&generated(serde_json::json!({})), "web", "uid-0");
        assert_eq!(check_update(&recreated, &desired, "web", false), Ok(()));
    }

    /// `crd` as upstream kro labels it for RGD `rgd` of UID `uid`.
    fn labelled_by_upstream(
        mut crd: CustomResourceDefinition,
        rgd: &str,
        uid: &str,
    ) -> CustomResourceDefinition {
        crd.metadata.labels = Some(BTreeMap::from([
            ("kro.run/owned".to_owned(), "true".to_owned()),
            ("kro.run/kro-version".to_owned(), "v0.9.1".to_owned()),
            (
                "kro.run/resource-graph-definition-id".to_owned(),
                uid.to_owned(),
            ),
            (
                "kro.run/resource-graph-definition-name".to_owned(),
                rgd.to_owned(),
            ),
        ]));
        crd
    }

    /// The schema at `path` (property names) below the CRD's root.
    fn schema_at<'a>(
        crd: &'a mut CustomResourceDefinition,
        path: &[&str],
    ) -> &'a mut k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps
    {
        let mut schema = crd.spec.versions[0]
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .expect("a schema");
        for name in path {
            schema = schema
                .properties
                .as_mut()
                .and_then(|p| p.get_mut(*name))
                .unwrap_or_else(|| panic!("no field {name}"));
        }
        schema
    }

    /// A graph whose status projects a timestamp into an object.
    fn projecting_a_timestamp(spec: serde_json::Value) -> CustomResourceDefinition {
        instance_crd_of(serde_json::json!({
            "metadata": { "name": "web" },
            "spec": {
                "schema": {
                    "apiVersion": "v1alpha1", "kind": "Web", "spec": spec,
                    "status": { "config": { "created": "${config.metadata.creationTimestamp}" } }
                },
                "resources": [{ "id": "config", "template": {
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "web" } } }]
            }
        }))
    }

    #[test]
    fn a_crd_upstream_generated_with_schemaless_status_fields_is_replaced() {
        let desired = desired_crd(
            &projecting_a_timestamp(serde_json::json!({ "name": "string" })),
            "web",
            "uid-ours",
        );
        assert_eq!(
            schema_at(&mut desired.clone(), &["status", "config", "created"])
                .type_
                .as_deref(),
            Some("string")
        );
        let mut upstream = labelled_by_upstream(desired.clone(), "web", "uid-upstream");
        *schema_at(&mut upstream, &["status", "config", "created"]) = serde_json::from_value(
            serde_json::json!({ "x-kubernetes-preserve-unknown-fields": true }),
        )
        .expect("a schema");
        assert_eq!(check_update(&upstream, &desired, "web", false), Ok(()));

        // A real break of the spec is still refused.
        let mut typed_otherwise = upstream.clone();
        *schema_at(&mut typed_otherwise, &["spec", "name"]) =
            serde_json::from_value(serde_json::json!({ "type": "integer" })).expect("a schema");
        let refused = check_update(&typed_otherwise, &desired, "web", false).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "cannot update CRD webs.kro.run: breaking changes: \
             spec.name: type changed from integer to string"
        );
    }

    #[test]
    fn breaking_changes_need_the_annotation() {
        let old = desired_crd(
            &generated(serde_json::json!({ "name": "string", "port": "integer" })),
            "web",
            "u",
        );
        let new = desired_crd(
            &generated(serde_json::json!({ "name": "string" })),
            "web",
            "u",
        );
        let refused = check_update(&old, &new, "web", false).unwrap_err();
        assert!(
            matches!(&refused, Refusal::Breaking { summary, .. } if summary.contains("spec.port")),
            "{refused}"
        );
        assert!(
            refused
                .to_string()
                .starts_with("cannot update CRD webs.kro.run: breaking changes: ")
        );
        assert_eq!(check_update(&old, &new, "web", true), Ok(()));
        assert_eq!(
            check_update(&new, &old, "web", false),
            Ok(()),
            "an optional field added is not breaking"
        );
    }
}
