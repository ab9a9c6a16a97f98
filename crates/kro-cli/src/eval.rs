//! `kro eval`: evaluate one CEL expression with kro's full environment and
//! print the result as JSON, as it would be written into a resource, under
//! the limits the operator evaluates it with ([`LimitArgs`]).

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use kro_cel::library::kro::{RUNTIME_VARIABLE, runtime_value};
use kro_cel::openapi_types::SchemaTypes;
use kro_cel::result_json::ConversionError;
use kro_cel::template::{RenderError, Rendered, Template, scan};
use kro_cel::{Allowance, Compiled, Env, Type, Value};
use kro_graph::resolver::{BuiltinSchemas, Gvk, SchemaResolver};

use crate::diagnostics::Located;
use crate::limits::LimitArgs;
use crate::source::GateArgs;

/// Evaluate a CEL expression with kro's functions and print the result as JSON.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kro eval 'random.seededString(20, \"test-seed\")'\n  kro eval 'deployment.status.availableReplicas == deployment.spec.replicas' --var deployment=deploy.yaml"
)]
pub struct EvalArgs {
    /// The expression: bare CEL, or as written in an RGD (`${...}`, or a
    /// string template such as `${schema.spec.name}-service`).
    expression: String,

    /// Binds a variable to the content of a YAML or JSON file: NAME=FILE
    /// (`NAME=-`: standard input).
    /// An object of a built-in Kubernetes kind (by its apiVersion and kind)
    /// is typed from the kind's schema, as kro types resources.
    #[arg(long = "var", value_name = "NAME=FILE")]
    vars: Vec<String>,

    /// Only type-check, and print the deduced type.
    #[arg(long)]
    check_only: bool,

    /// Enable `omit()`: the same as `--feature-gates CELOmitFunction=true`.
    #[arg(long)]
    enable_omit: bool,

    #[command(flatten)]
    gates: GateArgs,

    #[command(flatten)]
    limits: LimitArgs,

    /// Type every variable `dyn`, even objects of a built-in Kubernetes kind.
    #[arg(long)]
    untyped: bool,
}

/// Runs the command; the returned text is printed on stdout.
pub fn run(args: &EvalArgs) -> Result<String> {
    let mut gates = args.gates.gates();
    gates.cel_omit_function |= args.enable_omit;
    let mut env = gates.cel_env();
    let bindings = bind_variables(args, &mut env)?;
    // Bare CEL, or a template as written in an RGD: type-checked as the one
    // expression upstream kro compiles it to, rendered as the runtime renders.
    let template = match scan(&args.expression).map_err(|e| anyhow!("{e}"))? {
        Template::Literal(_) => None,
        template => Some(template),
    };
    let source = template
        .as_ref()
        .map_or_else(|| args.expression.clone(), Template::to_cel);
    let compiled = compile(&env, &source)?;
    if args.check_only {
        return Ok(compiled.result_type().to_string());
    }
    let mut activation: Vec<(&str, Value)> = bindings
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    if !bindings.iter().any(|(n, _)| n == RUNTIME_VARIABLE) {
        activation.push((RUNTIME_VARIABLE, runtime_value()));
    }
    let mut allowance = args.limits.allowance();
    let value = match &template {
        None => evaluate(&compiled, &activation, &mut allowance)?,
        Some(template) => render(&env, template, &activation, &mut allowance)?,
    };
    output(&value, &mut allowance)
}

/// Declares each `--var` in `env` (typed from its kind's schema when it is
/// an object of a built-in kind, else `dyn`) and returns its value.
fn bind_variables(args: &EvalArgs, env: &mut Env) -> Result<Vec<(String, Value)>> {
    let schemas = BuiltinSchemas::new();
    let mut bindings = Vec::new();
    for var in &args.vars {
        let (name, json) = read_variable(var)?;
        let typed = if args.untyped {
            None
        } else {
            builtin_types(&schemas, name, &json)
        };
        match typed {
            Some(types) => {
                types.declare(env);
                env.add_variable(name, types.root().clone());
                bindings.push((name.to_string(), types.value_of(&json)));
            }
            None => {
                env.add_variable(name, Type::Dyn);
                bindings.push((name.to_string(), Value::from_json(&json)));
            }
        }
    }
    Ok(bindings)
}

