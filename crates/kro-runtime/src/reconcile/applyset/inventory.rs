//! The inventory on the instance: read back (and checked, since anyone can
//! edit annotations), and written with the rest of kro's metadata.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kro_graph::api::metadata::{
    self, APPLYSET_ADDITIONAL_NAMESPACES, APPLYSET_GROUP_KINDS, APPLYSET_INVENTORY_HASH,
    APPLYSET_TOOLING, GroupKind, tooling,
};
use sha2::{Digest, Sha256};

use crate::cluster::Cluster;
use crate::reconcile::outcome::ReconcileError;
use crate::reconcile::pass::Pass;
use crate::reconcile::walk::NodeRun;

/// The ApplySet inventory of an instance: the group-kinds and namespaces of
/// its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(in crate::reconcile) struct Inventory {
    pub group_kinds: BTreeSet<GroupKind>,
    pub namespaces: BTreeSet<String>,
}

impl Inventory {
    /// The kinds and namespaces of everything rendered in this pass.
    fn rendered(nodes: &[NodeRun]) -> Self {
        let mut inventory = Inventory::default();
        for desired in nodes.iter().flat_map(|n| &n.desired) {
            inventory.group_kinds.insert(GroupKind {
                group: desired.key.resource.gvk.group.clone(),
                kind: desired.key.resource.gvk.kind.clone(),
            });
            if let Some(namespace) = &desired.key.namespace {
                inventory.namespaces.insert(namespace.clone());
            }
        }
        inventory
    }

    fn union(&self, other: &Inventory) -> Self {
        Inventory {
            group_kinds: &self.group_kinds | &other.group_kinds,
            namespaces: &self.namespaces | &other.namespaces,
        }
    }
}

/// The inventories of one apply pass.
pub(in crate::reconcile) struct Inventories {
    /// As recorded on the instance before the pass (empty when unusable).
    pub(super) recorded: Inventory,
    /// What this pass renders: the inventory once pruning is complete.
    pub(super) rendered: Inventory,
    /// Both: recorded before anything is applied, and where pruning looks.
    pub(super) projected: Inventory,
}

