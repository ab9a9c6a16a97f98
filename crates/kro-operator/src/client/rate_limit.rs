//! Client-side rate limiting (`--client-qps`, `--client-burst`): a token
//! bucket in front of the API server, as client-go puts in every client.
//!
//! kube 5 has none of its own. tower's `RateLimit` counts in fixed windows,
//! which lets up to twice the burst through around a window's edge; a
//! token bucket does not, and it is what upstream's flags mean. The bucket
//! holds `burst` tokens, refilled at `qps` a second; each request takes one
//! when it is sent. A watch therefore costs one token when it starts,
//! however long it then streams.
//!
//! The bucket is kept as the time it would next be full of debt (the
//! generic cell rate algorithm): no floating-point token counts, so no
//! rounding that could leave a caller waking up to find itself still short
//! of a token.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// The slowest pace the limiter keeps: one request an hour. Slower rates
/// are taken as this one, so that every instant the limiter computes stays
/// within what the clock can represent.
const SLOWEST_INTERVAL: Duration = Duration::from_secs(3600);

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub qps: f64,
    /// The bucket's size: requests that may go at once after a quiet
    /// spell. At least 1.
    pub burst: u32,
}

impl RateLimit {
    /// No limit: an infinite rate, so no request ever waits.
    pub const UNLIMITED: RateLimit = RateLimit {
        qps: f64::INFINITY,
        burst: 1,
    };
}

/// Wraps a client service in [`RateLimited`].
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    interval: Duration,
    tolerance: Duration,
}

impl RateLimitLayer {
    /// A bucket of `limit.burst` tokens (at least 1) refilled at
    /// `limit.qps` a second (rates of one an hour or less count as one an
    /// hour; an infinite rate never waits).
    pub fn new(limit: RateLimit) -> Self {
        let interval = Duration::try_from_secs_f64(1.0 / limit.qps)
            .unwrap_or(SLOWEST_INTERVAL)
            .min(SLOWEST_INTERVAL);
        Self {
            interval,
            // A request may go this far ahead of the steady pace: the
            // tokens a full bucket holds beyond the one it spends.
            tolerance: interval.saturating_mul(limit.burst.max(1) - 1),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        let now = Instant::now();
        RateLimited {
            inner,
            interval: self.interval,
            tolerance: self.tolerance,
            // Starting at now: the bucket starts full.
            paid_until: now,
            sleep: Box::pin(tokio::time::sleep_until(now)),
        }
    }
}

/// A service that is ready only when the bucket has a token. kube's
/// `Client` puts a `Buffer` in front of its service, so callers queue there
/// while this one waits, and one bucket serves every clone of the client.
pub struct RateLimited<S> {
    inner: S,
    /// The time between two tokens.
    interval: Duration,
    /// How far `paid_until` may run ahead of now with a token left.
    tolerance: Duration,
    /// The time at which every request sent so far would have been paid
    /// for at the steady pace.
    paid_until: Instant,
    /// Reused for every wait, to avoid an allocation per request.
    sleep: Pin<Box<Sleep>>,
}

impl<S> RateLimited<S> {
    /// When the next request may go: once `paid_until` is no more than the
    /// tolerance ahead of the clock.
    fn next_allowed(&self) -> Option<Instant> {
        self.paid_until.checked_sub(self.tolerance)
    }
}

impl<S, Request> Service<Request> for RateLimited<S>
where
    S: Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if let Some(allowed) = self.next_allowed()
            && Instant::now() < allowed
        {
            if self.sleep.deadline() != allowed {
                self.sleep.as_mut().reset(allowed);
            }
            // The timer fires no earlier than its deadline, so once it
            // has, the token is there.
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // After a quiet spell the debt restarts from now: the bucket holds
        // no more than `burst` tokens.
        let now = Instant::now();
        let from = self.paid_until.max(now);
        // Beyond what the clock can hold is far enough: the limiter then
        // waits as long as it can, which at one request an hour is never.
        self.paid_until = from.checked_add(self.interval).unwrap_or(from);
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{Ready, poll_fn, ready};

    use super::*;

    /// Answers at once with the time of the call.
    struct Clock;

    impl Service<()> for Clock {
        type Response = Instant;
        type Error = Infallible;
        type Future = Ready<Result<Instant, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, (): ()) -> Self::Future {
            ready(Ok(Instant::now()))
        }
    }

