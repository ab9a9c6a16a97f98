//! From a `ResourceGraphDefinition` to a resource graph, as a pipeline of
//! small steps that each report every independent problem they find.
//!
//! [`structure`] checks what can be checked without CEL: names, the shape
//! of each template and externalRef, the kind each creates (resolved to its
//! schema), scope and metadata rules, where the `${...}` expressions are,
//! and the instance CRD. [`dependencies`] compiles every expression, checks
//! which variables each may read, and builds the dependency graph.
//! [`status`] compiles the instance's status projections and conditions.
//! `total_cost` adds up the worst cases of all the expressions.
//! [`graph`] runs the steps: [`Builder::build`] is the entry point.
//!
//! Every step reports through one [`Errors`] collector, so that an error
//! is located the same way whichever step finds it.

pub mod dependencies;
pub mod graph;
pub mod literals;
pub mod status;
pub mod status_schema;
pub mod structure;
mod total_cost;
pub mod types;

pub use dependencies::{CompiledExpression, Context, Dependencies, infer_dependencies};
pub use graph::{Builder, Graph, GraphResource};
pub use status::{InstanceStatus, StatusField, compile_status};
pub use structure::{NodeKind, ResourceStructure, Structure, check_structure, referenced_kinds};

use std::collections::BTreeSet;

use kro_cel::template::FieldPath;
use kro_cel::{Env, Expr};

use crate::error::{BuildError, BuildErrorKind, BuildErrors};

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

/// The errors a step finds in one RGD, in the order found, each located by
/// resource, path and (when it has one) expression.
pub(crate) struct Errors<'a> {
    rgd: &'a str,
    found: Vec<BuildError>,
}

impl<'a> Errors<'a> {
    /// No errors yet, for the RGD named `rgd`.
    pub(crate) fn new(rgd: &'a str) -> Self {
        Self {
            rgd,
            found: Vec::new(),
        }
    }

    /// An error at `path`, of `resource` (none: of the instance).
    pub(crate) fn push(
        &mut self,
        resource: Option<&str>,
        path: FieldPath,
        kind: impl Into<BuildErrorKind>,
    ) {
        self.push_expression(resource, path, None, kind);
    }

    /// An error of the expression `expression` at `path`.
    pub(crate) fn push_expression(
        &mut self,
        resource: Option<&str>,
        path: FieldPath,
        expression: Option<&str>,
        kind: impl Into<BuildErrorKind>,
    ) {
        self.found.push(BuildError {
            rgd: self.rgd.to_owned(),
            resource: resource.map(str::to_owned),
            path: Some(path),
            expression: expression.map(str::to_owned),
            kind: kind.into(),
        });
    }

    /// How many errors were found so far: a step compares counts to know
    /// whether a part it checked had a problem.
    pub(crate) fn count(&self) -> usize {
        self.found.len()
    }

    /// Whether no error was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `value` when no error was found, else every error.
    pub(crate) fn or_value<T>(self, value: T) -> Result<T, BuildErrors> {
        if self.found.is_empty() {
            Ok(value)
        } else {
            Err(BuildErrors(self.found))
        }
    }

    /// Every error found, for a step that cannot go on.
    pub(crate) fn into_errors(self) -> BuildErrors {
        BuildErrors(self.found)
    }
}

/// The variables `expr` reads (the roots of its references), sorted; names
/// of `env`'s global functions are not variables.
pub(crate) fn read_roots(env: &Env, expr: &Expr) -> BTreeSet<String> {
    let is_global_function = |name: &str| env.function(name).is_some();
    kro_cel::references::references_with(expr, &is_global_function)
        .into_iter()
        .map(|reference| reference.root)
        .collect()
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
