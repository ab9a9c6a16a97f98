//! The install manifests under `deploy/` (rendered from the Helm chart by
//! `cargo xtask manifests`), read as documents, and the operator's RBAC
//! from them installed as a test's own, so that a test can run an
//! operator with exactly the rights an install gives it.

use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{Scope, pinned_kind};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::cluster::workspace_root;

/// The default install manifest (least privilege, `rbac.mode=aggregation`).
pub const DEFAULT_MANIFEST: &str = "deploy/kro.yaml";
/// The manifest with `rbac.mode=unrestricted`.
pub const UNRESTRICTED_MANIFEST: &str = "deploy/kro-unrestricted.yaml";
/// The label that aggregates ClusterRoles into the operator's.
pub const AGGREGATE_LABEL: &str = "rbac.kro.run/aggregate-to-controller";

/// The YAML documents of a file under the workspace root.
///
/// # Panics
///
/// If it cannot be read or parsed.
pub fn documents(file: &str) -> Vec<Value> {
    let path = workspace_root().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("parse {file}: {e}"))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

/// A document's `apiVersion` and `kind`.
///
/// # Panics
///
/// If it has none.
pub fn kind_of(document: &Value) -> (&str, &str) {
    let text = |field: &str| {
        document[field]
            .as_str()
            .unwrap_or_else(|| panic!("a document without {field}: {document}"))
    };
    (text("apiVersion"), text("kind"))
}

/// A document's name.
///
/// # Panics
///
/// If it has none.
pub fn name_of(document: &Value) -> &str {
    document["metadata"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("a document without a name: {document}"))
}

/// The API resource of a document's kind, and whether it is namespaced.
///
/// # Panics
///
/// If the kind is not served.
pub async fn discover(client: &Client, document: &Value) -> (ApiResource, Scope) {
    let (api_version, kind) = kind_of(document);
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, capabilities) =
        pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .unwrap_or_else(|e| panic!("{api_version} {kind} is not served: {e}"));
    (resource, capabilities.scope)
}

/// Server-side applies `document` for real, in its own namespace if it
/// names one.
///
/// # Panics
///
/// If the API server refuses it.
pub async fn apply(client: &Client, document: &Value) {
    let (resource, scope) = discover(client, document).await;
    let kind = kind_of(document).1;
    let api: Api<DynamicObject> = match (scope, document["metadata"]["namespace"].as_str()) {
        (Scope::Namespaced, Some(namespace)) => {
            Api::namespaced_with(client.clone(), namespace, &resource)
        }
        _ => Api::all_with(client.clone(), &resource),
    };
    let name = name_of(document);
    api.patch(
        name,
        &PatchParams::apply("kro-test").force(),
        &Patch::Apply(document),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

/// The operator's RBAC from an install manifest, made one test's own:
/// cluster-scoped names get the namespace as suffix, namespaced objects and
/// subjects move to the namespace, and the aggregation label becomes one
/// that only this test uses (so the test's roles aggregate only into the
/// test's ClusterRole). The roles for people are left out.
pub struct OperatorRbac {
    documents: Vec<Value>,
    user: String,
    aggregate_label: String,
}

impl OperatorRbac {
    /// The RBAC of `manifest` for an operator whose ServiceAccount is
    /// `kro` in `namespace`.
    pub fn of(manifest: &str, namespace: &str) -> Self {
        let test_label = format!("kro.run/test-aggregate-{namespace}");
        let relabel = |labels: &mut Value| {
            if let Some(labels) = labels.as_object_mut()
                && labels.remove(AGGREGATE_LABEL).is_some()
            {
                labels.insert(test_label.clone(), json!("true"));
            }
        };
        let documents = documents(manifest)
            .into_iter()
            .filter(|document| match kind_of(document).1 {
                "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRoleBinding" => true,
                "ClusterRole" => !is_for_people(document),
                _ => false,
            })
            .map(|mut document| {
                if kind_of(&document).1.starts_with("Cluster") {
                    let name = format!("{}-{namespace}", name_of(&document));
                    document["metadata"]["name"] = json!(name);
                } else {
                    document["metadata"]["namespace"] = json!(namespace);
                }
                if kind_of(&document).1 == "ClusterRoleBinding" {
                    let role = format!(
                        "{}-{namespace}",
                        document["roleRef"]["name"]
                            .as_str()
                            .expect("a binding names its role")
                    );
                    document["roleRef"]["name"] = json!(role);
                }
                // (`pointer_mut`, not indexing: indexing would add missing
                // fields as nulls.)
                if let Some(subjects) = document
                    .pointer_mut("/subjects")
                    .and_then(Value::as_array_mut)
                {
                    for subject in subjects {
                        subject["namespace"] = json!(namespace);
                    }
                }
                if let Some(labels) = document.pointer_mut("/metadata/labels") {
                    relabel(labels);
                }
                if let Some(selectors) = document
                    .pointer_mut("/aggregationRule/clusterRoleSelectors")
                    .and_then(Value::as_array_mut)
                {
                    for selector in selectors {
                        relabel(&mut selector["matchLabels"]);
                    }
                }
                document
            })
            .collect();
        Self {
            documents,
            user: format!("system:serviceaccount:{namespace}:kro"),
            aggregate_label: test_label,
        }
    }

    /// The documents, as they are installed.
    pub fn documents(&self) -> &[Value] {
        &self.documents
    }

    /// The operator's user name (its ServiceAccount's).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The label that stands for [`AGGREGATE_LABEL`] here: a ClusterRole
    /// with it widens this operator's rights.
    pub fn aggregate_label(&self) -> &str {
        &self.aggregate_label
    }

    /// Applies every document.
    pub async fn install(&self, client: &Client) {
        for document in &self.documents {
            apply(client, document).await;
        }
    }

    /// Deletes the cluster-scoped objects (the namespaced ones go with the
    /// test's namespace).
    pub async fn remove(&self, client: &Client) {
        for document in self
            .documents
            .iter()
            .filter(|document| kind_of(document).1.starts_with("Cluster"))
        {
            let (resource, _) = discover(client, document).await;
            let _ = Api::<DynamicObject>::all_with(client.clone(), &resource)
                .delete(name_of(document), &DeleteParams::default())
                .await;
        }
    }
}

/// Whether a ClusterRole is one of the chart's roles for people (aggregated
/// into the built-in `admin`, `edit` or `view`).
pub fn is_for_people(document: &Value) -> bool {
    document["metadata"]["labels"]
        .as_object()
        .is_some_and(|labels| {
            labels
                .keys()
                .any(|key| key.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        })
}
