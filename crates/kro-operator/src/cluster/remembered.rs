//! [`Remembered`]: the objects the operator last read or wrote, served
//! again instead of a GET while the metadata watches confirm that they are
//! still the latest version.
//!
//! Every object a reconcile reads or writes comes back from the API server
//! with its `resourceVersion`; the watches of instances and of kro-owned
//! children report each version of those objects as it is stored. An
//! object is served from memory only when the last version a watch
//! reported for it is the one remembered: positive confirmation, so that
//! a version the watch has not reported yet (or reported before the
//! reconcile's own response arrived), an object no watch covers (one that
//! is not kro's, or of a kind nobody watches any more) and a watch being
//! restarted all fall back to a GET. What is read is therefore as fresh as
//! what the watches know, and a change they report wakes the instances it
//! concerns, which then read it.
//!
//! Only instances and kro-owned children are confirmed (the `Instances`
//! and `OwnedChildren` watches): the versions of every object of an
//! externally-read kind are not kept.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kro_graph::api::metadata::OWNED;
use kro_runtime::cluster::{ObjectKey, ResourceType};
use serde_json::Value;

/// An object whatever the version of its kind it is read as: group, kind,
/// namespace, name.
type Identity = (String, String, Option<String>, String);

/// The objects remembered and the versions the watches reported.
#[derive(Default)]
pub struct Remembered {
    /// Never held across an `.await`.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The last `resourceVersion` a watch reported for each object it sees.
    reported: BTreeMap<Identity, String>,
    /// The last object read or written, as the API server returned it, in
    /// compact JSON text (a third of the memory of the parsed object), and
    /// its `resourceVersion`.
    objects: BTreeMap<Identity, Kept>,
}

struct Kept {
    version: String,
    text: Box<str>,
}

fn identity(resource: &ResourceType, namespace: Option<&str>, name: &str) -> Identity {
    (
        resource.gvk.group.clone(),
        resource.gvk.kind.clone(),
        namespace.filter(|_| resource.namespaced).map(str::to_owned),
        name.to_owned(),
    )
}

fn key_identity(key: &ObjectKey) -> Identity {
    identity(&key.resource, key.namespace.as_deref(), &key.name)
}

fn version_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

impl Remembered {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The object remembered for `key`, if a watch confirmed it is the
    /// latest version and it was read as the key's version of its kind.
    pub fn confirmed(&self, key: &ObjectKey) -> Option<Value> {
        let id = key_identity(key);
        let state = self.state();
        let kept = state.objects.get(&id)?;
        if state.reported.get(&id) != Some(&kept.version) {
            return None;
        }
        let object: Value = serde_json::from_str(&kept.text).ok()?;
        let api_version = key.resource.api_version();
        (object["apiVersion"].as_str() == Some(api_version.as_str())).then_some(object)
    }

    /// Remembers `object` as the API server returned it for `key`, if a
    /// watch can confirm it: one reported it already, or it carries the
    /// label of kro's children that their watches select. Others (objects
    /// that are not kro's) would never be served, and are not kept.
    pub fn keep(&self, key: &ObjectKey, object: &Value) {
        let id = key_identity(key);
        let owned = object["metadata"]["labels"][OWNED].as_str() == Some("true");
        let kept = version_of(object).map(|version| Kept {
            version: version.to_owned(),
            text: object.to_string().into_boxed_str(),
        });
        let mut state = self.state();
        match kept {
            Some(kept) if owned || state.reported.contains_key(&id) => {
                state.objects.insert(id, kept);
            }
            _ => {
                state.objects.remove(&id);
            }
        }
    }

    /// Forgets the object of `key` (gone, or a write to it failed: its
    /// state is unknown).
    pub fn forget(&self, key: &ObjectKey) {
        self.state().objects.remove(&key_identity(key));
    }

    /// A watch of `resource` reported version `version` of an object.
    pub fn reported(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        version: &str,
    ) {
        let id = identity(resource, namespace, name);
        let mut state = self.state();
        if state
            .objects
            .get(&id)
            .is_some_and(|kept| kept.version != version)
        {
            state.objects.remove(&id);
        }
        state.reported.insert(id, version.to_owned());
    }

