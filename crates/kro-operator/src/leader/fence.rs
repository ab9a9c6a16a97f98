//! The fence: writes to the API server pass only while this replica's
//! leadership is confirmed.
//!
//! Each successful renewal of the Lease opens the fence until the moment the
//! renewal was *sent* plus the renew deadline. Another replica can take the
//! Lease only a full Lease duration after it saw that renewal, which is later
//! still, so the fence closes before anyone else could lead: two replicas
//! never write at once, even when this one is cut off from the API server
//! and cannot learn that it lost. Reads pass at all times (the watches and
//! caches of a standby stay warm).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request};
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::locks::lock;

/// Until when writes may pass; shared by the elector and every client clone.
#[derive(Clone, Debug, Default)]
pub struct Fence {
    open_until: Arc<Mutex<Option<Instant>>>,
}

impl Fence {
    /// A closed fence: nothing is written until the Lease is held.
    pub fn closed() -> Self {
        Self::default()
    }

    /// Lets writes pass until `until` (a later renewal moves it on).
    pub fn open_until(&self, until: Instant) {
        *lock(&self.open_until) = Some(until);
    }

    /// Stops every write from now on (leadership lost or given up).
    pub fn close(&self) {
        *lock(&self.open_until) = None;
    }

    /// Whether a write may pass now.
    pub fn is_open(&self) -> bool {
        lock(&self.open_until).is_some_and(|until| Instant::now() < until)
    }

    /// When the fence closes unless renewed; `None` when it is closed.
    pub fn deadline(&self) -> Option<Instant> {
        *lock(&self.open_until)
    }
}

/// The error a fenced write fails with.
#[derive(Debug, thiserror::Error)]
#[error(
    "write refused: this replica's leadership is not confirmed (the Lease was lost, or not renewed within the renew deadline)"
)]
pub struct NotLeader;

/// Wraps a client service in [`Fenced`].
#[derive(Clone)]
pub struct FenceLayer {
    fence: Fence,
}

impl FenceLayer {
    /// Guards writes with `fence`.
    pub fn new(fence: Fence) -> Self {
        Self { fence }
    }
}

impl<S> Layer<S> for FenceLayer {
    type Service = Fenced<S>;

    fn layer(&self, inner: S) -> Fenced<S> {
        Fenced {
            inner,
            fence: self.fence.clone(),
        }
    }
}

/// A service that refuses writes (POST, PUT, PATCH, DELETE) while its fence
/// is closed, before they leave the process.
#[derive(Clone)]
pub struct Fenced<S> {
    inner: S,
    fence: Fence,
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl<S, ReqBody> Service<Request<ReqBody>> for Fenced<S>
where
    S: Service<Request<ReqBody>>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: From<NotLeader> + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if is_write(request.method()) {
            // At debug level every write is logged with its verdict: the
            // two-replica test reads these lines to prove that a replica
            // never writes once another could lead.
            let (method, path) = (request.method(), request.uri().path());
            if !self.fence.is_open() {
                tracing::debug!(%method, path, "write refused");
                return Box::pin(std::future::ready(Err(NotLeader.into())));
            }
            tracing::debug!(%method, path, "write sent");
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tower::{BoxError, ServiceExt};

    use super::*;

    /// The inner service: answers with the method it was given.
    fn echo() -> tower::util::BoxService<Request<()>, Method, BoxError> {
        tower::util::BoxService::new(tower::service_fn(|request: Request<()>| async move {
            Ok::<_, BoxError>(request.method().clone())
        }))
    }

    async fn send(fence: &Fence, method: Method) -> Result<Method, String> {
        let request = Request::builder()
            .method(method)
            .body(())
            .expect("a request");
        FenceLayer::new(fence.clone())
            .layer(echo())
            .oneshot(request)
            .await
            .map_err(|e| e.to_string())
    }

    #[tokio::test(start_paused = true)]
    async fn writes_pass_only_until_the_deadline_and_reads_always() {
        let fence = Fence::closed();
        assert!(
            send(&fence, Method::PATCH).await.is_err(),
            "closed at first"
        );
        assert_eq!(send(&fence, Method::GET).await, Ok(Method::GET));

        fence.open_until(Instant::now() + Duration::from_secs(10));
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(send(&fence, method.clone()).await, Ok(method));
        }

        tokio::time::advance(Duration::from_secs(10)).await;
        let refused = send(&fence, Method::DELETE).await.expect_err("expired");
        assert!(refused.contains("leadership is not confirmed"), "{refused}");
        assert_eq!(send(&fence, Method::GET).await, Ok(Method::GET));

        fence.open_until(Instant::now() + Duration::from_secs(10));
        fence.close();
        assert!(send(&fence, Method::POST).await.is_err(), "closed at once");
    }
}
