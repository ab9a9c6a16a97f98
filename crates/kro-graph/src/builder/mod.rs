//! From a `ResourceGraphDefinition` to a resource graph, as a pipeline of
//! small steps that each report every independent problem they find.
//!
//! [`structure`] checks what can be checked without CEL: names, the shape
//! of each template and externalRef, the kind each creates (resolved to its
//! schema), scope and metadata rules, where the `${...}` expressions are,
//! and the instance CRD. [`dependencies`] compiles every expression, checks
//! which variables each may read, and builds the dependency graph.
//! [`status`] compiles the instance's status projections and conditions.
//! [`graph`] runs the steps: [`Builder::build`] is the entry point.

pub mod dependencies;
pub mod graph;
pub mod literals;
pub mod status;
pub mod status_schema;
pub mod structure;
pub mod types;

pub use dependencies::{CompiledExpression, Context, Dependencies, infer_dependencies};
pub use graph::{Builder, Graph, GraphResource};
pub use status::{InstanceStatus, StatusField, compile_status};
pub use structure::{NodeKind, ResourceStructure, Structure, check_structure, referenced_kinds};

/// Limits the builder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// The most `forEach` dimensions one resource may have.
    pub max_collection_dimensions: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            max_collection_dimensions: 10,
        }
    }
}

/// Helpers shared by the builder's tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::error::BuildErrors;

    /// Each error as `path: message`, in order.
    pub(crate) fn error_lines(errors: &BuildErrors) -> Vec<String> {
        errors
            .0
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                    e.kind
                )
            })
            .collect()
    }
}
