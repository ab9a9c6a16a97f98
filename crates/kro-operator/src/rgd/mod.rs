//! The RGD controller: for each `ResourceGraphDefinition`, build its
//! graph, make its instance CRD, serve its instances, and report all of it
//! in the RGD's status.
//!
//! One reconcile, after the finalizer is in place:
//! 1. build the graph (schemas fetched first from the live server, the
//!    build itself on a blocking thread: type-checking CEL is CPU work);
//!    an invalid graph sets `GraphAccepted=False` with every located error
//!    and leaves the kind served by the last accepted graph, if any;
//! 2. check that the operator may do what the graph needs ([`privilege`]);
//!    if not, `ControllerReady=False` and nothing is applied or stored;
//! 3. apply the instance CRD, unless it belongs to someone else or the
//!    change would break existing instances (`KindReady`); the accepted
//!    spec is stored on it ([`last_accepted`]);
//! 4. register the graph with the dynamic controller, which serves the
//!    instances (`ControllerReady`);
//! 5. write the status, only when it changed.
//!
//! The last accepted graph is the one in memory, or after a restart the
//! one built from the spec stored on the CRD: an RGD whose newest spec is
//! refused keeps its instances served (and their deletions finalized), and
//! its `ControllerReady` says which generation is served.
//!
//! An RGD being deleted is kept until its instances are gone ([`deletion`]):
//! its kind stays served, its `Ready` condition says `Deleting` and what it
//! waits for. Then the kind stops being served, the CRD is deleted if
//! `--allow-crd-deletion` is set (it stays otherwise), and the finalizer
//! is released.
//!
//! RGDs are listed and watched leniently ([`crate::lenient`]): one the
//! operator cannot read (nested too deep, say) is refused on its own, with
//! `GraphAccepted=False`, and never stops the others.
//!
//! Besides RGD events, CRD events bring RGDs back ([`crd_watch`]): the
//! owner of an instance CRD edited by hand, and the RGDs using a kind
//! whose CRD was installed, upgraded or deleted.

