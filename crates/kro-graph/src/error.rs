//! Errors of the graph builder, each located as precisely as possible.

use std::fmt;

use kro_cel::StaticCostError;
use kro_cel::template::{FieldPath, ScanError};
use kro_schema::instance_crd::CrdError;
use thiserror::Error;

use crate::api::LifecycleError;
use crate::dag::DagError;
use crate::naming::NamingError;
use crate::resolver::ResolveError;

/// What is wrong, without where.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BuildErrorKind {
    /// The instance schema or kind names are invalid.
    #[error(transparent)]
    Schema(#[from] CrdError),
    /// A resource id or iterator name breaks the naming rules.
    #[error(transparent)]
    Naming(#[from] NamingError),
    /// Two resources share an id.
    #[error("found resources with duplicate id {id:?}")]
    DuplicateId {
        /// The shared id.
        id: String,
    },
    /// A resource has both a template and an externalRef, or neither.
    #[error("exactly one of template or externalRef must be provided")]
    TemplateOrExternalRef,
    /// An externalRef has forEach.
    #[error("cannot use externalRef with forEach")]
    ExternalRefWithForEach,
    /// An externalRef names neither one object nor a selector, or both.
    #[error("externalRef.metadata must set exactly one of name or selector")]
    ExternalRefNameOrSelector,
    /// A required field of the object is missing or of the wrong type.
    #[error("{field} {problem}")]
    ObjectField {
        /// `apiVersion`, `kind` or `metadata`.
        field: &'static str,
        /// "field not found", "must be a string", ...
        problem: &'static str,
    },
    /// The kind's schema could not be found.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A cluster-scoped object sets a namespace.
    #[error("{kind} is cluster-scoped and must not set metadata.namespace")]
    ClusterScopedWithNamespace {
        /// The kind.
        kind: String,
    },
    /// A namespaced object of a cluster-scoped instance has no namespace.
    #[error(
        "{kind} is namespaced and the instance is cluster-scoped: metadata.namespace must be set"
    )]
    NamespaceRequired {
        /// The kind.
        kind: String,
    },
    /// A template sets a label or annotation under a prefix kro reserves.
    #[error("{what} with prefix {prefix:?} are reserved for internal use: {key:?}")]
    ReservedMetadata {
        /// "labels" or "annotations".
        what: &'static str,
        /// The reserved prefix.
        prefix: &'static str,
        /// The offending key.
        key: String,
    },
    /// A lifecycle annotation kro cannot honour.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// A string could not be split into text and `${...}`.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A field that takes one expression holds something else.
    #[error("only standalone expressions are allowed here: the value must be exactly one ${{...}}")]
    StandaloneOnly,
    /// A forEach entry does not have exactly one iterator.
    #[error("each forEach entry must have exactly one iterator, found {count}")]
    IteratorCount {
        /// How many keys the entry has.
        count: usize,
    },
    /// Two forEach entries of a resource use the same name.
    #[error("forEach iterator {name:?} is declared more than once")]
    DuplicateIterator {
        /// The iterator name.
        name: String,
    },
    /// A forEach iterator has the name of a resource.
    #[error("forEach iterator {name:?} has the same name as a resource")]
    IteratorShadowsResource {
        /// The iterator name.
        name: String,
    },
    /// A resource has more forEach dimensions than allowed.
    #[error("forEach cannot have more than {max} dimensions, found {count}")]
    TooManyDimensions {
        /// Dimensions declared.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `spec.schema.status` has the wrong shape.
    #[error("{problem}")]
    StatusShape {
        /// What is wrong.
        problem: &'static str,
    },
    /// Some forEach iterators are not part of the items' identity.
    #[error(
        "all forEach dimensions must be used to produce a unique resource identity (metadata.name or metadata.namespace), missing: {missing:?}"
    )]
    IdentityIterators {
        /// The iterators the name and namespace do not read.
        missing: Vec<String>,
    },
    /// A template sets a field its kind does not have.
    #[error("unknown field {field:?}: the kind's schema does not have it")]
    UnknownField {
        /// The field's name.
        field: String,
    },
    /// A literal value of the wrong type.
    #[error("expected {expected} value, got {got} literal")]
    LiteralType {
        /// The literal's type.
        got: String,
        /// The field's type.
        expected: String,
    },
    /// `omit()` where it may not be used.
    #[error("{message}")]
    Omit {
        /// Why not.
        message: String,
    },
    /// An expression's type does not fit where it is used.
    #[error("{message}")]
    Type {
        /// The mismatch, with the types.
        message: String,
    },
    /// An expression does not parse or type-check.
    #[error("{message}")]
    Compile {
        /// The compiler's diagnostics, with line, column and caret.
        message: String,
        /// The same diagnostics, with their spans in the expression, for
        /// a reader that shows them in the file.
        diagnostics: kro_cel::Diagnostics,
    },
    /// The static cost estimate refuses an expression: it can blow up on
    /// large inputs, or can never succeed.
    #[error(transparent)]
    Cost(#[from] StaticCostError),
    /// The worst cases of all the expressions add up to too much.
    #[error(
        "the worst-case costs of this RGD's expressions add up to {total}, above the static limit of {limit} for an RGD; the costliest: {}",
        costliest.join(", ")
    )]
    TotalCost {
        /// Their sum.
        total: u64,
        /// `Limits::static_total_cost_limit`.
        limit: u64,
        /// The costliest expressions, each with its cost and where it is.
        costliest: Vec<String>,
    },
    /// A `readyWhen` expression reads something other than its resource.
    #[error("readyWhen may only reference {allowed:?}, found {found:?}")]
    ReadyWhenScope {
        /// The one variable it may read.
        allowed: String,
        /// What else it reads.
        found: Vec<String>,
    },
    /// `each` is read outside the `readyWhen` of a collection.
    #[error("each is only available in the readyWhen expressions of a forEach collection")]
    EachOutsideReadyWhen,
    /// A forEach iterator is read outside its resource's template.
    #[error("forEach iterators {found:?} can only be used in the resource's template")]
    IteratorOutsideTemplate {
        /// The iterators read.
        found: Vec<String>,
    },
    /// The dependencies form a cycle, or name an unknown resource.
    #[error(transparent)]
    Dag(#[from] DagError),
}

/// One problem with an RGD, and where it is.
#[derive(Debug, Clone, PartialEq, Error)]
pub struct BuildError {
    /// The RGD's name.
    pub rgd: String,
    /// The resource id, when the problem is in one resource.
    pub resource: Option<String>,
    /// The path of the offending value from the root of the RGD document,
    /// such as `spec.resources[1].template.spec.replicas`.
    pub path: Option<FieldPath>,
    /// The `${...}` expression involved, if any.
    pub expression: Option<String>,
    /// What is wrong.
    pub kind: BuildErrorKind,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resourcegraphdefinition {:?}", self.rgd)?;
        if let Some(resource) = &self.resource {
            write!(f, ", resource {resource:?}")?;
        }
        if let Some(path) = &self.path {
            write!(f, ", {path}")?;
        }
        if let Some(expression) = &self.expression {
            write!(f, ", `${{{expression}}}`")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// Every independent problem found in one RGD, in document order.
#[derive(Debug, Clone, PartialEq, Error)]
pub struct BuildErrors(pub Vec<BuildError>);

impl fmt::Display for BuildErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
