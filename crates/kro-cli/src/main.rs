//! `kro`: work with ResourceGraphDefinitions offline.
//!
//! Validate an RGD, generate the CRD of its instance kind, and render the
//! resources one instance would produce, all without a cluster. `kro eval`
//! evaluates one CEL expression with kro's full environment, which is how
//! users debug a `readyWhen`. `kro completions` and `kro man` describe the
//! command line itself.

mod diagnostics;
mod eval;
mod format;
mod generate;
mod graph;
mod input;
mod instance;
mod limits;
mod manual;
mod render;
mod sarif;
mod shape;
mod source;
mod validate;
mod yaml;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Command-line interface of `kro`.
#[derive(Debug, Parser)]
#[command(
    name = "kro",
    version,
    about = "Validate, generate and render kro ResourceGraphDefinitions offline",
    // A bare `kro` is a usage error: the help on stderr, exit code 2.
    subcommand_required = true,
    arg_required_else_help = true
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::ValidateArgs),
    Generate(generate::GenerateArgs),
    Graph(graph::GraphArgs),
    Eval(eval::EvalArgs),
    Render(render::RenderArgs),
    Completions(manual::CompletionsArgs),
    Man(manual::ManArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Validate(validate_args) => outcome(validate::run(&validate_args)),
        Command::Generate(generate_args) => outcome(generate::run(&generate_args)),
        Command::Graph(graph_args) => outcome(graph::run(&graph_args)),
        Command::Render(render_args) => outcome(render::run(&render_args)),
        Command::Completions(completions_args) => {
            manual::completions(&completions_args, Args::command());
            ExitCode::SUCCESS
        }
        Command::Man(man_args) => outcome(manual::man(&man_args, Args::command()).map(|()| true)),
        Command::Eval(eval_args) => match eval::run(&eval_args) {
            Ok(out) => {
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Exit 0 when the input was valid, 1 when it was not, 2 when the command
/// itself failed.
fn outcome(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(2)
        }
    }
}
