//! The `kro.run/v1alpha1` `ResourceGraphDefinition` API: the types an RGD
//! author writes and the operator reports, and the CRD that registers them.
//!
//! These are plain serde types. They implement `k8s_openapi::Resource` and
//! `k8s_openapi::Metadata`, which is all kube-rs needs to use them with
//! `kube::Api`, without this crate depending on a Kubernetes client.

mod condition;
mod rgd;
mod rgd_crd;

pub use condition::{Condition, ConditionStatus};
pub use rgd::{
    API_VERSION, ExternalRef, ExternalRefMetadata, GROUP, KIND, Resource, ResourceDependency,
    ResourceGraphDefinition, ResourceGraphDefinitionSpec, ResourceGraphDefinitionStatus,
    ResourceInfo, RgdState, Schema, SchemaMetadata, Scope, VERSION,
};
pub use rgd_crd::resource_graph_definition_crd;

#[cfg(test)]
mod tests;
