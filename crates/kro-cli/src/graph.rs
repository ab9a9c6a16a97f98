//! `kro graph`: the order in which an RGD's resources are created, and the
//! dependencies that give it. `kro generate diagram` prints the same, as a
//! Mermaid flowchart by default.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
use kro_graph::builder::Graph;
use serde_json::json;

use kro_graph::feature_gates::FeatureGates;

use crate::source::{GateArgs, builder, load_graph};

/// Show an RGD's dependency graph.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The RGD file (`-`: standard input).
    file: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = GraphFormat::Text)]
    format: GraphFormat,

    /// CRD files, directories of them, or `-`, defining kinds the RGD uses
    /// (for example another RGD's instance kind, from `kro generate crd`;
    /// many documents a file, and `List`s, are read).
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,

    #[command(flatten)]
    gates: GateArgs,
}

/// Output formats (also those of `kro generate diagram`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// The order, and each resource's dependencies.
    Text,
    /// Graphviz.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// `{"topologicalOrder": [...], "edges": [["from", "to"], ...]}`.
    Json,
}

/// Edges from each dependency to its dependant, in declaration order.
fn edges(graph: &Graph) -> Vec<(&str, &str)> {
    graph
        .resources
        .iter()
        .flat_map(|resource| {
            resource
                .dependencies
                .iter()
                .map(move |dependency| (dependency.as_str(), resource.structure.id.as_str()))
        })
        .collect()
}

/// Prints the graph; returns false (after reporting the RGD's problems on
/// standard error) when the RGD is invalid.
pub fn run(args: &GraphArgs) -> Result<bool> {
    print(&args.file, args.format, &args.crds, args.gates.gates())
}

/// Prints the graph of the RGD in `file` in `format`; returns false (after
/// reporting the RGD's problems on standard error) when the RGD is invalid.
pub fn print(
    file: &Path,
    format: GraphFormat,
    crds: &[PathBuf],
    gates: FeatureGates,
) -> Result<bool> {
    let Some(graph) = load_graph(&builder(crds, gates)?, file)? else {
        return Ok(false);
    };
    print!("{}", render(&graph, format));
    Ok(true)
}

fn render(graph: &Graph, format: GraphFormat) -> String {
    let mut out = String::new();
    match format {
        GraphFormat::Text => {
            let _ = writeln!(
                out,
                "topological order: {}",
                graph.topological_order.join(", ")
            );
            for resource in &graph.resources {
                let id = &resource.structure.id;
                if resource.dependencies.is_empty() {
                    let _ = writeln!(out, "{id}: no dependencies");
                } else {
                    let _ = writeln!(out, "{id}: depends on {}", resource.dependencies.join(", "));
                }
            }
        }
        GraphFormat::Dot => {
            let _ = writeln!(out, "digraph {:?} {{", graph.rgd);
            for id in &graph.topological_order {
                let _ = writeln!(out, "  {id:?};");
            }
            for (from, to) in edges(graph) {
                let _ = writeln!(out, "  {from:?} -> {to:?};");
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("flowchart TD\n");
            for id in &graph.topological_order {
                let _ = writeln!(out, "  {id}");
            }
            for (from, to) in edges(graph) {
                let _ = writeln!(out, "  {from} --> {to}");
            }
        }
        GraphFormat::Json => {
            let edges: Vec<[&str; 2]> = edges(graph)
                .into_iter()
                .map(|(from, to)| [from, to])
                .collect();
            let _ = writeln!(
                out,
                "{}",
                json!({ "topologicalOrder": graph.topological_order, "edges": edges })
            );
        }
    }
    out
}
