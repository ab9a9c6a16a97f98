//! Every expression compiled, the dependencies between resources inferred
//! from the variables the expressions read, and the dependency graph.
//!
//! A resource depends on every other resource its template, `includeWhen`
//! or `forEach` expressions read. `readyWhen` reads only the resource itself
//! (or `each`, the current item of a collection) and adds no dependency.
//!
//! Expressions are compiled against the environment the caller gives, with
//! `schema`, the resource ids, the resource's iterators and `each` declared
//! as `dyn`: this catches syntax errors, unknown functions and undeclared
//! names now; typing the variables from the OpenAPI schemas narrows them.

use std::collections::BTreeSet;

use kro_cel::references::references_with;
use kro_cel::template::{FieldPath, TemplateExpression};
use kro_cel::{Compiled, Env, Type};

use super::structure::{NodeKind, ResourceStructure, Structure};
use crate::dag::DependencyGraph;
use crate::error::{BuildError, BuildErrorKind, BuildErrors};

/// The variable every expression may read: the instance.
pub const SCHEMA: &str = "schema";
/// The variable `readyWhen` of a collection reads: the current item.
pub const EACH: &str = "each";

/// Where an expression sits, which decides what it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A value of the template (or of an externalRef).
    Template,
    /// An `includeWhen` condition.
    IncludeWhen,
    /// A `readyWhen` condition.
    ReadyWhen,
    /// A `forEach` list.
    ForEach,
    /// A field of the instance's status.
    Status,
    /// A custom condition of the instance.
    StatusCondition,
}

/// One compiled expression of a resource.
#[derive(Debug, Clone)]
pub struct CompiledExpression {
    /// Where it sits.
    pub context: Context,
    /// Its location from the root of the RGD document.
    pub path: FieldPath,
    /// The source between `${` and `}`.
    pub source: String,
    /// The compiled program.
    pub compiled: Compiled,
}

/// The result of this step.
#[derive(Debug, Clone)]
pub struct Dependencies {
    /// The dependency graph.
    pub graph: DependencyGraph,
    /// The compiled expressions of each resource, in the order of
    /// `Structure::resources`.
    pub expressions: Vec<Vec<CompiledExpression>>,
}

/// The environment every resource's expressions compile in: `schema`,
/// `each` and every resource id. Built once per RGD: declaring the ids per
/// resource would make building quadratic in the number of resources.
fn shared_env(env: &Env, ids: &[&str]) -> Env {
    let mut env = env.clone();
    env.add_variable(SCHEMA, Type::Dyn);
    env.add_variable(EACH, Type::Dyn);
    for id in ids {
        env.add_variable(id, Type::Dyn);
    }
    env
}

/// The shared environment plus a resource's own iterators.
fn resource_env(shared: &Env, resource: &ResourceStructure) -> Env {
    let mut env = shared.clone();
    for (iterator, _) in &resource.for_each {
        env.add_variable(iterator, Type::Dyn);
    }
    env
}

/// Compiles every expression of `structure` in `env` (plus kro's
/// variables), checks which variables each context may read, and builds
/// the dependency graph.
pub fn infer_dependencies(structure: &Structure, env: &Env) -> Result<Dependencies, BuildErrors> {
    let ids: Vec<&str> = structure.resources.iter().map(|r| r.id.as_str()).collect();
    let mut graph = DependencyGraph::new(ids.iter().copied());
    let mut errors = Vec::new();
    let mut all_expressions = Vec::with_capacity(structure.resources.len());
    let is_global_function = |name: &str| env.function(name).is_some();
    let shared = shared_env(env, &ids);
    let id_set: BTreeSet<&str> = ids.iter().copied().collect();
    for resource in &structure.resources {
        let path = FieldPath::root()
            .key("spec")
            .key("resources")
            .index(resource.index);
        let resource_env = resource_env(&shared, resource);
        let mut dependencies = BTreeSet::new();
        let mut compiled_expressions = Vec::new();
        for (context, location, expression) in expressions(resource, &path) {
            let error = |kind: BuildErrorKind| BuildError {
                rgd: structure.rgd.clone(),
                resource: Some(resource.id.clone()),
                path: Some(location.clone()),
                expression: Some(expression.source.clone()),
                kind,
            };
            let compiled = match resource_env.compile(&expression.source) {
                Ok(compiled) => compiled,
                Err(diagnostics) => {
                    let message = diagnostics.render("expression", &expression.source);
                    errors.push(error(BuildErrorKind::Compile { message }));
                    continue;
                }
            };
            let roots: BTreeSet<String> =
                references_with(&compiled.checked().expr, &is_global_function)
                    .into_iter()
                    .map(|r| r.root)
                    .collect();
            match check_roots(context, resource, &roots, &id_set) {
                Ok(read) => dependencies.extend(read),
                Err(kind) => errors.push(error(kind)),
            }
            compiled_expressions.push(CompiledExpression {
                context,
                path: location.clone(),
                source: expression.source.clone(),
                compiled,
            });
        }
        all_expressions.push(compiled_expressions);
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
        Ok(Dependencies {
            graph,
            expressions: all_expressions,
        })
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
    ids: &BTreeSet<&str>,
) -> Result<Vec<String>, BuildErrorKind> {
    let is_resource = |name: &str| ids.contains(name);
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
        Context::Template
        | Context::IncludeWhen
        | Context::ForEach
        | Context::Status
        | Context::StatusCondition => {
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
