//! The output format of the commands that print documents (`kro generate`,
//! `kro render`): one enum, so that `--output` takes the same values
//! everywhere.

use clap::ValueEnum;

/// How a command prints its documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// Indented JSON.
    Json,
}
