//! Every expression compiled and type-checked, the dependencies between
//! resources inferred from the variables the expressions read, and the
//! dependency graph.
//!
//! A resource depends on every other resource its template, `includeWhen`
//! or `forEach` expressions read. `readyWhen` reads only the resource itself
//! (or `each`, the current item of a collection) and adds no dependency.
//!
//! Types: `schema` and the resources are typed from their schemas
//! ([`super::types`]); a template expression must fit the field it is
//! written to, a string template's parts must be strings, conditions must
//! be booleans, and a `forEach` must be a list (its iterator then has the
//! element type).

use std::collections::BTreeSet;
use std::sync::Arc;

use kro_cel::assignability::{Target, check_assignable, check_condition_type, fits};
use kro_cel::library::kro::{Placement, check_omit_placement, uses_omit};
use kro_cel::openapi_types::SchemaTypes;
use kro_cel::references::references_with;
use kro_cel::template::{FieldPath, Template, TemplateExpression};
use kro_cel::{Compiled, Diagnostics, Env, ResultUse, Type, ValueSize};

use super::literals::check_literals;
use super::structure::{NodeKind, ResourceStructure, Structure};
use super::types::RgdTypes;
pub use super::types::{EACH, SCHEMA};
use super::{Errors, read_roots};
use crate::dag::DependencyGraph;
use crate::error::{BuildErrorKind, BuildErrors};

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
    /// The worst-case cost of one evaluation, as the static estimate
    /// bounds it.
    pub worst_case: u64,
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

/// How a template expression's value is used.
#[derive(Debug, Clone)]
enum Usage {
    /// The whole field's value, at this path inside the object.
    Field(FieldPath),
    /// One part of a string template at this path.
    StringPart(FieldPath),
    /// Not in a template.
    Other,
}

/// One expression to compile, with where it is and how it is used.
struct Pending<'a> {
    context: Context,
    location: FieldPath,
    placement: Usage,
    expression: &'a TemplateExpression,
}

/// Compiles and type-checks every expression of `structure` in the typed
/// environment `types`, checks which variables each context may read, and
/// builds the dependency graph.
pub fn infer_dependencies(
    structure: &Structure,
    types: &RgdTypes,
) -> Result<Dependencies, BuildErrors> {
    let ids: Vec<&str> = structure.resources.iter().map(|r| r.id.as_str()).collect();
    let id_set: BTreeSet<&str> = ids.iter().copied().collect();
    let mut graph = DependencyGraph::new(ids.iter().copied());
    let mut errors = Errors::new(&structure.rgd);
    let mut all_expressions = Vec::with_capacity(structure.resources.len());
    for (resource, resource_types) in structure.resources.iter().zip(&types.resources) {
        let mut step = ResourceStep::new(structure, resource, resource_types, types, &id_set);
        step.compile_expressions(&mut errors);
        step.check_literals(&mut errors);
        step.check_identity(&mut errors);
        let path = step.path;
        all_expressions.push(step.compiled);
        if let Err(dag_error) =
            graph.add_dependencies(&resource.id, step.dependencies.iter().map(String::as_str))
        {
            errors.push(Some(&resource.id), path, dag_error);
        }
    }
    errors.or_value(Dependencies {
        graph,
        expressions: all_expressions,
    })
}

/// One resource's part of [`infer_dependencies`]: its environment (with
/// the iterators declared as their lists are typed), and what its
/// expressions compiled to and read so far.
struct ResourceStep<'a> {
    structure: &'a Structure,
    resource: &'a ResourceStructure,
    resource_types: &'a Arc<SchemaTypes>,
    ids: &'a BTreeSet<&'a str>,
    /// `spec.resources[index]`.
    path: FieldPath,
    env: Env,
    dependencies: BTreeSet<String>,
    compiled: Vec<CompiledExpression>,
}

impl<'a> ResourceStep<'a> {
    /// The RGD's environment, plus `each` for a collection.
    fn new(
        structure: &'a Structure,
        resource: &'a ResourceStructure,
        resource_types: &'a Arc<SchemaTypes>,
        types: &RgdTypes,
        ids: &'a BTreeSet<&'a str>,
    ) -> Self {
        let mut env = types.env.clone();
        if matches!(
            resource.kind,
            NodeKind::Collection | NodeKind::ExternalCollection
        ) {
            env.add_variable(EACH, resource_types.root().clone());
        }
        Self {
            structure,
            resource,
            resource_types,
            ids,
            path: FieldPath::root()
                .key("spec")
                .key("resources")
                .index(resource.index),
            env,
            dependencies: BTreeSet::new(),
            compiled: Vec::new(),
        }
    }

