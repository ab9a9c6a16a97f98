//! The kube client, from `--kubeconfig` or kube's defaults, with the
//! operator's user agent, request metrics, client-side rate limit and, with
//! leader election, the fence that stops writes when leadership is not
//! confirmed ([`crate::leader::fence`]).

mod metered;
mod rate_limit;

use std::path::Path;

use anyhow::Context;
use http::HeaderValue;
use http::header::USER_AGENT;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use metered::{Metered, MeteredLayer};
pub use rate_limit::{RateLimit, RateLimitLayer, RateLimited};

use crate::leader::fence::{Fence, FenceLayer};
use crate::metrics::Metrics;

/// The operator's clients. They share the kubeconfig and the request
/// metrics, but each has a rate-limit bucket of its own.
#[derive(Clone)]
pub struct Clients {
    /// For the controllers: its writes pass only through the fence, when
    /// there is one.
    pub api: Client,
    /// For the writes every replica makes whatever its role: the
    /// leader-election Lease, and the RGD CRD installed at startup. A
    /// renewal must not queue behind a burst of reconciles, or the Lease
    /// could run out while the leader is busy; upstream's election client
    /// has its own limiter for the same reason.
    pub unfenced: Client,
}

/// The operator's clients, from the kubeconfig at `path` or kube's
/// defaults (see [`connect`]), each limited to `limit`; the controllers'
/// writes behind `fence` when given.
pub async fn connect_rate_limited(
    path: Option<&Path>,
    metrics: &Metrics,
    limit: RateLimit,
    fence: Option<Fence>,
) -> anyhow::Result<Clients> {
    let config = load(path).await?;
    Ok(Clients {
        api: build(config.clone(), metrics, limit, fence)?,
        unfenced: build(config, metrics, limit, None)?,
    })
}

/// A client without a rate limit, from the kubeconfig at `path`, or,
/// without one, from kube's defaults: `$KUBECONFIG`, the in-cluster service
/// account, then `~/.kube/config`. Every request is counted in `metrics`.
pub async fn connect(path: Option<&Path>, metrics: &Metrics) -> anyhow::Result<Client> {
    build(load(path).await?, metrics, RateLimit::UNLIMITED, None)
}

async fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    let config = match path {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("read the kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("load the kubeconfig {}", path.display()))?
        }
        None => Config::infer()
            .await
            .context("find a kubeconfig ($KUBECONFIG, in-cluster or ~/.kube/config)")?,
    };
    with_user_agent(config)
}

fn build(
    config: Config,
    metrics: &Metrics,
    limit: RateLimit,
    fence: Option<Fence>,
) -> anyhow::Result<Client> {
    let builder = ClientBuilder::try_from(config).context("create the Kubernetes client")?;
    // The layers sit inside the buffer kube puts in front of them, so a
    // caller short of a token waits in that queue, and one bucket serves
    // every clone of the client. The fence is the outermost: a refused
    // write takes no token and is no request.
    let builder = builder
        .with_layer(&RateLimitLayer::new(limit))
        .with_layer(&MeteredLayer::new(metrics.requests.clone()));
    Ok(match fence {
        Some(fence) => builder.with_layer(&FenceLayer::new(fence)).build(),
        None => builder.build(),
    })
}

/// Sends `User-Agent: kro/<version>`, as upstream does. kube sets no
/// user agent of its own, so there is nothing to collide with; the API
/// server names the field manager of writes without an explicit one after
/// it (`kro`).
fn with_user_agent(mut config: Config) -> anyhow::Result<Config> {
    let agent = HeaderValue::from_str(&format!("kro/{}", env!("CARGO_PKG_VERSION")))
        .context("the user agent is a valid header value")?;
    config.headers.push((USER_AGENT, agent));
    Ok(config)
}
