//! An RGD being deleted waits for its instances to be gone.
//!
//! Its kind stays served meanwhile, so that each instance's deletion is
//! finalized as usual (children deleted in reverse order, each per its
//! deletion policy). The instances are those of the instance CRD the RGD
//! produced, found by its labels: while someone deletes the CRD, the API
//! server deletes its instances, and they are finalized the same way; once
//! the CRD is gone no instance is left.
//!
//! Nothing here deletes an instance: who created them deletes them. The
//! RGD's status says what it waits for, naming a few instances and why
//! each is still there; the RGD is looked at again on a timer, soon while a
//! deletion makes progress and slowly while nothing is expected to change
//! (instances nobody deletes, deletions blocked), so that a blocked
//! deletion costs one list every [`IDLE_RECHECK`].

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kro_graph::api::metadata::FINALIZER;
use kube::api::{ApiResource, DynamicObject, ListParams, ObjectMeta};
use kube::{Api, Client};

/// A deletion started longer ago than this, whose finalizer is still
/// kro's, is reported as blocked: a pass normally finishes it in seconds,
/// so its own status says what holds it.
pub const BLOCKED_AFTER: Duration = Duration::from_secs(60);

/// How often an RGD whose instances are not expected to go soon is looked
/// at again.
pub const IDLE_RECHECK: Duration = Duration::from_secs(15);

/// How many instances the status names.
const NAMED: usize = 3;

/// Where one instance is in its deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Nobody deleted it.
    Live,
    /// Its deletion started recently and kro's finalizer holds it.
    Deleting,
    /// Its deletion started long ago and kro's finalizer still holds it.
    Blocked {
        /// For how long, in whole minutes.
        minutes: i64,
    },
    /// kro's finalizer is released; others hold it.
    HeldBy(Vec<String>),
}

/// One instance left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// `namespace/name`, or the name of a cluster-scoped instance.
    pub name: String,
    /// Where its deletion is.
    pub progress: Progress,
}

/// What an RGD being deleted still waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The instance kind.
    pub kind: String,
    /// The instances left, by namespace and name.
    pub left: Vec<Left>,
}

impl Waiting {
    /// The status message, such as `waiting for 3 instances of
    /// Application to be deleted: team-a/web (deleting), team-a/api,
    /// team-b/db`, the first few named.
    pub fn message(&self) -> String {
        let count = self.left.len();
        let noun = if count == 1 { "instance" } else { "instances" };
        let mut named: Vec<String> = self.left.iter().take(NAMED).map(describe).collect();
        if count > NAMED {
            named.push(format!("and {} more", count - NAMED));
        }
        format!(
            "waiting for {count} {noun} of {} to be deleted: {}",
            self.kind,
            named.join(", ")
        )
    }

    /// Whether one of the instances is expected to go soon.
    pub fn progressing(&self) -> bool {
        self.left.iter().any(|l| l.progress == Progress::Deleting)
    }

    /// When to look again: soon while a deletion makes progress, else
    /// after [`IDLE_RECHECK`] (never sooner than `progress_delay`).
    pub fn recheck(&self, progress_delay: Duration) -> Duration {
        if self.progressing() {
            progress_delay
        } else {
            IDLE_RECHECK.max(progress_delay)
        }
    }

    /// Whether a deletion is blocked, for the log.
    pub fn blocked(&self) -> bool {
        self.left
            .iter()
            .any(|l| matches!(l.progress, Progress::Blocked { .. } | Progress::HeldBy(_)))
    }
}

fn describe(left: &Left) -> String {
    match &left.progress {
        Progress::Live => left.name.clone(),
        Progress::Deleting => format!("{} (deleting)", left.name),
        Progress::Blocked { minutes } => format!(
            "{} (deletion blocked for {minutes}m, see its status)",
            left.name
        ),
        Progress::HeldBy(finalizers) => {
            format!("{} (held by finalizer {})", left.name, finalizers.join(", "))
        }
    }
}

/// Where the instance of metadata `meta` is in its deletion, at `now`.
pub fn progress(meta: &ObjectMeta, now: Timestamp) -> Progress {
    let Some(since) = &meta.deletion_timestamp else {
        return Progress::Live;
    };
    let finalizers = meta.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Progress::HeldBy(finalizers);
    }
    let elapsed = now.duration_since(since.0);
    let blocked_after = SignedDuration::try_from(BLOCKED_AFTER).unwrap_or(SignedDuration::MAX);
    if elapsed > blocked_after {
        Progress::Blocked {
            minutes: elapsed.as_secs() / 60,
        }
    } else {
        Progress::Deleting
    }
}