/// The name and the content of one `--var NAME=FILE`.
fn read_variable(var: &str) -> Result<(&str, serde_json::Value)> {
    let (name, file) = var
        .split_once('=')
        .ok_or_else(|| anyhow!("--var {var:?}: expected NAME=FILE"))?;
    if name.is_empty() {
        bail!("--var {var:?}: the variable name is empty");
    }
    let source =
        crate::input::read(&PathBuf::from(file)).map_err(|e| anyhow!("--var {name}: {e}"))?;
    let json = match crate::input::documents(&source.text).as_slice() {
        [] => serde_json::Value::Null,
        [chunk] => chunk
            .parse()
            .map_err(|d| anyhow!("--var {name}: {}", Located::new(&source, vec![d])))?,
        several => bail!(
            "--var {name}: {} holds {} documents, a variable takes one",
            source.name,
            several.len()
        ),
    };
    crate::source::report(&source, &crate::yaml::duplicate_warnings(&source.text));
    Ok((name, json))
}

/// `source` compiled in `env`, or its diagnostics, shown in the
/// expression.
fn compile(env: &Env, source: &str) -> Result<Compiled> {
    env.compile_kro(source).map_err(|diagnostics| {
        let located = Located {
            name: "<expression>".to_owned(),
            text: source.to_owned(),
            diagnostics: diagnostics
                .0
                .iter()
                .map(|d| crate::diagnostics::from_cel(source, d))
                .collect(),
        };
        anyhow!("{located}")
    })
}

/// The value of `compiled` over the bound variables.
fn evaluate(
    compiled: &Compiled,
    activation: &[(&str, Value)],
    allowance: &mut Allowance,
) -> Result<Value> {
    compiled
        .eval_within(&activation, allowance)
        .map_err(|e| anyhow!("evaluation failed: {e}"))
}

/// A string template, rendered as the runtime renders one: each expression
/// compiled and evaluated on its own.
fn render(
    env: &Env,
    template: &Template,
    activation: &[(&str, Value)],
    allowance: &mut Allowance,
) -> Result<Value> {
    let rendered = allowance
        .render(
            template,
            |allowance, expression| {
                evaluate(&compile(env, &expression.source)?, activation, allowance).map(Some)
            },
            |e| anyhow!("evaluation failed: {e}"),
        )
        .map_err(|error| match error {
            RenderError::Eval(error) => error,
            RenderError::NotAString { ref expression, .. } => {
                anyhow!("evaluation failed: `${{{expression}}}`: {error}")
            }
        })?;
    match rendered {
        Some(Rendered::Value { value, .. }) => Ok(value),
        Some(Rendered::Text(text)) => Ok(Value::from(text)),
        None => bail!("the template has no value"),
    }
}

/// `value` as it would be written into a resource, as pretty JSON.
fn output(value: &Value, allowance: &mut Allowance) -> Result<String> {
    let json = match allowance.to_template_json(value) {
        Ok(Some(json)) => json,
        Ok(None) => bail!("the result is omit(): the field would be removed"),
        // A quantity, URL, IP or type value has no place in a template, but
        // showing it helps while debugging: its JSON form if it has one, else
        // its CEL rendering.
        Err(ConversionError::Unsupported(_)) => match value.to_json() {
            Ok(json) => json,
            Err(_) => return Ok(value.to_string()),
        },
        Err(e) => bail!("the result cannot be written as JSON: {e}"),
    };
    Ok(serde_json::to_string_pretty(&json)?)
}

/// The CEL types of an object of a built-in Kubernetes kind (by its
/// `apiVersion` and `kind`), as kro types resource variables; `None` for
/// anything else, which is then typed `dyn`.
fn builtin_types(
    schemas: &BuiltinSchemas,
    name: &str,
    object: &serde_json::Value,
) -> Option<SchemaTypes> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let schema = schemas
        .resolve(&Gvk::from_api_version(api_version, kind))
        .ok()?;
    Some(SchemaTypes::of_resource(
        &format!("__type_{name}"),
        &schema.schema,
    ))
}