pub mod crd_watch;
pub mod deletion;
pub mod field_takeover;
pub mod instance_crd;
pub mod last_accepted;
pub mod privilege;
pub mod status;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kro_graph::api::metadata::{FINALIZER, RGD_NAME};
use kro_graph::api::{
    Condition, ConditionSet, ResourceGraphDefinition, ResourceGraphDefinitionStatus, now,
};
use kro_graph::builder::{Builder, Graph, referenced_kinds};
use kro_graph::error::BuildErrorKind;
use kro_graph::resolver::ResolveError;
use kube::api::{DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{self, Event, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::dynamic::{Dynamic, Handler};
use crate::lenient::{Lenient, Unreadable};
use crate::live_schemas::LiveSchemas;
use crate::locks::lock;
use crate::metrics::{GvrLabels, Metrics, RgdLabels, RgdTransitionLabels};
use crd_watch::CrdChanges;
use instance_crd::EnsureError;
use last_accepted::LastAccepted;
use status::{CONTROLLER_READY, GRAPH_ACCEPTED, KIND_READY};

/// What the RGD controller needs to know from the flags.
#[derive(Debug, Clone)]
pub struct RgdConfig {
    /// Delete an RGD's CRD when the RGD is deleted.
    pub allow_crd_deletion: bool,
    /// How long to wait before looking again at an RGD that waits.
    pub progress_delay: Duration,
    /// RGDs reconciled at once.
    pub concurrency: u16,
    /// Only RGDs whose labels match (empty: all).
    pub selector: String,
    /// Write the per-RGD roles for people ([`privilege::user_roles`]).
    pub instance_user_roles: bool,
}

/// Why an RGD reconcile failed; it is retried after
/// [`RgdConfig::progress_delay`].
#[derive(Debug, Error)]
pub enum RgdError {
    /// Writing the status failed.
    #[error("write the status of {rgd}: {source}")]
    Status {
        /// The RGD.
        rgd: String,
        /// The error.
        source: kube::Error,
    },
    /// The status could not be encoded.
    #[error("encode the status of {rgd}: {source}")]
    Encode {
        /// The RGD.
        rgd: String,
        /// The error.
        source: serde_json::Error,
    },
    /// Deleting the CRD at RGD deletion failed.
    #[error("delete the CRDs of {rgd}: {source}")]
    DeleteCrd {
        /// The RGD.
        rgd: String,
        /// The error.
        source: kube::Error,
    },
    /// Reading the instance CRD or listing its instances at RGD deletion
    /// failed.
    #[error("look for the instances of {rgd}: {source}")]
    Instances {
        /// The RGD.
        rgd: String,
        /// The error.
        source: kube::Error,
    },
    /// The graph build panicked (a bug in the builder).
    #[error("the graph build of {rgd} failed: {message}")]
    BuildPanicked {
        /// The RGD.
        rgd: String,
        /// The panic.
        message: String,
    },
}

/// What every RGD reconcile shares.
pub struct RgdContext {
    client: Client,
    schemas: LiveSchemas,
    builder: Builder,
    dynamic: Dynamic,
    metrics: Metrics,
    config: RgdConfig,
    privilege: privilege::Privilege,
    /// The CRDs as last seen by the CRD watch. Never held across an
    /// `.await`.
    crd_changes: Arc<Mutex<CrdChanges>>,
}

impl RgdContext {
    /// A context building graphs with `builder`, whose resolver must read
    /// `schemas` (which this context keeps fresh).
    pub fn new(
        client: Client,
        schemas: LiveSchemas,
        builder: Builder,
        dynamic: Dynamic,
        metrics: Metrics,
        config: RgdConfig,
    ) -> Self {
        Self {
            privilege: privilege::Privilege::new(client.clone(), &config),
            client,
            schemas,
            builder,
            dynamic,
            metrics,
            config,
            crd_changes: Arc::default(),
        }
    }

    /// Whether a CRD of a group `rgd` uses changed so recently that its
    /// new schema may not be published yet.
    fn schemas_settling(&self, rgd: &ResourceGraphDefinition) -> bool {
        lock(&self.crd_changes).settling(&crd_watch::groups_used(rgd), Instant::now())
    }
}

/// Runs the RGD controller until `stop` is cancelled; reconciles in
/// progress then finish.
pub async fn run(context: Arc<RgdContext>, stop: CancellationToken) {
    let client = context.client.clone();
    let mut rgds = watcher::Config::default();
    if !context.config.selector.is_empty() {
        rgds = rgds.labels(&context.config.selector);
    }
    let concurrency = context.config.concurrency;
    let crds = Api::<Lenient<PartialObjectMeta<CustomResourceDefinition>>>::all(client.clone());
    let controller = Controller::new(rgd_api(&client), rgds);
    let store = controller.store();
    let changes = Arc::clone(&context.crd_changes);
    let schemas = context.schemas.clone();
    controller
        .watches(crds, watcher::Config::default(), move |crd| {
            rgds_to_check(crd.meta(), &store, &changes, &schemas)
        })
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, error_policy, context)
        .for_each(|outcome| async move {
            match outcome {
                Ok(_) => {}
                // A CRD event for an RGD this process does not serve.
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(rgd = %object, "not served here");
                }
                Err(e) => tracing::warn!("RGD controller: {e}"),
            }
        })
        .await;
}

/// The RGDs, read leniently.
fn rgd_api(client: &Client) -> Api<Lenient<ResourceGraphDefinition>> {
    Api::all(client.clone())
}

/// The RGDs a CRD event brings back ([`crd_watch`]). A change of what the
/// CRD serves also makes the next schema prefetch read the OpenAPI index
/// again.
fn rgds_to_check(
    crd: &ObjectMeta,
    rgds: &Store<Lenient<ResourceGraphDefinition>>,
    changes: &Mutex<CrdChanges>,
    schemas: &LiveSchemas,
) -> Vec<ObjectRef<Lenient<ResourceGraphDefinition>>> {
    let mut names: BTreeSet<String> = crd_watch::owner(crd)
        .map(str::to_owned)
        .into_iter()
        .collect();
    let changed_group = lock(changes).observe(crd, Instant::now());
    if let Some(group) = changed_group {
        schemas.expire_index();
        let state = rgds.state();
        let concerned = crd_watch::concerned(state.iter().filter_map(|rgd| rgd.read()), &group);
        if !concerned.is_empty() {
            tracing::debug!(crd = ?crd.name, rgds = ?concerned, "a CRD changed: checking again");
        }
        names.extend(concerned);
    }
    names.iter().map(|name| ObjectRef::new(name)).collect()
}

/// One pass over an RGD, inside a span naming it, so that every log line
/// of the pass says which RGD it is about.
#[tracing::instrument(skip_all, fields(rgd = %rgd.name_any()))]
async fn reconcile(
    rgd: Arc<Lenient<ResourceGraphDefinition>>,
    context: Arc<RgdContext>,
) -> Result<Action, finalizer::Error<RgdError>> {
    let api = rgd_api(&context.client);
    let ours = rgd.finalizers().iter().any(|f| f == FINALIZER);
    if ours && rgd.meta().deletion_timestamp.is_some() {
        let waiting = context
            .wait_for_instances(&rgd)
            .await
            .map_err(finalizer::Error::CleanupFailed)?;
        if let Some(action) = waiting {
            return Ok(action);
        }
    }
    finalizer(&api, FINALIZER, rgd, |event| async {
        match event {
            Event::Apply(rgd) => context.apply(&rgd).await,
            Event::Cleanup(rgd) => context.cleanup(&rgd.name_any()).await,
        }
    })
    .await
}