    /// Every expression, forEach first: its lists' element types type the
    /// iterators that the template then reads.
    fn compile_expressions(&mut self, errors: &mut Errors<'_>) {
        for pending in expressions(self.resource, &self.path) {
            self.compile_expression(&pending, errors);
        }
    }

    /// Compiles one expression, checks what it reads, where it calls
    /// `omit()` and its type, and keeps it.
    fn compile_expression(&mut self, pending: &Pending<'_>, errors: &mut Errors<'_>) {
        let mut report = |kind: BuildErrorKind| {
            errors.push_expression(
                Some(&self.resource.id),
                pending.location.clone(),
                Some(&pending.expression.source),
                kind,
            );
        };
        let compiled = match self.env.compile_kro(&pending.expression.source) {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                report(self.compile_error(pending, &diagnostics));
                declare_iterator(&mut self.env, pending, &Type::Dyn);
                return;
            }
        };
        let expr = &compiled.checked().expr;
        let roots = read_roots(&self.env, expr);
        match check_roots(pending.context, self.resource, &roots, self.ids) {
            Ok(read) => self.dependencies.extend(read),
            Err(kind) => report(kind),
        }
        // Placement only matters where omit() is called; most
        // expressions do not, and building it allocates.
        if uses_omit(expr) {
            let placement = omit_placement(self.structure, self.resource, pending);
            let gate = self.env.function("omit").is_some();
            if let Err(misplaced) = check_omit_placement(expr, &placement.as_placement(), gate) {
                report(BuildErrorKind::Omit {
                    message: misplaced.to_string(),
                });
            }
        }
        let result_use = if pending.context == Context::ForEach {
            ResultUse::EachElement
        } else {
            ResultUse::Whole
        };
        let estimate = compiled.check_static_cost(result_use);
        let checked = check_type(
            &self.env,
            self.resource,
            self.resource_types,
            pending,
            compiled.result_type(),
        );
        match checked {
            Ok(Some(element)) => declare_iterator(&mut self.env, pending, &element),
            Ok(None) => {}
            Err(kind) => {
                report(kind);
                declare_iterator(&mut self.env, pending, &Type::Dyn);
            }
        }
        let worst_case = match estimate {
            Ok(estimate) => {
                // An iterator takes the elements of its list: as large as they are.
                size_iterator(&mut self.env, pending, estimate.element_size());
                estimate.max
            }
            Err(refused) => {
                report(refused.into());
                0
            }
        };
        self.compiled.push(CompiledExpression {
            context: pending.context,
            path: pending.location.clone(),
            source: pending.expression.source.clone(),
            compiled,
            worst_case,
        });
    }

    /// Why an expression did not compile. Reading a variable this place
    /// may not read often fails type checking first; say what is really
    /// wrong then.
    fn compile_error(&self, pending: &Pending<'_>, diagnostics: &Diagnostics) -> BuildErrorKind {
        let source = &pending.expression.source;
        let scope_error = kro_cel::parse(source).ok().and_then(|ast| {
            let roots = read_roots(&self.env, &ast);
            check_roots(pending.context, self.resource, &roots, self.ids).err()
        });
        scope_error.unwrap_or_else(|| BuildErrorKind::Compile {
            message: diagnostics.render("expression", source),
            diagnostics: diagnostics.clone(),
        })
    }

    /// The template's literal values against the kind's schema.
    fn check_literals(&self, errors: &mut Errors<'_>) {
        if !matches!(
            self.resource.kind,
            NodeKind::Resource | NodeKind::Collection
        ) {
            return;
        }
        for (field, kind) in check_literals(&self.env, self.resource_types, &self.resource.object) {
            errors.push(
                Some(&self.resource.id),
                self.path.key("template").join(&field),
                kind,
            );
        }
    }

    /// A collection's items' names read every iterator.
    fn check_identity(&self, errors: &mut Errors<'_>) {
        if self.resource.kind != NodeKind::Collection {
            return;
        }
        if let Some(missing) = missing_identity_iterators(self.resource, &self.compiled) {
            errors.push(
                Some(&self.resource.id),
                self.path.key("template").key("metadata").key("name"),
                BuildErrorKind::IdentityIterators { missing },
            );
        }
    }
}