    /// Sends `count` requests one after the other; the milliseconds after
    /// `start` at which each was sent.
    async fn send<S>(service: &mut S, count: usize, start: Instant) -> Vec<u128>
    where
        S: Service<(), Response = Instant, Error = Infallible>,
    {
        let mut sent = Vec::new();
        for _ in 0..count {
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .unwrap_or_else(|never| match never {});
            let at = service
                .call(())
                .await
                .unwrap_or_else(|never| match never {});
            sent.push(at.duration_since(start).as_millis());
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn the_burst_goes_at_once_and_the_rest_at_the_rate() {
        let start = Instant::now();
        let mut service = RateLimitLayer::new(RateLimit {
            qps: 10.0,
            burst: 3,
        })
        .layer(Clock);
        assert_eq!(send(&mut service, 6, start).await, [0, 0, 0, 100, 200, 300]);

        // A quiet spell refills the bucket, but to no more than the burst.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let later = Instant::now();
        assert_eq!(send(&mut service, 5, later).await, [0, 0, 0, 100, 200]);

        // A quarter second refills two and a half tokens: two requests go
        // at once, the third waits 50ms for the rest of its token.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let partly = Instant::now();
        assert_eq!(send(&mut service, 3, partly).await, [0, 0, 50]);
    }

    #[tokio::test(start_paused = true)]
    async fn extreme_rates_neither_panic_nor_stall() {
        let start = Instant::now();
        let mut unlimited = RateLimitLayer::new(RateLimit {
            qps: f64::INFINITY,
            burst: 1,
        })
        .layer(Clock);
        assert_eq!(send(&mut unlimited, 3, start).await, [0, 0, 0]);

        let mut glacial = RateLimitLayer::new(RateLimit {
            qps: 1e-300,
            burst: u32::MAX,
        })
        .layer(Clock);
        assert_eq!(send(&mut glacial, 3, start).await, [0, 0, 0]);

        let mut no_burst = RateLimitLayer::new(RateLimit { qps: 2.0, burst: 0 }).layer(Clock);
        assert_eq!(send(&mut no_burst, 3, start).await, [0, 500, 1000]);
    }

    /// Through kube's `Client`, which buffers in front of the service:
    /// concurrent callers share one bucket.
    #[tokio::test(start_paused = true)]
    async fn a_kube_client_shares_one_bucket_between_its_clones() {
        use kube::client::Body;

        /// Answers every request with an empty 200.
        struct Ok200;

        impl Service<http::Request<Body>> for Ok200 {
            type Response = http::Response<Body>;
            type Error = Infallible;
            type Future = Ready<Result<http::Response<Body>, Infallible>>;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, _: http::Request<Body>) -> Self::Future {
                ready(Ok(http::Response::new(Body::from(Vec::new()))))
            }
        }

        let layer = RateLimitLayer::new(RateLimit {
            qps: 20.0,
            burst: 2,
        });
        let client = kube::Client::new(layer.layer(Ok200), "default");
        let start = Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let client = client.clone();
            requests.spawn(async move {
                let request = http::Request::get("/api").body(Body::from(Vec::new()));
                client
                    .send(request.expect("a valid request"))
                    .await
                    .expect("an answer");
                start.elapsed().as_millis()
            });
        }
        let mut done: Vec<u128> = requests.join_all().await;
        done.sort_unstable();
        assert_eq!(done, [0, 0, 50, 100, 150]);
    }
}
