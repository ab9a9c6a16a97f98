//! A cluster in memory, for tests and for `kro render`.
//!
//! It models what the runtime relies on, not the whole API server:
//! server-side apply with per-manager field ownership (a manager's fields
//! that it stops applying are removed unless another manager also owns
//! them; a forced apply of a different value takes the field away from its
//! other owners; lists are atomic, except `metadata.finalizers`, a set in
//! which each manager owns the entries it applies), no-op writes that change nothing (no
//! new resourceVersion), UIDs and delete preconditions, finalizers that
//! turn a delete into a `deletionTimestamp` (and removing the last one
//! completes the delete), and status written separately from the rest. It
//! does not validate objects against schemas, does not know which types
//! are served, and runs no controllers: tests play the controllers by
//! calling [`MemoryCluster::set_status`].
//!
//! `crates/kro-operator/tests/cluster_contract.rs` runs the same scenarios
//! against this cluster and a real API server, so the two agree on
//! everything above.

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Map, Value, json};

use kro_schema::kinds::ResourceType;

use super::api::{
    Cluster, ClusterError, Deleted, ListScope, ObjectKey, Stripped, finalizers_without,
    is_terminating,
};
use super::selector::{SelectorError, matches_selector};

/// One stored object and what each field manager last applied to it.
#[derive(Debug, Clone)]
struct Stored {
    object: Value,
    /// Each manager's last applied object, without `metadata.finalizers`.
    applied_by: BTreeMap<String, Value>,
    /// The finalizers each manager last applied: the API server merges
    /// `metadata.finalizers` as a set, so each manager owns its entries.
    finalizers_by: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<ObjectKey, Stored>,
    last_uid: u64,
    last_resource_version: u64,
    writes: u64,
    lists: u64,
}

impl State {
    fn next_uid(&mut self) -> String {
        self.last_uid += 1;
        format!("00000000-0000-4000-8000-{:012}", self.last_uid)
    }

    fn next_resource_version(&mut self) -> String {
        self.last_resource_version += 1;
        self.last_resource_version.to_string()
    }

    /// Stores `next` as a write: a new object gets a UID and generation 1,
    /// a changed spec the next generation, and every write a new
    /// resourceVersion. Returns the object as stored.
    fn write(&mut self, key: ObjectKey, mut next: Stored) -> Value {
        let spec_changed = self
            .objects
            .get(&key)
            .map(|stored| stored.object.get("spec") != next.object.get("spec"));
        let uid = spec_changed.is_none().then(|| self.next_uid());
        let resource_version = self.next_resource_version();
        if let Some(Value::Object(metadata)) = next.object.get_mut("metadata") {
            if let Some(uid) = uid {
                metadata.insert("uid".to_owned(), Value::String(uid));
                metadata.insert("generation".to_owned(), json!(1));
            } else if spec_changed == Some(true) {
                let generation = metadata
                    .get("generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                metadata.insert("generation".to_owned(), json!(generation + 1));
            }
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        self.writes += 1;
        let object = next.object.clone();
        self.objects.insert(key, next);
        object
    }
}

/// A [`Cluster`] held in memory. Cheap to create; safe to share.
#[derive(Debug, Default)]
pub struct MemoryCluster {
    state: Mutex<State>,
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The paths (through maps only; lists and scalars are leaves) of every
/// field `object` sets.
fn leaf_paths(object: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match object {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                prefix.push(key.clone());
                leaf_paths(value, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

fn remove_path(object: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for key in parents {
        match current.get_mut(key) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Value::Object(map) = current {
        map.remove(last);
    }
}

/// The value at `path` (through maps only), if `object` sets it.
fn value_at<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(object, |current, key| current.get(key))
}

/// Whether `path` or anything below it is a leaf some other manager
/// applied: removing `path` would remove a field that manager owns.
fn owned_by_another(
    applied_by: &BTreeMap<String, Value>,
    field_manager: &str,
    path: &[String],
) -> bool {
    applied_by
        .iter()
        .filter(|(manager, _)| manager.as_str() != field_manager)
        .any(|(_, theirs)| {
            let mut leaves = Vec::new();
            leaf_paths(theirs, &mut Vec::new(), &mut leaves);
            leaves.iter().any(|leaf| leaf.starts_with(path))
        })
}

/// A forced apply takes every field it sets to a different value away from
/// the other managers that applied it (they would have conflicted); a field
/// set to the same value stays shared.
fn take_ownership(applied_by: &mut BTreeMap<String, Value>, field_manager: &str, applied: &Value) {
    let mut leaves = Vec::new();
    leaf_paths(applied, &mut Vec::new(), &mut leaves);
    for (manager, theirs) in applied_by.iter_mut() {
        if manager == field_manager {
            continue;
        }
        for leaf in &leaves {
            let differs =
                value_at(theirs, leaf).is_some_and(|v| Some(v) != value_at(applied, leaf));
            if differs {
                remove_path(theirs, leaf);
            }
        }
    }
}

/// Takes `metadata.finalizers` out of an applied object: they are merged
/// as a set, not as a field.
fn split_finalizers(mut applied: Value) -> (Value, Vec<String>) {
    let finalizers = applied
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|metadata| metadata.remove("finalizers"));
    let finalizers = finalizers
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect();
    (applied, finalizers)
}

/// Sets `object`'s finalizers after `field_manager` applied `now` having
/// applied `before`: the entries it dropped go unless another manager
/// also applies them; new entries are appended, as the API server does.
fn merge_finalizers(
    object: &mut Value,
    finalizers_by: &BTreeMap<String, Vec<String>>,
    field_manager: &str,
    before: &[String],
    now: &[String],
) {
    let others: Vec<&String> = finalizers_by
        .iter()
        .filter(|(manager, _)| manager.as_str() != field_manager)
        .flat_map(|(_, finalizers)| finalizers)
        .collect();
    let current = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_owned));
    let mut merged: Vec<String> = current
        .filter(|f| !before.contains(f) || now.contains(f) || others.contains(&f))
        .collect();
    for finalizer in now {
        if !merged.contains(finalizer) {
            merged.push(finalizer.clone());
        }
    }
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        if merged.is_empty() {
            metadata.remove("finalizers");
        } else {
            metadata.insert("finalizers".to_owned(), json!(merged));
        }
    }
}

/// Whether an object marked for deletion has no finalizers left, so that
/// the API server removes it.
fn deletion_complete(object: &Value) -> bool {
    is_terminating(object)
        && object
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|finalizers| finalizers.is_empty())
}

/// Merges `applied` into `target`: maps recursively, anything else replaced.
fn merge(target: &mut Value, applied: &Value) {
    match (target, applied) {
        (Value::Object(target), Value::Object(applied)) => {
            for (key, value) in applied {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, applied) => *target = applied.clone(),
    }
}

/// The fields of `object` that a write to the main resource may set: all
/// but `status` and the metadata the server owns.
fn applicable(object: &Value) -> Value {
    let mut applied = object.clone();
    if let Value::Object(map) = &mut applied {
        map.remove("status");
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            for server_owned in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
                "managedFields",
            ] {
                metadata.remove(server_owned);
            }
        }
    }
    applied
}

