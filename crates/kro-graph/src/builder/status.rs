//! The instance's status: the `${...}` projections of `spec.schema.status`,
//! and its custom conditions.
//!
//! Every leaf of `spec.schema.status` must be a string holding at least one
//! expression; each reads `schema` and resource ids only, and at least one
//! of them. `conditions`, when present, is a list of standalone
//! expressions that produce conditions (with the `runtime.*` functions of
//! kro's CEL environment, where it provides them).

use std::collections::BTreeSet;

use kro_cel::template::{FieldPath, Template, scan_value};
use kro_cel::{Compiled, Env, ResultUse};
use serde_json::Value;

use super::dependencies::{CompiledExpression, Context, SCHEMA};
use super::structure::Structure;
use super::{Errors, read_roots};
use crate::error::{BuildErrorKind, BuildErrors};

/// One status field and how it is computed.
#[derive(Debug, Clone)]
pub struct StatusField {
    /// Where it goes, from the root of `status`.
    pub path: FieldPath,
    /// Standalone (any type) or interpolated (a string).
    pub template: Template,
    /// Its compiled expressions, in order.
    pub expressions: Vec<CompiledExpression>,
}

/// Everything the instance's status is computed from.
#[derive(Debug, Clone, Default)]
pub struct InstanceStatus {
    /// Projected fields, in document order.
    pub fields: Vec<StatusField>,
    /// Custom condition expressions, in order.
    pub conditions: Vec<CompiledExpression>,
    /// The resources the status reads, sorted.
    pub dependencies: Vec<String>,
}

/// Compiles `spec.schema.status` of the structure's RGD in `env`, the RGD's
/// typed environment ([`super::types::rgd_types`]).
pub fn compile_status(
    structure: &Structure,
    status: Option<&Value>,
    env: &Env,
) -> Result<InstanceStatus, BuildErrors> {
    let mut result = InstanceStatus::default();
    let Some(status) = status else {
        return Ok(result);
    };
    let root = FieldPath::root().key("spec").key("schema").key("status");
    let ids: Vec<&str> = structure.resources.iter().map(|r| r.id.as_str()).collect();
    let env = env.clone();
    let mut compiler = Compiler {
        ids: &ids,
        env,
        errors: Errors::new(&structure.rgd),
        dependencies: BTreeSet::new(),
    };

    let Value::Object(map) = status else {
        compiler.error(
            root,
            None,
            BuildErrorKind::StatusShape {
                problem: "must be a map",
            },
        );
        return Err(compiler.errors.into_errors());
    };
    let mut projected = serde_json::Map::new();
    for (key, value) in map {
        if key == "conditions" {
            result.conditions = compiler.conditions(value, &root.key("conditions"));
        } else {
            projected.insert(key.clone(), value.clone());
        }
    }
    let projected = Value::Object(projected);
    compiler.require_expressions(&projected, &root);
    result.fields = compiler.fields(&projected, &root);
    result.dependencies = compiler.dependencies.into_iter().collect();
    compiler.errors.or_value(result)
}

/// Whether `ty` can be written as conditions: one, a list, or `dyn`
/// (checked when evaluated).
fn is_condition_type(ty: &kro_cel::Type) -> bool {
    use kro_cel::Type;
    let is_condition = |t: &Type| matches!(t, Type::Object(name) if &**name == kro_cel::library::kro::CONDITION_TYPE);
    match ty {
        Type::Dyn => true,
        Type::List(element) => is_condition(element) || matches!(**element, Type::Dyn),
        other => is_condition(other),
    }
}

struct Compiler<'a> {
    ids: &'a [&'a str],
    env: Env,
    errors: Errors<'a>,
    dependencies: BTreeSet<String>,
}

