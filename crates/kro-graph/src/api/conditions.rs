//! Status conditions, as kro keeps them on RGDs and instances: the
//! [`Condition`] shape, and a set with a root condition (`Ready`) that
//! summarises its dependents. Both controllers keep conditions by the same
//! rules, so the rules live here with the shape rather than in either.
//!
//! The rules, which clients such as `kubectl wait --for=condition=Ready`
//! and dashboards rely on:
//! - a condition's `lastTransitionTime` changes only when its status does;
//!   a dependent seen for the first time takes the object's creation time;
//! - every condition set carries the object's current `generation` as
//!   `observedGeneration`;
//! - after any dependent changes, the root is True when every dependent is
//!   True for the current generation, and otherwise copies the status,
//!   reason and message of the most unhealthy dependent: False before
//!   Unknown, and among equals the one that changed last;
//! - the list is ordered by `lastTransitionTime`, the root last.
//!
//! Time is passed in (`now`, RFC 3339), so the logic stays deterministic;
//! [`now`] reads the clock for callers that do not fix it.

use serde::{Deserialize, Serialize};

/// Whether a condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    Unknown,
}

/// One entry of `status.conditions`.
///
/// Unlike `metav1.Condition`, reason and message may be absent, as in the
/// objects upstream kro writes, so that status written by either reads back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, such as `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// When `status` last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// A machine-readable CamelCase reason for the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The root condition type.
pub const READY: &str = "Ready";

/// Which conditions an object has, and the object facts they depend on.
#[derive(Debug)]
pub struct ConditionSet<'a> {
    dependents: &'a [&'a str],
    generation: i64,
    creation_timestamp: &'a str,
    conditions: &'a mut Vec<Condition>,
}

impl<'a> ConditionSet<'a> {
    /// A set over `conditions` (the object's `status.conditions`) whose root
    /// `Ready` depends on `dependents`.
    pub fn new(
        dependents: &'a [&'a str],
        generation: i64,
        creation_timestamp: &'a str,
        conditions: &'a mut Vec<Condition>,
    ) -> Self {
        Self {
            dependents,
            generation,
            creation_timestamp,
            conditions,
        }
    }

    /// The condition of type `type_`, if set.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether the root is True.
    pub fn is_ready(&self) -> bool {
        self.is_true(READY)
    }

    /// Whether the condition `type_` is True.
    pub fn is_true(&self, type_: &str) -> bool {
        self.get(type_)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// Marks every dependent that is not set yet as Unknown, awaiting
    /// reconciliation.
    pub fn initialize(&mut self, now: &str) {
        for dependent in self.dependents {
            if self.get(dependent).is_none() {
                self.set_unknown(dependent, now);
            }
        }
    }

    /// Sets `type_` True with reason `type_` and an empty message.
    pub fn set_true(&mut self, type_: &str, now: &str) -> bool {
        self.set_true_with_reason(type_, type_, "", now)
    }

    /// Sets `type_` True.
    pub fn set_true_with_reason(
        &mut self,
        type_: &str,
        reason: &str,
        message: &str,
        now: &str,
    ) -> bool {
        self.set(type_, ConditionStatus::True, reason, message, now)
    }

    /// Sets `type_` False.
    pub fn set_false(&mut self, type_: &str, reason: &str, message: &str, now: &str) -> bool {
        self.set(type_, ConditionStatus::False, reason, message, now)
    }

    /// Sets `type_` Unknown, awaiting reconciliation.
    pub fn set_unknown(&mut self, type_: &str, now: &str) -> bool {
        let message = format!("condition {type_:?} is awaiting reconciliation");
        self.set(
            type_,
            ConditionStatus::Unknown,
            "AwaitingReconciliation",
            &message,
            now,
        )
    }

    /// Sets `type_` Unknown with a reason.
    pub fn set_unknown_with_reason(
        &mut self,
        type_: &str,
        reason: &str,
        message: &str,
        now: &str,
    ) -> bool {
        self.set(type_, ConditionStatus::Unknown, reason, message, now)
    }

    /// Sets one condition; returns whether anything changed. Setting a
    /// dependent recomputes the root.
    pub fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        now: &str,
    ) -> bool {
        let changed = self.store(type_, status, reason, message, now);
        if changed && type_ != READY {
            self.recompute_root(now);
        }
        changed
    }

    fn store(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        now: &str,
    ) -> bool {
        let transition_time = match self.get(type_) {
            Some(existing) if existing.status == status => existing.last_transition_time.clone(),
            Some(_) => Some(now.to_owned()),
            None if self.dependents.contains(&type_) => Some(self.creation_timestamp.to_owned()),
            None => Some(now.to_owned()),
        };
        let condition = Condition {
            type_: type_.to_owned(),
            status,
            last_transition_time: transition_time,
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            observed_generation: Some(self.generation),
        };
        if self.get(type_) == Some(&condition) {
            return false;
        }
        self.conditions.retain(|c| c.type_ != type_);
        self.conditions.push(condition);
        // Stable: equal times keep their order. Absent times sort first.
        self.conditions.sort_by(|a, b| {
            (a.type_ == READY, &a.last_transition_time)
                .cmp(&(b.type_ == READY, &b.last_transition_time))
        });
        true
    }

    fn recompute_root(&mut self, now: &str) {
        let mut unhealthy: Vec<&Condition> = self
            .conditions
            .iter()
            .filter(|c| self.dependents.contains(&c.type_.as_str()))
            .filter(|c| {
                c.status != ConditionStatus::True || c.observed_generation != Some(self.generation)
            })
            .collect();
        if unhealthy.is_empty() {
            self.store(READY, ConditionStatus::True, READY, "", now);
            return;
        }
        // Latest transition first, so that among equals the newest wins.
        unhealthy.sort_by(|a, b| b.last_transition_time.cmp(&a.last_transition_time));
        let worst = unhealthy
            .iter()
            .find(|c| c.status == ConditionStatus::False)
            .or_else(|| {
                unhealthy
                    .iter()
                    .find(|c| c.status == ConditionStatus::Unknown)
            })
            .map(|c| {
                (
                    c.status,
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            });
        if let Some((status, reason, message)) = worst {
            self.store(READY, status, &reason, &message, now);
        }
    }
}

