//! Which RGDs a CustomResourceDefinition event brings back.
//!
//! The RGD controller watches the metadata of every CRD. An event brings
//! back:
//!
//! - the RGD that owns the CRD (its instance CRD, labelled with the RGD's
//!   name), on every event: a hand edit or deletion is undone;
//! - when the CRD was created, deleted, or its spec changed (a new UID or
//!   generation): every RGD that uses a kind of the CRD's API group, and
//!   every RGD that is refused. A graph refused because a kind lacked a
//!   field, or was not served at all, is so checked again once the CRD is
//!   upgraded or installed, without anyone editing the RGD.
//!
//! A CRD's metadata names its group (`<plural>.<group>`) but not its kind,
//! so dependence is by group. Status-only writes (the API server's own
//! `Established` updates) change no generation and bring nothing back.
//!
//! The API server publishes a changed CRD's schema in `/openapi/v3` a
//! moment after the change: an RGD rebuilt at once may still see the old
//! schema. So a refusal is looked at again, on a short delay, while a
//! group it uses changed less than [`SCHEMA_SETTLE`] ago: a CRD upgraded,
//! deleted, or created again with a new UID. A CRD seen for the first time
//! needs no such delay: until its kind is published the graph is refused
//! for an unknown kind, which is retried anyway; and the watch's first
//! listing, at startup, names every CRD of the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kro_graph::api::metadata::{OWNED, RGD_NAME};
use kro_graph::api::{ConditionStatus, ResourceGraphDefinition};
use kro_graph::builder::referenced_kinds;

use super::status::{GRAPH_ACCEPTED, KIND_READY};

/// How long after a CRD change an RGD refused while using its group keeps
/// being looked at again: longer than the API server takes to publish the
/// new schema.
pub const SCHEMA_SETTLE: Duration = Duration::from_secs(30);

/// What decides whether a CRD event changes what the CRD serves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Served {
    uid: Option<String>,
    generation: Option<i64>,
}

/// The CRDs as last seen, and when each API group last changed.
#[derive(Debug, Default)]
pub struct CrdChanges {
    /// Live CRDs by name; a CRD leaves when its deletion is seen.
    served: BTreeMap<String, Served>,
    /// Groups changed less than [`SCHEMA_SETTLE`] ago.
    changed: BTreeMap<String, Instant>,
}

impl CrdChanges {
    /// Takes note of a CRD event seen at `now`; returns the CRD's API group
    /// if the event changed what the CRD serves: a new CRD, a new UID or
    /// generation, or the start of its deletion (seen once). Each of these
    /// but a CRD seen for the first time also makes the group settle.
    pub fn observe(&mut self, crd: &ObjectMeta, now: Instant) -> Option<String> {
        let name = crd.name.as_deref()?;
        let group = crd_group(name)?;
        let (changed, settling) = if crd.deletion_timestamp.is_some() {
            let was_served = self.served.remove(name).is_some();
            (was_served, was_served)
        } else {
            let served = Served {
                uid: crd.uid.clone(),
                generation: crd.generation,
            };
            match self.served.insert(name.to_owned(), served.clone()) {
                Some(before) if before == served => (false, false),
                Some(_) => (true, true),
                None => (true, false),
            }
        };
        self.changed
            .retain(|_, at| now.saturating_duration_since(*at) < SCHEMA_SETTLE);
        if settling {
            self.changed.insert(group.to_owned(), now);
        }
        changed.then(|| group.to_owned())
    }

    /// Whether one of `groups` changed less than [`SCHEMA_SETTLE`] before
    /// `now`.
    pub fn settling(&self, groups: &BTreeSet<String>, now: Instant) -> bool {
        groups.iter().any(|group| {
            self.changed
                .get(group)
                .is_some_and(|at| now.saturating_duration_since(*at) < SCHEMA_SETTLE)
        })
    }
}

/// The API group of a CRD, from its name `<plural>.<group>`.
fn crd_group(name: &str) -> Option<&str> {
    name.split_once('.').map(|(_, group)| group)
}

/// The API groups of the kinds an RGD's resources use.
pub fn groups_used(rgd: &ResourceGraphDefinition) -> BTreeSet<String> {
    referenced_kinds(rgd)
        .into_iter()
        .map(|gvk| gvk.group)
        .collect()
}

/// The RGD whose instance CRD this is, by its labels.
pub fn owner(crd: &ObjectMeta) -> Option<&str> {
    let labels = crd.labels.as_ref()?;
    if labels.get(OWNED).map(String::as_str) != Some("true") {
        return None;
    }
    labels.get(RGD_NAME).map(String::as_str)
}

