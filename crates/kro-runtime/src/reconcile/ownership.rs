//! Which objects are this instance's, and how it lets go of one.
//!
//! An object is the instance's when its `applyset.kubernetes.io/part-of`
//! label is the instance's ApplySet id (the id upstream kro computes too,
//! so objects it made for the instance count). The walk claims every
//! existing object before anything is written ([`claim`]): an object that
//! is not the instance's fails its resource, untouched, unless the RGD
//! author let the resource adopt objects that belong to no ApplySet.
//!
//! Pruning and deletion only ever see members (found by that label), and
//! dispose of each one as its live `lifecycle.kro.run/deletion-policy`
//! annotation says ([`deletion_policy`]; `applyset` acts on it): delete
//! it, release it (remove kro's labels: no kro instance finds it again),
//! or leave it as it is.

use kro_graph::api::metadata::{
    self, APPLYSET_PART_OF, DELETION_POLICY, GroupKind, InstanceIdentity,
};
use kro_graph::api::{AdoptionPolicy, DeletionPolicy};
use serde_json::Value as Json;

use crate::cluster::ObjectKey;

/// Whether `object` is a member of `identity`'s ApplySet.
pub(super) fn is_member(identity: &InstanceIdentity, object: &Json) -> bool {
    object["metadata"]["labels"][APPLYSET_PART_OF].as_str() == Some(identity.applyset_id().as_str())
}

/// Whether resource `id` (with `adoption`) may write over `current`, the
/// object at `key` as observed: yes when there is none or it is a member;
/// an object of no ApplySet only with adoption; never one of another
/// ApplySet. The error says which object and what to do.
pub(super) fn claim(
    identity: &InstanceIdentity,
    id: &str,
    adoption: AdoptionPolicy,
    key: &ObjectKey,
    current: Option<&Json>,
) -> Result<(), String> {
    let Some(current) = current else {
        return Ok(());
    };
    if is_member(identity, current) {
        return Ok(());
    }
    let object = described(key);
    match current["metadata"]["labels"][APPLYSET_PART_OF].as_str() {
        Some(other) if !other.is_empty() => Err(format!(
            "{object} belongs to another ApplySet ({other}); kro leaves it alone, even with adoption"
        )),
        _ if adoption == AdoptionPolicy::Adopt => Ok(()),
        _ => Err(format!(
            "{object} already exists and is not managed by this instance; kro leaves it alone \
             (to let resource {id:?} adopt it, annotate its template with {}: {})",
            metadata::ADOPTION_POLICY,
            AdoptionPolicy::Adopt
        )),
    }
}

/// `Kind[.group] [namespace/]name`, as people name objects.
fn described(key: &ObjectKey) -> String {
    let kind = GroupKind {
        group: key.resource.gvk.group.clone(),
        kind: key.resource.gvk.kind.clone(),
    };
    match &key.namespace {
        Some(namespace) => format!("{kind} {namespace}/{}", key.name),
        None => format!("{kind} {}", key.name),
    }
}

/// The deletion policy a live member carries. A value kro does not know
/// (the annotation was edited by hand; templates are checked) keeps the
/// object: deleting on a guess cannot be undone.
pub(super) fn deletion_policy(object: &Json) -> DeletionPolicy {
    match object["metadata"]["annotations"][DELETION_POLICY].as_str() {
        None => DeletionPolicy::Delete,
        Some(value) => DeletionPolicy::parse(value).unwrap_or(DeletionPolicy::Retain),
    }
}

#[cfg(test)]
mod tests {
    use kro_graph::resolver::Gvk;
    use serde_json::json;

    use super::*;
    use crate::cluster::ResourceType;

    fn identity() -> InstanceIdentity {
        InstanceIdentity {
            name: "app".into(),
            namespace: Some("team-a".into()),
            uid: "uid-1".into(),
            group: "kro.run".into(),
            version: "v1alpha1".into(),
            kind: "App".into(),
        }
    }

    fn key(group: &str, kind: &str, namespace: Option<&str>) -> ObjectKey {
        ObjectKey {
            resource: ResourceType {
                gvk: Gvk {
                    group: group.into(),
                    version: "v1".into(),
                    kind: kind.into(),
                },
                plural: format!("{}s", kind.to_lowercase()),
                namespaced: namespace.is_some(),
            },
            namespace: namespace.map(str::to_owned),
            name: "shared".into(),
        }
    }

    fn labelled(part_of: Option<&str>) -> Json {
        match part_of {
            Some(id) => json!({ "metadata": { "labels": { APPLYSET_PART_OF: id } } }),
            None => json!({ "metadata": { "labels": { "app": "theirs" } } }),
        }
    }

    #[test]
    fn nothing_there_and_members_are_claimed() {
        let config = key("", "ConfigMap", Some("default"));
        let ours = labelled(Some(&identity().applyset_id()));
        for adoption in [AdoptionPolicy::Never, AdoptionPolicy::Adopt] {
            assert_eq!(
                claim(&identity(), "config", adoption, &config, None),
                Ok(())
            );
            assert_eq!(
                claim(&identity(), "config", adoption, &config, Some(&ours)),
                Ok(())
            );
        }
    }

    #[test]
    fn an_unowned_object_needs_adoption_and_the_refusal_says_how() {
        let config = key("", "ConfigMap", Some("default"));
        let theirs = labelled(None);
        assert_eq!(
            claim(
                &identity(),
                "config",
                AdoptionPolicy::Never,
                &config,
                Some(&theirs)
            ),
            Err(
                "ConfigMap default/shared already exists and is not managed by this instance; \
                 kro leaves it alone (to let resource \"config\" adopt it, annotate its template \
                 with lifecycle.kro.run/adoption-policy: adopt)"
                    .to_owned()
            )
        );
        assert_eq!(
            claim(
                &identity(),
                "config",
                AdoptionPolicy::Adopt,
                &config,
                Some(&theirs)
            ),
            Ok(())
        );
        let empty = labelled(Some(""));
        assert_eq!(
            claim(
                &identity(),
                "config",
                AdoptionPolicy::Adopt,
                &config,
                Some(&empty)
            ),
            Ok(()),
            "an empty label is no ApplySet"
        );
    }

    #[test]
    fn another_applyset_is_refused_even_with_adoption() {
        let role = key("rbac.authorization.k8s.io", "ClusterRole", None);
        let other = labelled(Some("applyset-other-v1"));
        let refused = claim(
            &identity(),
            "role",
            AdoptionPolicy::Adopt,
            &role,
            Some(&other),
        );
        assert_eq!(
            refused,
            Err(
                "ClusterRole.rbac.authorization.k8s.io shared belongs to another ApplySet \
                 (applyset-other-v1); kro leaves it alone, even with adoption"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_deletion_policy_is_read_from_the_live_object() {
        let with =
            |value: &str| json!({ "metadata": { "annotations": { DELETION_POLICY: value } } });
        assert_eq!(deletion_policy(&json!({})), DeletionPolicy::Delete);
        assert_eq!(deletion_policy(&with("orphan")), DeletionPolicy::Orphan);
        assert_eq!(deletion_policy(&with("retain")), DeletionPolicy::Retain);
        assert_eq!(deletion_policy(&with("delete")), DeletionPolicy::Delete);
        assert_eq!(
            deletion_policy(&with("Delete please")),
            DeletionPolicy::Retain,
            "an edited value keeps the object"
        );
    }
}