/// Where an expression sits, for `omit()`'s placement rules (owned, so it
/// can borrow from the pending expression).
enum OmitPlacement {
    Template {
        path: String,
        standalone: bool,
        identity: bool,
    },
    ForEach {
        node: String,
        iterator: String,
    },
    Condition,
}

impl OmitPlacement {
    fn as_placement(&self) -> Placement<'_> {
        match self {
            OmitPlacement::Template {
                path,
                standalone,
                identity,
            } => Placement::Template {
                path,
                standalone: *standalone,
                identity: *identity,
            },
            OmitPlacement::ForEach { node, iterator } => Placement::ForEach { node, iterator },
            OmitPlacement::Condition => Placement::Condition,
        }
    }
}

fn omit_placement(
    structure: &Structure,
    resource: &ResourceStructure,
    pending: &Pending<'_>,
) -> OmitPlacement {
    // `omit()` may not remove what names the object: its name, or the
    // namespace a cluster-scoped instance must give a namespaced object.
    let is_identity = |field: &FieldPath| {
        let name = FieldPath::root().key("metadata").key("name");
        let namespace = FieldPath::root().key("metadata").key("namespace");
        *field == name
            || (*field == namespace
                && resource.schema.resource_type.namespaced
                && structure.instance_scope == crate::api::Scope::Cluster)
    };
    match (&pending.context, &pending.placement) {
        (Context::Template, Usage::Field(field)) => OmitPlacement::Template {
            path: field.to_string(),
            standalone: true,
            identity: is_identity(field),
        },
        (Context::Template, Usage::StringPart(field)) => OmitPlacement::Template {
            path: field.to_string(),
            standalone: false,
            identity: is_identity(field),
        },
        (Context::ForEach, _) => OmitPlacement::ForEach {
            node: resource.id.clone(),
            iterator: match pending.location.segments().last() {
                Some(kro_cel::template::Segment::Key(name)) => name.clone(),
                _ => String::new(),
            },
        },
        _ => OmitPlacement::Condition,
    }
}

/// The iterators of a collection that its items' name (and namespace) do
/// not read: without them, two items would be the same object.
fn missing_identity_iterators(
    resource: &ResourceStructure,
    compiled: &[CompiledExpression],
) -> Option<Vec<String>> {
    let identity_paths = ["name", "namespace"].map(|field| {
        FieldPath::root()
            .key("spec")
            .key("resources")
            .index(resource.index)
            .key("template")
            .key("metadata")
            .key(field)
    });
    let read: BTreeSet<String> = compiled
        .iter()
        .filter(|expression| {
            expression.context == Context::Template && identity_paths.contains(&expression.path)
        })
        .flat_map(|expression| references_with(&expression.compiled.checked().expr, &|_| false))
        .map(|reference| reference.root)
        .collect();
    let missing: Vec<String> = resource
        .for_each
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| !read.contains(name))
        .collect();
    (!missing.is_empty()).then_some(missing)
}

/// Declares a forEach iterator (the last key of its location) with `ty`.
fn declare_iterator(env: &mut Env, pending: &Pending<'_>, ty: &Type) {
    if pending.context != Context::ForEach {
        return;
    }
    if let Some(kro_cel::template::Segment::Key(name)) = pending.location.segments().last() {
        env.add_variable(name, ty.clone());
    }
}

/// Bounds a forEach iterator (the last key of its location) for the static
/// cost estimate of the expressions that read it.
fn size_iterator(env: &mut Env, pending: &Pending<'_>, size: ValueSize) {
    if pending.context != Context::ForEach {
        return;
    }
    if let Some(kro_cel::template::Segment::Key(name)) = pending.location.segments().last() {
        env.add_variable_size(name, size);
    }
}

