//! `kro`: work with ResourceGraphDefinitions offline.
//!
//! Validate an RGD, generate the CRD of its instance kind, and render the
//! resources one instance would produce, all without a cluster. `kro eval`
//! evaluates one CEL expression with kro's full environment, which is how
//! users debug a `readyWhen`.

mod eval;

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
    Eval(eval::EvalArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(Command::Eval(eval_args)) => match eval::run(&eval_args) {
            Ok(out) => {
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::FAILURE
            }
        },
        None => ExitCode::SUCCESS,
    }
}
