//! Reading RGD files, building their graphs, and reporting problems where
//! they are in the file: shared by every command that takes an RGD file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::error::BuildError;
use kro_graph::feature_gates::{self, FeatureGates, parse_feature_gates};
use kro_graph::resolver::{BuiltinSchemas, ChainResolver, CrdSchemas};
use kro_graph::source_map::{DuplicateKey, Position, SourceMap};

use crate::yaml;

/// `--feature-gates`, with the operator's names, defaults and syntax.
#[derive(Debug, Args)]
pub struct GateArgs {
    #[arg(long, default_value = "", value_parser = parse_feature_gates, help = feature_gates::HELP)]
    feature_gates: FeatureGates,
}

impl GateArgs {
    /// The gates given.
    pub fn gates(&self) -> FeatureGates {
        self.feature_gates
    }
}

/// The RGD file of a command that reads one: an argument, or `-f FILE` as
/// upstream kro's CLI spells it.
#[derive(Debug, Args)]
pub struct RgdFile {
    /// The RGD file.
    #[arg(
        value_name = "FILE",
        required_unless_present = "file_flag",
        conflicts_with = "file_flag"
    )]
    file: Option<PathBuf>,
    /// The RGD file, spelt as upstream kro's CLI spells it.
    #[arg(short = 'f', long = "file", id = "file_flag", value_name = "FILE")]
    file_flag: Option<PathBuf>,
}

impl RgdFile {
    /// The file given, however it was given.
    pub fn path(&self) -> Result<&Path> {
        self.file
            .as_deref()
            .or(self.file_flag.as_deref())
            .context("no RGD file given")
    }
}

/// The builder the CLI uses: the kinds of the CRDs in `crd_paths` (files,
/// or directories of `.yaml`/`.yml`/`.json` files), then the built-in
/// Kubernetes kinds; kro's full CEL environment with `gates`; default
/// limits.
pub fn builder(crd_paths: &[PathBuf], gates: FeatureGates) -> Result<Builder> {
    let builtin = BuiltinSchemas::new();
    let mut crds = Vec::new();
    for path in crd_paths {
        for file in manifest_files(path)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("read {}", file.display()))?;
            let crd: CustomResourceDefinition = yaml::read(&text)
                .with_context(|| format!("{} is not a CustomResourceDefinition", file.display()))?;
            yaml::warn(&file, &text).context("write to standard error")?;
            crds.push(crd);
        }
    }
    let object_meta = builtin
        .object_meta()
        .context("the bundled ObjectMeta schema")?;
    let resolver = ChainResolver::new()
        .with(CrdSchemas::new(&crds, &object_meta))
        .with(builtin);
    Ok(Builder::new(
        Arc::new(resolver),
        gates.cel_env(),
        BuildOptions::default(),
    ))
}

/// `path` itself, or the YAML and JSON files directly in it, sorted.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("read {}", path.display()))? {
        let file = entry
            .with_context(|| format!("read {}", path.display()))?
            .path();
        let is_manifest = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if is_manifest {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// One problem, located in the file when it can be.
pub struct Problem {
    /// The builder's error, when the problem is one.
    pub error: Option<BuildError>,
    /// The whole message.
    pub message: String,
    /// Where in the file.
    pub position: Option<Position>,
}

impl Problem {
    fn plain(message: String) -> Self {
        Self {
            error: None,
            message,
            position: None,
        }
    }
}

/// A file read, with its graph or its problems.
pub struct Loaded {
    /// The file's text (empty when it could not be read).
    pub text: String,
    /// Keys written twice in the file: warnings, the last value is used.
    pub duplicates: Vec<DuplicateKey>,
    /// The graph, or every problem found.
    pub result: Result<Graph, Vec<Problem>>,
}

/// Reads `file` and builds its graph.
pub fn load(builder: &Builder, file: &Path) -> Loaded {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            let problem = Problem::plain(format!("cannot read the file: {e}"));
            return Loaded {
                text: String::new(),
                duplicates: Vec::new(),
                result: Err(vec![problem]),
            };
        }
    };
    let result = build(builder, &text);
    Loaded {
        duplicates: yaml::duplicate_keys(&text),
        text,
        result,
    }
}

/// Warns on standard error about the keys `loaded` from `file` repeats.
pub fn warn_duplicates(file: &Path, loaded: &Loaded) -> Result<()> {
    yaml::write_warnings(&mut std::io::stderr().lock(), file, &loaded.duplicates)
        .context("write to standard error")
}

fn build(builder: &Builder, text: &str) -> Result<Graph, Vec<Problem>> {
    let rgd: ResourceGraphDefinition = yaml::read(text).map_err(|e| {
        vec![Problem::plain(format!(
            "not a valid ResourceGraphDefinition: {e}"
        ))]
    })?;
    builder.build(&rgd).map_err(|errors| {
        let source_map = SourceMap::from_yaml(text);
        errors
            .0
            .into_iter()
            .map(|error| {
                let position = locate(&error, source_map.as_ref(), text);
                Problem {
                    message: error.to_string(),
                    error: Some(error),
                    position,
                }
            })
            .collect()
    })
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

/// Writes each problem with its position, the offending line and a caret,
/// then the count.
pub fn write_problems(
    out: &mut dyn Write,
    file: &Path,
    text: &str,
    problems: &[Problem],
) -> std::io::Result<()> {
    let name = file.display();
    for problem in problems {
        match problem.position {
            Some(position) => {
                writeln!(out, "{name}:{position}: error: {}", problem.message)?;
                write_caret(out, text, position, problem.error.as_ref())?;
            }
            None => writeln!(out, "{name}: error: {}", problem.message)?,
        }
    }
    let count = problems.len();
    writeln!(
        out,
        "{name}: {count} error{}",
        if count == 1 { "" } else { "s" }
    )
}

/// The offending line and a caret under the expression (or the value).
fn write_caret(
    out: &mut dyn Write,
    text: &str,
    position: Position,
    error: Option<&BuildError>,
) -> std::io::Result<()> {
    let Some(line) = usize::try_from(position.line)
        .ok()
        .and_then(|n| text.lines().nth(n.checked_sub(1)?))
    else {
        return Ok(());
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
    writeln!(out, "{:>gutter$} | {line}", position.line)?;
    writeln!(out, "{:>gutter$} | {indent}{}", "", "^".repeat(width))
}
