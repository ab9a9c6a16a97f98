//! Where the graph builder gets the OpenAPI schema of each resource kind.
//!
//! The builder checks templates and expressions against the schema of the
//! kind each resource creates. A [`SchemaResolver`] answers "what is the
//! schema, plural and scope of this group/version/kind?". This crate ships
//! two, both offline: [`BuiltinSchemas`], the built-in Kubernetes kinds
//! bundled from `data/kubernetes-openapi/`, and [`CrdSchemas`], kinds
//! defined by CustomResourceDefinitions the caller supplies. The operator
//! adds a third that reads the live API server. [`ChainResolver`] asks
//! several in turn.

mod builtin;
mod crd;
mod openapi;

use std::fmt;
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use thiserror::Error;

pub use builtin::{BuiltinSchemas, KUBERNETES_VERSION};
pub use crd::CrdSchemas;
pub use openapi::OpenApiDocument;

/// A group, version and kind. The core group is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    /// API group; empty for the core group.
    pub group: String,
    /// API version within the group, such as `v1`.
    pub version: String,
    /// Kind, such as `Deployment`.
    pub kind: String,
}

impl Gvk {
    /// A GVK from its parts.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    /// A GVK from an object's `apiVersion` (`apps/v1`, or `v1` for the core
    /// group) and `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        match api_version.split_once('/') {
            Some((group, version)) => Self::new(group, version, kind),
            None => Self::new("", api_version, kind),
        }
    }

    /// The `apiVersion` an object of this kind carries.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Kind={}", self.api_version(), self.kind)
    }
}

/// What the builder needs to know about a resource kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSchema {
    /// The kind.
    pub gvk: Gvk,
    /// The resource name in URLs, such as `deployments`.
    pub plural: String,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
    /// The schema of a whole object, self-contained (no `$ref`).
    pub schema: JSONSchemaProps,
}

/// Why a kind's schema could not be found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    /// No resolver knows the kind.
    #[error("schema not found for {gvk}")]
    UnknownKind {
        /// The kind asked for.
        gvk: Gvk,
    },
    /// A schema source is malformed.
    #[error("invalid OpenAPI document {source_name}: {message}")]
    InvalidDocument {
        /// Which document (a file or group version).
        source_name: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Finds the schema of a kind.
pub trait SchemaResolver: Send + Sync {
    /// The schema, plural and scope of `gvk`, or [`ResolveError::UnknownKind`].
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError>;
}

/// Asks several resolvers in order; the first that knows the kind answers.
#[derive(Default)]
pub struct ChainResolver {
    resolvers: Vec<Box<dyn SchemaResolver>>,
}

impl ChainResolver {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a resolver, asked after those added before it.
    pub fn with(mut self, resolver: impl SchemaResolver + 'static) -> Self {
        self.resolvers.push(Box::new(resolver));
        self
    }
}

impl SchemaResolver for ChainResolver {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        for resolver in &self.resolvers {
            match resolver.resolve(gvk) {
                Err(ResolveError::UnknownKind { .. }) => continue,
                other => return other,
            }
        }
        Err(ResolveError::UnknownKind { gvk: gvk.clone() })
    }
}

#[cfg(test)]
mod tests;
