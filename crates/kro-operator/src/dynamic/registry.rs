//! Which RGD serves each instance kind, with which graph.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kro_graph::builder::{Graph, NodeKind};
use kro_runtime::cluster::ResourceType;
use kro_schema::kinds::Gvk;

use super::watches::{Filter, WatchKey};

/// How one instance kind is served: by which RGD, with which graph.
#[derive(Debug)]
pub struct Handler {
    /// The RGD's name.
    pub rgd_name: String,
    /// The RGD's UID.
    pub rgd_uid: String,
    /// The RGD generation the graph was built from.
    pub rgd_generation: i64,
    /// The graph.
    pub graph: Arc<Graph>,
}

impl Handler {
    /// A handler serving `graph`'s instance kind.
    pub fn new(rgd_name: &str, rgd_uid: &str, rgd_generation: i64, graph: Arc<Graph>) -> Self {
        Self {
            rgd_name: rgd_name.to_owned(),
            rgd_uid: rgd_uid.to_owned(),
            rgd_generation,
            graph,
        }
    }

    /// The instance kind it serves.
    pub fn kind(&self) -> &ResourceType {
        &self.graph.instance_type
    }

    /// The watches this handler needs: its instances, the children its
    /// templates create, and the kinds its externalRefs read. The kinds
    /// are literals in the RGD, so the set is fixed for a graph.
    pub fn watches(&self) -> BTreeSet<WatchKey> {
        let mut keys = BTreeSet::from([WatchKey {
            resource: self.kind().clone(),
            filter: Filter::Instances,
        }]);
        for resource in &self.graph.resources {
            let filter = match resource.structure.kind {
                NodeKind::Resource | NodeKind::Collection => Filter::OwnedChildren,
                NodeKind::External | NodeKind::ExternalCollection => Filter::All,
            };
            keys.insert(WatchKey {
                resource: resource.resource_type().clone(),
                filter,
            });
        }
        keys
    }

    /// The owner name of this handler's watches.
    pub fn watch_owner(&self) -> String {
        owner(&self.rgd_name)
    }
}

/// The owner name of an RGD's watches.
pub fn owner(rgd_name: &str) -> String {
    format!("rgd/{rgd_name}")
}

/// What [`Registry::register`] replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The kind was not served.
    New,
    /// It was served from another RGD generation (or another RGD object of
    /// the same name): its instances must be reconciled again.
    Changed,
    /// It was served from the same RGD generation; only the graph object
    /// was refreshed.
    Same,
}

/// The handlers, by instance kind.
#[derive(Debug, Default)]
pub struct Registry {
    by_kind: BTreeMap<Gvk, Arc<Handler>>,
}

impl Registry {
    /// Serves `handler`'s kind with it, replacing any handler of that kind.
    pub fn register(&mut self, handler: Arc<Handler>) -> Registered {
        match self
            .by_kind
            .insert(handler.kind().gvk.clone(), Arc::clone(&handler))
        {
            None => Registered::New,
            Some(old)
                if old.rgd_uid == handler.rgd_uid
                    && old.rgd_generation == handler.rgd_generation =>
            {
                Registered::Same
            }
            Some(_) => Registered::Changed,
        }
    }

    /// Stops serving the kind of RGD `rgd_name`, if it serves one.
    pub fn deregister(&mut self, rgd_name: &str) -> Option<Arc<Handler>> {
        let kind = self.of_rgd(rgd_name)?.kind().gvk.clone();
        self.by_kind.remove(&kind)
    }

    /// The handler serving the kind of RGD `rgd_name`, if any.
    pub fn of_rgd(&self, rgd_name: &str) -> Option<Arc<Handler>> {
        self.by_kind
            .values()
            .find(|handler| handler.rgd_name == rgd_name)
            .cloned()
    }

    /// The handler of a kind.
    pub fn get(&self, group: &str, version: &str, kind: &str) -> Option<Arc<Handler>> {
        self.by_kind.get(&Gvk::new(group, version, kind)).cloned()
    }

    /// The handler of an instance type.
    pub fn handler(&self, kind: &ResourceType) -> Option<Arc<Handler>> {
        self.by_kind.get(&kind.gvk).cloned()
    }

    /// How many kinds are served.
    pub fn len(&self) -> usize {
        self.by_kind.len()
    }

    /// Whether no kind is served.
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_graph::api::ResourceGraphDefinition;
    use kro_graph::builder::{BuildOptions, Builder};
    use kro_graph::resolver::BuiltinSchemas;

    const APPLICATION: &str = include_str!("../../../../examples/application/rgd.yaml");

    fn graph(name: &str) -> Arc<Graph> {
        let mut rgd: ResourceGraphDefinition =
            serde_saphyr::from_str(APPLICATION).expect("the example parses");
        rgd.metadata.name = Some(name.to_owned());
        let builder = Builder::new(
            Arc::new(BuiltinSchemas::new()),
            kro_cel::Env::kro(),
            BuildOptions::default(),
        );
        Arc::new(builder.build(&rgd).expect("the example builds"))
    }

    #[test]
    fn the_application_needs_its_kind_and_three_child_kinds() {
        let handler = Handler::new("app", "uid", 1, graph("app"));
        assert_eq!(
            *handler.kind(),
            ResourceType {
                gvk: Gvk {
                    group: "kro.run".into(),
                    version: "v1alpha1".into(),
                    kind: "Application".into(),
                },
                plural: "applications".into(),
                namespaced: true,
            }
        );
        let watched: Vec<(String, Filter)> = handler
            .watches()
            .into_iter()
            .map(|k| (k.resource.to_string(), k.filter))
            .collect();
        assert_eq!(
            watched,
            [
                ("services".to_owned(), Filter::OwnedChildren),
                ("deployments.apps".to_owned(), Filter::OwnedChildren),
                ("applications.kro.run".to_owned(), Filter::Instances),
                (
                    "ingresses.networking.k8s.io".to_owned(),
                    Filter::OwnedChildren
                ),
            ]
        );
    }

    #[test]
    fn registration_tells_whether_instances_need_a_reconcile() {
        let mut registry = Registry::default();
        let g = graph("app");
        let register = |registry: &mut Registry, uid: &str, generation| {
            registry.register(Arc::new(Handler::new(
                "app",
                uid,
                generation,
                Arc::clone(&g),
            )))
        };
        assert_eq!(register(&mut registry, "u1", 1), Registered::New);
        assert_eq!(register(&mut registry, "u1", 1), Registered::Same);
        assert_eq!(register(&mut registry, "u1", 2), Registered::Changed);
        assert_eq!(register(&mut registry, "u2", 2), Registered::Changed);
        assert!(registry.get("kro.run", "v1alpha1", "Application").is_some());
        assert_eq!(
            registry.of_rgd("app").map(|h| h.rgd_generation),
            Some(2),
            "found by RGD name"
        );
        assert!(registry.of_rgd("other").is_none());
        assert!(registry.deregister("other").is_none());
        assert!(registry.deregister("app").is_some());
        assert!(registry.is_empty());
    }
}
