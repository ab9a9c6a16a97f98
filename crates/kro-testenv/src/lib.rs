//! Test support: a real local Kubernetes control plane, and a fresh
//! namespace for each test.
//!
//! The first test in a test binary that asks for a [`TestNamespace`] starts
//! the `localcluster` control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok nodes; see
//! `docs/testing.md`), unless `KRO_TEST_KUBECONFIG` names the kubeconfig of
//! one that is already running, as `cargo xtask test` does. Every later test
//! in the binary shares it.
//!
//! The control plane stops when the test binary exits, whether its tests
//! passed or panicked: it runs with `-exit-on-stdin-eof`, and the only
//! handle to its standard input lives in this process, so the kernel closes
//! it when the process ends, however it ends.
//!
//! This crate is for tests only; it panics with a clear message where a
//! fixture cannot be set up, which fails the test that asked for it.

mod cluster;
mod crd;
pub mod impersonation;
pub mod manifests;
mod namespace;
mod ports;
mod wait;

pub use cluster::{client, kubeconfig_path};
pub use crd::{apply_crd, crd_established};
pub use namespace::TestNamespace;
pub use ports::free_port;
pub use wait::{WAIT_LIMIT, eventually};
