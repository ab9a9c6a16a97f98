//! A client middleware that counts API requests by verb and status code:
//! `rest_client_requests_total{verb,code}`.
//!
//! kube tags each request it builds with its verb (`get`, `list`,
//! `patch`, `watch`, …) as a `&'static str` request extension; raw requests
//! such as the `/openapi/v3` GETs carry none and count as `other`. The
//! steady-state benchmark divides these counts by reconciles.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tower::{Layer, Service};

use crate::metrics::RequestLabels;

/// Wraps a client service in [`Metered`].
#[derive(Clone)]
pub struct MeteredLayer {
    requests: Family<RequestLabels, Counter>,
}

impl MeteredLayer {
    /// Counts into `requests`.
    pub fn new(requests: Family<RequestLabels, Counter>) -> Self {
        Self { requests }
    }
}

impl<S> Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            requests: self.requests.clone(),
        }
    }
}

/// A service that counts each request once its response (or error)
/// arrives.
#[derive(Clone)]
pub struct Metered<S> {
    inner: S,
    requests: Family<RequestLabels, Counter>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metered<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let verb = request
            .extensions()
            .get::<&'static str>()
            .copied()
            .unwrap_or("other");
        let requests = self.requests.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            let code = match &result {
                Ok(response) => response.status().as_u16().to_string(),
                // No answer at all: a transport error.
                Err(_) => "<error>".to_owned(),
            };
            requests
                .get_or_create(&RequestLabels {
                    verb: verb.to_owned(),
                    code,
                })
                .inc();
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::future::{Ready, ready};

    use super::*;

    /// Answers every request with `status`.
    struct Answer(u16);

    impl Service<Request<()>> for Answer {
        type Response = Response<()>;
        type Error = std::convert::Infallible;
        type Future = Ready<Result<Response<()>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            let mut response = Response::new(());
            *response.status_mut() =
                http::StatusCode::from_u16(self.0).unwrap_or(http::StatusCode::IM_A_TEAPOT);
            ready(Ok(response))
        }
    }

    fn count(family: &Family<RequestLabels, Counter>, verb: &str, code: &str) -> u64 {
        family
            .get_or_create(&RequestLabels {
                verb: verb.to_owned(),
                code: code.to_owned(),
            })
            .get()
    }

    #[tokio::test]
    async fn counts_by_verb_and_code() {
        let family = Family::default();
        let mut service = MeteredLayer::new(family.clone()).layer(Answer(201));
        let mut tagged = Request::new(());
        tagged.extensions_mut().insert("create");
        service.call(tagged).await.expect("answer");
        service.call(Request::new(())).await.expect("answer");
        service.call(Request::new(())).await.expect("answer");
        assert_eq!(count(&family, "create", "201"), 1);
        assert_eq!(count(&family, "other", "201"), 2);
    }
}