    /// A watch of `resource` reported an object deleted (or no longer
    /// matching its selector).
    pub fn reported_gone(&self, resource: &ResourceType, namespace: Option<&str>, name: &str) {
        let id = identity(resource, namespace, name);
        let mut state = self.state();
        state.reported.remove(&id);
        state.objects.remove(&id);
    }

    /// A watch of `resource` starts (or restarts, listing again) or stops:
    /// what it reported may be out of date, and deletions during a restart
    /// are not reported.
    pub fn unconfirm_kind(&self, resource: &ResourceType) {
        let group = &resource.gvk.group;
        let kind = &resource.gvk.kind;
        self.state()
            .reported
            .retain(|(g, k, _, _), _| !(g == group && k == kind));
    }
}

#[cfg(test)]
mod tests {
    use kro_schema::kinds::Gvk;
    use serde_json::json;

    use super::*;

    fn deployments(version: &str) -> ResourceType {
        ResourceType::new(Gvk::new("apps", version, "Deployment"), "deployments", true)
    }

    fn key() -> ObjectKey {
        ObjectKey {
            resource: deployments("v1"),
            namespace: Some("ns".into()),
            name: "web".into(),
        }
    }

    fn object(version: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "ns", "resourceVersion": version,
                "labels": { "kro.run/owned": "true" }
            }
        })
    }

    #[test]
    fn objects_no_watch_selects_are_not_kept() {
        let remembered = Remembered::default();
        let mut foreign = object("5");
        foreign["metadata"]["labels"] = json!({});
        remembered.keep(&key(), &foreign);
        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        assert_eq!(remembered.confirmed(&key()), None);
        // Reported first (an instance, which has no owned label): kept.
        remembered.keep(&key(), &foreign);
        assert_eq!(remembered.confirmed(&key()), Some(foreign));
    }

    #[test]
    fn served_only_once_a_watch_reported_the_version_kept() {
        let remembered = Remembered::default();
        remembered.keep(&key(), &object("5"));
        assert_eq!(remembered.confirmed(&key()), None, "not reported yet");
        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        assert_eq!(remembered.confirmed(&key()), Some(object("5")));
        remembered.reported(&deployments("v1"), Some("ns"), "web", "6");
        assert_eq!(remembered.confirmed(&key()), None, "a newer version exists");
        remembered.keep(&key(), &object("6"));
        assert_eq!(remembered.confirmed(&key()), Some(object("6")));
    }

    #[test]
    fn a_response_older_than_what_the_watch_reported_is_not_served() {
        let remembered = Remembered::default();
        // The watch got there first: 5, then 6; the apply's answer (5) comes after.
        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        remembered.reported(&deployments("v1"), Some("ns"), "web", "6");
        remembered.keep(&key(), &object("5"));
        assert_eq!(remembered.confirmed(&key()), None);
    }

    #[test]
    fn deletions_restarts_and_other_versions_of_the_kind_are_read_again() {
        let remembered = Remembered::default();
        remembered.keep(&key(), &object("5"));
        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        let other_version = ObjectKey {
            resource: deployments("v1beta1"),
            ..key()
        };
        assert_eq!(remembered.confirmed(&other_version), None);

        remembered.unconfirm_kind(&deployments("v1beta1"));
        assert_eq!(remembered.confirmed(&key()), None, "the watch restarted");
        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        assert_eq!(remembered.confirmed(&key()), Some(object("5")));

        remembered.reported_gone(&deployments("v1"), Some("ns"), "web");
        assert_eq!(remembered.confirmed(&key()), None);
        remembered.keep(&key(), &object("5"));
        assert_eq!(
            remembered.confirmed(&key()),
            None,
            "gone until reported again"
        );

        remembered.reported(&deployments("v1"), Some("ns"), "web", "5");
        remembered.forget(&key());
        assert_eq!(
            remembered.confirmed(&key()),
            None,
            "forgotten after a failed write"
        );
    }
}
