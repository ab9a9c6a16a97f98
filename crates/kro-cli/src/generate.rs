//! `kro generate crd`: the CRD an RGD registers for its instance kind.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::source::{builder, load, write_problems};

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
    Crd {
        /// The RGD file.
        file: PathBuf,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Yaml)]
        output: Format,
        /// CRD files, or directories of them, defining kinds the RGD uses.
        #[arg(long = "crd", value_name = "DIR_OR_FILE")]
        crds: Vec<PathBuf>,
    },
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// YAML.
    Yaml,
    /// Indented JSON.
    Json,
}

/// Prints what was asked; returns false (after reporting the RGD's problems
/// on standard error) when the RGD is invalid.
pub fn run(args: &GenerateArgs) -> Result<bool> {
    match &args.what {
        Generate::Crd { file, output, crds } => {
            let loaded = load(&builder(crds)?, file);
            let graph = match loaded.result {
                Ok(graph) => graph,
                Err(problems) => {
                    write_problems(&mut std::io::stderr().lock(), file, &loaded.text, &problems)?;
                    return Ok(false);
                }
            };
            let text = match output {
                Format::Yaml => {
                    serde_saphyr::to_string(&graph.instance_crd).context("write the CRD as YAML")?
                }
                Format::Json => {
                    serde_json::to_string_pretty(&graph.instance_crd)
                        .context("write the CRD as JSON")?
                        + "\n"
                }
            };
            print!("{text}");
            Ok(true)
        }
    }
}
