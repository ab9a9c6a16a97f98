//! `kro validate`: check RGD files offline, and show every problem where it
//! is in the file. Upstream kro's spelling, `kro validate rgd -f FILE`, is
//! the same command.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use kro_graph::source_map::DuplicateKey;
use kro_schema::empty_ranges;
use serde_json::{Value, json};

use crate::diagnostics::{Diagnostic, github_annotation, render, summary};
use crate::input::{self, Source};
use crate::source::{Checked, GateArgs, Problem, builder, check, kind_message, rgd_documents};
use crate::{sarif, yaml};

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
    /// RGD files (YAML or JSON; many documents a file), directories
    /// (their ResourceGraphDefinitions, recursively), or `-` for standard
    /// input.
    #[arg(required_unless_present = "file_flags")]
    files: Vec<PathBuf>,

    /// An RGD file, as upstream kro's CLI gives it (repeatable; checked
    /// after the FILES arguments).
    #[arg(short = 'f', long = "file", id = "file_flags", value_name = "FILE")]
    file_flags: Vec<PathBuf>,

    /// How to print the result.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// CRD files, directories of them, or `-`, defining kinds the RGDs use
    /// (for example another RGD's instance kind, from `kro generate crd`;
    /// many documents a file, and `List`s, are read).
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,

    #[command(flatten)]
    gates: GateArgs,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// For people: each problem with its file position, the line and a
    /// caret.
    Text,
    /// One JSON object per RGD document, one per line.
    Json,
    /// GitHub Actions annotations (`::error file=...,line=...,col=...::`),
    /// one per problem.
    Github,
    /// One SARIF 2.1.0 log of every problem, for code-scanning tools.
    Sarif,
}

/// One RGD document checked, or an input that could not be read.
struct Entry<'s> {
    source: &'s Source,
    /// Whether the file holds more than one document checked.
    several: bool,
    checked: Checked,
    /// Keys written twice, for the JSON report.
    duplicates: Vec<DuplicateKey>,
}

impl Entry<'_> {
    /// Every diagnostic, warnings first, as they are shown.
    fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut diagnostics = self.checked.warnings.clone();
        if let Err(problems) = &self.checked.result {
            diagnostics.extend(problems.iter().map(|p| p.diagnostic.clone()));
        }
        diagnostics
    }

    /// `file` or, for a file of several RGDs, `file:LINE (name)`.
    fn label(&self) -> String {
        if self.several {
            let name = self.checked.name.as_deref().unwrap_or("?");
            format!("{}:{} ({name})", self.source.name, self.checked.start.line)
        } else {
            self.source.name.clone()
        }
    }
}

