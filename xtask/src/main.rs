//! Project automation, run as `cargo xtask <command>`.
//!
//! - `test`: every check CI runs: formatting, clippy, cargo-deny, the plain
//!   manifests against the Helm chart, a short fuzzing run, then all tests
//!   (unit, integration, end-to-end) against one local control plane.
//! - `demo [--exit]`: the user's Application example end to end on the local
//!   control plane with the operator, printed as `kubectl` shows it.
//! - `bench-e2e [--concurrency C] [--crds K] [N...]`: the load bench, N instances (200 and
//!   1000 by default) of the Application RGD on the local control plane; not part
//!   of `test`.
//! - `cluster`: a local control plane in the foreground, for a person.
//! - `build-cluster`: build the local control plane binaries only.
//! - `dump-openapi`: save the OpenAPI v3 documents of the built-in Kubernetes
//!   group versions under `data/kubernetes-openapi/`, for offline checks.
//! - `conformance`: the CEL specification's conformance suite against
//!   kro-cel, with the pass rate per file and in total.
//! - `cycles`: import cycles between the modules of each crate (also run by
//!   `test`).
//! - `fuzz [--target T]... [--seconds S] [--seed N]`: the fuzzer (`fuzz/`)
//!   in a release build; `--replay FILE...` runs saved findings again.
//!   `test` runs it for a few seconds with a fixed seed.
//! - `manifests [--check]`: render the plain install manifests under
//!   `deploy/` from the Helm chart `charts/kro` (or check that they are up to
//!   date), with a `helm` built from the Go module `tools/helm`.
//!
//! Tools the checks need (cargo-deny, Go modules) are installed from the
//! registries when missing, so a fresh machine needs only Rust and Go.

mod bench_e2e;
mod cluster;
mod demo;
mod fuzz;
mod manifests;
mod module_cycles;
mod operator;
mod tools;

use std::ffi::OsStr;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <test | demo [--exit] | bench-e2e [--concurrency C] [--crds K] [--operator PATH] [N...] | cluster | build-cluster | dump-openapi | conformance | cycles | fuzz [--target T] [--seconds S] [--seed N] | manifests [--check]>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo::run(&args[1..]),
        Some("bench-e2e") => bench_e2e::run(&args[1..]),
        Some("cluster") => cluster::run_foreground(),
        Some("build-cluster") => cluster::build().map(|_| ()),
        Some("dump-openapi") => cluster::dump_openapi(),
        // The CEL conformance suite (kro-cel's runner over ../shared/cel-conformance).
        Some("conformance") => tools::cargo(&[
            "run",
            "--release",
            "-p",
            "kro-cel",
            "--example",
            "conformance",
        ]),
        Some("manifests") => manifests::command(&args[1..]),
        Some("cycles") => module_cycles::run(),
        Some("fuzz") => fuzz::command(&args[1..]),
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
        None => bail!("{USAGE}"),
    }
}

/// Runs every check, in the order that fails fastest.
fn test() -> Result<()> {
    tools::cargo(&["fmt", "--all", "--check"])?;
    tools::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    module_cycles::run()?;
    tools::ensure_cargo_deny()?;
    tools::cargo(&[
        "deny",
        "--workspace",
        "check",
        "licenses",
        "bans",
        "sources",
    ])?;

    // The plain manifests must be what the chart renders (builds helm
    // once, then a relink of a few seconds).
    manifests::run_all(true)?;

    let binaries = cluster::build()?;
    // Build everything before the control plane starts, so that compiling
    // and the cluster's start-up do not compete for the CPU.
    tools::cargo(&["test", "--workspace", "--all-targets", "--no-run"])?;
    // A short fuzzing run, before the control plane takes the CPU.
    fuzz::short_run()?;
    let running = cluster::Running::start(&binaries)?;
    let kubeconfig = running.kubeconfig().to_owned();
    let env = [
        ("KRO_TEST_KUBECONFIG", kubeconfig.as_os_str()),
        // The CEL conformance ratchet fails, instead of skipping, when its
        // data (outside the repository) is missing.
        ("KRO_REQUIRE_CONFORMANCE", OsStr::new("1")),
    ];
    let result = tools::cargo_test(&["test", "--workspace", "--all-targets"], &env).and_then(
        |mut counts| {
            counts.add(tools::cargo_test(&["test", "--workspace", "--doc"], &env)?);
            Ok(counts)
        },
    );
    running.stop()?;
    let counts = result?;
    // The closing line CI reads: the totals over every test binary.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.ignored
    );
    Ok(())
}
