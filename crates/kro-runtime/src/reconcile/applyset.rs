//! The ApplySet inventory of an instance (KEP-3659): the annotations that
//! list the group-kinds and namespaces of its children, so that pruning
//! and deletion know where to look. The annotation names are kro's API
//! vocabulary ([`kro_graph::api::metadata`]); computing their values is
//! the runtime's.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kro_graph::api::metadata::{
    APPLYSET_ADDITIONAL_NAMESPACES, APPLYSET_GROUP_KINDS, APPLYSET_INVENTORY_HASH,
    APPLYSET_TOOLING, GroupKind, tooling,
};
use sha2::{Digest, Sha256};

/// The inventory annotations of an ApplySet parent: tooling, member
/// group-kinds, additional namespaces (the parent's own excluded) and their
/// checksum. Every list is sorted, so equal inventories are equal strings.
pub(super) fn inventory_annotations(
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
