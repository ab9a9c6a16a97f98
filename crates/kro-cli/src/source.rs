//! Reading RGD files, building their graphs, and turning the builder's
//! problems into diagnostics located in the file: shared by every command
//! that takes an RGD file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kro_cel::template::{FieldPath, Segment};
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::error::{BuildError, BuildErrorKind};
use kro_graph::feature_gates::{self, FeatureGates, parse_feature_gates};
use kro_graph::resolver::{BuiltinSchemas, ChainResolver, CrdSchemas};
use kro_graph::source_map::{Position, SourceMap};
use kro_schema::empty_ranges;
use kro_schema::instance_crd::CrdError;
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Located, render};
use crate::input::{self, Chunk, Source};
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
/// upstream kro's CLI spells it; `-` is standard input.
#[derive(Debug, Args)]
pub struct RgdFile {
    /// The RGD file (`-`: standard input).
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

/// Writes `diagnostics` about `source` on standard error.
pub fn report(source: &Source, diagnostics: &[Diagnostic]) {
    if !diagnostics.is_empty() {
        eprint!("{}", render(&source.name, &source.text, diagnostics));
    }
}

/// The builder the CLI uses: the kinds of the CRDs in `crd_paths` (files,
/// directories of them, `-`; many documents a file, `List`s), then the
/// built-in Kubernetes kinds; kro's full CEL environment with `gates`;
/// default limits. Documents of other kinds (a vendor bundle's Deployment)
/// are passed over.
pub fn builder(crd_paths: &[PathBuf], gates: FeatureGates) -> Result<Builder> {
    let builtin = BuiltinSchemas::new();
    let mut crds = Vec::new();
    for source in input::read_all(crd_paths)? {
        report(&source, &yaml::duplicate_warnings(&source.text));
        for object in input::objects(&source)? {
            if object.value.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition")
            {
                continue;
            }
            let crd: CustomResourceDefinition = serde_json::from_value(object.value.clone())
                .map_err(|e| {
                    Located::new(
                        &source,
                        vec![
                            Diagnostic::error(format!("not a valid CustomResourceDefinition: {e}"))
                                .at(object.start()),
                        ],
                    )
                })?;
            crds.push(crd);
        }
    }
    if !crd_paths.is_empty() && crds.is_empty() {
        bail!("no CustomResourceDefinition in the --crd inputs");
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

/// One problem with an RGD document: how it is shown, and the builder's
/// error it comes from, when it does.
pub struct Problem {
    /// The located diagnostic.
    pub diagnostic: Diagnostic,
    /// The builder's error.
    pub error: Option<BuildError>,
}

/// One RGD document, checked.
pub struct Checked {
    /// The RGD's name, when the document has one.
    pub name: Option<String>,
    /// Where the document starts in the file.
    pub start: Position,
    /// The graph, or every problem found.
    pub result: Result<Graph, Vec<Problem>>,
    /// Warnings about the document (keys written twice).
    pub warnings: Vec<Diagnostic>,
}

/// The documents of `source` to check as RGDs: all of them, except in a
/// file found in a directory, where only the ResourceGraphDefinitions are
/// taken, and the documents that are not YAML but name the kind (to report
/// them; a Helm template beside them is not one).
pub fn rgd_documents(source: &Source) -> Vec<Chunk<'_>> {
    input::documents(&source.text)
        .into_iter()
        .filter(|chunk| {
            !source.from_directory
                || chunk.parse::<Value>().map_or_else(
                    |_| chunk.text.contains(RGD_KIND),
                    |value| value.get("kind").and_then(Value::as_str) == Some(RGD_KIND),
                )
        })
        .collect()
}

/// The kind of the documents `kro validate` takes from a directory.
const RGD_KIND: &str = "ResourceGraphDefinition";

/// Builds the RGD in `chunk`.
pub fn check(builder: &Builder, chunk: &Chunk<'_>) -> Checked {
    let warnings = yaml::duplicate_warnings_in(chunk);
    let start = chunk.start();
    let rgd: ResourceGraphDefinition = match chunk.parse() {
        Ok(rgd) => rgd,
        Err(mut diagnostic) => {
            diagnostic.message = format!(
                "not a valid ResourceGraphDefinition: {}",
                diagnostic.message
            );
            return Checked {
                name: None,
                start,
                result: Err(vec![Problem {
                    diagnostic,
                    error: None,
                }]),
                warnings,
            };
        }
    };
    let source_map = SourceMap::from_yaml(chunk.text);
    let mut warnings = warnings;
    let result = builder.build(&rgd).map_err(|errors| {
        errors
            .0
            .into_iter()
            .map(|error| Problem {
                diagnostic: diagnose(&error, chunk, source_map.as_ref()),
                error: Some(error),
            })
            .collect()
    });
    if let Ok(graph) = &result {
        warnings.extend(
            empty_ranges::in_instance_spec(&graph.instance_crd)
                .iter()
                .map(|range| {
                    let mut path = input::field_path(&["spec", "schema"]);
                    for key in range.path.split('.').filter(|key| !key.is_empty()) {
                        path.push(Segment::Key(key.to_owned()));
                    }
                    let position = source_map
                        .as_ref()
                        .and_then(|map| map.position(&path))
                        .map_or(start, |p| chunk.in_file(p));
                    Diagnostic::warning(range.to_string()).at(position)
                }),
        );
    }
    Checked {
        name: rgd.metadata.name.clone(),
        start,
        result,
        warnings,
    }
}

/// Reads the one RGD of `path` (`-`: standard input) and builds it; its
/// warnings, and its problems when it is invalid, are written on standard
/// error. `None` when it is invalid.
pub fn load_graph(builder: &Builder, path: &Path) -> Result<Option<Graph>> {
    let source = input::read(path)?;
    let chunks = input::documents(&source.text);
    let [chunk] = chunks.as_slice() else {
        bail!(
            "{}: expected one ResourceGraphDefinition, found {} documents",
            source.name,
            chunks.len()
        );
    };
    let checked = check(builder, chunk);
    report(&source, &checked.warnings);
    match checked.result {
        Ok(graph) => Ok(Some(graph)),
        Err(problems) => {
            let diagnostics: Vec<Diagnostic> = problems.into_iter().map(|p| p.diagnostic).collect();
            report(&source, &diagnostics);
            if let Some(summary) = crate::diagnostics::summary(&source.name, &diagnostics) {
                eprintln!("{summary}");
            }
            Ok(None)
        }
    }
}

/// The message of a builder's error: as the operator words it, except a
/// compile error, whose diagnostics are shown in the file instead of as
/// their own snippet.
pub fn title(error: &BuildError) -> String {
    let BuildErrorKind::Compile { diagnostics, .. } = &error.kind else {
        return error.to_string();
    };
    let mut title = format!("resourcegraphdefinition {:?}", error.rgd);
    if let Some(resource) = &error.resource {
        title.push_str(&format!(", resource {resource:?}"));
    }
    if let Some(path) = &error.path {
        title.push_str(&format!(", {path}"));
    }
    if let Some(expression) = &error.expression {
        title.push_str(&format!(", `${{{expression}}}`"));
    }
    let messages: Vec<&str> = diagnostics.0.iter().map(|d| d.message.as_str()).collect();
    format!("{title}: {}", messages.join("; "))
}

/// The error's message without where it is: what `kro validate -o json`
/// reports as `message`.
pub fn kind_message(error: &BuildError) -> String {
    match &error.kind {
        BuildErrorKind::Compile { diagnostics, .. } => diagnostics
            .0
            .iter()
            .map(|d| d.message.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        kind => kind.to_string(),
    }
}

/// A builder's error as a diagnostic: at the field of the SimpleSchema it
/// is about; at its `${...}` when it has one that can be found on the
/// value's line (each compiler diagnostic marked inside it); else at the
/// value.
fn diagnose(error: &BuildError, chunk: &Chunk<'_>, source_map: Option<&SourceMap>) -> Diagnostic {
    let diagnostic = Diagnostic::error(title(error));
    let Some(source_map) = source_map else {
        return diagnostic.at(chunk.start());
    };
    let position = schema_field(error)
        .and_then(|path| source_map.position(&path))
        .or_else(|| source_map.position(error.path.as_ref()?));
    let Some(position) = position else {
        return diagnostic.at(chunk.start());
    };
    let Some(expression) = &error.expression else {
        return diagnostic.at(chunk.in_file(position));
    };
    let Some(at) = find_expression(chunk.text, position, expression) else {
        return diagnostic.at(chunk.in_file(position));
    };
    let at = chunk.in_file(at);
    match &error.kind {
        BuildErrorKind::Compile { diagnostics, .. } if !diagnostics.0.is_empty() => {
            diagnostics.0.iter().fold(diagnostic, |diagnostic, d| {
                let chars = |range: std::ops::Range<usize>| {
                    expression.get(range).map_or(0, |s| s.chars().count())
                };
                let (start, end) = (d.span.start as usize, d.span.end as usize);
                let column = at.column + 2 + chars(0..start) as u64;
                diagnostic.marked(
                    Position {
                        line: at.line,
                        column,
                    },
                    chars(start..end.max(start)).max(1),
                    Some(d.message.clone()),
                )
            })
        }
        _ => diagnostic.marked(at, expression.chars().count() + 3, None),
    }
}

/// For an error in the SimpleSchema, the path of the field it names
/// (`spec.schema.spec.ports`), so that it is shown there rather than at
/// `spec.schema`.
fn schema_field(error: &BuildError) -> Option<FieldPath> {
    let BuildErrorKind::Schema(CrdError::Schema(schema_error)) = &error.kind else {
        return None;
    };
    let mut path = input::field_path(&["spec", "schema"]);
    for key in schema_error.path.split('.').filter(|key| !key.is_empty()) {
        path.push(Segment::Key(key.to_owned()));
    }
    Some(path)
}

/// Where `${expression}` is on the line of `position`, at or after it.
fn find_expression(text: &str, position: Position, expression: &str) -> Option<Position> {
    let line = text
        .lines()
        .nth(usize::try_from(position.line).ok()?.checked_sub(1)?)?;
    let needle = format!("${{{expression}}}");
    let from = line
        .char_indices()
        .nth(usize::try_from(position.column).ok()?.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let offset = line[from..].find(&needle)?;
    Some(Position {
        line: position.line,
        column: line[..from + offset].chars().count() as u64 + 1,
    })
}
