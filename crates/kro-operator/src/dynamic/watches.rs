//! Which metadata watches run, and who needs each.
//!
//! A watch is shared by every RGD that needs it (two RGDs creating
//! Deployments share one watch of kro-owned Deployments) and stops when
//! the last of them lets go.

use std::collections::{BTreeMap, BTreeSet};

use kro_runtime::cluster::ResourceType;
use tokio::task::AbortHandle;

/// Which objects of a kind a watch sees, and so how its events route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    /// Every object of an instance kind.
    Instances,
    /// Objects labelled `kro.run/owned=true`: children of instances.
    OwnedChildren,
    /// Every object: a kind that externalRefs read.
    All,
}

/// One watch: a kind and a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    /// The kind watched.
    pub resource: ResourceType,
    /// Which of its objects.
    pub filter: Filter,
}

#[derive(Debug)]
struct Entry {
    owners: BTreeSet<String>,
    task: AbortHandle,
}

/// The running watches.
#[derive(Debug, Default)]
pub struct Watches {
    entries: BTreeMap<WatchKey, Entry>,
}

impl Watches {
    /// Makes `owner` need exactly `wanted`: starts (with `start`) the
    /// watches nobody ran yet, and stops those `owner` no longer needs and
    /// nobody else does.
    pub fn set_owned(
        &mut self,
        owner: &str,
        wanted: &BTreeSet<WatchKey>,
        mut start: impl FnMut(&WatchKey) -> AbortHandle,
    ) {
        for key in self.held_by(owner) {
            if !wanted.contains(&key) {
                self.release(&key, owner);
            }
        }
        for key in wanted {
            self.entries
                .entry(key.clone())
                .or_insert_with(|| Entry {
                    owners: BTreeSet::new(),
                    task: start(key),
                })
                .owners
                .insert(owner.to_owned());
        }
    }

    /// Lets go of every watch `owner` holds.
    pub fn release_owner(&mut self, owner: &str) {
        for key in self.held_by(owner) {
            self.release(&key, owner);
        }
    }

    fn held_by(&self, owner: &str) -> Vec<WatchKey> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.owners.contains(owner))
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn release(&mut self, key: &WatchKey, owner: &str) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        entry.owners.remove(owner);
        if entry.owners.is_empty() {
            entry.task.abort();
            self.entries.remove(key);
        }
    }

    /// How many watches run.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Stops every watch (shutdown).
    pub fn stop_all(&mut self) {
        for entry in std::mem::take(&mut self.entries).into_values() {
            entry.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use kro_schema::kinds::Gvk;

    use super::*;

    fn key(kind: &str, filter: Filter) -> WatchKey {
        WatchKey {
            resource: ResourceType {
                gvk: Gvk {
                    group: String::new(),
                    version: "v1".into(),
                    kind: kind.into(),
                },
                plural: format!("{}s", kind.to_lowercase()),
                namespaced: true,
            },
            filter,
        }
    }

    fn idle() -> AbortHandle {
        tokio::spawn(std::future::pending::<()>()).abort_handle()
    }

    #[tokio::test]
    async fn watches_are_shared_and_stop_with_their_last_owner() {
        let mut watches = Watches::default();
        let mut started = Vec::new();
        let services = key("Service", Filter::OwnedChildren);
        let apps = key("App", Filter::Instances);
        let a: BTreeSet<WatchKey> = [services.clone(), apps.clone()].into();
        let b: BTreeSet<WatchKey> = [services.clone()].into();
        watches.set_owned("rgd/a", &a, |k| {
            started.push(k.clone());
            idle()
        });
        watches.set_owned("rgd/b", &b, |k| {
            started.push(k.clone());
            idle()
        });
        assert_eq!(started, [apps.clone(), services.clone()], "one watch each");
        assert_eq!(watches.len(), 2);

        let service_task = watches.entries[&services].task.clone();
        watches.release_owner("rgd/a");
        assert_eq!(watches.len(), 1);
        tokio::task::yield_now().await;
        assert!(!service_task.is_finished(), "b still needs it");

        // b changes its graph: Services no longer needed.
        watches.set_owned("rgd/b", &BTreeSet::new(), |_| idle());
        assert!(watches.is_empty());
        tokio::task::yield_now().await;
        assert!(service_task.is_finished());
    }
}