/// Checks the expression's type against where it is used. For a forEach,
/// returns the element type of the list.
fn check_type(
    env: &Env,
    resource: &ResourceStructure,
    types: &Arc<SchemaTypes>,
    pending: &Pending<'_>,
    got: &Type,
) -> Result<Option<Type>, BuildErrorKind> {
    match (&pending.context, &pending.placement) {
        (Context::Template, Usage::Field(field)) => {
            let expected = types.type_at(field);
            // The message (and the path string it needs) only on a mismatch.
            if fits(env, got, &expected, 0).is_ok() {
                return Ok(None);
            }
            let target = Target {
                resource: &resource.id,
                path: &field.to_string(),
                expression: &pending.expression.source,
            };
            check_assignable(env, target, got, &expected)
                .map(|()| None)
                .map_err(|mismatch| BuildErrorKind::Type {
                    message: mismatch.to_string(),
                })
        }
        (Context::Template, Usage::StringPart(field)) => {
            let expected = types.type_at(field);
            if fits(env, &Type::String, &expected, 0).is_err() {
                return Err(BuildErrorKind::Type {
                    message: format!(
                        "expected {expected} type for path {field}, got string (a string template)"
                    ),
                });
            }
            fits(env, got, &Type::String, 0).map(|()| None).map_err(|_| BuildErrorKind::Type {
                message: format!("every expression of a string template must return a string, but this returns \"{got}\""),
            })
        }
        (Context::IncludeWhen | Context::ReadyWhen, _) => {
            let what = if pending.context == Context::IncludeWhen {
                "includeWhen"
            } else {
                "readyWhen"
            };
            check_condition_type(what, got)
                .map(|()| None)
                .map_err(|message| BuildErrorKind::Type { message })
        }
        (Context::ForEach, _) => match got {
            Type::List(element) => Ok(Some((**element).clone())),
            Type::Dyn => Ok(Some(Type::Dyn)),
            other => Err(BuildErrorKind::Type {
                message: format!("forEach must return a list, but returns \"{other}\""),
            }),
        },
        _ => Ok(None),
    }
}

/// Every expression of a resource, forEach first, with its context,
/// location and placement.
fn expressions<'a>(resource: &'a ResourceStructure, path: &FieldPath) -> Vec<Pending<'a>> {
    let object_path = match resource.kind {
        NodeKind::External | NodeKind::ExternalCollection => path.key("externalRef"),
        NodeKind::Resource | NodeKind::Collection => path.key("template"),
    };
    let mut all = Vec::new();
    for (i, (name, expression)) in resource.for_each.iter().enumerate() {
        let location = path.key("forEach").index(i).key(name.clone());
        all.push(Pending {
            context: Context::ForEach,
            location,
            placement: Usage::Other,
            expression,
        });
    }
    for found in &resource.templates {
        let location = object_path.join(&found.path);
        match &found.template {
            Template::Standalone(expression) => all.push(Pending {
                context: Context::Template,
                location,
                placement: Usage::Field(found.path.clone()),
                expression,
            }),
            template => {
                for expression in template.expressions() {
                    all.push(Pending {
                        context: Context::Template,
                        location: location.clone(),
                        placement: Usage::StringPart(found.path.clone()),
                        expression,
                    });
                }
            }
        }
    }
    for (i, expression) in resource.include_when.iter().enumerate() {
        let location = path.key("includeWhen").index(i);
        all.push(Pending {
            context: Context::IncludeWhen,
            location,
            placement: Usage::Other,
            expression,
        });
    }
    for (i, expression) in resource.ready_when.iter().enumerate() {
        let location = path.key("readyWhen").index(i);
        all.push(Pending {
            context: Context::ReadyWhen,
            location,
            placement: Usage::Other,
            expression,
        });
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
    match context {
        Context::ReadyWhen => check_ready_when_roots(resource, roots, ids),
        Context::Template
        | Context::IncludeWhen
        | Context::ForEach
        | Context::Status
        | Context::StatusCondition => {
            if roots.iter().any(|root| root == EACH) {
                return Err(BuildErrorKind::EachOutsideReadyWhen);
            }
            let is_resource = |name: &str| ids.contains(name);
            let is_iterator = |name: &str| {
                resource
                    .for_each
                    .iter()
                    .any(|(iterator, _)| iterator == name)
            };
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

/// `readyWhen` reads only the resource itself (a collection: `each`, one
/// item at a time), so it adds no dependency.
fn check_ready_when_roots(
    resource: &ResourceStructure,
    roots: &BTreeSet<String>,
    ids: &BTreeSet<&str>,
) -> Result<Vec<String>, BuildErrorKind> {
    // Collections, including selector externalRefs, check each item.
    let allowed = match resource.kind {
        NodeKind::Collection | NodeKind::ExternalCollection => EACH,
        NodeKind::Resource | NodeKind::External => resource.id.as_str(),
    };
    let others: Vec<String> = roots
        .iter()
        .filter(|root| {
            root.as_str() != allowed
                && (ids.contains(root.as_str()) || *root == SCHEMA || *root == EACH)
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

#[cfg(test)]
mod tests;