fn error_policy(
    rgd: Arc<Lenient<ResourceGraphDefinition>>,
    error: &finalizer::Error<RgdError>,
    context: Arc<RgdContext>,
) -> Action {
    tracing::warn!(rgd = %rgd.name_any(), "{error}");
    Action::requeue(context.config.progress_delay)
}

/// What one reconcile reads from the RGD before judging it: its status as
/// read, and what new conditions are stamped with.
struct Pass {
    old_status: Option<ResourceGraphDefinitionStatus>,
    generation: i64,
    now: String,
    created: String,
    conditions: Vec<Condition>,
}

impl Pass {
    fn of(object: &Lenient<ResourceGraphDefinition>) -> Self {
        let metadata = object.meta();
        let old_status = match object {
            Lenient::Read(rgd) => rgd.status.clone(),
            Lenient::Unreadable(unreadable) => unreadable
                .status
                .clone()
                .and_then(|s| serde_json::from_value::<ResourceGraphDefinitionStatus>(s).ok()),
        };
        let now = now();
        let created = metadata
            .creation_timestamp
            .as_ref()
            .map_or_else(|| now.clone(), |t| t.0.to_string());
        let conditions = status::current_conditions(old_status.as_ref());
        Self {
            old_status,
            generation: metadata.generation.unwrap_or_default(),
            now,
            created,
            conditions,
        }
    }
}

/// Whether [`RgdContext::serve`] served the newest graph, and what to do
/// next.
enum Served {
    /// It is served.
    Yes(Action),
    /// Its kind is not ready: the last accepted graph stays served.
    No(Action),
    /// The operator may not do what it needs: the last accepted graph
    /// stays served, and neither the CRD nor the stored spec is changed.
    Unpermitted(Action),
}

/// Sets `GraphAccepted=True`.
fn accept(set: &mut ConditionSet<'_>, now: &str) {
    set.set_true_with_reason(
        GRAPH_ACCEPTED,
        "Valid",
        "resource graph and schema are valid",
        now,
    );
}

/// What building an RGD's graph gave: a graph to serve, or the reasons to
/// refuse it.
enum Built {
    /// The graph is valid.
    Graph(Arc<Graph>),
    /// The graph could not be built.
    Invalid(Invalid),
}

/// A graph that could not be built.
struct Invalid {
    /// Every located error, one a line.
    message: String,
    /// Whether a kind was unknown: it may be served soon (a CRD being
    /// installed, or another RGD's kind), so look again.
    retry: bool,
}

impl RgdContext {
    /// Builds the graph of `rgd`, counting the build in the metrics. Only a
    /// panic of the builder is an error; an invalid graph is a result.
    async fn build(&self, rgd: &ResourceGraphDefinition) -> Result<Built, RgdError> {
        let name = rgd.name_any();
        if let Err(e) = self.schemas.prefetch(&referenced_kinds(rgd)).await {
            tracing::warn!(rgd = %name, "fetching schemas failed, building with those known: {e}");
        }
        let builder = self.builder.clone();
        let owned = rgd.clone();
        let started = Instant::now();
        let built = tokio::task::spawn_blocking(move || builder.build(&owned)).await;
        let labels = RgdLabels { name: name.clone() };
        self.metrics.rgd_graph_builds.get_or_create(&labels).inc();
        self.metrics
            .rgd_graph_build_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        if !matches!(built, Ok(Ok(_))) {
            self.metrics
                .rgd_graph_build_errors
                .get_or_create(&labels)
                .inc();
        }
        match built {
            Ok(Ok(graph)) => {
                // Accepted, as upstream does; but no instance can set the field.
                for range in kro_schema::empty_ranges::in_instance_spec(&graph.instance_crd) {
                    tracing::warn!(rgd = %name, "{range}");
                }
                Ok(Built::Graph(Arc::new(graph)))
            }
            Ok(Err(errors)) => {
                let retry = errors.0.iter().any(|e| {
                    matches!(
                        e.kind,
                        BuildErrorKind::Resolve(ResolveError::UnknownKind { .. })
                    )
                });
                Ok(Built::Invalid(Invalid {
                    message: errors.to_string(),
                    retry,
                }))
            }
            Err(e) => Err(RgdError::BuildPanicked {
                rgd: name,
                message: e.to_string(),
            }),
        }
    }