/// The current time as the API server writes it: RFC 3339, whole seconds
/// (truncated, as `metav1.Time` is).
pub fn now() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    k8s_openapi::jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_whole_seconds() {
        let now = now();
        assert!(now.ends_with('Z') && !now.contains('.'), "{now}");
    }

    const DEPENDENTS: &[&str] = &["GraphAccepted", "KindReady", "ControllerReady"];
    const CREATED: &str = "2026-01-01T00:00:00Z";

    fn types(conditions: &[Condition]) -> Vec<(&str, ConditionStatus)> {
        conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.status))
            .collect()
    }

    #[test]
    fn initialize_marks_dependents_unknown_and_root_follows() {
        let mut conditions = Vec::new();
        let mut set = ConditionSet::new(DEPENDENTS, 1, CREATED, &mut conditions);
        set.initialize("2026-01-01T00:00:05Z");
        let ready = set.get(READY).unwrap();
        assert_eq!(ready.status, ConditionStatus::Unknown);
        assert_eq!(ready.reason.as_deref(), Some("AwaitingReconciliation"));
        let accepted = set.get("GraphAccepted").unwrap();
        assert_eq!(
            accepted.last_transition_time.as_deref(),
            Some(CREATED),
            "first seen: creation time"
        );
        assert_eq!(
            accepted.message.as_deref(),
            Some("condition \"GraphAccepted\" is awaiting reconciliation")
        );
        assert_eq!(
            conditions.last().map(|c| c.type_.as_str()),
            Some(READY),
            "root last"
        );
    }

    #[test]
    fn root_is_true_only_when_every_dependent_is() {
        let mut conditions = Vec::new();
        let mut set = ConditionSet::new(DEPENDENTS, 3, CREATED, &mut conditions);
        set.initialize("t1");
        set.set_true_with_reason(
            "GraphAccepted",
            "Valid",
            "resource graph and schema are valid",
            "t2",
        );
        set.set_true_with_reason(
            "KindReady",
            "Ready",
            "kind Application has been accepted and ready",
            "t3",
        );
        assert!(!set.is_ready());
        set.set_true_with_reason("ControllerReady", "Running", "controller is running", "t4");
        assert!(set.is_ready());
        let ready = set.get(READY).unwrap();
        assert_eq!(
            (ready.reason.as_deref(), ready.message.as_deref()),
            (Some("Ready"), Some(""))
        );
        assert_eq!(ready.observed_generation, Some(3));
    }

    #[test]
    fn false_beats_unknown_and_the_newest_of_equals_wins() {
        let mut conditions = Vec::new();
        let mut set = ConditionSet::new(DEPENDENTS, 1, CREATED, &mut conditions);
        set.initialize("2026-01-01T00:00:01Z");
        set.set_false("KindReady", "Failed", "CRD refused", "2026-01-01T00:00:02Z");
        set.set_false(
            "GraphAccepted",
            "InvalidResourceGraph",
            "cycle",
            "2026-01-01T00:00:03Z",
        );
        let ready = set.get(READY).unwrap();
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.reason.as_deref(), Some("InvalidResourceGraph"));
        assert_eq!(ready.message.as_deref(), Some("cycle"));
    }

    #[test]
    fn transition_time_moves_only_with_status() {
        let mut conditions = Vec::new();
        let mut set = ConditionSet::new(DEPENDENTS, 1, CREATED, &mut conditions);
        set.set_false("KindReady", "Failed", "a", "t1");
        let first = set.get("KindReady").unwrap().last_transition_time.clone();
        assert!(
            set.set_false("KindReady", "Failed", "b", "t2"),
            "message changed"
        );
        assert_eq!(set.get("KindReady").unwrap().last_transition_time, first);
        assert!(
            !set.set_false("KindReady", "Failed", "b", "t3"),
            "nothing changed"
        );
        set.set_true("KindReady", "t4");
        assert_eq!(
            set.get("KindReady")
                .unwrap()
                .last_transition_time
                .as_deref(),
            Some("t4")
        );
    }

    #[test]
    fn conditions_of_an_older_generation_keep_the_root_from_being_true() {
        let mut conditions = Vec::new();
        {
            let mut set = ConditionSet::new(&["A"], 1, CREATED, &mut conditions);
            set.set_true("A", "t1");
            assert!(set.is_ready());
        }
        let mut set = ConditionSet::new(&["A", "B"], 2, CREATED, &mut conditions);
        set.set_unknown("B", "t2");
        assert_eq!(set.get(READY).unwrap().status, ConditionStatus::Unknown);
        set.set_true("B", "t3");
        // A is True but for generation 1; the root is not recomputed to True
        // until A is confirmed for generation 2.
        assert!(!set.is_ready());
        set.set_true("A", "t4");
        assert!(set.is_ready());
        assert_eq!(
            types(&conditions),
            [
                ("A", ConditionStatus::True),
                ("B", ConditionStatus::True),
                (READY, ConditionStatus::True)
            ]
        );
    }
}
