//! The dynamic instance controller: one work queue for the instances of
//! every kind the RGDs define, fed by shared metadata-only watches.
//!
//! The RGD controller registers a [`Handler`] per served kind; that
//! starts the watches its graph needs (the kind itself, its children's
//! kinds, its externalRefs' kinds), each shared with other RGDs and
//! stopped when the last one lets go. Watch events become instance keys
//! ([`router`]), the keys go into the [`Queue`], and [`queue::run`] calls
//! the instance reconcile ([`instance`]) for each. Nothing but small
//! routing indexes and the objects the reconciles last read or wrote
//! ([`Remembered`]) is kept in memory: the watches of instances and of
//! kro-owned children report each version they see to it, so that a
//! reconcile reads from the API server only what changed since.
//!
//! The watches read objects leniently ([`crate::lenient`]): an object whose
//! metadata cannot be read whole (its `managedFields` nest as deep as the
//! object) is routed on the rest of its metadata, which is all routing
//! needs, and counted in `unreadable_objects_total`.

pub mod instance;
pub mod isolated;
pub mod queue;
pub mod registry;
pub mod router;
pub mod selections;
pub mod watches;

use std::sync::{Arc, Mutex, PoisonError, Weak};

use futures::StreamExt;
use kro_graph::api::metadata::OWNED;
use kro_runtime::cluster::{ObjectKey, ResourceType};
use kro_runtime::reconcile::ExternalRead;
use kube::api::{DynamicObject, PartialObjectMeta};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};

pub use queue::{Queue, QueueConfig, Requests};
pub use registry::{Handler, Registered};

use crate::cluster::{Remembered, api_resource};
use crate::lenient::Lenient;
use crate::metrics::{GvrLabels, Metrics, WatchEventLabels, gvr_label};
use registry::Registry;
use router::{MetaEvent, Router};
use watches::{Filter, WatchKey, Watches};

/// The registry, the routing indexes and the watches: what the RGD
/// controller, the watch tasks and the instance reconciles share.
/// Cheap to clone.
#[derive(Clone)]
pub struct Dynamic {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    metrics: Metrics,
    queue: Queue,
    remembered: Arc<Remembered>,
    /// Never held across an `.await`.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    registry: Registry,
    router: Router,
    watches: Watches,
}

