//! Least privilege for RGDs: before a graph is served, the operator asks
//! the API server whether it may do what the graph needs ([`required`],
//! [`review`]): an RGD naming a kind the operator may not touch is not
//! served, and its `ControllerReady` condition names the kind, the missing
//! verbs and how to grant them, instead of instances failing half-way
//! with `Forbidden`. With `--instance-user-roles`, it then writes the
//! RGD's roles for people ([`user_roles`]).
//!
//! Reviews cost requests, so a graph that passed is not reviewed again
//! until its RGD's generation changes (or the operator restarts). A graph
//! refused is reviewed again every ten progress delays (30 s by default):
//! granting rights does not change the RGD, so nothing else would bring it
//! back. Until then, the kind stays served by the last graph that passed,
//! if any, as with an invalid graph.

pub mod required;
pub mod review;
pub mod user_roles;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use kro_graph::api::{ConditionSet, ResourceGraphDefinition};
use kro_graph::builder::Graph;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};

use super::RgdConfig;
use super::status::CONTROLLER_READY;
use crate::locks::lock;
use review::Missing;

/// Where docs/operator.md says how to grant the operator more.
const HOW_TO_GRANT: &str = "grant them with a ClusterRole labelled \
     rbac.kro.run/aggregate-to-controller: \"true\", or with the chart's rbac.resources \
     (docs/operator.md#rbac)";

/// How many progress delays pass before a refused graph is reviewed again.
const RECHECK_DELAYS: u32 = 10;

/// The reviews and roles of every RGD.
pub struct Privilege {
    client: Client,
    /// `--instance-user-roles`: write the per-RGD roles for people.
    user_roles: bool,
    /// `--rgd-progress-requeue-delay`.
    progress_delay: Duration,
    /// RGD name → the (uid, generation) whose graph passed and whose roles
    /// were written. Never held across an `.await`.
    passed: Mutex<BTreeMap<String, (String, i64)>>,
}

impl Privilege {
    /// Checks made with `client`'s identity.
    pub fn new(client: Client, config: &RgdConfig) -> Self {
        Self {
            client,
            user_roles: config.instance_user_roles,
            progress_delay: config.progress_delay,
            passed: Mutex::default(),
        }
    }

    /// Checks that the operator may serve `graph` for `rgd`, and writes the
    /// RGD's roles for people. `None`: go on and serve it. Otherwise
    /// `ControllerReady` is False with the reason, and the action says when
    /// to look again.
    pub async fn refuse_unpermitted(
        &self,
        rgd: &ResourceGraphDefinition,
        graph: &Graph,
        set: &mut ConditionSet<'_>,
        now: &str,
    ) -> Option<Action> {
        let name = rgd.name_any();
        let version = (
            rgd.metadata.uid.clone().unwrap_or_default(),
            rgd.metadata.generation.unwrap_or_default(),
        );
        if lock(&self.passed).get(&name) == Some(&version) {
            return None;
        }
        let required = required::required(graph, self.user_roles);
        let refusal = match review::missing(&self.client, &required).await {
            Err(e) => Some((
                "AccessReviewFailed",
                format!("cannot ask the API server what the operator may do: {e}"),
                self.progress_delay,
            )),
            Ok(missing) if !missing.is_empty() => Some((
                "MissingPermissions",
                missing_message(&missing),
                self.progress_delay * RECHECK_DELAYS,
            )),
            Ok(_) if self.user_roles => {
                let roles = user_roles::desired(rgd, &graph.instance_type);
                user_roles::write(&self.client, rgd, &roles)
                    .await
                    .err()
                    .map(|e| ("UserRolesFailed", e.to_string(), self.progress_delay))
            }
            Ok(_) => None,
        };
        match refusal {
            None => {
                lock(&self.passed).insert(name, version);
                None
            }
            Some((reason, message, recheck)) => {
                tracing::info!(rgd = %name, "not served: {message}");
                set.set_false(CONTROLLER_READY, reason, &message, now);
                Some(Action::requeue(recheck))
            }
        }
    }
}

/// The condition message of a refused graph: each kind and its missing
/// verbs, then how to grant them.
fn missing_message(missing: &[Missing]) -> String {
    let each: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "the operator {}; {HOW_TO_GRANT}. Instances are served by the last graph that passed, if any",
        each.join("; it ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use required::{Target, Verb};

    #[test]
    fn the_message_names_each_kind_its_verbs_and_the_way_to_grant_them() {
        let target = |resource: &str, kind: &str, namespace: Option<&str>| Target {
            group: String::new(),
            resource: resource.to_owned(),
            subresource: String::new(),
            kind: kind.to_owned(),
            namespaced: true,
            namespace: namespace.map(str::to_owned),
        };
        let message = missing_message(&[
            Missing {
                target: target("secrets", "Secret", None),
                verbs: [Verb::List, Verb::Watch].into_iter().collect(),
            },
            Missing {
                target: target("secrets", "Secret", Some("vault")),
                verbs: [Verb::Get, Verb::Create].into_iter().collect(),
            },
        ]);
        assert_eq!(
            message,
            "the operator may not list, watch secrets (kind Secret) in every namespace; \
             it may not get, create secrets (kind Secret) in namespace \"vault\"; grant them \
             with a ClusterRole labelled rbac.kro.run/aggregate-to-controller: \"true\", or \
             with the chart's rbac.resources (docs/operator.md#rbac). Instances are served by \
             the last graph that passed, if any"
        );
    }
}
