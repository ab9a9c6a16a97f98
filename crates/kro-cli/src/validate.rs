//! `kro validate`: check RGD files offline, and show every problem where it
//! is in the file. Upstream kro's spelling, `kro validate rgd -f FILE`, is
//! the same command.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use kro_graph::builder::Graph;
use kro_schema::empty_ranges;
use serde_json::{Value, json};

use crate::source::{GateArgs, Loaded, Problem, builder, load, write_problems};
use crate::yaml;

/// Check ResourceGraphDefinition files without a cluster.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub struct ValidateArgs {
    #[command(subcommand)]
    upstream: Option<UpstreamSpelling>,
    #[command(flatten)]
    options: ValidateOptions,
}

/// Upstream kro's spelling of the command.
#[derive(Debug, Subcommand)]
enum UpstreamSpelling {
    /// The same check, as upstream kro's CLI spells it:
    /// `kro validate rgd -f FILE`.
    Rgd(ValidateOptions),
}

/// What to validate, and how to report it.
#[derive(Debug, Args)]
struct ValidateOptions {
    /// RGD files (YAML or JSON).
    #[arg(required_unless_present = "file_flags")]
    files: Vec<PathBuf>,

    /// An RGD file, as upstream kro's CLI gives it (repeatable; checked
    /// after the FILES arguments).
    #[arg(short = 'f', long = "file", id = "file_flags", value_name = "FILE")]
    file_flags: Vec<PathBuf>,

    /// How to print the result.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// CRD files, or directories of them, defining kinds the RGDs use (for
    /// example another RGD's instance kind, from `kro generate crd`).
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,

    #[command(flatten)]
    gates: GateArgs,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// For people: each problem with its file position and a caret.
    Text,
    /// One JSON object per file, one per line.
    Json,
}

/// Validates every file and prints a report; returns whether all are valid.
pub fn run(args: &ValidateArgs) -> Result<bool> {
    let args = match &args.upstream {
        Some(UpstreamSpelling::Rgd(options)) => options,
        None => &args.options,
    };
    let builder = builder(&args.crds, args.gates.gates())?;
    let mut all_valid = true;
    let mut stdout = std::io::stdout().lock();
    for file in args.files.iter().chain(&args.file_flags) {
        let loaded = load(&builder, file);
        all_valid &= loaded.result.is_ok();
        if args.output == Output::Text {
            yaml::write_warnings(&mut stdout, file, &loaded.duplicates)?;
        }
        match (args.output, &loaded.result) {
            (Output::Text, Ok(graph)) => {
                for range in empty_ranges::in_instance_spec(&graph.instance_crd) {
                    println!("{}: warning: {range}", file.display());
                }
                println!(
                    "{}: valid; topological order: {}",
                    file.display(),
                    graph.topological_order.join(", ")
                );
            }
            (Output::Text, Err(problems)) => {
                write_problems(&mut stdout, file, &loaded.text, problems)?
            }
            (Output::Json, Ok(graph)) => {
                println!("{}", report_json(file, &loaded, &[], Some(graph)))
            }
            (Output::Json, Err(problems)) => {
                println!("{}", report_json(file, &loaded, problems, None))
            }
        }
    }
    Ok(all_valid)
}

fn report_json(file: &Path, loaded: &Loaded, problems: &[Problem], graph: Option<&Graph>) -> Value {
    let errors: Vec<Value> = problems
        .iter()
        .map(|problem| {
            let error = problem.error.as_ref();
            json!({
                "resource": error.and_then(|e| e.resource.clone()),
                "path": error.and_then(|e| e.path.as_ref()).map(ToString::to_string),
                "expression": error.and_then(|e| e.expression.clone()),
                "message": error.map_or_else(|| problem.message.clone(), |e| e.kind.to_string()),
                "line": problem.position.map(|p| p.line),
                "column": problem.position.map(|p| p.column),
            })
        })
        .collect();
    let empty_ranges = graph
        .map(|graph| empty_ranges::in_instance_spec(&graph.instance_crd))
        .unwrap_or_default();
    let warnings: Vec<Value> = loaded
        .duplicates
        .iter()
        .map(yaml::warning_json)
        .chain(
            empty_ranges
                .iter()
                .map(|range| json!({"path": range.path, "message": range.to_string()})),
        )
        .collect();
    json!({
        "file": file.display().to_string(),
        "valid": problems.is_empty(),
        "errors": errors,
        "warnings": warnings,
        "topologicalOrder": graph.map_or(&[][..], |graph| &graph.topological_order[..]),
    })
}