    /// One reconcile of a live RGD: build its graph, refuse it or serve it,
    /// then write what happened into its status. An RGD that cannot be
    /// read is refused as it is.
    async fn apply(&self, object: &Lenient<ResourceGraphDefinition>) -> Result<Action, RgdError> {
        let Pass {
            old_status,
            generation,
            now,
            created,
            mut conditions,
        } = Pass::of(object);
        let mut set = status::condition_set(generation, &created, &mut conditions);
        set.initialize(&now);

        let (action, order, resources) = match object {
            Lenient::Unreadable(unreadable) => {
                let action = self.refuse_unreadable(unreadable, &mut set, &now);
                let action = self.fall_back(object, &mut set, &now, action).await;
                (action, Vec::new(), Vec::new())
            }
            Lenient::Read(rgd) => match self.build(rgd).await? {
                Built::Invalid(invalid) => {
                    let action = self.refuse(rgd, &invalid, &mut set, &now);
                    let action = self.fall_back(object, &mut set, &now, action).await;
                    (action, Vec::new(), Vec::new())
                }
                Built::Graph(graph) => {
                    let order = graph.topological_order.clone();
                    let resources = status::resource_info(&graph);
                    let action = match self.serve(rgd, graph, &mut set, &now).await {
                        Served::Yes(action) => action,
                        Served::No(action) => self.fall_back(object, &mut set, &now, action).await,
                        // The refusal stays in `ControllerReady`; its message
                        // says that the last graph that passed serves.
                        Served::Unpermitted(action) => {
                            match self.keep_last_accepted_served(object).await {
                                Ok(_) => action,
                                Err(retry) => retry,
                            }
                        }
                    };
                    (action, order, resources)
                }
            },
        };
        let name = object.name_any();
        let new_status = status::status(conditions, order, resources);
        self.write_status(&name, old_status.as_ref(), new_status)
            .await?;
        Ok(action)
    }

    /// Reports an RGD the operator cannot read (`GraphAccepted=False` with
    /// the reason), as [`Self::refuse`] reports an invalid graph. Only a
    /// change of the RGD can make it readable.
    fn refuse_unreadable(
        &self,
        unreadable: &Unreadable,
        set: &mut ConditionSet<'_>,
        now: &str,
    ) -> Action {
        let name = unreadable.metadata.name.as_deref().unwrap_or_default();
        tracing::warn!(rgd = %name, "cannot read the RGD: {}", unreadable.error);
        self.metrics
            .unreadable_objects
            .get_or_create(&GvrLabels {
                gvr: rgd_gvr_label(),
            })
            .inc();
        set.set_false(
            GRAPH_ACCEPTED,
            "InvalidResourceGraph",
            &format!(
                "the operator cannot read this ResourceGraphDefinition: {}",
                unreadable.error
            ),
            now,
        );
        Action::await_change()
    }

    /// Reports an invalid graph (`GraphAccepted=False` with every error).
    /// The RGD is looked at again soon only if an unknown kind may appear
    /// on its own, or a CRD of a group it uses changed a moment ago (its
    /// new schema may not have been published yet). Otherwise a CRD event
    /// brings it back ([`crd_watch`]).
    fn refuse(
        &self,
        rgd: &ResourceGraphDefinition,
        invalid: &Invalid,
        set: &mut ConditionSet<'_>,
        now: &str,
    ) -> Action {
        tracing::info!(rgd = %rgd.name_any(), "invalid resource graph: {}", invalid.message);
        set.set_false(
            GRAPH_ACCEPTED,
            "InvalidResourceGraph",
            &invalid.message,
            now,
        );
        if invalid.retry || self.schemas_settling(rgd) {
            Action::requeue(self.config.progress_delay)
        } else {
            Action::await_change()
        }
    }

