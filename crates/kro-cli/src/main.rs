//! `kro`: work with ResourceGraphDefinitions offline.
//!
//! Validate an RGD, generate the CRD of its instance kind, and render the
//! resources one instance would produce, all without a cluster.

mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line interface of `kro`.
#[derive(Debug, Parser)]
#[command(
    name = "kro",
    version,
    about = "Validate, generate and render kro ResourceGraphDefinitions offline"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::ValidateArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(Command::Validate(validate_args)) => match validate::run(&validate_args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::from(2)
            }
        },
        None => ExitCode::SUCCESS,
    }
}
