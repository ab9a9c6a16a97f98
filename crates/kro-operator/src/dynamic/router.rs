//! Which instances a watch event concerns.
//!
//! Three kinds of watch feed the queue, and each routes differently:
//!
//! - an instance kind's own watch enqueues the instance, but only when its
//!   generation, UID, deletion or suspension changed: our own status and
//!   label writes change none of them, so they cause no loop (upstream's
//!   predicate);
//! - a child kind's watch (objects labelled `kro.run/owned=true`) finds the
//!   instance from the child's own `kro.run/instance-*` labels, so no
//!   per-instance bookkeeping is needed, and children in other namespaces
//!   route too;
//! - an external kind's watch (every object of the kind) looks the object
//!   up in an index of what each instance read in its last reconcile, by
//!   name or by selector. An object that stops matching a selector still
//!   reaches the instances whose selection it was in: those that listed
//!   it in their last reconcile, or whose selector it matched in an event
//!   since ([`Selections`]). So objects entering and leaving a selection
//!   both bring the instance back, even when the watch saw the object
//!   before the instance's first reconcile.
//!
//! Only these small indexes are kept, never objects.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kro_graph::api::metadata::{
    INSTANCE_GROUP, INSTANCE_KIND, INSTANCE_NAME, INSTANCE_NAMESPACE, INSTANCE_VERSION, RECONCILE,
    is_suspended,
};
use kro_runtime::cluster::{ObjectKey, ResourceType, matches_selector};
use kro_runtime::reconcile::{ExternalRead, ExternalTarget};

use super::selections::{Place, Selections};

