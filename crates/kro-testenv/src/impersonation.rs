//! Acting as someone else: the admin kubeconfig with an impersonated user,
//! for tests of what RBAC lets that user (or an operator running as it) do;
//! and asking the API server what a user may do.

use std::path::PathBuf;

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::kubeconfig_path;

/// The control plane's kubeconfig, acting as `user` (and, when given, the
/// groups; without them the API server adds `system:authenticated`, and
/// `system:serviceaccounts` for a ServiceAccount's name).
fn kubeconfig_as(user: &str, groups: &[&str]) -> Kubeconfig {
    let path = kubeconfig_path();
    let mut kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("read kubeconfig {}: {e}", path.display()));
    for named in &mut kubeconfig.auth_infos {
        if let Some(auth_info) = named.auth_info.as_mut() {
            auth_info.impersonate = Some(user.to_owned());
            auth_info.impersonate_groups =
                (!groups.is_empty()).then(|| groups.iter().map(|g| (*g).to_owned()).collect());
        }
    }
    kubeconfig
}

/// A client acting as `user` in `groups`.
///
/// # Panics
///
/// If the kubeconfig cannot be read or used.
pub async fn client_as(user: &str, groups: &[&str]) -> Client {
    let config =
        Config::from_custom_kubeconfig(kubeconfig_as(user, groups), &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("load the kubeconfig as {user}: {e}"));
    Client::try_from(config).unwrap_or_else(|e| panic!("create a client as {user}: {e}"))
}

/// A kubeconfig file acting as `user`, for a process (such as an
/// in-process operator) that reads one; named after `tag`, unique per
/// test. Remove it when done.
///
/// # Panics
///
/// If the file cannot be written.
pub fn kubeconfig_file_as(user: &str, tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("kro-{tag}.kubeconfig"));
    let text = serde_json::to_string(&kubeconfig_as(user, &[])).expect("a kubeconfig serialises");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Whether `user` (a ServiceAccount's name or another user's, in the groups
/// every ServiceAccount is in) may `verb` the `resource` of `group`, in
/// `namespace` or (`None`) across the cluster, as the API server's
/// authorizer answers now.
///
/// # Panics
///
/// If the review cannot be created.
pub async fn allowed(
    client: &Client,
    user: &str,
    (verb, group, resource, namespace): (&str, &str, &str, Option<&str>),
) -> bool {
    let review: SubjectAccessReview = serde_json::from_value(serde_json::json!({
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {
                "verb": verb, "group": group, "resource": resource, "namespace": namespace,
            },
        },
    }))
    .expect("a review literal");
    let answer = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("create a SubjectAccessReview");
    answer.status.is_some_and(|status| status.allowed)
}
