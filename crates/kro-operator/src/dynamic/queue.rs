//! The one work queue of every instance kind, and the runner that drains
//! it.
//!
//! The queue is kube's public `scheduler`: it keeps one entry per key, and
//! when a key is asked for twice the earlier time wins, so an event
//! pre-empts a pending backoff or requeue (as client-go's `Add` does). The
//! runner takes due keys while fewer than `concurrency` reconciles run,
//! and never two of the same key: a key that falls due while it runs is
//! held and runs once more when the current run ends (client-go's "dirty"
//! set). Failures back off per key, exponentially up to a cap, and also
//! draw from a token bucket shared by every key, like client-go's default
//! controller rate limiter.
//!
//! A failing key is retried until it succeeds, never dropped: upstream
//! drops it after `max_retries` failures in a row, and then it waits for
//! the next change or resync (ten hours by default), a deletion included.
//! Here `max_retries` is the count after which the failures are logged as
//! errors rather than warnings.

use std::collections::{HashMap, HashSet};
use std::future::{Future, poll_fn};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kro_runtime::cluster::ObjectKey;
use kube::runtime::scheduler::{ScheduleRequest, scheduler};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::locks::lock;
use crate::metrics::{GvrLabels, IntGauge, Metrics, RequeueLabels, gvr_label};

/// Later than the scheduler's own cap of six months.
const FAR_FUTURE: Duration = Duration::from_secs(366 * 24 * 3600);

/// Where keys are put in. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    requests: UnboundedSender<ScheduleRequest<ObjectKey>>,
    /// Keys sent and not yet taken, for the queue length gauge (the
    /// scheduler keeps its own count private).
    queued: Arc<Mutex<HashSet<ObjectKey>>>,
    length: IntGauge,
}

/// The receiving end of a [`Queue`], for [`run`].
pub struct Requests {
    receiver: UnboundedReceiver<ScheduleRequest<ObjectKey>>,
    queued: Arc<Mutex<HashSet<ObjectKey>>>,
    length: IntGauge,
}

impl Queue {
    /// A queue and its receiving end. The queue length is reported in
    /// `length`.
    pub fn new(length: IntGauge) -> (Self, Requests) {
        let (requests, receiver) = unbounded();
        let queued = Arc::default();
        (
            Self {
                requests,
                queued: Arc::clone(&queued),
                length: length.clone(),
            },
            Requests {
                receiver,
                queued,
                length,
            },
        )
    }

    /// Reconciles `key` as soon as possible.
    pub fn enqueue(&self, key: ObjectKey) {
        self.after(key, Duration::ZERO);
    }

    /// Reconciles `key` after `delay`, unless something asks for it sooner.
    pub fn after(&self, key: ObjectKey, delay: Duration) {
        {
            let mut queued = lock(&self.queued);
            queued.insert(key.clone());
            self.length.set(gauge_value(queued.len()));
        }
        // The runner has stopped: nothing will reconcile any more, and
        // nothing needs to.
        let now = Instant::now();
        let _ = self.requests.unbounded_send(ScheduleRequest {
            message: key,
            // A delay from an absurd flag value must not overflow; the
            // scheduler caps every time at six months anyway.
            run_at: now.checked_add(delay).unwrap_or(now + FAR_FUTURE),
        });
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What one reconcile asks of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing more until something changes.
    Done,
    /// Look again after this delay (waiting for readiness, deletion waves).
    After(Duration),
    /// It failed: retry with exponential backoff.
    Retry(String),
}

/// Reconciles one key.
pub trait Reconcile: Send + Sync + 'static {
    /// Reconciles `key` once. The reconciler is shared, so that the work
    /// may move to another thread (see [`super::isolated`]).
    fn reconcile(self: Arc<Self>, key: ObjectKey) -> impl Future<Output = Verdict> + Send;
}

/// How the runner schedules work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Reconciles at once, across every kind.
    pub concurrency: usize,
    /// The first retry delay after a failure.
    pub min_delay: Duration,
    /// The longest retry delay.
    pub max_delay: Duration,
    /// Failure retries per second, across every key.
    pub rate_limit: u32,
    /// Failure retries at once, across every key.
    pub burst: u32,
    /// Failures in a row from which each failure is logged as an error
    /// (the key is still retried).
    pub max_retries: u32,
    /// How long to wait for running reconciles at shutdown.
    pub shutdown_grace: Duration,
}

