//! Which objects of an external kind are in which instances' selections.
//!
//! A watch event carries only an object's new labels: when a relabelled
//! object stops matching a selector, its labels no longer say which
//! instances counted it. So the router remembers, per object, the
//! instances whose selection it is in: those that listed it in their last
//! reconcile, and those whose selector it matched in a later event. Both
//! directions are indexed, so that forgetting an instance (after each of
//! its reconciles) does not scan every object.

use std::collections::{BTreeMap, BTreeSet};

use kro_runtime::cluster::ObjectKey;

/// An object's place: namespace (if any) and name.
pub type Place = (Option<String>, String);

/// The relation "object is in instance's selection", both ways.
#[derive(Debug, Default)]
pub struct Selections {
    by_object: BTreeMap<Place, BTreeSet<ObjectKey>>,
    by_instance: BTreeMap<ObjectKey, BTreeSet<Place>>,
}

impl Selections {
    /// Records that `object` is in `instance`'s selection.
    pub fn insert(&mut self, object: Place, instance: &ObjectKey) {
        self.by_object
            .entry(object.clone())
            .or_default()
            .insert(instance.clone());
        self.by_instance
            .entry(instance.clone())
            .or_default()
            .insert(object);
    }

    /// Records that `object` left `instance`'s selection.
    pub fn remove(&mut self, object: &Place, instance: &ObjectKey) {
        self.unlink(object, instance);
        if let Some(objects) = self.by_instance.get_mut(instance) {
            objects.remove(object);
            if objects.is_empty() {
                self.by_instance.remove(instance);
            }
        }
    }

    /// The instances whose selection `object` is in.
    pub fn instances(&self, object: &Place) -> BTreeSet<ObjectKey> {
        self.by_object.get(object).cloned().unwrap_or_default()
    }

    /// Forgets every selection of `instance`.
    pub fn forget(&mut self, instance: &ObjectKey) {
        for object in self.by_instance.remove(instance).unwrap_or_default() {
            self.unlink(&object, instance);
        }
    }

    /// Removes `instance` from the instances of `object`, and `object`'s
    /// entry once none is left.
    fn unlink(&mut self, object: &Place, instance: &ObjectKey) {
        if let Some(instances) = self.by_object.get_mut(object) {
            instances.remove(instance);
            if instances.is_empty() {
                self.by_object.remove(object);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kro_runtime::cluster::ResourceType;
    use kro_schema::kinds::Gvk;

    use super::*;

    fn instance(name: &str) -> ObjectKey {
        ObjectKey {
            resource: ResourceType {
                gvk: Gvk::new("kro.run", "v1alpha1", "Roster"),
                plural: "rosters".into(),
                namespaced: true,
            },
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn object(name: &str) -> Place {
        (Some("ns".into()), name.into())
    }

    fn names(keys: BTreeSet<ObjectKey>) -> Vec<String> {
        keys.into_iter().map(|k| k.name).collect()
    }

    #[test]
    fn objects_know_their_instances_until_removed_or_forgotten() {
        let mut selections = Selections::default();
        let (a, b) = (instance("a"), instance("b"));
        selections.insert(object("m1"), &a);
        selections.insert(object("m1"), &b);
        selections.insert(object("m2"), &a);
        assert_eq!(names(selections.instances(&object("m1"))), ["a", "b"]);

        selections.remove(&object("m1"), &b);
        assert_eq!(names(selections.instances(&object("m1"))), ["a"]);

        selections.forget(&a);
        assert!(selections.instances(&object("m1")).is_empty());
        assert!(selections.instances(&object("m2")).is_empty());
        assert!(
            selections.by_object.is_empty() && selections.by_instance.is_empty(),
            "nothing left behind"
        );
    }
}