/// Whether the RGD's last status refuses its graph or its kind.
fn refused(rgd: &ResourceGraphDefinition) -> bool {
    rgd.status.iter().flat_map(|s| &s.conditions).any(|c| {
        (c.type_ == GRAPH_ACCEPTED || c.type_ == KIND_READY) && c.status == ConditionStatus::False
    })
}

/// The names of the RGDs a change of a CRD of `group` concerns: those
/// using a kind of the group, and those refused.
pub fn concerned<'a>(
    rgds: impl IntoIterator<Item = &'a ResourceGraphDefinition>,
    group: &str,
) -> Vec<String> {
    rgds.into_iter()
        .filter(|rgd| refused(rgd) || referenced_kinds(rgd).iter().any(|kind| kind.group == group))
        .filter_map(|rgd| rgd.metadata.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    use super::*;

    fn crd(name: &str, uid: &str, generation: i64) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            uid: Some(uid.into()),
            generation: Some(generation),
            ..ObjectMeta::default()
        }
    }

    fn rgd(name: &str, api_version: &str, graph_accepted: &str) -> ResourceGraphDefinition {
        let mut body = json!({
            "apiVersion": "kro.run/v1alpha1",
            "kind": "ResourceGraphDefinition",
            "metadata": { "name": name },
            "spec": {
                "schema": { "apiVersion": "v1alpha1", "kind": "App" },
                "resources": [{ "id": "db", "template": {
                    "apiVersion": api_version, "kind": "Database",
                    "metadata": { "name": "db" } } }]
            }
        });
        if !graph_accepted.is_empty() {
            body["status"] = json!({ "conditions": [
                { "type": GRAPH_ACCEPTED, "status": graph_accepted }
            ]});
        }
        serde_json::from_value(body).expect("an RGD")
    }

    #[test]
    fn only_creation_spec_changes_and_deletion_count() {
        let mut changes = CrdChanges::default();
        let now = Instant::now();
        let db = crd("databases.db.example.com", "u1", 1);
        assert_eq!(changes.observe(&db, now).as_deref(), Some("db.example.com"));
        assert_eq!(changes.observe(&db, now), None, "a status write");
        assert_eq!(
            changes
                .observe(&crd("databases.db.example.com", "u1", 2), now)
                .as_deref(),
            Some("db.example.com"),
            "a new schema"
        );
        let mut deleting = crd("databases.db.example.com", "u1", 3);
        deleting.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(changes.observe(&deleting, now).is_some(), "deletion starts");
        assert_eq!(changes.observe(&deleting, now), None, "and is seen once");
        assert!(changes.served.is_empty(), "a deleted CRD is forgotten");
        assert!(
            changes
                .observe(&crd("databases.db.example.com", "u2", 1), now)
                .is_some(),
            "created again"
        );
        assert_eq!(changes.observe(&crd("no-group", "u3", 1), now), None);
    }

    #[test]
    fn changes_of_a_known_crd_settle_for_a_while() {
        let mut changes = CrdChanges::default();
        let then = Instant::now();
        let groups: BTreeSet<String> = ["db.example.com".to_owned()].into();
        changes.observe(&crd("databases.db.example.com", "u1", 1), then);
        assert!(
            !changes.settling(&groups, then),
            "a CRD seen for the first time"
        );
        changes.observe(&crd("databases.db.example.com", "u1", 2), then);
        assert!(changes.settling(&groups, then + Duration::from_secs(1)));
        assert!(!changes.settling(&["other.io".to_owned()].into(), then));
        let later = then + SCHEMA_SETTLE;
        assert!(!changes.settling(&groups, later));
        changes.observe(&crd("caches.other.io", "u2", 1), later);
        changes.observe(&crd("caches.other.io", "u2", 2), later);
        assert_eq!(
            changes.changed.keys().collect::<Vec<_>>(),
            ["other.io"],
            "settled groups are forgotten"
        );
    }

    #[test]
    fn users_of_the_group_and_refused_rgds_are_concerned() {
        let rgds = [
            rgd("user", "db.example.com/v1", "True"),
            rgd("other", "other.io/v1", "True"),
            rgd("refused", "other.io/v1", "False"),
            rgd("new", "other.io/v1", ""),
        ];
        assert_eq!(concerned(&rgds, "db.example.com"), ["user", "refused"]);
    }

    #[test]
    fn instance_crds_name_their_rgd() {
        let mut meta = crd("apps.kro.run", "u", 1);
        assert_eq!(owner(&meta), None);
        meta.labels = Some(
            [
                (OWNED.to_owned(), "true".to_owned()),
                (RGD_NAME.to_owned(), "app".to_owned()),
            ]
            .into(),
        );
        assert_eq!(owner(&meta), Some("app"));
    }
}
