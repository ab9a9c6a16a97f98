//! kro's API: the `kro.run/v1alpha1` `ResourceGraphDefinition` types an
//! RGD author writes and the operator reports, the CRD that registers
//! them, and the vocabulary kro writes on the objects it manages (status
//! conditions and their rules, labels, annotations, the finalizer and the
//! field managers).
//!
//! The vocabulary is here rather than in the runtime because both
//! controllers speak it: the RGD controller as much as an instance pass.
//!
//! These are plain serde types. They implement `k8s_openapi::Resource` and
//! `k8s_openapi::Metadata`, which is all kube-rs needs to use them with
//! `kube::Api`, without this crate depending on a Kubernetes client.

mod conditions;
pub mod field_managers;
mod lifecycle;
pub mod metadata;
mod rgd;
mod rgd_crd;

pub use conditions::{Condition, ConditionSet, ConditionStatus, READY, now};
pub use lifecycle::{AdoptionPolicy, DeletionPolicy, Lifecycle, LifecycleError};
pub use rgd::{
    API_VERSION, ExternalRef, ExternalRefMetadata, GROUP, KIND, Resource, ResourceDependency,
    ResourceGraphDefinition, ResourceGraphDefinitionSpec, ResourceGraphDefinitionStatus,
    ResourceInfo, RgdState, Schema, SchemaMetadata, Scope, VERSION,
};
pub use rgd_crd::resource_graph_definition_crd;

#[cfg(test)]
mod tests;
