//! The small interface through which the runtime sees a cluster.
//!
//! The runtime decides; whoever implements [`Cluster`] executes. The
//! operator implements it with kube-rs against a live API server; this
//! module's [`MemoryCluster`] implements it in memory for tests and for
//! `kro render`. Objects are plain JSON (`serde_json::Value`), as the
//! runtime renders them from templates.

mod api;
mod memory;
mod selector;

pub use api::{
    Cluster, ClusterError, Deleted, ListScope, ObjectKey, Stripped, finalizers_without,
    is_terminating,
};
pub use kro_schema::kinds::ResourceType;
pub use memory::MemoryCluster;
pub use selector::{SelectorError, matches_selector};