/// Validates every file and prints a report; returns whether all are valid.
pub fn run(args: &ValidateArgs) -> Result<bool> {
    let args = match &args.upstream {
        Some(UpstreamSpelling::Rgd(options)) => options,
        None => &args.options,
    };
    let builder = builder(&args.crds, args.gates.gates())?;
    // Each input read, or the reason it could not be.
    let mut sources: Vec<(Source, Option<String>)> = Vec::new();
    for path in args.files.iter().chain(&args.file_flags) {
        let files = input::expand(path).map_err(|located| (path.display().to_string(), located));
        let read = match files {
            Ok(files) => files
                .into_iter()
                .map(|(file, from_directory)| {
                    input::read(&file)
                        .map(|source| Source {
                            from_directory,
                            ..source
                        })
                        .map_err(|located| (file.display().to_string(), located))
                })
                .collect(),
            Err(failed) => vec![Err(failed)],
        };
        for source in read {
            sources.push(match source {
                Ok(source) => (source, None),
                Err((name, located)) => (
                    Source {
                        name,
                        text: String::new(),
                        from_directory: false,
                    },
                    Some(
                        located
                            .diagnostics
                            .first()
                            .map_or_else(String::new, |d| d.message.clone()),
                    ),
                ),
            });
        }
    }
    let mut entries = Vec::new();
    for (source, unreadable) in &sources {
        if let Some(message) = unreadable {
            entries.push(failure(source, message.clone()));
            continue;
        }
        let chunks = rgd_documents(source);
        if chunks.is_empty() && !source.from_directory {
            entries.push(failure(source, "no document in the file".into()));
        }
        for chunk in &chunks {
            entries.push(Entry {
                source,
                several: chunks.len() > 1,
                checked: check(&builder, chunk),
                duplicates: yaml::duplicate_keys_in(chunk),
            });
        }
    }
    let all_valid = entries.iter().all(|e| e.checked.result.is_ok());
    let mut out = String::new();
    match args.output {
        Output::Text => entries.iter().for_each(|e| out.push_str(&text(e))),
        Output::Json => entries
            .iter()
            .for_each(|e| out.push_str(&format!("{}\n", report_json(e)))),
        Output::Github => {
            for entry in &entries {
                for diagnostic in entry.diagnostics() {
                    out.push_str(&github_annotation(&entry.source.name, &diagnostic));
                    out.push('\n');
                }
            }
        }
        Output::Sarif => {
            out = serde_json::to_string_pretty(&sarif::log(entries.iter().flat_map(|e| {
                e.diagnostics()
                    .into_iter()
                    .map(|d| (e.source.name.as_str(), d))
            })))?
                + "\n";
        }
    }
    print!("{out}");
    Ok(all_valid)
}

/// An entry for an input that could not be read or held nothing.
fn failure(source: &Source, message: String) -> Entry<'_> {
    Entry {
        source,
        several: false,
        checked: Checked {
            name: None,
            start: kro_graph::source_map::Position { line: 1, column: 1 },
            result: Err(vec![Problem {
                diagnostic: Diagnostic::error(message),
                error: None,
            }]),
            warnings: Vec::new(),
        },
        duplicates: Vec::new(),
    }
}

/// The text report of one entry: its diagnostics, then whether it is
/// valid.
fn text(entry: &Entry<'_>) -> String {
    let diagnostics = entry.diagnostics();
    let mut out = render(&entry.source.name, &entry.source.text, &diagnostics);
    match &entry.checked.result {
        Ok(graph) => out.push_str(&format!(
            "{}: valid; topological order: {}\n",
            entry.label(),
            graph.topological_order.join(", ")
        )),
        Err(problems) => {
            let errors: Vec<Diagnostic> = problems.iter().map(|p| p.diagnostic.clone()).collect();
            if let Some(summary) = summary(&entry.label(), &errors) {
                out.push_str(&summary);
                out.push('\n');
            }
        }
    }
    out
}

fn report_json(entry: &Entry<'_>) -> Value {
    let problems = entry
        .checked
        .result
        .as_ref()
        .err()
        .map_or(&[][..], Vec::as_slice);
    let graph = entry.checked.result.as_ref().ok();
    let errors: Vec<Value> = problems
        .iter()
        .map(|problem| {
            let error = problem.error.as_ref();
            json!({
                "resource": error.and_then(|e| e.resource.clone()),
                "path": error.and_then(|e| e.path.as_ref()).map(ToString::to_string),
                "expression": error.and_then(|e| e.expression.clone()),
                "message": error.map_or_else(|| problem.diagnostic.message.clone(), kind_message),
                "line": problem.diagnostic.position.map(|p| p.line),
                "column": problem.diagnostic.position.map(|p| p.column),
            })
        })
        .collect();
    let empty_ranges = graph
        .map(|graph| empty_ranges::in_instance_spec(&graph.instance_crd))
        .unwrap_or_default();
    let warnings: Vec<Value> = entry
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
        "file": entry.source.name,
        "name": entry.checked.name,
        "line": entry.checked.start.line,
        "valid": problems.is_empty(),
        "errors": errors,
        "warnings": warnings,
        "topologicalOrder": graph.map_or(&[][..], |graph| &graph.topological_order[..]),
    })
}
