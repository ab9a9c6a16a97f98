//! Work kept off the async runtime's worker threads.
//!
//! CEL evaluation is synchronous: within its budgets it takes milliseconds,
//! but up to its deadline (`--cel-evaluation-timeout`) it may hold the
//! thread it runs on. An instance reconcile interleaves evaluation with API
//! calls, so the whole reconcile runs on a thread of the blocking pool,
//! which drives its API calls itself (`Handle::block_on`): the worker
//! threads stay free for the Lease renewal, `/healthz`, the watches and
//! the I/O of everything else. The queue's concurrency
//! (`--dynamic-controller-concurrent-reconciles`) bounds the blocking
//! threads this takes.
//!
//! Dropping the future (the queue aborts the reconciles still running when
//! its shutdown grace ends) cancels the work at its next `.await`; an
//! evaluation in progress ends at its deadline at the latest. The process
//! does not wait for a blocking thread longer than that, which matters
//! because a runtime waits for its blocking threads when it is dropped.

use std::future::Future;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// Runs `work` to completion on a thread of the blocking pool; `None` when
/// it was cancelled before it completed (the runtime shutting down). A
/// panic of `work` is resumed here, so that the caller's task panics as if
/// `work` had run in it.
pub async fn off_the_workers<F>(work: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cancel = CancellationToken::new();
    // Cancels the work when this future is dropped before it completes.
    let _cancel_when_dropped = cancel.clone().drop_guard();
    let handle = Handle::current();
    let joined = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            tokio::select! {
                output = work => Some(output),
                () = cancel.cancelled() => None,
            }
        })
    })
    .await;
    match joined {
        Ok(output) => output,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn work_runs_on_another_thread_and_can_await() {
        let caller = std::thread::current().id();
        let (thread, slept) = off_the_workers(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            (std::thread::current().id(), true)
        })
        .await
        .expect("completes");
        assert_ne!(thread, caller);
        assert!(slept);
    }

    /// A busy blocking thread does not hold up the caller's runtime.
    #[tokio::test]
    async fn the_runtime_keeps_running_while_the_work_blocks() {
        let blocking = tokio::spawn(off_the_workers(async {
            std::thread::sleep(Duration::from_millis(300));
        }));
        let ticked = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::time::sleep(Duration::from_millis(20)),
        )
        .await;
        assert!(ticked.is_ok(), "a timer of this thread fired meanwhile");
        blocking.await.expect("no panic").expect("completes");
    }

    /// Sets its flag when dropped.
    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn dropping_the_future_cancels_the_work_at_its_next_await() {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = SetOnDrop(Arc::clone(&dropped));
        let work = tokio::spawn(off_the_workers(async move {
            let _flag = flag;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        work.abort();
        assert!(work.await.expect_err("aborted").is_cancelled());
        // The blocking thread lets go of the work, rather than sleep on.
        let mut waited = Duration::ZERO;
        while !dropped.load(Ordering::SeqCst) && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        assert!(dropped.load(Ordering::SeqCst), "the work was dropped");
    }

    #[tokio::test]
    async fn a_panic_reaches_the_caller() {
        let panicked = tokio::spawn(off_the_workers(async { panic!("in the work") }))
            .await
            .expect_err("the caller's task panics");
        assert!(panicked.is_panic());
    }
}
