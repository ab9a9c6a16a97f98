//! `kro-fuzz`: fuzzing on the stable toolchain, without libFuzzer.
//!
//! Seeded generators and mutators ([`targets`]) feed kro's CEL parser,
//! checker and evaluator with every library, the `${...}` scanner and
//! renderer, SimpleSchema and the graph builder, under oracles for panics,
//! properties, memory (a counting allocator) and time ([`worker`]). A
//! supervisor process runs each target in a worker process and reports the
//! inputs that kill or hang it ([`supervisor`]).
//!
//! ```text
//! kro-fuzz run [--target T]... [--seconds S] [--seed N] [--max-mib M] [--max-ms T]
//! kro-fuzz replay --target T FILE...
//! ```
//!
//! `cargo xtask fuzz` runs it (release build); `cargo xtask test` runs a
//! short, fixed-seed run. Findings are saved under `target/fuzz/`; see
//! docs/testing.md.

mod alloc_meter;
mod cel_gen;
mod corpus;
mod findings;
mod frames;
mod json_mutate;
mod mutate;
mod rng;
mod supervisor;
mod targets;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::corpus::Corpus;
use crate::targets::TargetName;
use crate::worker::{Job, Limits};

#[global_allocator]
static ALLOCATOR: alloc_meter::CountingAllocator = alloc_meter::CountingAllocator;

/// The longest an input may run by default, in milliseconds: debug builds
/// run CEL about twelve times slower (the slowest input of a long debug
/// run took 3.8 s, of a release run 0.4 s), and share the machine with
/// other builds in `cargo xtask test`.
const DEFAULT_MAX_MS: u64 = if cfg!(debug_assertions) { 10_000 } else { 1000 };

#[derive(Debug, Parser)]
#[command(
    name = "kro-fuzz",
    about = "Fuzz kro's parsers, evaluator and graph builder"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fuzz the targets, each in a worker process, for an equal share of
    /// the time.
    Run {
        /// A target to fuzz (repeat for several; all by default).
        #[arg(long = "target", value_enum)]
        targets: Vec<TargetName>,
        /// Total time, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// The seed of the inputs (by default, from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        oracles: Oracles,
        /// Where findings are saved (default: `target/fuzz` of the
        /// workspace, or of `CARGO_TARGET_DIR`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run saved inputs once each, under the oracles, and say what
    /// happened.
    Replay {
        /// The target the inputs are for.
        #[arg(long, value_enum)]
        target: TargetName,
        #[command(flatten)]
        oracles: Oracles,
        /// The inputs.
        files: Vec<PathBuf>,
    },
    /// One target in this process (what `run` starts); reports on the
    /// standard output in frames.
    #[command(hide = true)]
    Worker {
        #[arg(long, value_enum)]
        target: TargetName,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        millis: u64,
        #[arg(long)]
        max_bytes: usize,
        #[arg(long)]
        max_ms: u64,
        #[arg(long)]
        hard_cap_bytes: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

/// The oracles' limits.
#[derive(Debug, clap::Args)]
struct Oracles {
    /// The most an input's allocations may rise, in MiB.
    #[arg(long, default_value_t = 64)]
    max_mib: usize,
    /// The longest an input may run, in milliseconds.
    #[arg(long, default_value_t = DEFAULT_MAX_MS)]
    max_ms: u64,
}

impl Oracles {
    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_mib << 20,
            max_time: Duration::from_millis(self.max_ms),
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kro-fuzz: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The workspace, where the seeds are.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a command; `Ok(false)` when it found something.
fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Run {
            targets,
            seconds,
            seed,
            oracles,
            out,
        } => {
            let seed = seed.unwrap_or_else(clock_seed);
            let targets = if targets.is_empty() {
                TargetName::ALL.to_vec()
            } else {
                targets
            };
            let limits = oracles.limits();
            let out = out.unwrap_or_else(default_out);
            eprintln!(
                "kro-fuzz: {targets:?} for {seconds} s, seed {seed}; an input may allocate {} MiB and run {} ms; findings under {}",
                oracles.max_mib,
                oracles.max_ms,
                out.display()
            );
            let plan = supervisor::Plan {
                targets,
                duration: Duration::from_secs(seconds),
                seed,
                limits,
                // Far above the oracle, far below the machine.
                hard_cap_bytes: (limits.max_bytes.saturating_mul(16)).max(1 << 30),
                hang_timeout: (limits.max_time * 10).max(Duration::from_secs(10)),
                out,
            };
            let results = supervisor::run(&plan)?;
            Ok(results.iter().all(|(_, totals)| totals.findings == 0))
        }
        Command::Replay {
            target,
            oracles,
            files,
        } => replay(target, oracles.limits(), &files),
        Command::Worker {
            target,
            seed,
            millis,
            max_bytes,
            max_ms,
            hard_cap_bytes,
            out,
        } => {
            worker::silence_panics();
            alloc_meter::set_hard_cap(hard_cap_bytes);
            let corpus = Corpus::load(&workspace_root())?;
            let job = Job {
                target,
                seed,
                duration: Duration::from_millis(millis),
                limits: Limits {
                    max_bytes,
                    max_time: Duration::from_millis(max_ms),
                },
                out,
            };
            worker::run(&job, &corpus)?;
            Ok(true)
        }
    }
}

fn replay(target: TargetName, limits: Limits, files: &[PathBuf]) -> Result<bool> {
    worker::silence_panics();
    let corpus = Corpus::load(&workspace_root())?;
    let runner = target.build(&corpus)?;
    let mut clean = true;
    for file in files {
        let input =
            std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
        let judgement = worker::judge(runner.as_ref(), &input, limits);
        let measured = format!(
            "{:.1} MiB, {:.2?}",
            judgement.bytes as f64 / f64::from(1 << 20),
            judgement.elapsed
        );
        match judgement.finding {
            Some(kind) => {
                clean = false;
                println!("{}: {kind} ({measured})", file.display());
            }
            None => println!(
                "{}: fine, {:?} ({measured})",
                file.display(),
                judgement.verdict
            ),
        }
    }
    Ok(clean)
}

fn default_out() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("fuzz")
}

fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