/// What `stored` (or nothing) becomes when `field_manager` applies
/// `object`: its fields merged in, the fields it stopped applying removed
/// unless another manager owns them, and its finalizers merged as a set.
/// Server-owned metadata is left as it was.
fn applied(stored: Option<&Stored>, object: &Value, field_manager: &str) -> Stored {
    let (applied, finalizers) = split_finalizers(applicable(object));
    let (mut next, mut applied_by, mut finalizers_by) = match stored {
        Some(stored) => (
            stored.object.clone(),
            stored.applied_by.clone(),
            stored.finalizers_by.clone(),
        ),
        None => (json!({}), BTreeMap::new(), BTreeMap::new()),
    };
    let previous = applied_by.get(field_manager).cloned();
    take_ownership(&mut applied_by, field_manager, &applied);
    if let Some(previous) = &previous {
        let (mut before, mut now) = (Vec::new(), Vec::new());
        leaf_paths(previous, &mut Vec::new(), &mut before);
        leaf_paths(&applied, &mut Vec::new(), &mut now);
        for path in before.iter().filter(|path| !now.contains(path)) {
            if !owned_by_another(&applied_by, field_manager, path) {
                remove_path(&mut next, path);
            }
        }
    }
    merge(&mut next, &applied);
    applied_by.insert(field_manager.to_owned(), applied);
    let previous_finalizers = finalizers_by
        .insert(field_manager.to_owned(), finalizers.clone())
        .unwrap_or_default();
    merge_finalizers(
        &mut next,
        &finalizers_by,
        field_manager,
        &previous_finalizers,
        &finalizers,
    );
    Stored {
        object: next,
        applied_by,
        finalizers_by,
    }
}

