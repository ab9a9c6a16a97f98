//! What the operator must be allowed to do to serve an RGD's graph: for
//! each kind it names, the verbs, and where.
//!
//! The operator watches every kind it uses across the cluster (one watch
//! per kind, shared by every RGD), so `list` and `watch` are needed in
//! every namespace. The other verbs are needed in the namespace a
//! template names when it is a literal; otherwise (the instance's
//! namespace, or an expression) in any namespace an instance may name,
//! so in every namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kro_graph::builder::Graph;
use kro_graph::builder::structure::NodeKind;
use kro_schema::kinds::ResourceType;
use serde_json::Value;

/// A verb of the Kubernetes API, in the order messages list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// Read one object.
    Get,
    /// Read many.
    List,
    /// Follow changes.
    Watch,
    /// Create an object (a server-side apply of an absent object creates it).
    Create,
    /// Replace an object.
    Update,
    /// Patch (and server-side apply) an object.
    Patch,
    /// Delete an object.
    Delete,
    /// Delete many at once.
    DeleteCollection,
}

impl Verb {
    /// The verb as RBAC writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Watch => "watch",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::DeleteCollection => "deletecollection",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a template's objects need: reads, and the writes of creating,
/// updating (server-side apply) and deleting them.
const WRITTEN: [Verb; 4] = [Verb::Get, Verb::Create, Verb::Patch, Verb::Delete];
/// What the shared watch of a kind needs, in every namespace.
const WATCHED: [Verb; 2] = [Verb::List, Verb::Watch];
/// What the instance controller does to instances: read, add and remove
/// its finalizer and labels.
const INSTANCE: [Verb; 4] = [Verb::Get, Verb::List, Verb::Watch, Verb::Patch];
/// What the per-RGD `edit` role grants on instances; the API server lets
/// the operator grant only what it holds.
pub const INSTANCE_EDIT: [Verb; 8] = [
    Verb::Get,
    Verb::List,
    Verb::Watch,
    Verb::Create,
    Verb::Update,
    Verb::Patch,
    Verb::Delete,
    Verb::DeleteCollection,
];
/// What the per-RGD `view` role grants on instances.
pub const INSTANCE_VIEW: [Verb; 3] = [Verb::Get, Verb::List, Verb::Watch];
/// What writing the per-RGD roles takes: server-side apply (patch, and
/// create the first time), and listing and deleting stale ones.
const ROLES: [Verb; 4] = [Verb::List, Verb::Create, Verb::Patch, Verb::Delete];

/// A resource (or subresource) of one kind, in one namespace or in all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// The API group (`""` for the core group).
    pub group: String,
    /// The resource, as in URLs (`deployments`).
    pub resource: String,
    /// `status`, or empty for the object itself.
    pub subresource: String,
    /// The kind, for messages.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The one namespace, or `None`: every namespace (or no namespace, for
    /// a cluster-scoped kind).
    pub namespace: Option<String>,
}

impl Target {
    fn of(resource: &ResourceType, namespace: Option<String>) -> Self {
        Self {
            group: resource.gvk.group.clone(),
            resource: resource.plural.clone(),
            subresource: String::new(),
            kind: resource.gvk.kind.clone(),
            namespaced: resource.namespaced,
            namespace: namespace.filter(|_| resource.namespaced),
        }
    }

    /// The `status` subresource of `self`.
    fn status(&self) -> Self {
        Self {
            subresource: "status".to_owned(),
            ..self.clone()
        }
    }

    /// `resource.group[/subresource]`, as RBAC rules and kubectl name it.
    pub fn resource_name(&self) -> String {
        let mut name = self.resource.clone();
        if !self.group.is_empty() {
            name = format!("{name}.{}", self.group);
        }
        if !self.subresource.is_empty() {
            name = format!("{name}/{}", self.subresource);
        }
        name
    }
}

/// `deployments.apps (kind Deployment) in namespace "web"`.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (kind {})", self.resource_name(), self.kind)?;
        match (&self.namespace, self.namespaced) {
            (Some(namespace), _) => write!(f, " in namespace {namespace:?}"),
            (None, true) => write!(f, " in every namespace"),
            (None, false) => Ok(()),
        }
    }
}

/// The verbs needed on each target, in a stable order.
pub type Required = BTreeMap<Target, BTreeSet<Verb>>;

/// What serving `graph` takes; with `user_roles`, writing its instance
/// kind's roles for people too.
pub fn required(graph: &Graph, user_roles: bool) -> Required {
    let mut required = Required::new();
    let mut need = |target: Target, verbs: &[Verb]| {
        required.entry(target).or_default().extend(verbs);
    };
    for resource in &graph.resources {
        let kind = resource.resource_type();
        let namespace = literal_namespace(&resource.structure.object);
        need(Target::of(kind, None), &WATCHED);
        match resource.structure.kind {
            NodeKind::Resource | NodeKind::Collection => {
                need(Target::of(kind, namespace), &WRITTEN);
            }
            NodeKind::External => need(Target::of(kind, namespace), &[Verb::Get]),
            NodeKind::ExternalCollection => {}
        }
    }
    let instances = Target::of(&graph.instance_type, None);
    need(instances.status(), &[Verb::Patch]);
    need(
        instances,
        if user_roles {
            &INSTANCE_EDIT
        } else {
            &INSTANCE
        },
    );
    if user_roles {
        need(cluster_roles(), &ROLES);
    }
    required
}