impl Inner {
    // A poisoned lock still holds consistent indexes: each update is
    // finished before the next one starts, and none panics half-way.
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Dynamic {
    /// A controller with nothing registered, and the receiving end of its
    /// queue, for [`queue::run`].
    pub fn new(client: Client, metrics: Metrics) -> (Self, Requests) {
        let (queue, requests) = Queue::new(metrics.queue_length.clone());
        let inner = Inner {
            client,
            metrics,
            queue,
            remembered: Arc::default(),
            state: Mutex::default(),
        };
        (
            Self {
                inner: Arc::new(inner),
            },
            requests,
        )
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    /// The client the watches use.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The objects the reconciles read or wrote, confirmed by the
    /// watches.
    pub fn remembered(&self) -> &Arc<Remembered> {
        &self.inner.remembered
    }

    /// Serves `handler`'s kind with it: starts the watches it needs, stops
    /// those its previous graph needed and this one does not, and, when the
    /// graph comes from a new RGD generation, reconciles every known
    /// instance again (as upstream does on every graph change).
    pub fn register(&self, handler: Handler) -> Registered {
        let handler = Arc::new(handler);
        let mut state = self.inner.state();
        let registered = state.registry.register(Arc::clone(&handler));
        let weak = Arc::downgrade(&self.inner);
        state
            .watches
            .set_owned(&handler.watch_owner(), &handler.watches(), |key| {
                tokio::spawn(watch(weak.clone(), key.clone())).abort_handle()
            });
        self.update_gauges(&state);
        let again = match registered {
            Registered::Same => Vec::new(),
            Registered::New | Registered::Changed => state.router.instances_of(handler.kind()),
        };
        drop(state);
        for key in again {
            self.inner.queue.enqueue(key);
        }
        registered
    }

    /// Stops serving RGD `rgd_name`'s kind, if it serves one: stops its
    /// watches (those nobody else needs) and forgets its instances. Keys
    /// already queued are dropped when they come up.
    pub fn deregister(&self, rgd_name: &str) {
        let mut state = self.inner.state();
        if let Some(handler) = state.registry.deregister(rgd_name) {
            state.router.forget_kind(handler.kind());
            let gvr = gvr_label(handler.kind());
            self.inner.metrics.instance_conditions.forget_kind(&gvr);
        }
        state.watches.release_owner(&registry::owner(rgd_name));
        self.update_gauges(&state);
    }

    fn update_gauges(&self, state: &State) {
        self.inner
            .metrics
            .gvr_count
            .set(gauge(state.registry.len()));
        self.inner
            .metrics
            .watch_count
            .set(gauge(state.watches.len()));
    }

    /// The handler serving the kind of RGD `rgd_name`, if it serves one.
    pub fn served_for(&self, rgd_name: &str) -> Option<Arc<Handler>> {
        self.inner.state().registry.of_rgd(rgd_name)
    }

    /// The handler serving an instance kind.
    pub fn handler(&self, kind: &ResourceType) -> Option<Arc<Handler>> {
        self.inner.state().registry.handler(kind)
    }

    /// Records what `instance` read from external kinds in its last
    /// reconcile, replacing what it read before.
    pub fn set_external_reads(&self, instance: &ObjectKey, reads: Vec<ExternalRead>) {
        self.inner
            .state()
            .router
            .set_external_reads(instance, reads);
    }

    /// Forgets what `instance` read (it is gone).
    pub fn forget_instance(&self, instance: &ObjectKey) {
        self.inner.state().router.forget_reads(instance);
    }

    /// Reconciles every known instance again (the periodic resync).
    pub fn resync(&self) {
        let all = self.inner.state().router.all_instances();
        for key in all {
            self.inner.queue.enqueue(key);
        }
    }

    /// Stops every watch (shutdown).
    pub fn stop_watches(&self) {
        let mut state = self.inner.state();
        state.watches.stop_all();
        self.update_gauges(&state);
    }

    /// Routes one watch event to the instances it concerns, counting the
    /// event and, for watches of other kinds than instances, the routing.
    fn route(&self, key: &WatchKey, event: &watcher::Event<WatchedMeta>) {
        let gvr = gvr_label(&key.resource);
        let (meta_event, event_type) = meta_event(event);
        // Before the instances concerned are queued: their reconcile must
        // find the version this event reports.
        if key.filter != Filter::All {
            self.report_version(&key.resource, meta_event);
        }
        if let Some(Lenient::Unreadable(unreadable)) = watched_object(event) {
            tracing::warn!(
                watch = %key.resource,
                name = ?unreadable.metadata.name,
                namespace = ?unreadable.metadata.namespace,
                "routing on partial metadata: {}",
                unreadable.error
            );
            self.inner
                .metrics
                .unreadable_objects
                .get_or_create(&GvrLabels { gvr: gvr.clone() })
                .inc();
        }
        if let Some(event_type) = event_type {
            self.inner
                .metrics
                .watch_events
                .get_or_create(&WatchEventLabels {
                    gvr: gvr.clone(),
                    event_type: event_type.to_owned(),
                })
                .inc();
        }
        // Events still arriving after deregistration are dropped.
        let Some(keys) = self.instances_concerned(key, meta_event) else {
            return;
        };
        if key.filter != Filter::Instances && event_type.is_some() {
            let labels = GvrLabels { gvr };
            self.inner.metrics.routes.get_or_create(&labels).inc();
            if !keys.is_empty() {
                self.inner
                    .metrics
                    .route_matches
                    .get_or_create(&labels)
                    .inc();
            }
        }
        for key in keys {
            self.inner.queue.enqueue(key);
        }
    }

    /// Tells [`Remembered`] which version of an object a watch of
    /// instances or of kro-owned children reports.
    fn report_version(&self, resource: &ResourceType, event: MetaEvent<'_>) {
        let remembered = &self.inner.remembered;
        match event {
            MetaEvent::Init => remembered.unconfirm_kind(resource),
            MetaEvent::InitApply(meta) | MetaEvent::Apply(meta) => {
                if let (Some(name), Some(version)) = (&meta.name, &meta.resource_version) {
                    remembered.reported(resource, meta.namespace.as_deref(), name, version);
                }
            }
            MetaEvent::Delete(meta) => {
                if let Some(name) = &meta.name {
                    remembered.reported_gone(resource, meta.namespace.as_deref(), name);
                }
            }
            MetaEvent::InitDone => {}
        }
    }

    /// The instances an event of watch `key` concerns, from the routing
    /// indexes; `None` for an instance event of a kind no longer served.
    fn instances_concerned(&self, key: &WatchKey, event: MetaEvent<'_>) -> Option<Vec<ObjectKey>> {
        let mut guard = self.inner.state();
        let state = &mut *guard;
        let keys = match (key.filter, event) {
            (Filter::Instances, _) => {
                let handler = state.registry.handler(&key.resource)?;
                state.router.instance_event(handler.kind(), event)
            }
            (Filter::OwnedChildren, MetaEvent::InitApply(meta))
            | (Filter::OwnedChildren, MetaEvent::Apply(meta))
            | (Filter::OwnedChildren, MetaEvent::Delete(meta)) => {
                let registry = &state.registry;
                Router::child_event(meta, |group, version, kind| {
                    registry.get(group, version, kind).map(|h| h.kind().clone())
                })
                .into_iter()
                .collect()
            }
            (Filter::All, MetaEvent::InitApply(meta)) | (Filter::All, MetaEvent::Apply(meta)) => {
                state
                    .router
                    .external_event(&key.resource, meta, false)
                    .into_iter()
                    .collect()
            }
            (Filter::All, MetaEvent::Delete(meta)) => state
                .router
                .external_event(&key.resource, meta, true)
                .into_iter()
                .collect(),
            (_, MetaEvent::Init | MetaEvent::InitDone) => Vec::new(),
        };
        Some(keys)
    }
}

/// What a metadata-only watch delivers, read leniently.
type WatchedMeta = Lenient<PartialObjectMeta<DynamicObject>>;

/// A watch event reduced to its metadata, and its type as the watch-event
/// metric names it (`None` for the listing's markers, which are not
/// counted).
fn meta_event(event: &watcher::Event<WatchedMeta>) -> (MetaEvent<'_>, Option<&'static str>) {
    match event {
        watcher::Event::Init => (MetaEvent::Init, None),
        watcher::Event::InitApply(o) => (MetaEvent::InitApply(o.meta()), Some("add")),
        watcher::Event::InitDone => (MetaEvent::InitDone, None),
        watcher::Event::Apply(o) => (MetaEvent::Apply(o.meta()), Some("update")),
        watcher::Event::Delete(o) => (MetaEvent::Delete(o.meta()), Some("delete")),
    }
}

/// The object of a watch event, if it has one.
fn watched_object(event: &watcher::Event<WatchedMeta>) -> Option<&WatchedMeta> {
    match event {
        watcher::Event::InitApply(o) | watcher::Event::Apply(o) | watcher::Event::Delete(o) => {
            Some(o)
        }
        watcher::Event::Init | watcher::Event::InitDone => None,
    }
}

/// Unconfirms the versions a watch reported when it ends.
struct Unconfirm {
    remembered: Arc<Remembered>,
    resource: ResourceType,
}

impl Drop for Unconfirm {
    fn drop(&mut self) {
        self.remembered.unconfirm_kind(&self.resource);
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One metadata-only watch, routing its events until it is aborted or the
/// controller is gone. It restarts with kube's default backoff after
/// errors.
async fn watch(inner: Weak<Inner>, key: WatchKey) {
    let Some((client, remembered)) = inner
        .upgrade()
        .map(|i| (i.client.clone(), Arc::clone(&i.remembered)))
    else {
        return;
    };
    // However the watch ends (aborted when no RGD needs it any more), what
    // it reported is no longer kept up to date.
    let _unconfirm = (key.filter != Filter::All).then(|| Unconfirm {
        remembered,
        resource: key.resource.clone(),
    });
    let api = Api::<WatchedMeta>::all_with(client, &api_resource(&key.resource));
    let config = match key.filter {
        Filter::OwnedChildren => watcher::Config::default().labels(&format!("{OWNED}=true")),
        Filter::Instances | Filter::All => watcher::Config::default(),
    };
    let mut events = std::pin::pin!(watcher(api, config).default_backoff());
    while let Some(event) = events.next().await {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match event {
            Ok(event) => Dynamic { inner }.route(&key, &event),
            Err(e) => {
                tracing::warn!(watch = %key.resource, filter = ?key.filter, "watch failed: {e}")
            }
        }
    }
}
