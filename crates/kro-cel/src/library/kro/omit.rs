//! kro's `omit()` (behind the `CELOmitFunction` feature gate): a sentinel
//! that removes the template field holding it instead of writing a value,
//! and the rules for where it may appear.

use crate::cost::CallRule;
use std::any::Any;
use std::fmt;

use crate::ast::{Expr, ExprKind};
use crate::decls::Env;
use crate::error::EvalError;
use crate::result_json::OMIT_TYPE;
use crate::value::{Opaque, wrap};

/// The value `omit()` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Omit;

impl Opaque for Omit {
    fn type_name(&self) -> &'static str {
        OMIT_TYPE
    }
    /// Upstream makes comparing the sentinel an error; the value model has
    /// no erroring equality, so it is never equal to anything, itself
    /// included, and the placement rules keep it out of comparisons.
    fn equals(&self, _: &dyn Opaque) -> bool {
        false
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Err(EvalError::Unsupported(
            "omit() is a field-removal sentinel and has no value".into(),
        ))
    }
    fn render(&self) -> String {
        "omit()".into()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub(crate) fn install(env: &mut Env) {
    env.define("omit", &["() -> dyn"], |_| Ok(wrap(Omit)));
    env.set_cost_rule("omit", CallRule::Scalar);
}

/// Where an expression sits in an RGD, for the placement rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement<'a> {
    /// A resource template value.
    Template {
        /// The field path (`spec.replicas`).
        path: &'a str,
        /// Whether the value is exactly one `${...}` (not a string template).
        standalone: bool,
        /// Whether the field is an identity field omit() may not remove:
        /// `metadata.name`, or `metadata.namespace` of a namespaced
        /// resource in a cluster-scoped instance.
        identity: bool,
    },
    /// `includeWhen`, `readyWhen`, status fields or status conditions.
    Condition,
    /// A `forEach` iterator of a node.
    ForEach {
        /// The node id.
        node: &'a str,
        /// The iterator name.
        iterator: &'a str,
    },
}

/// A misplaced `omit()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OmitError {
    /// The feature gate is off.
    #[error("omit() requires the CELOmitFunction feature gate to be enabled")]
    GateDisabled,
    /// Outside resource templates.
    #[error("omit() can only be used in resource template expressions")]
    NotInTemplate,
    /// In a forEach iterator.
    #[error(
        "node {node:?}: forEach iterator {iterator:?}: omit() can only be used in resource template expressions"
    )]
    InForEach {
        /// The node id.
        node: String,
        /// The iterator name.
        iterator: String,
    },
    /// On an identity field, or inside a string template.
    #[error("omit() cannot be used at path {0}")]
    Path(String),
}

/// Whether `expr` calls `omit()` anywhere.
pub fn uses_omit(expr: &Expr) -> bool {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let ExprKind::Call {
            target: None,
            function,
            args,
        } = &e.kind
            && function == "omit"
            && args.is_empty()
        {
            return true;
        }
        stack.extend(e.children());
    }
    false
}

/// Checks the placement rules for an expression that may call `omit()`.
pub fn check_omit_placement(
    expr: &Expr,
    placement: &Placement<'_>,
    gate_enabled: bool,
) -> Result<(), OmitError> {
    if !uses_omit(expr) {
        return Ok(());
    }
    if !gate_enabled {
        return Err(OmitError::GateDisabled);
    }
    match placement {
        Placement::Condition => Err(OmitError::NotInTemplate),
        Placement::ForEach { node, iterator } => Err(OmitError::InForEach {
            node: node.to_string(),
            iterator: iterator.to_string(),
        }),
        Placement::Template { path, identity, .. } if *identity => {
            Err(OmitError::Path(path.to_string()))
        }
        // Upstream type-checks it inside string templates and fails when
        // evaluating; refusing it early is kinder and has the same outcome.
        Placement::Template {
            path,
            standalone: false,
            ..
        } => Err(OmitError::Path(path.to_string())),
        Placement::Template { .. } => Ok(()),
    }
}

impl fmt::Display for Placement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Template { path, .. } => write!(f, "template field {path}"),
            Placement::Condition => write!(f, "condition"),
            Placement::ForEach { node, iterator } => write!(f, "forEach {node}.{iterator}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OmitError, Placement, check_omit_placement, uses_omit};
    use crate::parse;

    fn template(path: &str) -> Placement<'_> {
        Placement::Template {
            path,
            standalone: true,
            identity: false,
        }
    }

    #[test]
    fn placement_rules() {
        let with = parse("schema.spec.x != '' ? schema.spec.x : omit()").expect("parses");
        let without = parse("schema.spec.x").expect("parses");
        assert!(uses_omit(&with));
        assert!(!uses_omit(&without));
        assert_eq!(
            check_omit_placement(&without, &Placement::Condition, false),
            Ok(())
        );
        assert_eq!(
            check_omit_placement(&with, &template("spec.policy"), false),
            Err(OmitError::GateDisabled)
        );
        assert_eq!(
            check_omit_placement(&with, &template("spec.policy"), true),
            Ok(())
        );
        assert_eq!(
            check_omit_placement(&with, &Placement::Condition, true).map_err(|e| e.to_string()),
            Err("omit() can only be used in resource template expressions".into())
        );
        assert_eq!(
            check_omit_placement(
                &with,
                &Placement::ForEach {
                    node: "pods",
                    iterator: "item"
                },
                true
            )
            .map_err(|e| e.to_string()),
            Err("node \"pods\": forEach iterator \"item\": omit() can only be used in resource template expressions".into())
        );
        let identity = Placement::Template {
            path: "metadata.name",
            standalone: true,
            identity: true,
        };
        assert_eq!(
            check_omit_placement(&with, &identity, true).map_err(|e| e.to_string()),
            Err("omit() cannot be used at path metadata.name".into())
        );
        let in_string = Placement::Template {
            path: "spec.name",
            standalone: false,
            identity: false,
        };
        assert!(check_omit_placement(&with, &in_string, true).is_err());
    }

    #[test]
    fn sentinel_value() {
        let env = crate::Env::kro_with(crate::KroOptions { omit: true });
        let v = env
            .compile("omit()")
            .expect("compiles")
            .eval(&[])
            .expect("evaluates");
        assert_eq!(v.type_name(), "kro.omit");
        assert!(!v.equals(&v));
        assert!(v.to_json().is_err());
        // Without the gate the function does not exist.
        assert!(crate::Env::kro().compile("omit()").is_err());
    }
}
