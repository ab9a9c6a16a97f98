//! `kro`: work with ResourceGraphDefinitions offline.
//!
//! Validate an RGD, generate the CRD of its instance kind, and render the
//! resources one instance would produce, all without a cluster. `kro eval`
//! evaluates one CEL expression with kro's full environment, which is how
//! users debug a `readyWhen`.

mod eval;
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
    Eval(eval::EvalArgs),
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
