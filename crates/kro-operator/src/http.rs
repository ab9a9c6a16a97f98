//! The operator's HTTP endpoints: `/metrics` on the metrics address,
//! `/healthz` and `/readyz` on the probe address.
//!
//! Both probes are plain pings, as upstream's: a replica waiting for the
//! leader Lease is healthy and ready too (it serves nothing, but it must
//! not be restarted for waiting). The servers start before the Lease is
//! awaited, for that reason.

use std::future::Future;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::args::BindAddress;
use crate::metrics::Metrics;

/// The router of the metrics address.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .with_state(metrics)
}

/// The router of the probe address.
pub fn health_router() -> Router {
    Router::new()
        .route("/healthz", get(ping))
        .route("/readyz", get(ping))
}

async fn ping() -> &'static str {
    "ok"
}

async fn serve_metrics(State(metrics): State<Metrics>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_text::encode(&mut body, metrics.registry()) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        ),
        // Encoding into a String fails only if a metric's own encoder
        // does; say so rather than serve half a page.
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("encode metrics: {e}"),
        ),
    }
}

/// Binds `address`, or `None` when it is disabled. Binding happens
/// before anything else starts, so a taken port fails startup at once.
pub async fn bind(what: &str, address: &BindAddress) -> anyhow::Result<Option<TcpListener>> {
    match address {
        BindAddress::Disabled => Ok(None),
        BindAddress::Listen(address) => TcpListener::bind(address.as_str())
            .await
            .map(Some)
            .with_context(|| format!("bind the {what} address {address}")),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// open requests finish.
pub fn spawn(
    what: &'static str,
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "serving {what}");
        }
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .with_context(|| format!("serve {what}"))
    })
}
