//! The labels, annotations and finalizer kro stamps on RGDs, instances and
//! their children, and who an instance is (what its children's labels and
//! its ApplySet id derive from).
//!
//! They sit with the API types, not in the runtime, because both
//! controllers use them: the RGD controller labels instance CRDs and puts
//! the finalizer on RGDs, the runtime labels instances and children. How
//! the ApplySet inventory is computed is the runtime's business
//! (`kro_runtime`'s `reconcile::applyset`); only the names live here.
//!
//! They are an interface: upstream kro, `kubectl` (ApplySet) and people's
//! own selectors rely on them, and objects created by one kro version must
//! be recognised by the next. The ApplySet ones follow the Kubernetes
//! ApplySet specification (KEP-3659): the instance is the ApplySet parent,
//! every child carries `applyset.kubernetes.io/part-of` with the parent's
//! id, and the parent lists the group-kinds and namespaces its children
//! live in so that pruning and deletion know where to look.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `kro.run/owned`: "true" on everything kro manages.
pub const OWNED: &str = "kro.run/owned";
/// `kro.run/kro-version`: the version that last wrote the object.
pub const KRO_VERSION: &str = "kro.run/kro-version";
/// On instances: the UID of their RGD.
pub const RGD_ID: &str = "kro.run/resource-graph-definition-id";
/// On instances: the name of their RGD.
pub const RGD_NAME: &str = "kro.run/resource-graph-definition-name";
/// On children: the UID of their instance.
pub const INSTANCE_ID: &str = "kro.run/instance-id";
/// On children: the name of their instance.
pub const INSTANCE_NAME: &str = "kro.run/instance-name";
/// On children of namespaced instances: the instance's namespace.
pub const INSTANCE_NAMESPACE: &str = "kro.run/instance-namespace";
/// On children: the instance kind's group.
pub const INSTANCE_GROUP: &str = "kro.run/instance-group";
/// On children: the instance kind's version.
pub const INSTANCE_VERSION: &str = "kro.run/instance-version";
/// On children: the instance kind.
pub const INSTANCE_KIND: &str = "kro.run/instance-kind";
/// On children: the id of the RGD resource that rendered them.
pub const NODE_ID: &str = "kro.run/node-id";
/// On collection items: their position in the collection.
pub const COLLECTION_INDEX: &str = "kro.run/collection-index";
/// On collection items: the collection's size.
pub const COLLECTION_SIZE: &str = "kro.run/collection-size";
/// `app.kubernetes.io/managed-by`: "kro" on children.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// On children: the deletion wave (higher waves are deleted first).
pub const APPLY_ORDER: &str = "internal.kro.run/apply-order";
/// On children: a hash of the body kro last applied, so that an unchanged
/// body is not applied again (see `reconcile::unchanged`).
pub const APPLIED_HASH: &str = "internal.kro.run/applied-hash";
/// On instances: a hash of the set of children the last complete prune
/// left, so that a pass rendering the same set skips the pruning lists.
pub const APPLIED_SET_HASH: &str = "internal.kro.run/applied-set-hash";
/// The annotation that suspends reconciliation when set to `suspended`.
pub const RECONCILE: &str = "kro.run/reconcile";
/// The finalizer kro puts on instances (and RGDs).
pub const FINALIZER: &str = "kro.run/finalizer";

/// The prefix of the lifecycle annotations an RGD author puts on a
/// template. They are applied with the object and stay on it, so that
/// pruning and instance deletion, which work from the live members, read
/// them there. Upstream kro applies them as plain annotations (it reserves
/// only `kro.run/` and `internal.kro.run/`), so an RGD using them runs
/// unchanged there, without the policies.
pub const LIFECYCLE_PREFIX: &str = "lifecycle.kro.run/";
/// Whether kro may take over an existing object that belongs to no
/// ApplySet: `never` (the default) or `adopt` (see
/// [`crate::api::AdoptionPolicy`]).
pub const ADOPTION_POLICY: &str = "lifecycle.kro.run/adoption-policy";
/// What pruning and instance deletion do with the object: `delete` (the
/// default), `orphan` or `retain` (see [`crate::api::DeletionPolicy`]).
pub const DELETION_POLICY: &str = "lifecycle.kro.run/deletion-policy";

/// Every label kro puts on a child ([`InstanceIdentity::child_labels`] and
/// [`collection_item_labels`]): releasing a child removes them all, so
/// that no kro instance finds it as a member again.
pub const CHILD_LABELS: [&str; 13] = [
    OWNED,
    KRO_VERSION,
    INSTANCE_ID,
    INSTANCE_NAME,
    INSTANCE_NAMESPACE,
    INSTANCE_GROUP,
    INSTANCE_VERSION,
    INSTANCE_KIND,
    MANAGED_BY,
    NODE_ID,
    COLLECTION_INDEX,
    COLLECTION_SIZE,
    APPLYSET_PART_OF,
];

/// kro's own annotations on a child, removed with its labels when it is
/// released (the lifecycle annotations are the RGD author's and stay).
pub const CHILD_ANNOTATIONS: [&str; 2] = [APPLY_ORDER, APPLIED_HASH];

/// ApplySet: the parent's id label.
pub const APPLYSET_ID: &str = "applyset.kubernetes.io/id";
/// ApplySet: the child's membership label.
pub const APPLYSET_PART_OF: &str = "applyset.kubernetes.io/part-of";
/// ApplySet: which tool manages the set.
pub const APPLYSET_TOOLING: &str = "applyset.kubernetes.io/tooling";
/// ApplySet: the group-kinds of the members, `Kind.group` (core: `Kind`).
pub const APPLYSET_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// ApplySet: namespaces of members other than the parent's.
pub const APPLYSET_ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
/// A checksum of the inventory annotations, to detect hand edits.
pub const APPLYSET_INVENTORY_HASH: &str = "internal.kro.run/applyset-inventory-hash";

