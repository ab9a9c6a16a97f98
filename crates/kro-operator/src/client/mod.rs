//! The kube client, from `--kubeconfig` or kube's defaults, with the
//! operator's user agent and request metrics.

mod metered;

use std::path::Path;

use anyhow::Context;
use http::HeaderValue;
use http::header::USER_AGENT;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use metered::{Metered, MeteredLayer};

use crate::metrics::Metrics;

/// A client from the kubeconfig at `path`, or, without one, from kube's
/// defaults: `$KUBECONFIG`, the in-cluster service account, then
/// `~/.kube/config`. Every request is counted in `metrics`.
pub async fn connect(path: Option<&Path>, metrics: &Metrics) -> anyhow::Result<Client> {
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
    let builder = ClientBuilder::try_from(with_user_agent(config)?)
        .context("create the Kubernetes client")?;
    Ok(builder
        .with_layer(&MeteredLayer::new(metrics.requests.clone()))
        .build())
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
