//! Roles for people, per RGD (`--instance-user-roles`): two ClusterRoles
//! that add the RGD's instance kind to the built-in roles by aggregation,
//! read-write to `admin` and `edit`, read-only to `view`. So a tenant
//! with `edit` in a namespace may create instances there, and nobody gets
//! RGD writes from a built-in role (RBAC cannot subtract, and the chart
//! cannot name instance kinds, which exist only once their RGDs do).
//!
//! The roles are owned by their RGD (an ownerReference), so Kubernetes'
//! garbage collector deletes them with it, and named after the kind
//! (`kro:instances:<plural>.<group>:edit`), so they are easy to find. A
//! ClusterRole of that name that is not this RGD's is left alone and
//! reported. The API server lets the operator write a role only if the
//! operator holds everything the role grants (its escalation check); the
//! access review asks for those rights first.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::api::field_managers;
use kro_graph::api::metadata::RGD_NAME;
use kro_schema::kinds::ResourceType;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use thiserror::Error;

use super::required::{INSTANCE_EDIT, INSTANCE_VIEW, Verb};

/// Which of an RGD's roles a ClusterRole is (`edit` or `view`).
pub const USER_ROLE: &str = "kro.run/user-role";

/// Why the roles could not be written.
#[derive(Debug, Error)]
pub enum UserRolesError {
    /// A ClusterRole of the name exists and is not this RGD's.
    #[error(
        "ClusterRole {name} exists and is not this ResourceGraphDefinition's (no {RGD_NAME}={rgd} label); delete or rename it"
    )]
    NotOurs {
        /// The ClusterRole.
        name: String,
        /// The RGD.
        rgd: String,
    },
    /// A request failed.
    #[error("{action} ClusterRole {name}: {source}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The ClusterRole, or the selector listed.
        name: String,
        /// The error.
        source: kube::Error,
    },
}

/// One role: its name, which built-in roles it joins, and its verbs.
struct Flavour {
    suffix: &'static str,
    aggregate_to: &'static [&'static str],
    verbs: &'static [Verb],
}

const FLAVOURS: [Flavour; 2] = [
    Flavour {
        suffix: "edit",
        aggregate_to: &["admin", "edit"],
        verbs: &INSTANCE_EDIT,
    },
    Flavour {
        suffix: "view",
        aggregate_to: &["view"],
        verbs: &INSTANCE_VIEW,
    },
];

/// The roles `rgd` should have for its instance kind `instances`.
pub fn desired(rgd: &ResourceGraphDefinition, instances: &ResourceType) -> Vec<ClusterRole> {
    let rgd_name = rgd.name_any();
    let owner = OwnerReference {
        api_version: ResourceGraphDefinition::api_version(&()).into_owned(),
        kind: ResourceGraphDefinition::kind(&()).into_owned(),
        name: rgd_name.clone(),
        uid: rgd.metadata.uid.clone().unwrap_or_default(),
        ..OwnerReference::default()
    };
    FLAVOURS
        .iter()
        .map(|flavour| {
            let mut labels = BTreeMap::from([
                (RGD_NAME.to_owned(), rgd_name.clone()),
                (USER_ROLE.to_owned(), flavour.suffix.to_owned()),
            ]);
            for role in flavour.aggregate_to {
                labels.insert(
                    format!("rbac.authorization.k8s.io/aggregate-to-{role}"),
                    "true".to_owned(),
                );
            }
            ClusterRole {
                metadata: ObjectMeta {
                    name: Some(role_name(instances, flavour.suffix)),
                    labels: Some(labels),
                    owner_references: Some(vec![owner.clone()]),
                    ..ObjectMeta::default()
                },
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![instances.gvk.group.clone()]),
                    resources: Some(vec![instances.plural.clone()]),
                    verbs: flavour
                        .verbs
                        .iter()
                        .map(|v| v.as_str().to_owned())
                        .collect(),
                    ..PolicyRule::default()
                }]),
                aggregation_rule: None,
            }
        })
        .collect()
}

