//! Waiting for the cluster to converge.

use std::future::Future;
use std::time::Duration;

/// How long [`eventually`] waits before failing the test. It guards against
/// a hang, it is not a speed goal: speed is measured in benchmarks.
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Polls `check` until it returns `Some`, and returns that value.
///
/// # Panics
///
/// After [`WAIT_LIMIT`], naming `what` was awaited.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT_LIMIT:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