/// The inventory recorded in the instance's annotations; `None` when the
/// instance was never managed, `Err` when it was edited into something
/// unusable.
pub(in crate::reconcile) fn recorded_inventory<C: Cluster>(
    pass: &Pass<'_, C>,
) -> Result<Option<Inventory>, String> {
    let annotations = &pass.instance["metadata"]["annotations"];
    let id_label = &pass.instance["metadata"]["labels"][metadata::APPLYSET_ID];
    let Some(tooling) = annotations[APPLYSET_TOOLING].as_str() else {
        let partial = [
            APPLYSET_GROUP_KINDS,
            APPLYSET_ADDITIONAL_NAMESPACES,
            APPLYSET_INVENTORY_HASH,
        ]
        .iter()
        .any(|key| !annotations[*key].is_null())
            || !id_label.is_null();
        if partial {
            return Err("the ApplySet tooling annotation is missing".to_owned());
        }
        return Ok(None);
    };
    if !tooling.starts_with("kro/") {
        return Err(format!("the ApplySet tooling is {tooling:?}, not kro's"));
    }
    if id_label.as_str() != Some(pass.identity.applyset_id().as_str()) {
        return Err("the ApplySet id label does not match the instance".to_owned());
    }
    let kinds = annotations[APPLYSET_GROUP_KINDS]
        .as_str()
        .ok_or("the ApplySet group-kinds annotation is missing")?;
    let namespaces = annotations[APPLYSET_ADDITIONAL_NAMESPACES]
        .as_str()
        .unwrap_or_default();
    let inventory = Inventory {
        group_kinds: split(kinds).map(parse_group_kind).collect(),
        namespaces: split(namespaces).map(str::to_owned).collect(),
    };
    if let Some(hash) = annotations[APPLYSET_INVENTORY_HASH].as_str() {
        let expected = annotations_of(pass, &inventory);
        if expected.get(APPLYSET_INVENTORY_HASH).map(String::as_str) != Some(hash) {
            return Err("the ApplySet inventory hash does not match its annotations".to_owned());
        }
    }
    Ok(Some(inventory))
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_group_kind(text: &str) -> GroupKind {
    match text.split_once('.') {
        Some((kind, group)) => GroupKind {
            group: group.to_owned(),
            kind: kind.to_owned(),
        },
        None => GroupKind {
            group: String::new(),
            kind: text.to_owned(),
        },
    }
}

/// The inventory annotations of this instance's ApplySet.
pub(super) fn annotations_of<C: Cluster>(
    pass: &Pass<'_, C>,
    inventory: &Inventory,
) -> BTreeMap<String, String> {
    inventory_annotations(
        &pass.identity.applyset_id(),
        &inventory.group_kinds,
        &inventory.namespaces,
        pass.identity.namespace.as_deref(),
    )
}

/// The inventory annotations of an ApplySet parent: tooling, member
/// group-kinds, additional namespaces (the parent's own excluded) and their
/// checksum. Every list is sorted, so equal inventories are equal strings.
fn inventory_annotations(
    applyset_id: &str,
    group_kinds: &BTreeSet<GroupKind>,
    namespaces: &BTreeSet<String>,
    parent_namespace: Option<&str>,
) -> BTreeMap<String, String> {
    let mut kinds: Vec<String> = group_kinds.iter().map(ToString::to_string).collect();
    kinds.sort();
    let additional: Vec<&str> = namespaces
        .iter()
        .map(String::as_str)
        .filter(|namespace| Some(*namespace) != parent_namespace)
        .collect();
    let kinds = kinds.join(",");
    let additional = additional.join(",");
    let payload = [applyset_id, kinds.as_str(), additional.as_str()].join("\0");
    let hash = format!(
        "sha256:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(payload.as_bytes()))
    );
    BTreeMap::from([
        (APPLYSET_TOOLING.to_owned(), tooling()),
        (APPLYSET_GROUP_KINDS.to_owned(), kinds),
        (APPLYSET_ADDITIONAL_NAMESPACES.to_owned(), additional),
        (APPLYSET_INVENTORY_HASH.to_owned(), hash),
    ])
}

/// Makes sure the instance carries kro's finalizer, labels and an
/// inventory, writing them in one apply when any is missing. The inventory
/// comes with the finalizer so that deletion can always find the children
/// (there are none before it is written). An inventory edited into
/// something unusable is not overwritten: the children it names would be
/// forgotten. The problem is returned instead.
pub(in crate::reconcile) async fn ensure_managed<C: Cluster>(
    pass: &mut Pass<'_, C>,
) -> Result<Result<(), String>, ReconcileError> {
    match recorded_inventory(pass) {
        Ok(inventory) => {
            record(pass, &inventory.unwrap_or_default()).await?;
            Ok(Ok(()))
        }
        Err(problem) => Ok(Err(format!("invalid ApplySet inventory: {problem}"))),
    }
}

/// Writes `inventory`, and the hash of the children left by the last
/// complete prune, into the instance's metadata with the rest of what kro
/// keeps there.
pub(super) async fn record<C: Cluster>(
    pass: &mut Pass<'_, C>,
    inventory: &Inventory,
) -> Result<(), ReconcileError> {
    let mut annotations = annotations_of(pass, inventory);
    if let Some(hash) = &pass.applied_set {
        annotations.insert(metadata::APPLIED_SET_HASH.to_owned(), hash.clone());
    }
    pass.write_metadata(annotations).await
}

/// Widens the recorded inventory to every kind and namespace about to be
/// applied. This comes before the applies: a crash after them must not
/// hide new objects from pruning and deletion.
pub(in crate::reconcile) async fn widen<C: Cluster>(
    pass: &mut Pass<'_, C>,
    nodes: &[NodeRun],
) -> Result<Inventories, ReconcileError> {
    let recorded = recorded_inventory(pass).ok().flatten().unwrap_or_default();
    let rendered = Inventory::rendered(nodes);
    let projected = recorded.union(&rendered);
    record(pass, &projected).await?;
    Ok(Inventories {
        recorded,
        rendered,
        projected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_is_sorted_and_excludes_the_parent_namespace() {
        let kinds = BTreeSet::from([
            GroupKind {
                group: "apps".into(),
                kind: "Deployment".into(),
            },
            GroupKind {
                group: String::new(),
                kind: "Service".into(),
            },
            GroupKind {
                group: String::new(),
                kind: "ConfigMap".into(),
            },
        ]);
        let namespaces = BTreeSet::from(["default".to_owned(), "b".to_owned(), "a".to_owned()]);
        let annotations = inventory_annotations("id", &kinds, &namespaces, Some("default"));
        assert_eq!(
            annotations[APPLYSET_GROUP_KINDS],
            "ConfigMap,Deployment.apps,Service"
        );
        assert_eq!(annotations[APPLYSET_ADDITIONAL_NAMESPACES], "a,b");
        assert!(annotations[APPLYSET_INVENTORY_HASH].starts_with("sha256:"));
        assert!(annotations[APPLYSET_TOOLING].starts_with("kro/"));
        let again = inventory_annotations("id", &kinds, &namespaces, Some("default"));
        assert_eq!(annotations, again);
        let other = inventory_annotations("id", &kinds, &BTreeSet::new(), Some("default"));
        assert_ne!(
            annotations[APPLYSET_INVENTORY_HASH],
            other[APPLYSET_INVENTORY_HASH]
        );
    }
}
