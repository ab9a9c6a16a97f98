//! A fresh namespace for one test.

use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};

use crate::{client, eventually, kubeconfig_path};

/// Numbers namespaces within one test binary; the process id separates test
/// binaries that share a control plane.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace created for one test, deleted again when dropped (also when
/// the test panics).
pub struct TestNamespace {
    client: Client,
    name: String,
}

impl TestNamespace {
    /// Creates a namespace whose name starts with `prefix`, and waits until
    /// its `default` service account exists, so that pods can be admitted.
    ///
    /// # Panics
    ///
    /// If the control plane cannot be reached or the namespace not created.
    pub async fn create(prefix: &str) -> Self {
        let client = client().await;
        let name = namespace_name(
            prefix,
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
        );
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": name, "labels": { "kro.run/test-namespace": "true" } },
        }))
        .expect("a namespace built from a literal is valid");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));

        let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &name);
        eventually(&format!("service account {name}/default"), || async {
            accounts.get_opt("default").await.ok().flatten()
        })
        .await;
        Self { client, name }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client for the control plane (not limited to this namespace).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// An API handle for a namespaced kind in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    /// Starts the namespace's deletion, without waiting for it to finish.
    ///
    /// This runs on its own thread and runtime: the test's runtime may be
    /// shutting down, and blocking inside it is not allowed.
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let kubeconfig = kubeconfig_path();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    let namespaces = Api::<Namespace>::all(client().await);
                    namespaces
                        .delete(&name, &DeleteParams::background())
                        .await
                        .map(|_| ())
                })
                .map_err(std::io::Error::other)
        })
        .join();
        if let Ok(Err(e)) = outcome {
            eprintln!(
                "kro-testenv: could not delete a test namespace ({}): {e}",
                kubeconfig.display()
            );
        }
    }
}

/// A DNS-label namespace name: the prefix lower-cased, with anything outside
/// `[a-z0-9-]` replaced, cut so that the whole fits in 63 characters.
fn namespace_name(prefix: &str, pid: u32, seq: u32) -> String {
    let suffix = format!("-{pid}-{seq}");
    let cleaned: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63 - suffix.len())
        .collect();
    let cleaned = cleaned.trim_matches('-');
    let cleaned = if cleaned.is_empty() { "test" } else { cleaned };
    format!("{cleaned}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::namespace_name;

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(namespace_name("Smoke_Test", 12, 3), "smoke-test-12-3");
        assert_eq!(namespace_name("--", 1, 0), "test-1-0");
        let long = namespace_name(&"a".repeat(100), 4_000_000, 42);
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("-4000000-42"));
    }
}