/// ClusterRoles, for the per-RGD roles.
fn cluster_roles() -> Target {
    Target {
        group: "rbac.authorization.k8s.io".to_owned(),
        resource: "clusterroles".to_owned(),
        subresource: String::new(),
        kind: "ClusterRole".to_owned(),
        namespaced: false,
        namespace: None,
    }
}

/// The namespace a template (or externalRef) names, when it is written out
/// rather than computed.
fn literal_namespace(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|namespace| !namespace.is_empty() && !namespace.contains("${"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use kro_graph::api::ResourceGraphDefinition;
    use kro_graph::builder::{BuildOptions, Builder};
    use kro_graph::resolver::BuiltinSchemas;
    use serde_json::json;

    fn graph(resources: Value) -> Graph {
        let rgd: ResourceGraphDefinition = serde_json::from_value(json!({
            "metadata": { "name": "web" },
            "spec": {
                "schema": {
                    "apiVersion": "v1alpha1",
                    "kind": "Web",
                    "spec": { "name": "string" },
                },
                "resources": resources,
            }
        }))
        .expect("a valid RGD");
        Builder::new(
            Arc::new(BuiltinSchemas::new()),
            kro_cel::Env::kro(),
            BuildOptions::default(),
        )
        .build(&rgd)
        .expect("builds")
    }

    fn verbs(required: &Required, resource: &str, namespace: Option<&str>) -> Vec<&'static str> {
        required
            .iter()
            .find(|(t, _)| t.resource_name() == resource && t.namespace.as_deref() == namespace)
            .map(|(_, verbs)| verbs.iter().map(|v| v.as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn templates_need_writes_where_they_live_and_watches_everywhere() {
        let graph = graph(json!([
            {
                "id": "config",
                "template": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": "${schema.spec.name}", "namespace": "shared" },
                }
            },
            {
                "id": "deployment",
                "template": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": "${schema.spec.name}" },
                    "spec": {
                        "selector": { "matchLabels": { "app": "web" } },
                        "template": {
                            "metadata": { "labels": { "app": "web" } },
                            "spec": { "containers": [{ "name": "web", "image": "nginx" }] },
                        },
                    },
                }
            },
            {
                "id": "secret",
                "externalRef": {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": { "name": "token", "namespace": "${schema.metadata.namespace}" },
                }
            },
        ]));
        let required = required(&graph, false);
        assert_eq!(verbs(&required, "configmaps", None), ["list", "watch"]);
        assert_eq!(
            verbs(&required, "configmaps", Some("shared")),
            ["get", "create", "patch", "delete"]
        );
        assert_eq!(
            verbs(&required, "deployments.apps", None),
            ["get", "list", "watch", "create", "patch", "delete"]
        );
        assert_eq!(verbs(&required, "secrets", None), ["get", "list", "watch"]);
        assert_eq!(
            verbs(&required, "webs.kro.run", None),
            ["get", "list", "watch", "patch"]
        );
        assert_eq!(verbs(&required, "webs.kro.run/status", None), ["patch"]);
        assert!(verbs(&required, "clusterroles.rbac.authorization.k8s.io", None).is_empty());
    }

    #[test]
    fn user_roles_need_what_they_grant_and_clusterroles() {
        let graph = graph(json!([]));
        let required = required(&graph, true);
        assert_eq!(
            verbs(&required, "webs.kro.run", None),
            [
                "get",
                "list",
                "watch",
                "create",
                "update",
                "patch",
                "delete",
                "deletecollection"
            ]
        );
        assert_eq!(
            verbs(&required, "clusterroles.rbac.authorization.k8s.io", None),
            ["list", "create", "patch", "delete"]
        );
    }

    #[test]
    fn targets_read_as_kubectl_names_them() {
        let config_maps = ResourceType::new(
            kro_schema::kinds::Gvk::new("", "v1", "ConfigMap"),
            "configmaps",
            true,
        );
        assert_eq!(
            Target::of(&config_maps, Some("web".to_owned())).to_string(),
            "configmaps (kind ConfigMap) in namespace \"web\""
        );
        assert_eq!(
            Target::of(&config_maps, None).to_string(),
            "configmaps (kind ConfigMap) in every namespace"
        );
        assert_eq!(
            cluster_roles().to_string(),
            "clusterroles.rbac.authorization.k8s.io (kind ClusterRole)"
        );
    }
}