/// The exponential backoff of the `failures`-th failure in a row.
pub fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1);
    if exponent >= 32 {
        return max;
    }
    min.checked_mul(1u32 << exponent)
        .map_or(max, |d| d.min(max))
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up. It
/// hands out delays rather than refusing, like Go's `rate.Limiter.Reserve`.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            at: Instant::now(),
        }
    }

    /// Takes a token; returns how long until it is really there.
    fn reserve(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Drains the queue until `stop` is cancelled (or every [`Queue`] is
/// dropped), then waits up to `config.shutdown_grace` for the reconciles
/// still running and aborts the rest.
pub async fn run<R: Reconcile>(
    requests: Requests,
    queue: Queue,
    reconciler: Arc<R>,
    config: QueueConfig,
    metrics: Metrics,
    stop: CancellationToken,
) {
    let Requests {
        receiver,
        queued,
        length,
    } = requests;
    let mut scheduled = std::pin::pin!(scheduler(receiver));
    let mut runner = Runner {
        bucket: Bucket::new(config.rate_limit, config.burst),
        queue,
        reconciler,
        config,
        metrics,
        queued,
        length,
        busy: HashSet::new(),
        running: HashMap::new(),
        failures: HashMap::new(),
        tasks: JoinSet::new(),
    };
    let concurrency = runner.config.concurrency.max(1);

    loop {
        let room = runner.tasks.len() < concurrency;
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(finished) = runner.tasks.join_next_with_id() => runner.ended(finished),
            // A key whose reconcile runs stays held until it ends.
            next = poll_fn(|cx| {
                scheduled
                    .as_mut()
                    .hold_unless(|key| !runner.busy.contains(key))
                    .poll_next_unpin(cx)
            }), if room => {
                let Some(key) = next else { break };
                runner.start(key);
            }
        }
    }
    runner.shut_down().await;
}

/// The runner's state between two turns of its loop.
struct Runner<R> {
    queue: Queue,
    reconciler: Arc<R>,
    config: QueueConfig,
    metrics: Metrics,
    /// Shared with the [`Queue`]: keys sent and not yet taken.
    queued: Arc<Mutex<HashSet<ObjectKey>>>,
    length: IntGauge,
    /// Keys whose reconcile runs.
    busy: HashSet<ObjectKey>,
    /// The key of each running task, and when it started.
    running: HashMap<tokio::task::Id, (ObjectKey, Instant)>,
    /// Failures in a row, per key.
    failures: HashMap<ObjectKey, u32>,
    bucket: Bucket,
    tasks: JoinSet<Verdict>,
}

impl<R: Reconcile> Runner<R> {
    /// Starts reconciling `key`, just taken from the scheduler.
    fn start(&mut self, key: ObjectKey) {
        {
            let mut queued = lock(&self.queued);
            queued.remove(&key);
            self.length.set(gauge_value(queued.len()));
        }
        self.metrics.reconciles.get_or_create(&labels(&key)).inc();
        self.busy.insert(key.clone());
        let reconciler = Arc::clone(&self.reconciler);
        let task_key = key.clone();
        let handle = self
            .tasks
            .spawn(async move { reconciler.reconcile(task_key).await });
        self.running.insert(handle.id(), (key, Instant::now()));
    }

    /// Releases the key of a task that ended and acts on its verdict; a
    /// panic is a failure like any other.
    fn ended(&mut self, finished: Result<(tokio::task::Id, Verdict), JoinError>) {
        let (id, verdict) = match finished {
            Ok((id, verdict)) => (id, verdict),
            Err(e) => {
                let id = e.id();
                if let Some((key, _)) = self.running.get(&id) {
                    self.metrics
                        .reconcile_panics
                        .get_or_create(&labels(key))
                        .inc();
                }
                (id, Verdict::Retry(format!("the reconcile panicked: {e}")))
            }
        };
        let Some((key, started)) = self.running.remove(&id) else {
            return;
        };
        self.busy.remove(&key);
        self.metrics
            .reconcile_duration
            .get_or_create(&labels(&key))
            .observe(started.elapsed().as_secs_f64());
        self.finish(key, verdict);
    }

    /// Acts on one reconcile's verdict (upstream's rules, kro-semantics
    /// §5.12).
    fn finish(&mut self, key: ObjectKey, verdict: Verdict) {
        let requeue = |kind: &str| {
            self.metrics
                .requeues
                .get_or_create(&RequeueLabels {
                    gvr: gvr_label(&key.resource),
                    r#type: kind.to_owned(),
                })
                .inc();
        };
        match verdict {
            Verdict::Done => {
                self.failures.remove(&key);
                requeue("no_requeue");
            }
            Verdict::After(delay) => {
                self.failures.remove(&key);
                requeue("requeue_after");
                self.queue.after(key, delay);
            }
            Verdict::Retry(message) => {
                self.metrics
                    .handler_errors
                    .get_or_create(&labels(&key))
                    .inc();
                let count = self.failures.entry(key.clone()).or_insert(0);
                *count = count.saturating_add(1);
                let failures = *count;
                let delay = backoff(failures, self.config.min_delay, self.config.max_delay)
                    .max(self.bucket.reserve());
                if failures >= self.config.max_retries {
                    tracing::error!(instance = %key, error = %message, failures, retry_in = ?delay,
                        "reconcile keeps failing");
                } else {
                    tracing::warn!(instance = %key, error = %message, failures, retry_in = ?delay,
                        "reconcile failed");
                }
                requeue("rate_limited");
                self.queue.after(key, delay);
            }
        }
    }

    /// Waits up to the shutdown grace for the running reconciles, then
    /// aborts those still running.
    async fn shut_down(mut self) {
        let grace = self.config.shutdown_grace;
        let tasks = &mut self.tasks;
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.tasks.len(),
                "instance reconciles still running after {grace:?}; aborting them"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

fn labels(key: &ObjectKey) -> GvrLabels {
    GvrLabels {
        gvr: gvr_label(&key.resource),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_runtime::cluster::ResourceType;
    use kro_schema::kinds::Gvk;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            resource: ResourceType {
                gvk: Gvk {
                    group: "kro.run".into(),
                    version: "v1alpha1".into(),
                    kind: "App".into(),
                },
                plural: "apps".into(),
                namespaced: true,
            },
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn config() -> QueueConfig {
        QueueConfig {
            concurrency: 2,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1000),
            rate_limit: 10,
            burst: 100,
            max_retries: 20,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// The answer to the n-th reconcile of a key.
    type Answer = Box<dyn Fn(&str, usize) -> Verdict + Send + Sync>;

    /// Records when each reconcile starts and answers from a script.
    struct Script {
        started: Mutex<Vec<(String, Duration)>>,
        origin: Instant,
        running: AtomicUsize,
        most_at_once: AtomicUsize,
        work: Duration,
        verdict: Answer,
    }

    impl Script {
        fn new(
            work: Duration,
            verdict: impl Fn(&str, usize) -> Verdict + Send + Sync + 'static,
        ) -> Arc<Self> {
            Arc::new(Self {
                started: Mutex::default(),
                origin: Instant::now(),
                running: AtomicUsize::new(0),
                most_at_once: AtomicUsize::new(0),
                work,
                verdict: Box::new(verdict),
            })
        }

        fn starts(&self, name: &str) -> Vec<Duration> {
            lock(&self.started)
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, at)| *at)
                .collect()
        }
    }

    impl Reconcile for Script {
        async fn reconcile(self: Arc<Self>, key: ObjectKey) -> Verdict {
            let n = {
                let mut started = lock(&self.started);
                started.push((key.name.clone(), self.origin.elapsed()));
                started.iter().filter(|(n, _)| *n == key.name).count()
            };
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.work).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            (self.verdict)(&key.name, n)
        }
    }

    struct Running {
        queue: Queue,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<()>,
        metrics: Metrics,
    }

    fn start(script: &Arc<Script>, config: QueueConfig) -> Running {
        let metrics = Metrics::new();
        let (queue, requests) = Queue::new(metrics.queue_length.clone());
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            requests,
            queue.clone(),
            Arc::clone(script),
            config,
            metrics.clone(),
            stop.clone(),
        ));
        Running {
            queue,
            stop,
            task,
            metrics,
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let (min, max) = (Duration::from_millis(200), Duration::from_secs(1000));
        assert_eq!(backoff(1, min, max), Duration::from_millis(200));
        assert_eq!(backoff(2, min, max), Duration::from_millis(400));
        assert_eq!(backoff(3, min, max), Duration::from_millis(800));
        assert_eq!(backoff(14, min, max), max);
        assert_eq!(backoff(200, min, max), max);
    }

    #[test]
    fn the_bucket_delays_beyond_its_burst() {
        let mut bucket = Bucket::new(10, 2);
        assert_eq!(bucket.reserve(), Duration::ZERO);
        assert_eq!(bucket.reserve(), Duration::ZERO);
        let third = bucket.reserve();
        assert!(third > Duration::from_millis(90) && third <= Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_up_to_the_cap_and_are_never_dropped() {
        let script = Script::new(Duration::ZERO, |_, _| Verdict::Retry("boom".into()));
        let config = QueueConfig {
            max_delay: secs(5.0),
            max_retries: 3,
            ..config()
        };
        let running = start(&script, config);
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(60.0)).await;
        let starts = script.starts("a");
        // The first run, retries after 0.2, 0.4, 0.8, 1.6, 3.2 s (at 6.2 s),
        // then every 5 s: past the retry count, for as long as it fails (ten
        // more before 60 s).
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        let mut expected = vec![secs(0.2), secs(0.4), secs(0.8), secs(1.6), secs(3.2)];
        expected.extend([secs(5.0); 10]);
        assert_eq!(gaps, expected, "{starts:?}");
        assert_eq!(
            running
                .metrics
                .handler_errors
                .get_or_create(&labels(&key("a")))
                .get(),
            u64::try_from(starts.len()).expect("a count")
        );
        assert_eq!(running.metrics.queue_length.get(), 1, "still queued");
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_failing_for_long_succeeds_and_then_rests() {
        // Thirty failures in a row, well past the retry count of 20.
        let script = Script::new(Duration::ZERO, |_, n| {
            if n <= 30 {
                Verdict::Retry("boom".into())
            } else {
                Verdict::Done
            }
        });
        let config = QueueConfig {
            max_delay: secs(1.0),
            ..config()
        };
        let running = start(&script, config);
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(3600.0)).await;
        assert_eq!(script.starts("a").len(), 31, "retried until it succeeded");
        assert_eq!(running.metrics.queue_length.get(), 0, "then left alone");
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_still_draw_from_the_shared_bucket() {
        let script = Script::new(Duration::ZERO, |_, _| Verdict::Retry("boom".into()));
        let config = QueueConfig {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            rate_limit: 1,
            burst: 1,
            ..config()
        };
        let running = start(&script, config);
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(10.5)).await;
        // The backoff says 1 ms; the bucket, one retry a second.
        let starts = script.starts("a");
        assert!((10..=12).contains(&starts.len()), "{starts:?}");
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_pre_empts_a_backoff_and_success_resets_it() {
        let script = Script::new(Duration::ZERO, |_, n| {
            if n <= 3 {
                Verdict::Retry("boom".into())
            } else {
                Verdict::Done
            }
        });
        let running = start(&script, config());
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(0.1)).await;
        // Waiting 0.2 s for the retry; an event makes it run now.
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(0.1)).await;
        assert_eq!(script.starts("a"), [secs(0.0), secs(0.1)]);
        tokio::time::sleep(secs(10.0)).await;
        // The second failure waited 0.4 s, the third's retry succeeded.
        assert_eq!(
            script.starts("a"),
            [secs(0.0), secs(0.1), secs(0.5), secs(1.3)]
        );
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn one_run_per_key_and_a_dirty_key_runs_once_more() {
        let script = Script::new(secs(1.0), |_, _| Verdict::Done);
        let running = start(&script, config());
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(0.1)).await;
        for _ in 0..5 {
            running.queue.enqueue(key("a"));
        }
        tokio::time::sleep(secs(10.0)).await;
        assert_eq!(script.starts("a"), [secs(0.0), secs(1.0)]);
        assert_eq!(script.most_at_once.load(Ordering::SeqCst), 1);
        assert_eq!(running.metrics.queue_length.get(), 0);
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_limited_across_keys() {
        let script = Script::new(secs(1.0), |_, _| Verdict::Done);
        let running = start(&script, config());
        for name in ["a", "b", "c", "d", "e"] {
            running.queue.enqueue(key(name));
        }
        tokio::time::sleep(secs(10.0)).await;
        assert_eq!(script.most_at_once.load(Ordering::SeqCst), 2);
        let mut all: Vec<Duration> = lock(&script.started).iter().map(|(_, at)| *at).collect();
        all.sort();
        assert_eq!(all, [secs(0.0), secs(0.0), secs(1.0), secs(1.0), secs(2.0)]);
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn requeue_after_waits_and_done_stops() {
        let script = Script::new(Duration::ZERO, |_, n| {
            if n < 3 {
                Verdict::After(secs(3.0))
            } else {
                Verdict::Done
            }
        });
        let running = start(&script, config());
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(60.0)).await;
        assert_eq!(script.starts("a"), [secs(0.0), secs(3.0), secs(6.0)]);
        running.stop.cancel();
        running.task.await.expect("the runner stops");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_running_reconciles_then_aborts() {
        let script = Script::new(secs(100.0), |_, _| Verdict::Done);
        let running = start(&script, config());
        running.queue.enqueue(key("a"));
        tokio::time::sleep(secs(0.1)).await;
        running.stop.cancel();
        let began = Instant::now();
        running.task.await.expect("the runner stops");
        // The grace period is 5 s; the reconcile would take 100 s.
        assert_eq!(began.elapsed(), secs(5.0));
        assert_eq!(script.running.load(Ordering::SeqCst), 1, "aborted mid-way");
    }
}