impl Compiler<'_> {
    /// An error of the instance's status (no resource).
    fn error(&mut self, path: FieldPath, expression: Option<&str>, kind: BuildErrorKind) {
        self.errors.push_expression(None, path, expression, kind);
    }

    /// Reports every leaf that is not a string holding an expression.
    fn require_expressions(&mut self, value: &Value, path: &FieldPath) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    self.require_expressions(child, &path.key(key.clone()));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    self.require_expressions(child, &path.index(index));
                }
            }
            Value::String(text) if text.contains("${") => {}
            _ => self.error(
                path.clone(),
                None,
                BuildErrorKind::StatusShape {
                    problem: "status fields without expressions are not supported",
                },
            ),
        }
    }

    /// The projected fields of `projected` (the status without its
    /// conditions), each with its expressions compiled.
    fn fields(&mut self, projected: &Value, root: &FieldPath) -> Vec<StatusField> {
        let found = match scan_value(projected) {
            Ok(found) => found,
            Err(scan_errors) => {
                for error in scan_errors {
                    self.error(root.join(&error.path), None, error.error.into());
                }
                return Vec::new();
            }
        };
        found
            .into_iter()
            .map(|found| {
                let path = root.join(&found.path);
                let expressions = found
                    .template
                    .expressions()
                    .into_iter()
                    .filter_map(|expression| self.compile(&expression.source, &path, false))
                    .collect();
                StatusField {
                    path: found.path,
                    template: found.template,
                    expressions,
                }
            })
            .collect()
    }

    /// The standalone expressions of `status.conditions`, compiled.
    fn conditions(&mut self, value: &Value, path: &FieldPath) -> Vec<CompiledExpression> {
        let Value::Array(entries) = value else {
            self.error(
                path.clone(),
                None,
                BuildErrorKind::StatusShape {
                    problem: "status.conditions must be a list",
                },
            );
            return Vec::new();
        };
        let mut compiled = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry_path = path.index(index);
            let standalone = entry.as_str().map(kro_cel::template::scan);
            match standalone {
                Some(Ok(Template::Standalone(expression))) => {
                    compiled.extend(self.compile(&expression.source, &entry_path, true));
                }
                Some(Err(error)) => self.error(entry_path, None, error.into()),
                _ => self.error(entry_path, None, BuildErrorKind::StandaloneOnly),
            }
        }
        compiled
    }

    /// Compiles one expression of a status field (or, when `condition`,
    /// of `status.conditions`) and checks what it reads and returns.
    fn compile(
        &mut self,
        source: &str,
        path: &FieldPath,
        condition: bool,
    ) -> Option<CompiledExpression> {
        let compiled = match self.env.compile_kro(source) {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                let message = diagnostics.render("expression", source);
                self.error(
                    path.clone(),
                    Some(source),
                    BuildErrorKind::Compile {
                        message,
                        diagnostics,
                    },
                );
                return None;
            }
        };
        self.check_reads(&compiled, source, path, condition);
        let worst_case = match compiled.check_static_cost(ResultUse::Whole) {
            Ok(estimate) => estimate.max,
            Err(refused) => {
                self.error(path.clone(), Some(source), refused.into());
                0
            }
        };
        if condition {
            self.check_condition_type(&compiled, source, path);
        }
        let context = if condition {
            Context::StatusCondition
        } else {
            Context::Status
        };
        Some(CompiledExpression {
            context,
            path: path.clone(),
            source: source.to_owned(),
            compiled,
            worst_case,
        })
    }

    /// Records the resources `compiled` reads; a status field must read the
    /// instance or a resource (a condition may read neither).
    fn check_reads(
        &mut self,
        compiled: &Compiled,
        source: &str,
        path: &FieldPath,
        condition: bool,
    ) {
        let roots = read_roots(&self.env, &compiled.checked().expr);
        let reads_instance_or_resource = roots
            .iter()
            .any(|root| root == SCHEMA || self.ids.contains(&root.as_str()));
        if !condition && !reads_instance_or_resource {
            self.error(
                path.clone(),
                Some(source),
                BuildErrorKind::StatusShape {
                    problem: "instance status field must refer to a resource or schema",
                },
            );
        }
        self.dependencies.extend(
            roots
                .into_iter()
                .filter(|root| self.ids.contains(&root.as_str())),
        );
    }

    /// A condition expression must produce conditions.
    fn check_condition_type(&mut self, compiled: &Compiled, source: &str, path: &FieldPath) {
        if !is_condition_type(compiled.result_type()) {
            self.error(
                path.clone(),
                Some(source),
                BuildErrorKind::Type {
                    message: format!(
                        "a status condition expression must return kro.run.Condition or a list of them, but returns \"{}\"",
                        compiled.result_type()
                    ),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests;
