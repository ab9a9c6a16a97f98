//! `kro eval`: evaluate one CEL expression with kro's full environment and
//! print the result as JSON, as it would be written into a resource.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kro_cel::result_json::{ConversionError, to_template_json};
use kro_cel::{Env, KroOptions, Type, Value};

/// Evaluate a CEL expression with kro's functions and print the result as JSON.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kro eval 'random.seededString(20, \"test-seed\")'\n  kro eval 'deployment.status.availableReplicas == deployment.spec.replicas' --var deployment=deploy.yaml"
)]
pub struct EvalArgs {
    /// The expression, without `${` and `}`.
    expression: String,

    /// Binds a variable to the content of a YAML or JSON file: NAME=FILE.
    #[arg(long = "var", value_name = "NAME=FILE")]
    vars: Vec<String>,

    /// Only type-check, and print the deduced type.
    #[arg(long)]
    check_only: bool,

    /// Enable `omit()` (the CELOmitFunction feature gate).
    #[arg(long)]
    enable_omit: bool,
}

/// Runs the command; the returned text is printed on stdout.
pub fn run(args: &EvalArgs) -> Result<String> {
    let mut env = Env::kro_with(KroOptions {
        omit: args.enable_omit,
    });
    let mut bindings: Vec<(String, Value)> = Vec::new();
    for var in &args.vars {
        let (name, file) = var
            .split_once('=')
            .ok_or_else(|| anyhow!("--var {var:?}: expected NAME=FILE"))?;
        if name.is_empty() {
            bail!("--var {var:?}: the variable name is empty");
        }
        let path = PathBuf::from(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--var {name}: reading {}", path.display()))?;
        let json: serde_json::Value = serde_saphyr::from_str(&text)
            .with_context(|| format!("--var {name}: parsing {} as YAML", path.display()))?;
        env.add_variable(name, Type::Dyn);
        bindings.push((name.to_string(), Value::from_json(&json)));
    }
    let compiled = env
        .compile_kro(&args.expression)
        .map_err(|d| anyhow!("{}", d.render("<expression>", &args.expression).trim_end()))?;
    if args.check_only {
        return Ok(compiled.result_type().to_string());
    }
    let mut activation: Vec<(&str, Value)> = bindings
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    if !bindings
        .iter()
        .any(|(n, _)| n == kro_cel::kro_lib::RUNTIME_VARIABLE)
    {
        activation.push((
            kro_cel::kro_lib::RUNTIME_VARIABLE,
            kro_cel::kro_lib::runtime_value(),
        ));
    }
    let value = compiled
        .eval(&activation)
        .map_err(|e| anyhow!("evaluation failed: {e}"))?;
    let json = match to_template_json(&value) {
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