impl MemoryCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every
        // mutation is a single insert or remove), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `object` as it is (status included), as if another client had
    /// created it: for seeding observed state. It replaces any object of the
    /// same key and gets a UID and resourceVersion if it has none.
    pub fn insert(&self, resource: &ResourceType, object: Value) -> Result<Value, ClusterError> {
        let key = ObjectKey::of(resource, &object)?;
        let mut state = self.state();
        let mut object = object;
        let uid = state.next_uid();
        let resource_version = state.next_resource_version();
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            metadata.entry("uid").or_insert_with(|| Value::String(uid));
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        state.objects.insert(
            key,
            Stored {
                object: object.clone(),
                applied_by: BTreeMap::new(),
                finalizers_by: BTreeMap::new(),
            },
        );
        Ok(object)
    }

    /// Replaces the status of a stored object, as a controller would.
    /// Returns false when there is no such object.
    pub fn set_status(&self, key: &ObjectKey, status: Value) -> bool {
        let mut state = self.state();
        let resource_version = state.next_resource_version();
        let Some(stored) = state.objects.get_mut(key) else {
            return false;
        };
        if let Value::Object(map) = &mut stored.object {
            map.insert("status".to_owned(), status);
        }
        if let Some(Value::Object(metadata)) = stored.object.get_mut("metadata") {
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        true
    }

    /// Removes an object outright, as if its finalizers had been released
    /// and the API server had deleted it.
    pub fn remove(&self, key: &ObjectKey) -> Option<Value> {
        self.state().objects.remove(key).map(|stored| stored.object)
    }

    /// Every stored object, in key order.
    pub fn objects(&self) -> Vec<(ObjectKey, Value)> {
        self.state()
            .objects
            .iter()
            .map(|(k, s)| (k.clone(), s.object.clone()))
            .collect()
    }

    /// How many writes changed something: applies that changed an object,
    /// deletes, and status writes that changed a status.
    pub fn write_count(&self) -> u64 {
        self.state().writes
    }

    /// How many lists were asked for.
    pub fn list_count(&self) -> u64 {
        self.state().lists
    }
}

/// Removes `keys` from the map at `/metadata/<field>` of `object`; drops
/// the map when it ends up empty, as the API server does.
fn remove_keys(object: &mut Value, field: &str, keys: &[&str]) {
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        return;
    };
    let Some(Value::Object(map)) = metadata.get_mut(field) else {
        return;
    };
    for key in keys {
        map.remove(*key);
    }
    if map.is_empty() {
        metadata.remove(field);
    }
}

