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

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kro_graph::api::metadata::FINALIZER;
use kro_graph::api::{READY, ResourceGraphDefinition};
use kro_graph::builder::Graph;
use kube::api::{ApiResource, DynamicObject, ListParams, ObjectMeta};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};

use super::{Built, Pass, RgdContext, RgdError, accept, last_accepted, status};
use crate::dynamic::Handler;
use crate::lenient::Lenient;

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
            format!(
                "{} (held by finalizer {})",
                left.name,
                finalizers.join(", ")
            )
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

impl RgdContext {
    /// One reconcile of an RGD being deleted: what is left of its
    /// instances counted and, while some are, the instances kept served by
    /// the last accepted graph, its newest graph judged as in
    /// [`Self::apply`] (nothing applied) and what the RGD waits for written
    /// in its status. Returns the action while instances are left; `None`
    /// once none is.
    pub(super) async fn wait_for_instances(
        &self,
        object: &Lenient<ResourceGraphDefinition>,
    ) -> Result<Option<Action>, RgdError> {
        let name = object.name_any();
        let failed = |source| RgdError::Instances {
            rgd: name.clone(),
            source,
        };
        let Some(crd) = last_accepted::instance_crd(&self.client, &name)
            .await
            .map_err(failed)?
        else {
            return Ok(None);
        };
        let Some(waiting) = instances_left(&self.client, &crd).await.map_err(failed)? else {
            return Ok(None);
        };

        let Pass {
            old_status,
            generation,
            now,
            created,
            mut conditions,
        } = Pass::of(object);
        let mut set = status::condition_set(generation, &created, &mut conditions);
        set.initialize(&now);
        let (newest, order, resources) = match object {
            Lenient::Unreadable(unreadable) => {
                self.refuse_unreadable(unreadable, &mut set, &now);
                (None, Vec::new(), Vec::new())
            }
            Lenient::Read(rgd) => match self.build(rgd).await? {
                Built::Invalid(invalid) => {
                    self.refuse(rgd, &invalid, &mut set, &now);
                    (None, Vec::new(), Vec::new())
                }
                Built::Graph(graph) => {
                    accept(&mut set, &now);
                    let order = graph.topological_order.clone();
                    let resources = status::resource_info(&graph);
                    (Some(graph), order, resources)
                }
            },
        };
        let served = self.keep_serving(object, &crd, newest).await;
        let mut message = waiting.message();
        if !served {
            message.push_str(&format!(
                "; no accepted graph is known to finalize them: correct the spec, \
                 or remove their finalizer {FINALIZER}"
            ));
        }
        if waiting.blocked() || !served {
            tracing::info!(rgd = %name, "deletion waits: {message}");
        }
        set.set_false(READY, "Deleting", &message, &now);
        let new_status = status::status(conditions, order, resources);
        self.write_status(&name, old_status.as_ref(), new_status)
            .await?;
        Ok(Some(Action::requeue(
            waiting.recheck(self.config.progress_delay),
        )))
    }

    /// Keeps the instances of `crd`, the instance CRD of the RGD being
    /// deleted, served, by the graph that matches the CRD best: the one
    /// served already, else the one stored on the CRD, else the newest if
    /// it serves the CRD's kind. Returns whether one is served.
    async fn keep_serving(
        &self,
        object: &Lenient<ResourceGraphDefinition>,
        crd: &CustomResourceDefinition,
        newest: Option<Arc<Graph>>,
    ) -> bool {
        let name = object.name_any();
        if self.dynamic.served_for(&name).is_some()
            || self.serve_stored(object, crd).await.is_some()
        {
            return true;
        }
        let Some(graph) = newest else {
            return false;
        };
        if graph.instance_crd.metadata.name != crd.metadata.name {
            return false;
        }
        let uid = object.meta().uid.clone().unwrap_or_default();
        let generation = object.meta().generation.unwrap_or_default();
        self.dynamic
            .register(Handler::new(&name, &uid, generation, graph));
        true
    }
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
