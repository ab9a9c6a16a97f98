//! Findings: what went wrong with an input, and where it is saved.
//!
//! Each finding is written to `<out>/<target>/<kind>-<hash>.input` (the
//! input, byte for byte) with a `.txt` beside it (what happened, and the
//! command that replays it). Findings are told apart by kind and, for
//! panics and violations, by where they happened: one of each is saved
//! per run, the first found.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::targets::TargetName;

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The code under test panicked (message and location).
    Panic(String),
    /// A property of the target was broken.
    Violation(String),
    /// The input's allocations rose above the limit.
    Memory {
        /// How far they rose, in bytes.
        bytes: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The input ran longer than the limit.
    Time {
        /// How long it ran.
        elapsed: Duration,
        /// The limit.
        limit: Duration,
    },
    /// The worker process died on this input (a stack overflow, an
    /// allocation past the hard cap, an abort).
    Crash(String),
    /// The worker stopped reporting for longer than the hang timeout.
    Hang(Duration),
}

impl Kind {
    /// A short name, for file names.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Panic(_) => "panic",
            Kind::Violation(_) => "violation",
            Kind::Memory { .. } => "memory",
            Kind::Time { .. } => "time",
            Kind::Crash(_) => "crash",
            Kind::Hang(_) => "hang",
        }
    }

    /// What tells two findings of this kind apart: the location of a
    /// panic, the property a violation breaks (its message up to the first
    /// `:`); nothing for the oracles.
    pub fn signature(&self) -> String {
        match self {
            // `at file:line: payload`: the place, not the values.
            Kind::Panic(message) => message.split(": ").next().unwrap_or_default().to_owned(),
            Kind::Violation(message) => message.split(':').next().unwrap_or_default().to_owned(),
            _ => String::new(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Panic(message) => write!(f, "panic: {}", shortened(message)),
            Kind::Violation(message) => write!(f, "property violated: {}", shortened(message)),
            Kind::Memory { bytes, limit } => write!(
                f,
                "memory: allocations rose by {:.1} MiB (limit {:.1} MiB)",
                mib(*bytes),
                mib(*limit)
            ),
            Kind::Time { elapsed, limit } => {
                write!(f, "time: ran {elapsed:.2?} (limit {limit:.2?})")
            }
            Kind::Crash(status) => write!(f, "crash: the worker died: {status}"),
            Kind::Hang(after) => write!(f, "hang: no progress for {after:.0?}"),
        }
    }
}

/// A message cut to a few hundred characters: the input is in its file.
fn shortened(message: &str) -> String {
    const MAX: usize = 300;
    match message.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// The findings of one run of one target.
#[derive(Debug)]
pub struct Findings {
    target: TargetName,
    dir: PathBuf,
    seen: BTreeSet<(&'static str, String)>,
}

impl Findings {
    /// Findings of `target`, saved under `out/<target>`.
    pub fn new(out: &Path, target: TargetName) -> Self {
        Self {
            target,
            dir: out.join(target.to_string()),
            seen: BTreeSet::new(),
        }
    }

    /// Whether a finding like `kind` was already saved in this run.
    pub fn is_known(&self, kind: &Kind) -> bool {
        self.seen.contains(&(kind.name(), kind.signature()))
    }

    /// Saves a finding unless one like it was; returns the input's path
    /// when saved.
    pub fn record(&mut self, kind: &Kind, input: &[u8], seed: u64) -> Result<Option<PathBuf>> {
        if !self.seen.insert((kind.name(), kind.signature())) {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("create {}", self.dir.display()))?;
        let stem = format!("{}-{:016x}", kind.name(), fnv1a(input));
        let input_path = self.dir.join(format!("{stem}.input"));
        std::fs::write(&input_path, input)
            .with_context(|| format!("write {}", input_path.display()))?;
        let report = format!(
            "target: {}\nseed: {seed}\n{kind}\n\nreplay: cargo xtask fuzz --target {} --replay {}\n",
            self.target,
            self.target,
            input_path.display()
        );
        let report_path = self.dir.join(format!("{stem}.txt"));
        std::fs::write(&report_path, report)
            .with_context(|| format!("write {}", report_path.display()))?;
        Ok(Some(input_path))
    }

    /// Where this target's findings are saved.
    pub fn dir(&self) -> PathBuf {
        self.dir.clone()
    }
}

/// A stable 64-bit hash (FNV-1a), for file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::{Findings, Kind};
    use crate::targets::TargetName;

    #[test]
    fn one_finding_of_a_kind_and_place_is_saved() {
        let out = std::env::temp_dir().join(format!("kro-fuzz-findings-{}", std::process::id()));
        let mut findings = Findings::new(&out, TargetName::Cel);
        let panic = Kind::Panic("at a.rs:1: boom".to_owned());
        let saved = findings.record(&panic, b"x", 1).expect("saved");
        assert!(saved.is_some_and(|p| p.exists()));
        assert!(findings.is_known(&panic));
        assert_eq!(findings.record(&panic, b"y", 1).expect("ok"), None);
        let other = Kind::Panic("at b.rs:2: boom".to_owned());
        assert!(findings.record(&other, b"y", 1).expect("ok").is_some());
        assert_eq!(std::fs::read_dir(findings.dir()).expect("dir").count(), 4);
        std::fs::remove_dir_all(&out).expect("clean up");
    }
}