impl Cluster for MemoryCluster {
    async fn strip_metadata(
        &self,
        key: &ObjectKey,
        uid: &str,
        labels: &[&str],
        annotations: &[&str],
        _field_manager: &str,
    ) -> Result<Stripped, ClusterError> {
        let mut state = self.state();
        let Some(stored) = state.objects.get(key) else {
            return Ok(Stripped::AlreadyGone);
        };
        if stored
            .object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            != Some(uid)
        {
            return Ok(Stripped::UidChanged);
        }
        let mut next = stored.clone();
        remove_keys(&mut next.object, "labels", labels);
        remove_keys(&mut next.object, "annotations", annotations);
        if next.object == stored.object {
            return Ok(Stripped::Yes);
        }
        // The fields are gone: no manager owns them any more (a merge
        // patch that only removes gives its manager nothing to own).
        for applied in next.applied_by.values_mut() {
            remove_keys(applied, "labels", labels);
            remove_keys(applied, "annotations", annotations);
        }
        let resource_version = state.next_resource_version();
        if let Some(Value::Object(metadata)) = next.object.get_mut("metadata") {
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        state.writes += 1;
        state.objects.insert(key.clone(), next);
        Ok(Stripped::Yes)
    }

    async fn remove_finalizer(
        &self,
        resource: &ResourceType,
        object: &Value,
        finalizer: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let mut state = self.state();
        let Some(stored) = state.objects.get(&key) else {
            return Ok(None);
        };
        let version = |o: &Value| o.pointer("/metadata/resourceVersion").cloned();
        if version(object).is_some() && version(object) != version(&stored.object) {
            return Err(ClusterError::Conflict {
                key: key.to_string(),
                message: "the object has been modified".to_owned(),
            });
        }
        let mut next = stored.object.clone();
        let remaining = finalizers_without(&next, finalizer);
        if let Some(Value::Object(metadata)) = next.get_mut("metadata") {
            if remaining.is_empty() {
                metadata.remove("finalizers");
            } else {
                metadata.insert("finalizers".to_owned(), Value::Array(remaining));
            }
        }
        if next == stored.object {
            return Ok(Some(next));
        }
        state.writes += 1;
        if deletion_complete(&next) {
            state.objects.remove(&key);
            return Ok(None);
        }
        let resource_version = state.next_resource_version();
        if let Some(Value::Object(metadata)) = next.get_mut("metadata") {
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        if let Some(stored) = state.objects.get_mut(&key) {
            for finalizers in stored.finalizers_by.values_mut() {
                finalizers.retain(|f| f != finalizer);
            }
            stored.object = next.clone();
        }
        Ok(Some(next))
    }

    async fn find_type(
        &self,
        group: &str,
        kind: &str,
    ) -> Result<Option<ResourceType>, ClusterError> {
        // Only types with objects are known here; with no objects of a
        // type there is nothing to find through it either.
        Ok(self
            .state()
            .objects
            .keys()
            .map(|key| &key.resource)
            .find(|resource| resource.gvk.group == group && resource.gvk.kind == kind)
            .cloned())
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Value>, ClusterError> {
        Ok(self
            .state()
            .objects
            .get(key)
            .map(|stored| stored.object.clone()))
    }

    async fn list(
        &self,
        resource: &ResourceType,
        scope: ListScope<'_>,
        selector: &LabelSelector,
    ) -> Result<Vec<Value>, ClusterError> {
        // The API server answers 400 Bad Request for a selector it cannot
        // parse, whether or not anything would match it.
        let invalid_selector = |e: SelectorError| ClusterError::Invalid {
            key: resource.to_string(),
            message: e.to_string(),
        };
        matches_selector(&BTreeMap::new(), selector).map_err(invalid_selector)?;
        let mut state = self.state();
        state.lists += 1;
        let mut found = Vec::new();
        for (key, stored) in &state.objects {
            if &key.resource != resource {
                continue;
            }
            if let (ListScope::Namespace(namespace), Some(object_namespace)) =
                (scope, &key.namespace)
                && namespace != object_namespace
            {
                continue;
            }
            let matched =
                matches_selector(&labels_of(&stored.object), selector).map_err(invalid_selector)?;
            if matched {
                found.push(stored.object.clone());
            }
        }
        Ok(found)
    }

    async fn apply(
        &self,
        resource: &ResourceType,
        object: &Value,
        field_manager: &str,
    ) -> Result<Value, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let mut state = self.state();
        let next = applied(state.objects.get(&key), object, field_manager);
        match state.objects.get_mut(&key) {
            // The API server deletes an object being deleted once an
            // update leaves it without finalizers.
            Some(_) if deletion_complete(&next.object) => {
                state.writes += 1;
                state.objects.remove(&key);
                Ok(next.object)
            }
            // Nothing changes but who owns what: no write.
            Some(stored) if stored.object == next.object => {
                stored.applied_by = next.applied_by;
                stored.finalizers_by = next.finalizers_by;
                Ok(next.object)
            }
            _ => Ok(state.write(key, next)),
        }
    }

    async fn delete(&self, key: &ObjectKey, uid: &str) -> Result<Deleted, ClusterError> {
        let mut state = self.state();
        let Some(stored) = state.objects.get(key) else {
            return Ok(Deleted::AlreadyGone);
        };
        if stored
            .object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            != Some(uid)
        {
            return Ok(Deleted::UidChanged);
        }
        let has_finalizers = stored
            .object
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|finalizers| !finalizers.is_empty());
        if is_terminating(&stored.object) {
            return Ok(Deleted::Yes);
        }
        state.writes += 1;
        if has_finalizers {
            let resource_version = state.next_resource_version();
            if let Some(Value::Object(metadata)) = state
                .objects
                .get_mut(key)
                .and_then(|stored| stored.object.get_mut("metadata"))
            {
                metadata.insert(
                    "deletionTimestamp".to_owned(),
                    json!("1970-01-01T00:00:00Z"),
                );
                metadata.insert(
                    "resourceVersion".to_owned(),
                    Value::String(resource_version),
                );
            }
        } else {
            state.objects.remove(key);
        }
        Ok(Deleted::Yes)
    }

    async fn write_status(
        &self,
        resource: &ResourceType,
        object: &Value,
    ) -> Result<Value, ClusterError> {
        let key = ObjectKey::of(resource, object)?;
        let mut state = self.state();
        let Some(stored) = state.objects.get(&key) else {
            return Err(ClusterError::Other {
                message: format!("{key} not found"),
            });
        };
        let expected = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        let actual = stored
            .object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if expected.is_some() && expected != actual {
            return Err(ClusterError::Conflict {
                key: key.to_string(),
                message:
                    "the object has been modified; please apply your changes to the latest version"
                        .to_owned(),
            });
        }
        let status = object
            .get("status")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        if stored.object.get("status") == Some(&status) {
            return Ok(stored.object.clone());
        }
        let resource_version = state.next_resource_version();
        state.writes += 1;
        let Some(stored) = state.objects.get_mut(&key) else {
            return Err(ClusterError::Other {
                message: format!("{key} not found"),
            });
        };
        if let Value::Object(map) = &mut stored.object {
            map.insert("status".to_owned(), status);
        }
        if let Some(Value::Object(metadata)) = stored.object.get_mut("metadata") {
            metadata.insert(
                "resourceVersion".to_owned(),
                Value::String(resource_version),
            );
        }
        Ok(stored.object.clone())
    }
}

#[cfg(test)]
mod tests;
