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
mod from_crds;

use std::sync::Arc;

use thiserror::Error;

pub use builtin::{BuiltinSchemas, KUBERNETES_VERSION};
pub use from_crds::CrdSchemas;
pub use kro_schema::kinds::Gvk;
pub use kro_schema::openapi_document::{DocumentError, KindSchema, OpenApiDocument};

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
    #[error(transparent)]
    InvalidDocument(#[from] DocumentError),
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
