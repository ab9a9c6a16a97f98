//! `kro`: work with ResourceGraphDefinitions offline.
//!
//! Validate an RGD, generate the CRD of its instance kind, and render the
//! resources one instance would produce, all without a cluster.

use clap::Parser;

/// Command-line interface of `kro`.
#[derive(Debug, Parser)]
#[command(
    name = "kro",
    version,
    about = "Validate, generate and render kro ResourceGraphDefinitions offline"
)]
struct Args {}

fn main() {
    let Args {} = Args::parse();
}
