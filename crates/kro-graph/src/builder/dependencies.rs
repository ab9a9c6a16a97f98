//! Dependencies between resources, inferred from the variables their
//! expressions read, and the dependency graph built from them.
//!
//! A resource depends on every other resource its template, `includeWhen`
//! or `forEach` expressions read. `readyWhen` reads only the resource itself
//! (or `each`, the current item of a collection) and adds no dependency.

use std::collections::BTreeSet;

use kro_cel::references::references_with;
use kro_cel::template::{FieldPath, TemplateExpression};

use super::structure::{NodeKind, ResourceStructure, Structure};
use crate::dag::DependencyGraph;
use crate::error::{BuildError, BuildErrorKind, BuildErrors};

/// The variable every expression may read: the instance.
pub const SCHEMA: &str = "schema";
/// The variable `readyWhen` of a collection reads: the current item.
pub const EACH: &str = "each";

/// Where an expression sits, for reference rules and error locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Template,
    IncludeWhen,
    ReadyWhen,
    ForEach,
}

/// Parses every expression of `structure`, checks which variables each
/// context may read, and builds the dependency graph. `is_global_function`
/// names the namespaced functions of the CEL environment (such as
/// `random.seededString`), whose prefix is not a variable.
pub fn infer_dependencies(
    structure: &Structure,
    is_global_function: &dyn Fn(&str) -> bool,
) -> Result<DependencyGraph, BuildErrors> {
    let ids: Vec<&str> = structure.resources.iter().map(|r| r.id.as_str()).collect();
    let mut graph = DependencyGraph::new(ids.iter().copied());
    let mut errors = Vec::new();
    for resource in &structure.resources {
        let path = FieldPath::root()
            .key("spec")
            .key("resources")
            .index(resource.index);
        let mut dependencies = BTreeSet::new();
        for (context, location, expression) in expressions(resource, &path) {
            let error = |kind: BuildErrorKind| BuildError {
                rgd: structure.rgd.clone(),
                resource: Some(resource.id.clone()),
                path: Some(location.clone()),
                expression: Some(expression.source.clone()),
                kind,
            };
            let ast = match kro_cel::parse(&expression.source) {
                Ok(ast) => ast,
                Err(diagnostics) => {
                    errors.push(error(BuildErrorKind::Parse {
                        message: diagnostics.to_string(),
                    }));
                    continue;
                }
            };
            let roots: BTreeSet<String> = references_with(&ast, is_global_function)
                .into_iter()
                .map(|r| r.root)
                .collect();
            match check_roots(context, resource, &roots, &ids) {
                Ok(read) => dependencies.extend(read),
                Err(kind) => errors.push(error(kind)),
            }
        }
        if let Err(dag_error) =
            graph.add_dependencies(&resource.id, dependencies.iter().map(String::as_str))
        {
            errors.push(BuildError {
                rgd: structure.rgd.clone(),
                resource: Some(resource.id.clone()),
                path: Some(path),
                expression: None,
                kind: dag_error.into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(graph)
    } else {
        Err(BuildErrors(errors))
    }
}

/// Every expression of a resource with its context and location.
fn expressions<'a>(
    resource: &'a ResourceStructure,
    path: &FieldPath,
) -> Vec<(Context, FieldPath, &'a TemplateExpression)> {
    let object_path = match resource.kind {
        NodeKind::External | NodeKind::ExternalCollection => path.key("externalRef"),
        NodeKind::Resource | NodeKind::Collection => path.key("template"),
    };
    let mut all = Vec::new();
    for found in &resource.templates {
        for expression in found.template.expressions() {
            all.push((Context::Template, object_path.join(&found.path), expression));
        }
    }
    for (i, expression) in resource.include_when.iter().enumerate() {
        all.push((
            Context::IncludeWhen,
            path.key("includeWhen").index(i),
            expression,
        ));
    }
    for (i, expression) in resource.ready_when.iter().enumerate() {
        all.push((
            Context::ReadyWhen,
            path.key("readyWhen").index(i),
            expression,
        ));
    }
    for (i, (name, expression)) in resource.for_each.iter().enumerate() {
        all.push((
            Context::ForEach,
            path.key("forEach").index(i).key(name.clone()),
            expression,
        ));
    }
    all
}

/// The resources an expression in `context` depends on, or why it may not
/// read what it reads. Names that are neither resources nor kro's variables
/// are left to the type checker, which reports undeclared references.
fn check_roots(
    context: Context,
    resource: &ResourceStructure,
    roots: &BTreeSet<String>,
    ids: &[&str],
) -> Result<Vec<String>, BuildErrorKind> {
    let is_resource = |name: &str| ids.contains(&name);
    let is_iterator = |name: &str| {
        resource
            .for_each
            .iter()
            .any(|(iterator, _)| iterator == name)
    };
    match context {
        Context::ReadyWhen => {
            // Collections, including selector externalRefs, check each item.
            let allowed = match resource.kind {
                NodeKind::Collection | NodeKind::ExternalCollection => EACH,
                NodeKind::Resource | NodeKind::External => resource.id.as_str(),
            };
            let others: Vec<String> = roots
                .iter()
                .filter(|root| {
                    root.as_str() != allowed
                        && (is_resource(root) || *root == SCHEMA || *root == EACH)
                })
                .cloned()
                .collect();
            if others.is_empty() {
                Ok(Vec::new())
            } else {
                Err(BuildErrorKind::ReadyWhenScope {
                    allowed: allowed.to_owned(),
                    found: others,
                })
            }
        }
        Context::Template | Context::IncludeWhen | Context::ForEach => {
            if roots.iter().any(|root| root == EACH) {
                return Err(BuildErrorKind::EachOutsideReadyWhen);
            }
            let iterators_allowed = context == Context::Template;
            let misplaced: Vec<String> = roots
                .iter()
                .filter(|r| !iterators_allowed && is_iterator(r) && !is_resource(r))
                .cloned()
                .collect();
            if !misplaced.is_empty() {
                return Err(BuildErrorKind::IteratorOutsideTemplate { found: misplaced });
            }
            Ok(roots
                .iter()
                .filter(|root| is_resource(root))
                .cloned()
                .collect())
        }
    }
}

#[cfg(test)]
mod tests;