/// The version written into labels: label values may not contain `+`.
pub fn version_label() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION")).replace('+', "-")
}

/// `kro/<version>`, the ApplySet tooling value.
pub fn tooling() -> String {
    format!("kro/v{}", env!("CARGO_PKG_VERSION"))
}

/// Who an instance is: what its children's labels and the ApplySet id are
/// derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIdentity {
    /// Instance name.
    pub name: String,
    /// Instance namespace; `None` for cluster-scoped instance kinds.
    pub namespace: Option<String>,
    /// Instance UID.
    pub uid: String,
    /// Group of the instance kind.
    pub group: String,
    /// Version of the instance kind.
    pub version: String,
    /// The instance kind.
    pub kind: String,
}

impl InstanceIdentity {
    /// The ApplySet id: `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`.
    pub fn applyset_id(&self) -> String {
        let payload = format!(
            "{}.{}.{}.{}",
            self.name,
            self.namespace.as_deref().unwrap_or_default(),
            self.kind,
            self.group
        );
        format!(
            "applyset-{}-v1",
            URL_SAFE_NO_PAD.encode(Sha256::digest(payload.as_bytes()))
        )
    }

    /// The labels of the instance itself.
    pub fn instance_labels(&self, rgd_name: &str, rgd_uid: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (OWNED.to_owned(), "true".to_owned()),
            (KRO_VERSION.to_owned(), version_label()),
            (RGD_ID.to_owned(), rgd_uid.to_owned()),
            (RGD_NAME.to_owned(), rgd_name.to_owned()),
            (APPLYSET_ID.to_owned(), self.applyset_id()),
        ])
    }

    /// The labels of a child rendered by resource `node_id`.
    pub fn child_labels(&self, node_id: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (OWNED.to_owned(), "true".to_owned()),
            (KRO_VERSION.to_owned(), version_label()),
            (INSTANCE_ID.to_owned(), self.uid.clone()),
            (INSTANCE_NAME.to_owned(), self.name.clone()),
            (INSTANCE_GROUP.to_owned(), self.group.clone()),
            (INSTANCE_VERSION.to_owned(), self.version.clone()),
            (INSTANCE_KIND.to_owned(), self.kind.clone()),
            (MANAGED_BY.to_owned(), "kro".to_owned()),
            (NODE_ID.to_owned(), node_id.to_owned()),
            (APPLYSET_PART_OF.to_owned(), self.applyset_id()),
        ]);
        if let Some(namespace) = &self.namespace {
            labels.insert(INSTANCE_NAMESPACE.to_owned(), namespace.clone());
        }
        labels
    }
}

/// The extra labels of item `index` of a collection of `size` items.
pub fn collection_item_labels(index: usize, size: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        (COLLECTION_INDEX.to_owned(), index.to_string()),
        (COLLECTION_SIZE.to_owned(), size.to_string()),
    ])
}

/// A group and kind, written `Kind.group` (`Kind` for the core group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl std::fmt::Display for GroupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// Whether the `kro.run/reconcile` annotation suspends reconciliation:
/// `suspended` (or the older `disabled`), in any case.
pub fn is_suspended(annotation: Option<&str>) -> bool {
    annotation.is_some_and(|value| {
        value.eq_ignore_ascii_case("suspended") || value.eq_ignore_ascii_case("disabled")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(namespace: Option<&str>) -> InstanceIdentity {
        InstanceIdentity {
            name: "my-app".into(),
            namespace: namespace.map(str::to_owned),
            uid: "uid-1".into(),
            group: "kro.run".into(),
            version: "v1alpha1".into(),
            kind: "Application".into(),
        }
    }

    /// The id is the ApplySet specification's: base64url without padding
    /// of the SHA-256 of `name.namespace.kind.group`.
    #[test]
    fn applyset_id_follows_the_specification() {
        let expected = format!(
            "applyset-{}-v1",
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"my-app.default.Application.kro.run"))
        );
        assert_eq!(identity(Some("default")).applyset_id(), expected);
        assert_ne!(
            identity(None).applyset_id(),
            expected,
            "cluster-scoped: empty namespace part"
        );
        let id = identity(Some("default")).applyset_id();
        assert!(
            id.len() == "applyset-".len() + 43 + "-v1".len() && !id.contains('='),
            "{id}"
        );
    }

    #[test]
    fn child_labels_name_the_instance_and_node() {
        let labels = identity(Some("team-a")).child_labels("deployment");
        assert_eq!(labels[NODE_ID], "deployment");
        assert_eq!(labels[INSTANCE_NAMESPACE], "team-a");
        assert_eq!(labels[MANAGED_BY], "kro");
        assert_eq!(
            labels[APPLYSET_PART_OF],
            identity(Some("team-a")).applyset_id()
        );
        assert!(
            !identity(None)
                .child_labels("x")
                .contains_key(INSTANCE_NAMESPACE)
        );
        assert!(!version_label().contains('+'));
    }

    #[test]
    fn releasing_removes_every_label_kro_puts_on_a_child() {
        let mut labels = identity(Some("team-a")).child_labels("x");
        labels.extend(collection_item_labels(0, 1));
        for key in labels.keys() {
            assert!(CHILD_LABELS.contains(&key.as_str()), "{key}");
        }
        assert_eq!(labels.len(), CHILD_LABELS.len());
    }

    #[test]
    fn suspension_annotation() {
        assert!(is_suspended(Some("Suspended")));
        assert!(is_suspended(Some("disabled")));
        assert!(!is_suspended(Some("enabled")));
        assert!(!is_suspended(None));
    }
}
