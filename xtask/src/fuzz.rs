//! `cargo xtask fuzz`: runs `kro-fuzz` (the `fuzz` crate) in a release
//! build, and the short fixed-seed run `cargo xtask test` includes.

use anyhow::{Result, bail};

use crate::tools;

/// The time-boxed run of `cargo xtask test`: every target, a few seconds
/// each, in the debug build the tests were compiled in (no release build
/// to wait for), with a fixed seed, so that a failure repeats.
pub const TEST_SECONDS: &str = "24";
/// The seed of that run.
pub const TEST_SEED: &str = "20260";

const USAGE: &str = "usage: cargo xtask fuzz [--target cel|template|schema|graph]... [--seconds S] [--seed N] [--max-mib M] [--max-ms T] | cargo xtask fuzz --target T --replay FILE...";

/// `cargo xtask fuzz [...]`: a release build of the fuzzer, then a run
/// (60 s and a clock seed unless told) or a replay of saved inputs.
pub fn command(args: &[String]) -> Result<()> {
    let mut forwarded: Vec<String> = Vec::new();
    let mut replay: Vec<String> = Vec::new();
    let mut replaying = false;
    let mut target = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--replay" => replaying = true,
            "--target" | "--seconds" | "--seed" | "--max-mib" | "--max-ms" => {
                let Some(value) = rest.next() else {
                    bail!("{arg} needs a value\n{USAGE}");
                };
                if arg == "--target" {
                    target = Some(value.clone());
                }
                forwarded.extend([arg.clone(), value.clone()]);
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other if replaying && !other.starts_with('-') => replay.push(other.to_owned()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let mut cargo = vec!["run", "--release", "-q", "-p", "kro-fuzz", "--"];
    if replaying {
        let Some(target) = target.as_deref() else {
            bail!("--replay needs --target\n{USAGE}");
        };
        let oracles: Vec<&str> = forwarded
            .chunks(2)
            .filter(|pair| pair[0] == "--max-mib" || pair[0] == "--max-ms")
            .flatten()
            .map(String::as_str)
            .collect();
        cargo.extend(["replay", "--target", target]);
        cargo.extend(oracles);
        cargo.extend(replay.iter().map(String::as_str));
    } else {
        cargo.push("run");
        cargo.extend(forwarded.iter().map(String::as_str));
    }
    tools::cargo(&cargo)
}

/// The short run of `cargo xtask test`.
pub fn short_run() -> Result<()> {
    tools::cargo(&[
        "run",
        "-q",
        "-p",
        "kro-fuzz",
        "--",
        "run",
        "--seconds",
        TEST_SECONDS,
        "--seed",
        TEST_SEED,
    ])
}
