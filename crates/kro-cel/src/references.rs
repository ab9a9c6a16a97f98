//! Which variables an expression reads, and which fields of them.
//!
//! kro infers the dependencies between the resources of an RGD from the
//! variables their expressions read: `${deployment.status.availableReplicas}`
//! in the service's template makes the service depend on the deployment.
//! The walk is scope-aware: names bound by macros (`x` in
//! `list.map(x, x.name)`, the accumulators, `cel.bind` variables) are not
//! variables of the environment and are not reported, even when they
//! shadow one.

use crate::ast::{Expr, ExprKind, Span};

/// One read of a variable: its name and the plain field selections that
/// follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The variable, such as `deployment`.
    pub root: String,
    /// Fields selected from it, outermost first: `["status", "availableReplicas"]`.
    /// Stops at the first index, call or optional selection.
    pub path: Vec<String>,
    /// The source of the whole selection chain.
    pub span: Span,
}

/// Every read of an environment variable in `expr`, in source order.
pub fn references(expr: &Expr) -> Vec<Reference> {
    references_with(expr, &|_| false)
}

/// Like [`references`], where `is_global_function` names the namespaced
/// functions of the environment, so that the `random` of
/// `random.seededString(8, x)` is not taken for a variable.
pub fn references_with(expr: &Expr, is_global_function: &dyn Fn(&str) -> bool) -> Vec<Reference> {
    let mut found = Vec::new();
    walk(expr, &mut Vec::new(), is_global_function, &mut found);
    found
}

/// The distinct variables `expr` reads, sorted.
pub fn referenced_variables(expr: &Expr) -> Vec<String> {
    let mut names: Vec<String> = references(expr).into_iter().map(|r| r.root).collect();
    names.sort();
    names.dedup();
    names
}

/// If `expr` is a chain of plain selections on an identifier, the
/// identifier and the fields, outermost first.
fn select_chain(expr: &Expr) -> Option<(&str, Vec<String>)> {
    match &expr.kind {
        ExprKind::Ident(name) => Some((name.as_str(), Vec::new())),
        ExprKind::Select {
            operand,
            field,
            test_only: false,
            optional: false,
        } => {
            let (root, mut path) = select_chain(operand)?;
            path.push(field.clone());
            Some((root, path))
        }
        _ => None,
    }
}

/// Whether `target.function(...)` is a call of the global function
/// `target.function` rather than a method called on a variable.
fn is_namespaced_call(
    target: &Expr,
    function: &str,
    is_global_function: &dyn Fn(&str) -> bool,
) -> bool {
    select_chain(target).is_some_and(|(root, path)| {
        let mut name = root.trim_start_matches('.').to_owned();
        for part in path.iter().map(String::as_str).chain([function]) {
            name.push('.');
            name.push_str(part);
        }
        is_global_function(&name)
    })
}

fn walk(
    expr: &Expr,
    bound: &mut Vec<String>,
    is_global_function: &dyn Fn(&str) -> bool,
    found: &mut Vec<Reference>,
) {
    if let Some((root, path)) = select_chain(expr) {
        // `.name` is written to reach the environment past a macro variable.
        let (root, scoped) = match root.strip_prefix('.') {
            Some(global) => (global, true),
            None => (root, false),
        };
        if scoped || !bound.iter().any(|b| b == root) {
            found.push(Reference {
                root: root.to_owned(),
                path,
                span: expr.span,
            });
        }
        return;
    }
    match &expr.kind {
        ExprKind::Call {
            target: Some(target),
            function,
            args,
        } if is_namespaced_call(target, function, is_global_function) => {
            for arg in args {
                walk(arg, bound, is_global_function, found);
            }
        }
        ExprKind::Comprehension(loop_) => {
            // The range and the initial accumulator are evaluated outside
            // the loop's scope; the rest sees the loop's names.
            walk(&loop_.iter_range, bound, is_global_function, found);
            walk(&loop_.accu_init, bound, is_global_function, found);
            let depth = bound.len();
            bound.push(loop_.accu_var.clone());
            bound.push(loop_.iter_var.clone());
            bound.extend(loop_.iter_var2.iter().cloned());
            walk(&loop_.loop_cond, bound, is_global_function, found);
            walk(&loop_.loop_step, bound, is_global_function, found);
            // The result sees the accumulator but not the iteration names.
            bound.truncate(depth + 1);
            walk(&loop_.result, bound, is_global_function, found);
            bound.truncate(depth);
        }
        _ => {
            for child in expr.children() {
                walk(child, bound, is_global_function, found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn refs(source: &str) -> Vec<(String, String)> {
        let expr = parse(source).unwrap_or_else(|e| panic!("{source}: {e:?}"));
        references(&expr)
            .into_iter()
            .map(|r| (r.root, r.path.join(".")))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn selection_chains_are_one_reference() {
        assert_eq!(
            refs("deployment.status.availableReplicas"),
            pairs(&[("deployment", "status.availableReplicas")])
        );
        assert_eq!(
            refs("schema.spec.name + '-' + service.metadata.name"),
            pairs(&[("schema", "spec.name"), ("service", "metadata.name")])
        );
    }

    #[test]
    fn paths_stop_at_indexes_calls_and_optionals() {
        assert_eq!(
            refs("pods.items[0].metadata.name"),
            pairs(&[("pods", "items")])
        );
        assert_eq!(refs("cm.data.?key.orValue('x')"), pairs(&[("cm", "data")]));
        assert_eq!(refs("size(cm.data)"), pairs(&[("cm", "data")]));
        assert_eq!(refs("has(cm.data.key)"), pairs(&[("cm", "data")]));
    }

    #[test]
    fn macro_variables_are_not_references() {
        assert_eq!(
            refs("schema.spec.ports.map(p, p.number + offset.value)"),
            pairs(&[("schema", "spec.ports"), ("offset", "value")])
        );
        assert_eq!(refs("[1, 2].all(x, x > 0)"), pairs(&[]));
        assert_eq!(
            refs("cel.bind(n, schema.spec.name, n + n)"),
            pairs(&[("schema", "spec.name")])
        );
        assert_eq!(refs("m.all(k, v, k == v)"), pairs(&[("m", "")]));
    }

    #[test]
    fn a_macro_variable_shadows_a_resource_of_the_same_name() {
        assert_eq!(
            refs("schema.spec.items.exists(service, service == 'a')"),
            pairs(&[("schema", "spec.items")])
        );
        assert_eq!(
            refs("[1].map(x, x) + [x]"),
            pairs(&[("x", "")]),
            "x is free outside the macro"
        );
    }

    #[test]
    fn namespaced_functions_are_not_variables() {
        let expr = parse("random.seededString(8, schema.metadata.uid) + random.name").unwrap();
        let found: Vec<String> = references_with(&expr, &|name| name == "random.seededString")
            .into_iter()
            .map(|r| format!("{} {}", r.root, r.path.join(".")))
            .collect();
        assert_eq!(found, ["schema metadata.uid", "random name"]);
        assert_eq!(
            references(&expr).len(),
            3,
            "without the filter, random is a variable"
        );
    }

    #[test]
    fn distinct_variables_are_sorted() {
        let expr = parse("b.x + a.y + b.z").unwrap();
        assert_eq!(referenced_variables(&expr), ["a", "b"]);
    }
}
