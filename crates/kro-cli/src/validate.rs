//! `kro validate`: check RGD files offline, and show every problem where it
//! is in the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, ValueEnum};
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::error::BuildError;
use kro_graph::resolver::BuiltinSchemas;
use kro_graph::source_map::{Position, SourceMap};
use serde_json::{Value, json};

/// Check ResourceGraphDefinition files without a cluster.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// RGD files (YAML or JSON).
    #[arg(required = true)]
    files: Vec<PathBuf>,

    /// How to print the result.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// For people: each problem with its file position and a caret.
    Text,
    /// One JSON object per file, one per line.
    Json,
}

/// One problem, located in the file.
struct Located {
    error: Option<BuildError>,
    message: String,
    position: Option<Position>,
}

/// What validating one file found.
struct Report {
    problems: Vec<Located>,
    topological_order: Vec<String>,
}

/// Validates every file and prints a report; returns whether all are valid.
pub fn run(args: &ValidateArgs) -> Result<bool> {
    let builder = Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::standard(),
        BuildOptions::default(),
    );
    let mut all_valid = true;
    for file in &args.files {
        let (report, text) = match std::fs::read_to_string(file) {
            Ok(text) => (validate(&builder, &text), text),
            Err(e) => {
                let problem = Located {
                    error: None,
                    message: format!("cannot read the file: {e}"),
                    position: None,
                };
                (
                    Report {
                        problems: vec![problem],
                        topological_order: Vec::new(),
                    },
                    String::new(),
                )
            }
        };
        all_valid &= report.problems.is_empty();
        match args.output {
            Output::Text => print_text(file, &text, &report),
            Output::Json => println!("{}", report_json(file, &report)),
        }
    }
    Ok(all_valid)
}

fn validate(builder: &Builder, text: &str) -> Report {
    let rgd: ResourceGraphDefinition = match serde_saphyr::from_str(text) {
        Ok(rgd) => rgd,
        Err(e) => {
            let problem = Located {
                error: None,
                message: format!("not a valid ResourceGraphDefinition: {e}"),
                position: None,
            };
            return Report {
                problems: vec![problem],
                topological_order: Vec::new(),
            };
        }
    };
    match builder.build(&rgd) {
        Ok(graph) => Report {
            problems: Vec::new(),
            topological_order: graph.topological_order,
        },
        Err(errors) => {
            let source_map = SourceMap::from_yaml(text);
            let problems = errors
                .0
                .into_iter()
                .map(|error| {
                    let position = locate(&error, source_map.as_ref(), text);
                    Located {
                        message: error.to_string(),
                        error: Some(error),
                        position,
                    }
                })
                .collect();
            Report {
                problems,
                topological_order: Vec::new(),
            }
        }
    }
}

/// Where an error is in the file: at its `${...}` when it has one and it
/// can be found on the value's line, else at the value.
fn locate(error: &BuildError, source_map: Option<&SourceMap>, text: &str) -> Option<Position> {
    let position = source_map?.position(error.path.as_ref()?)?;
    let Some(expression) = &error.expression else {
        return Some(position);
    };
    let line = text
        .lines()
        .nth(usize::try_from(position.line).ok()?.checked_sub(1)?)?;
    let needle = format!("${{{expression}}}");
    let from = line
        .char_indices()
        .nth(usize::try_from(position.column).ok()?.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    match line[from..].find(&needle) {
        Some(offset) => {
            let column = line[..from + offset].chars().count() as u64 + 1;
            Some(Position {
                line: position.line,
                column,
            })
        }
        None => Some(position),
    }
}

fn print_text(file: &Path, text: &str, report: &Report) {
    let name = file.display();
    if report.problems.is_empty() {
        println!(
            "{name}: valid; topological order: {}",
            report.topological_order.join(", ")
        );
        return;
    }
    for problem in &report.problems {
        match problem.position {
            Some(position) => {
                println!("{name}:{position}: error: {}", problem.message);
                print_caret(text, position, problem.error.as_ref());
            }
            None => println!("{name}: error: {}", problem.message),
        }
    }
    let count = report.problems.len();
    println!("{name}: {count} error{}", if count == 1 { "" } else { "s" });
}

/// The offending line and a caret under the expression (or the value).
fn print_caret(text: &str, position: Position, error: Option<&BuildError>) {
    let Some(line) = usize::try_from(position.line)
        .ok()
        .and_then(|n| text.lines().nth(n.checked_sub(1)?))
    else {
        return;
    };
    let width = error
        .and_then(|e| e.expression.as_ref())
        .map_or(1, |expression| expression.chars().count() + 3);
    let gutter = position.line.to_string().len();
    let indent: String = line
        .chars()
        .take(
            usize::try_from(position.column)
                .unwrap_or(1)
                .saturating_sub(1),
        )
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    println!("{:>gutter$} | {line}", position.line);
    println!("{:>gutter$} | {indent}{}", "", "^".repeat(width));
}

fn report_json(file: &Path, report: &Report) -> Value {
    let errors: Vec<Value> = report
        .problems
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
    json!({
        "file": file.display().to_string(),
        "valid": report.problems.is_empty(),
        "errors": errors,
        "topologicalOrder": report.topological_order,
    })
}