/// A watch event, reduced to the object's metadata.
#[derive(Debug, Clone, Copy)]
pub enum MetaEvent<'a> {
    /// The watch (re)starts listing.
    Init,
    /// An object found by the listing.
    InitApply(&'a ObjectMeta),
    /// The listing is complete.
    InitDone,
    /// An object was added or changed.
    Apply(&'a ObjectMeta),
    /// An object was deleted.
    Delete(&'a ObjectMeta),
}

/// What decides whether an instance event needs a reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    uid: Option<String>,
    generation: Option<i64>,
    deleting: bool,
    suspended: bool,
}

impl Observed {
    fn of(meta: &ObjectMeta) -> Self {
        Self {
            uid: meta.uid.clone(),
            generation: meta.generation,
            deleting: meta.deletion_timestamp.is_some(),
            suspended: is_suspended(
                meta.annotations
                    .as_ref()
                    .and_then(|a| a.get(RECONCILE))
                    .map(String::as_str),
            ),
        }
    }
}

/// The instances of one kind, as last seen by its watch.
#[derive(Debug, Default)]
struct KindInstances {
    known: BTreeMap<Place, Observed>,
    /// While a (re)list runs: the objects it found so far.
    relisted: Option<BTreeSet<Place>>,
}

/// The readers of one external kind.
#[derive(Debug, Default)]
struct ExternalIndex {
    by_name: BTreeMap<Place, BTreeSet<ObjectKey>>,
    by_selector: Vec<(Option<String>, LabelSelector, ObjectKey)>,
    /// Which objects are in which instances' selections.
    selected: Selections,
}

/// The routing indexes of every served kind.
#[derive(Debug, Default)]
pub struct Router {
    instances: BTreeMap<ResourceType, KindInstances>,
    external: BTreeMap<ResourceType, ExternalIndex>,
    /// What each instance read, to replace it after its next reconcile.
    reads: BTreeMap<ObjectKey, Vec<ExternalRead>>,
}

fn place(meta: &ObjectMeta) -> Place {
    (
        meta.namespace.clone(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn key(kind: &ResourceType, (namespace, name): Place) -> ObjectKey {
    ObjectKey {
        resource: kind.clone(),
        namespace,
        name,
    }
}

impl Router {
    /// Routes an event of the instance kind `kind`'s own watch.
    pub fn instance_event(&mut self, kind: &ResourceType, event: MetaEvent<'_>) -> Vec<ObjectKey> {
        let instances = self.instances.entry(kind.clone()).or_default();
        match event {
            MetaEvent::Init => {
                instances.relisted = Some(BTreeSet::new());
                Vec::new()
            }
            MetaEvent::InitApply(meta) | MetaEvent::Apply(meta) => {
                let at = place(meta);
                if let (MetaEvent::InitApply(_), Some(relisted)) = (event, &mut instances.relisted)
                {
                    relisted.insert(at.clone());
                }
                let observed = Observed::of(meta);
                if instances.known.get(&at) == Some(&observed) {
                    return Vec::new();
                }
                instances.known.insert(at.clone(), observed);
                vec![key(kind, at)]
            }
            MetaEvent::InitDone => {
                let Some(relisted) = instances.relisted.take() else {
                    return Vec::new();
                };
                // Deleted while the watch was down: the reconcile finds
                // them gone and forgets them.
                let gone: Vec<Place> = instances
                    .known
                    .keys()
                    .filter(|at| !relisted.contains(*at))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .map(|at| {
                        instances.known.remove(&at);
                        key(kind, at)
                    })
                    .collect()
            }
            MetaEvent::Delete(meta) => {
                let at = place(meta);
                instances.known.remove(&at);
                vec![key(kind, at)]
            }
        }
    }

    /// The instance a child belongs to, from its labels; `kind_of` finds
    /// the served kind of a group, version and kind.
    pub fn child_event(
        meta: &ObjectMeta,
        kind_of: impl Fn(&str, &str, &str) -> Option<ResourceType>,
    ) -> Option<ObjectKey> {
        let labels = meta.labels.as_ref()?;
        let label = |name: &str| labels.get(name).map(String::as_str);
        let kind = kind_of(
            label(INSTANCE_GROUP)?,
            label(INSTANCE_VERSION)?,
            label(INSTANCE_KIND)?,
        )?;
        let namespace = if kind.namespaced {
            Some(label(INSTANCE_NAMESPACE)?.to_owned())
        } else {
            None
        };
        let name = label(INSTANCE_NAME)?.to_owned();
        Some(ObjectKey {
            resource: kind,
            namespace,
            name,
        })
    }

    /// The instances that read an object of the external kind `resource`.
    pub fn external_event(
        &mut self,
        resource: &ResourceType,
        meta: &ObjectMeta,
        deleted: bool,
    ) -> BTreeSet<ObjectKey> {
        let Some(index) = self.external.get_mut(resource) else {
            return BTreeSet::new();
        };
        let at = place(meta);
        let mut readers = index.by_name.get(&at).cloned().unwrap_or_default();
        let empty = BTreeMap::new();
        let labels = meta.labels.as_ref().unwrap_or(&empty);
        let matching: BTreeSet<ObjectKey> = index
            .by_selector
            .iter()
            .filter(|(namespace, _, _)| namespace.is_none() || *namespace == at.0)
            .filter(|(_, selector, _)| !deleted && matches_selector(labels, selector) == Ok(true))
            .map(|(_, _, key)| key.clone())
            .collect();
        // Instances whose selection it was in see it leave; those it now
        // matches see it come in. Only changes touch the index.
        let before = index.selected.instances(&at);
        for left in before.difference(&matching) {
            index.selected.remove(&at, left);
        }
        for entered in matching.difference(&before) {
            index.selected.insert(at.clone(), entered);
        }
        readers.extend(before);
        readers.extend(matching);
        readers
    }

    /// Replaces what `instance` reads with `reads`.
    pub fn set_external_reads(&mut self, instance: &ObjectKey, reads: Vec<ExternalRead>) {
        self.forget_reads(instance);
        for read in &reads {
            let index = self.external.entry(read.resource.clone()).or_default();
            match &read.target {
                ExternalTarget::Name(name) => {
                    index
                        .by_name
                        .entry((read.namespace.clone(), name.clone()))
                        .or_default()
                        .insert(instance.clone());
                }
                ExternalTarget::Selector(selector) => {
                    index.by_selector.push((
                        read.namespace.clone(),
                        selector.clone(),
                        instance.clone(),
                    ));
                    for object in &read.matched {
                        index
                            .selected
                            .insert((object.namespace.clone(), object.name.clone()), instance);
                    }
                }
            }
        }
        if !reads.is_empty() {
            self.reads.insert(instance.clone(), reads);
        }
    }

    /// Forgets what `instance` read (it is gone).
    pub fn forget_reads(&mut self, instance: &ObjectKey) {
        let Some(old) = self.reads.remove(instance) else {
            return;
        };
        for read in old {
            let Some(index) = self.external.get_mut(&read.resource) else {
                continue;
            };
            match read.target {
                ExternalTarget::Name(name) => {
                    let at = (read.namespace.clone(), name);
                    if let Some(readers) = index.by_name.get_mut(&at) {
                        readers.remove(instance);
                        if readers.is_empty() {
                            index.by_name.remove(&at);
                        }
                    }
                }
                ExternalTarget::Selector(_) => {
                    index.by_selector.retain(|(_, _, key)| key != instance);
                    index.selected.forget(instance);
                }
            }
            if index.by_name.is_empty() && index.by_selector.is_empty() {
                self.external.remove(&read.resource);
            }
        }
    }

    /// Forgets everything about the instances of `kind` (no longer served).
    pub fn forget_kind(&mut self, kind: &ResourceType) {
        self.instances.retain(|k, _| k != kind);
        let readers: Vec<ObjectKey> = self
            .reads
            .keys()
            .filter(|key| key.resource == *kind)
            .cloned()
            .collect();
        for reader in readers {
            self.forget_reads(&reader);
        }
    }

    /// Every known instance of `kind`.
    pub fn instances_of(&self, kind: &ResourceType) -> Vec<ObjectKey> {
        self.instances
            .get(kind)
            .map(|instances| {
                instances
                    .known
                    .keys()
                    .map(|at| key(kind, at.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every known instance of every kind.
    pub fn all_instances(&self) -> Vec<ObjectKey> {
        self.instances
            .keys()
            .flat_map(|kind| self.instances_of(kind))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use kro_schema::kinds::Gvk;

    use super::*;

    fn app() -> ResourceType {
        ResourceType {
            gvk: Gvk {
                group: "kro.run".into(),
                version: "v1alpha1".into(),
                kind: "App".into(),
            },
            plural: "apps".into(),
            namespaced: true,
        }
    }

    fn config_maps() -> ResourceType {
        ResourceType {
            gvk: Gvk {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
            },
            plural: "configmaps".into(),
            namespaced: true,
        }
    }

    fn meta(name: &str, generation: i64, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            generation: Some(generation),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        }
    }

    fn names(keys: impl IntoIterator<Item = ObjectKey>) -> Vec<String> {
        keys.into_iter().map(|k| k.name).collect()
    }

    #[test]
    fn instance_events_route_only_spec_deletion_and_suspension_changes() {
        let mut router = Router::default();
        let kind = app();
        let a = meta("a", 1, &[]);
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::Apply(&a))),
            ["a"]
        );
        let mut labelled = meta("a", 1, &[("kro.run/owned", "true")]);
        assert!(
            router
                .instance_event(&kind, MetaEvent::Apply(&labelled))
                .is_empty(),
            "a label change is not routed"
        );
        labelled.generation = Some(2);
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::Apply(&labelled))),
            ["a"]
        );
        labelled.annotations = Some([(RECONCILE.to_owned(), "suspended".to_owned())].into());
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::Apply(&labelled))),
            ["a"]
        );
        labelled.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::Apply(&labelled))),
            ["a"]
        );
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::Delete(&labelled))),
            ["a"]
        );
        assert!(router.instances_of(&kind).is_empty());
    }

    #[test]
    fn a_relist_routes_changes_and_objects_deleted_meanwhile() {
        let mut router = Router::default();
        let kind = app();
        let (a, b) = (meta("a", 1, &[]), meta("b", 1, &[]));
        router.instance_event(&kind, MetaEvent::Init);
        router.instance_event(&kind, MetaEvent::InitApply(&a));
        router.instance_event(&kind, MetaEvent::InitApply(&b));
        router.instance_event(&kind, MetaEvent::InitDone);
        assert_eq!(names(router.instances_of(&kind)), ["a", "b"]);

        // The watch restarts; b is gone and a unchanged.
        router.instance_event(&kind, MetaEvent::Init);
        assert!(
            router
                .instance_event(&kind, MetaEvent::InitApply(&a))
                .is_empty()
        );
        assert_eq!(
            names(router.instance_event(&kind, MetaEvent::InitDone)),
            ["b"]
        );
        assert_eq!(names(router.instances_of(&kind)), ["a"]);
    }

    #[test]
    fn children_route_by_their_labels() {
        let kind = app();
        let served = |group: &str, version: &str, k: &str| {
            (group == "kro.run" && version == "v1alpha1" && k == "App").then(app)
        };
        let child = meta(
            "web",
            1,
            &[
                (INSTANCE_GROUP, "kro.run"),
                (INSTANCE_VERSION, "v1alpha1"),
                (INSTANCE_KIND, "App"),
                (INSTANCE_NAME, "a"),
                (INSTANCE_NAMESPACE, "team"),
            ],
        );
        assert_eq!(
            Router::child_event(&child, served),
            Some(ObjectKey {
                resource: kind,
                namespace: Some("team".into()),
                name: "a".into()
            })
        );
        let other = meta(
            "web",
            1,
            &[
                (INSTANCE_GROUP, "x.io"),
                (INSTANCE_VERSION, "v1"),
                (INSTANCE_KIND, "Other"),
                (INSTANCE_NAME, "a"),
            ],
        );
        assert_eq!(
            Router::child_event(&other, served),
            None,
            "no handler for the kind"
        );
        assert_eq!(Router::child_event(&meta("bare", 1, &[]), served), None);
    }

    #[test]
    fn external_objects_route_by_name_and_selector() {
        let mut router = Router::default();
        let kind = app();
        let reader = |name: &str| ObjectKey {
            resource: kind.clone(),
            namespace: Some("ns".into()),
            name: name.into(),
        };
        router.set_external_reads(
            &reader("by-name"),
            vec![ExternalRead {
                resource: config_maps(),
                namespace: Some("ns".into()),
                target: ExternalTarget::Name("settings".into()),
                matched: Vec::new(),
            }],
        );
        router.set_external_reads(
            &reader("by-selector"),
            vec![ExternalRead {
                resource: config_maps(),
                namespace: Some("ns".into()),
                target: ExternalTarget::Selector(LabelSelector {
                    match_labels: Some([("team".to_owned(), "a".to_owned())].into()),
                    ..LabelSelector::default()
                }),
                matched: Vec::new(),
            }],
        );
        let settings = meta("settings", 1, &[]);
        assert_eq!(
            names(router.external_event(&config_maps(), &settings, false)),
            ["by-name"]
        );
        let team = meta("extra", 1, &[("team", "a")]);
        assert_eq!(
            names(router.external_event(&config_maps(), &team, false)),
            ["by-selector"]
        );
        // The label goes: the instance that matched it still hears of it,
        // once.
        let left = meta("extra", 2, &[("team", "b")]);
        assert_eq!(
            names(router.external_event(&config_maps(), &left, false)),
            ["by-selector"]
        );
        assert!(
            router
                .external_event(&config_maps(), &left, false)
                .is_empty()
        );

        router.forget_kind(&kind);
        assert!(
            router
                .external_event(&config_maps(), &settings, false)
                .is_empty()
        );
    }

    #[test]
    fn objects_a_reconcile_listed_route_when_they_leave_and_come_back() {
        let mut router = Router::default();
        let reader = ObjectKey {
            resource: app(),
            namespace: Some("ns".into()),
            name: "roster".into(),
        };
        let member = |name: &str| ObjectKey {
            resource: config_maps(),
            namespace: Some("ns".into()),
            name: name.into(),
        };
        let team = |matched: Vec<ObjectKey>| ExternalRead {
            resource: config_maps(),
            namespace: Some("ns".into()),
            target: ExternalTarget::Selector(LabelSelector {
                match_labels: Some([("team".to_owned(), "blue".to_owned())].into()),
                ..LabelSelector::default()
            }),
            matched,
        };
        // The watch listed m1 before the instance read anything: only the
        // reconcile's report says m1 is in its selection.
        router.set_external_reads(&reader, vec![team(vec![member("m1"), member("m2")])]);

        let relabelled = meta("m1", 1, &[("team", "red")]);
        assert_eq!(
            names(router.external_event(&config_maps(), &relabelled, false)),
            ["roster"],
            "leaving the selection"
        );
        assert!(
            router
                .external_event(&config_maps(), &relabelled, false)
                .is_empty(),
            "once"
        );
        let back = meta("m1", 1, &[("team", "blue")]);
        assert_eq!(
            names(router.external_event(&config_maps(), &back, false)),
            ["roster"],
            "entering it again"
        );
        assert_eq!(
            names(router.external_event(&config_maps(), &meta("m2", 1, &[]), true)),
            ["roster"],
            "a deleted member"
        );

        // The next reconcile lists only m1: m2 is no longer routed.
        router.set_external_reads(&reader, vec![team(vec![member("m1")])]);
        assert!(
            router
                .external_event(&config_maps(), &meta("m2", 2, &[]), false)
                .is_empty()
        );
        router.forget_reads(&reader);
        assert!(
            router
                .external_event(&config_maps(), &relabelled, false)
                .is_empty()
        );
    }

    #[test]
    fn new_reads_replace_old_ones() {
        let mut router = Router::default();
        let reader = ObjectKey {
            resource: app(),
            namespace: Some("ns".into()),
            name: "r".into(),
        };
        let read = |name: &str| ExternalRead {
            resource: config_maps(),
            namespace: Some("ns".into()),
            target: ExternalTarget::Name(name.into()),
            matched: Vec::new(),
        };
        router.set_external_reads(&reader, vec![read("one")]);
        router.set_external_reads(&reader, vec![read("two")]);
        assert!(
            router
                .external_event(&config_maps(), &meta("one", 1, &[]), false)
                .is_empty()
        );
        assert_eq!(
            names(router.external_event(&config_maps(), &meta("two", 1, &[]), false)),
            ["r"]
        );
        router.forget_reads(&reader);
        assert!(
            router
                .external_event(&config_maps(), &meta("two", 1, &[]), true)
                .is_empty()
        );
    }
}
