//! `kro generate crd`, `kro generate instance` and `kro generate diagram`:
//! the CRD an RGD registers for its instance kind, a sample instance of it,
//! and its dependency graph as a diagram. Each takes the RGD file as an
//! argument or, as upstream kro's CLI does, as `-f FILE`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

use crate::format::Format;
use crate::graph::{self, GraphFormat};
use crate::source::{GateArgs, RgdFile, builder, load_graph};

/// Generate what an RGD implies.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    what: Generate,
}

#[derive(Debug, Subcommand)]
enum Generate {
    /// The instance kind's CustomResourceDefinition, as the operator would
    /// register it (spec from the SimpleSchema, status from the projections'
    /// types).
    Crd(DocumentArgs),
    /// A sample instance the instance CRD accepts: required fields filled
    /// in, defaults shown, enums, bounds and patterns respected where
    /// possible.
    Instance(DocumentArgs),
    /// The dependency graph as a diagram: a Mermaid flowchart by default
    /// (`kro graph` with another default format).
    Diagram(DiagramArgs),
}

/// The options of the commands that print a document.
#[derive(Debug, Args)]
struct DocumentArgs {
    #[command(flatten)]
    rgd: RgdFile,
    /// Output format (`--format` is upstream kro's spelling).
    #[arg(long, short, alias = "format", value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// CRD files, directories of them, or `-`, defining kinds the RGD uses
    /// (many documents a file, and `List`s, are read).
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,
    #[command(flatten)]
    gates: GateArgs,
}

/// The options of `kro generate diagram`.
#[derive(Debug, Args)]
struct DiagramArgs {
    #[command(flatten)]
    rgd: RgdFile,
    /// Diagram format.
    #[arg(long, short = 'o', alias = "output", value_enum, default_value_t = GraphFormat::Mermaid)]
    format: GraphFormat,
    /// CRD files, directories of them, or `-`, defining kinds the RGD uses
    /// (many documents a file, and `List`s, are read).
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,
    #[command(flatten)]
    gates: GateArgs,
}

/// Prints what was asked; returns false (after reporting the RGD's problems
/// on standard error) when the RGD is invalid.
pub fn run(args: &GenerateArgs) -> Result<bool> {
    let (options, sample) = match &args.what {
        Generate::Crd(options) => (options, false),
        Generate::Instance(options) => (options, true),
        Generate::Diagram(diagram) => {
            return graph::print(
                diagram.rgd.path()?,
                diagram.format,
                &diagram.crds,
                diagram.gates.gates(),
            );
        }
    };
    let file = options.rgd.path()?;
    let Some(graph) = load_graph(&builder(&options.crds, options.gates.gates())?, file)? else {
        return Ok(false);
    };
    let document = if sample {
        sample_instance(&graph.instance_crd)
    } else {
        serde_json::to_value(&graph.instance_crd).context("the CRD as JSON")?
    };
    let text = match options.output {
        Format::Yaml => serde_saphyr::to_string(&document).context("write YAML")?,
        Format::Json => serde_json::to_string_pretty(&document).context("write JSON")? + "\n",
    };
    print!("{text}");
    Ok(true)
}

/// An instance of the CRD's kind named `<kind>-sample`, with a sample spec.
fn sample_instance(crd: &CustomResourceDefinition) -> Value {
    let version = crd.spec.versions.first();
    let spec_schema = version
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|root| root.properties.as_ref())
        .and_then(|properties| properties.get("spec"));
    let spec = spec_schema.map_or_else(|| json!({}), kro_schema::sample::sample_value);
    json!({
        "apiVersion": format!("{}/{}", crd.spec.group, version.map_or("v1alpha1", |v| v.name.as_str())),
        "kind": crd.spec.names.kind,
        "metadata": { "name": format!("{}-sample", crd.spec.names.kind.to_lowercase()) },
        "spec": spec,
    })
}