/// `kro:instances:webapps.kro.run:edit`.
fn role_name(instances: &ResourceType, suffix: &str) -> String {
    format!(
        "kro:instances:{}.{}:{suffix}",
        instances.plural, instances.gvk.group
    )
}

/// Applies `desired` (from [`desired`]) for `rgd`, then deletes the roles
/// `rgd` had for another kind (its kind or group changed).
pub async fn write(
    client: &Client,
    rgd: &ResourceGraphDefinition,
    desired: &[ClusterRole],
) -> Result<(), UserRolesError> {
    let api = Api::<ClusterRole>::all(client.clone());
    let rgd_name = rgd.name_any();
    let failed = |action: &'static str, name: &str| {
        let name = name.to_owned();
        move |source| UserRolesError::Api {
            action,
            name,
            source,
        }
    };
    for role in desired {
        let name = role.name_any();
        if let Some(existing) = api.get_opt(&name).await.map_err(failed("read", &name))?
            && existing.labels().get(RGD_NAME) != Some(&rgd_name)
        {
            return Err(UserRolesError::NotOurs {
                name,
                rgd: rgd_name,
            });
        }
        api.patch(
            &name,
            &PatchParams::apply(field_managers::OPERATOR).force(),
            &Patch::Apply(role),
        )
        .await
        .map_err(failed("apply", &name))?;
    }
    let selector = format!("{RGD_NAME}={rgd_name},{USER_ROLE}");
    let listed = api
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(failed("list", &selector))?;
    let uid = rgd.metadata.uid.as_deref().unwrap_or_default();
    for stale in listed.items.iter().filter(|role| {
        !desired
            .iter()
            .any(|d| d.metadata.name == role.metadata.name)
            && role.owner_references().iter().any(|owner| owner.uid == uid)
    }) {
        let name = stale.name_any();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => tracing::info!(rgd = %rgd_name, role = %name, "stale user role deleted"),
            Err(kube::Error::Api(status)) if status.is_not_found() => {}
            Err(e) => return Err(failed("delete", &name)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_schema::kinds::Gvk;
    use serde_json::json;

    #[test]
    fn edit_joins_admin_and_edit_view_joins_view_owned_by_the_rgd() {
        let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
            "metadata": { "name": "webapp", "uid": "uid-1" },
            "spec": { "schema": { "apiVersion": "v1alpha1", "kind": "WebApp" } }
        }))
        .expect("an RGD");
        let instances =
            ResourceType::new(Gvk::new("kro.run", "v1alpha1", "WebApp"), "webapps", true);
        let roles = serde_json::to_value(desired(&rgd, &instances)).expect("encodes");
        let owner = json!([{
            "apiVersion": "kro.run/v1alpha1",
            "kind": "ResourceGraphDefinition",
            "name": "webapp",
            "uid": "uid-1",
        }]);
        assert_eq!(
            roles,
            json!([
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {
                        "name": "kro:instances:webapps.kro.run:edit",
                        "labels": {
                            "kro.run/resource-graph-definition-name": "webapp",
                            "kro.run/user-role": "edit",
                            "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                            "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                        },
                        "ownerReferences": owner,
                    },
                    "rules": [{
                        "apiGroups": ["kro.run"],
                        "resources": ["webapps"],
                        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
                    }],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {
                        "name": "kro:instances:webapps.kro.run:view",
                        "labels": {
                            "kro.run/resource-graph-definition-name": "webapp",
                            "kro.run/user-role": "view",
                            "rbac.authorization.k8s.io/aggregate-to-view": "true",
                        },
                        "ownerReferences": owner,
                    },
                    "rules": [{
                        "apiGroups": ["kro.run"],
                        "resources": ["webapps"],
                        "verbs": ["get", "list", "watch"],
                    }],
                },
            ])
        );
    }
}