/// The instances of `crd` left, if any.
pub async fn instances_left(
    client: &Client,
    crd: &CustomResourceDefinition,
) -> Result<Option<Waiting>, kube::Error> {
    let Some(resource) = instance_resource(crd) else {
        return Ok(None);
    };
    let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
    let listed = match api.list_metadata(&ListParams::default()).await {
        Ok(listed) => listed.items,
        // The CRD went away meanwhile, and its instances with it.
        Err(kube::Error::Api(status)) if status.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let now = Timestamp::now();
    let mut left: Vec<Left> = listed
        .iter()
        .map(|instance| Left {
            name: match (&instance.metadata.namespace, &instance.metadata.name) {
                (Some(ns), Some(name)) => format!("{ns}/{name}"),
                (None, Some(name)) => name.clone(),
                (_, None) => String::new(),
            },
            progress: progress(&instance.metadata, now),
        })
        .collect();
    if left.is_empty() {
        return Ok(None);
    }
    left.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(Waiting {
        kind: resource.kind,
        left,
    }))
}

/// The instance kind of `crd`, at the version it stores; `None` for a CRD
/// that serves no version.
fn instance_resource(crd: &CustomResourceDefinition) -> Option<ApiResource> {
    let versions = &crd.spec.versions;
    let version = versions
        .iter()
        .find(|v| v.storage && v.served)
        .or_else(|| versions.iter().find(|v| v.served))?;
    let group = &crd.spec.group;
    Some(ApiResource {
        group: group.clone(),
        version: version.name.clone(),
        api_version: format!("{group}/{}", version.name),
        kind: crd.spec.names.kind.clone(),
        plural: crd.spec.names.plural.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn left(name: &str, progress: Progress) -> Left {
        Left {
            name: name.to_owned(),
            progress,
        }
    }

    #[test]
    fn the_message_names_a_few_and_counts_the_rest() {
        let waiting = Waiting {
            kind: "Application".into(),
            left: vec![
                left("a/one", Progress::Deleting),
                left("a/two", Progress::Live),
                left("b/three", Progress::Blocked { minutes: 5 }),
                left("b/four", Progress::HeldBy(vec!["example.com/hold".into()])),
                left("c/five", Progress::Live),
            ],
        };
        assert_eq!(
            waiting.message(),
            "waiting for 5 instances of Application to be deleted: a/one (deleting), a/two, \
             b/three (deletion blocked for 5m, see its status), and 2 more"
        );
        let one = Waiting {
            kind: "Note".into(),
            left: vec![left("x", Progress::HeldBy(vec!["example.com/hold".into()]))],
        };
        assert_eq!(
            one.message(),
            "waiting for 1 instance of Note to be deleted: x (held by finalizer example.com/hold)"
        );
    }

    #[test]
    fn rechecks_are_soon_only_while_a_deletion_progresses() {
        let delay = Duration::from_secs(3);
        let idle = Waiting {
            kind: "Note".into(),
            left: vec![
                left("a", Progress::Live),
                left("b", Progress::Blocked { minutes: 2 }),
            ],
        };
        assert_eq!(idle.recheck(delay), IDLE_RECHECK);
        assert!(idle.blocked());
        assert_eq!(
            idle.recheck(Duration::from_secs(100)),
            Duration::from_secs(100)
        );
        let progressing = Waiting {
            kind: "Note".into(),
            left: vec![left("a", Progress::Live), left("c", Progress::Deleting)],
        };
        assert_eq!(progressing.recheck(delay), delay);
        assert!(!progressing.blocked());
    }

    #[test]
    fn progress_reads_the_deletion_timestamp_and_the_finalizers() {
        let now = Timestamp::from_second(10_000).expect("a time");
        let at = |seconds_ago: i64| Some(Time(now - SignedDuration::from_secs(seconds_ago)));
        let mut meta = ObjectMeta::default();
        assert_eq!(progress(&meta, now), Progress::Live);
        meta.finalizers = Some(vec![FINALIZER.to_owned()]);
        meta.deletion_timestamp = at(10);
        assert_eq!(progress(&meta, now), Progress::Deleting);
        meta.deletion_timestamp = at(300);
        assert_eq!(progress(&meta, now), Progress::Blocked { minutes: 5 });
        meta.finalizers = Some(vec!["example.com/hold".to_owned()]);
        assert_eq!(
            progress(&meta, now),
            Progress::HeldBy(vec!["example.com/hold".to_owned()])
        );
    }
}