    /// Serves a valid graph: accepts it (`GraphAccepted`), checks the
    /// operator's rights, applies its instance CRD (`KindReady`), then hands
    /// it to the dynamic controller (`ControllerReady`). The graph is served
    /// only once its kind is.
    async fn serve(
        &self,
        rgd: &ResourceGraphDefinition,
        graph: Arc<Graph>,
        set: &mut ConditionSet<'_>,
        now: &str,
    ) -> Served {
        let name = rgd.name_any();
        accept(set, now);
        // Before the CRD is applied: the spec stored on it must be one the
        // operator may serve, so that a restart never serves a graph whose
        // rights were refused.
        if let Some(refused) = self
            .privilege
            .refuse_unpermitted(rgd, &graph, set, now)
            .await
        {
            return Served::Unpermitted(refused);
        }
        let kind = match self.ensure_kind(rgd, &graph).await {
            Ok(kind) => kind,
            Err(e) => {
                tracing::info!(rgd = %name, "instance CRD not ready: {e}");
                set.set_false(KIND_READY, "Failed", &e.to_string(), now);
                return Served::No(match e {
                    // Refusals stand until the RGD or the CRD changes, and
                    // both bring the RGD back.
                    EnsureError::Refused(_) => Action::await_change(),
                    _ => Action::requeue(self.config.progress_delay),
                });
            }
        };
        set.set_true_with_reason(
            KIND_READY,
            "Ready",
            &format!("kind {kind} has been accepted and ready"),
            now,
        );
        let uid = rgd.metadata.uid.clone().unwrap_or_default();
        let generation = rgd.metadata.generation.unwrap_or_default();
        let registered = self
            .dynamic
            .register(Handler::new(&name, &uid, generation, graph));
        tracing::debug!(rgd = %name, ?registered, "serving");
        set.set_true_with_reason(CONTROLLER_READY, "Running", "controller is running", now);
        Served::Yes(Action::await_change())
    }

    /// Applies the instance CRD of `graph`, owned by `rgd`, with `rgd`'s
    /// spec stored on it as the last accepted; returns the kind it serves.
    async fn ensure_kind(
        &self,
        rgd: &ResourceGraphDefinition,
        graph: &Graph,
    ) -> Result<String, EnsureError> {
        let name = rgd.name_any();
        let uid = rgd.metadata.uid.clone().unwrap_or_default();
        let mut desired = instance_crd::desired_crd(&graph.instance_crd, &name, &uid);
        let accepted = LastAccepted {
            generation: rgd.metadata.generation.unwrap_or_default(),
            spec: rgd.spec.clone(),
        };
        last_accepted::annotate(&mut desired, &name, &accepted);
        let allow_breaking = rgd
            .annotations()
            .get(instance_crd::ALLOW_BREAKING_CHANGES)
            .is_some_and(|v| v == "true");
        instance_crd::ensure(&self.client, &desired, &name, allow_breaking).await
    }

    /// Writes `status` over `old`, the RGD's status as read, unless they
    /// are the same.
    async fn write_status(
        &self,
        name: &str,
        old_status: Option<&ResourceGraphDefinitionStatus>,
        status: ResourceGraphDefinitionStatus,
    ) -> Result<(), RgdError> {
        let name = name.to_owned();
        let old = old_status.and_then(|s| s.state);
        if old_status == Some(&status) {
            return Ok(());
        }
        let patch = status::merge_patch(&status).map_err(|source| RgdError::Encode {
            rgd: name.clone(),
            source,
        })?;
        // Lenient: the answer is the whole RGD, which may not be readable.
        rgd_api(&self.client)
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|source| RgdError::Status {
                rgd: name.clone(),
                source,
            })?;
        if old.is_some() && old != status.state {
            self.metrics
                .rgd_state_transitions
                .get_or_create(&RgdTransitionLabels {
                    name,
                    from: status::state_name(old).to_owned(),
                    to: status::state_name(status.state).to_owned(),
                })
                .inc();
        }
        Ok(())
    }

    /// The end of an RGD's deletion, once none of its instances is left:
    /// stops serving its kind and, with `--allow-crd-deletion`, deletes its
    /// CRD. The finalizer is released next.
    async fn cleanup(&self, name: &str) -> Result<Action, RgdError> {
        let name = name.to_owned();
        self.dynamic.deregister(&name);
        if self.config.allow_crd_deletion {
            let crds = Api::<CustomResourceDefinition>::all(self.client.clone());
            let failed = |source| RgdError::DeleteCrd {
                rgd: name.clone(),
                source,
            };
            let owned = crds
                .list_metadata(&ListParams::default().labels(&format!("{RGD_NAME}={name}")))
                .await
                .map_err(failed)?;
            for crd in owned {
                let crd_name = crd.name_any();
                match crds.delete(&crd_name, &DeleteParams::default()).await {
                    Ok(_) => tracing::info!(rgd = %name, crd = %crd_name, "CRD deleted"),
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => return Err(failed(e)),
                }
            }
        }
        self.metrics
            .rgd_deletions
            .get_or_create(&RgdLabels { name })
            .inc();
        Ok(Action::await_change())
    }
}

/// The `gvr` metric label of the RGD kind.
fn rgd_gvr_label() -> String {
    format!(
        "{}, Resource={}",
        ResourceGraphDefinition::api_version(&()),
        ResourceGraphDefinition::plural(&())
    )
}
