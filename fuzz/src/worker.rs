//! The worker: runs one target over generated inputs until its time is
//! up, each input under the oracles.
//!
//! - **panics**: caught (`catch_unwind`) with their message and location;
//! - **properties**: what the target checks itself ([`Violation`]);
//! - **memory**: the allocations an input makes may rise at most
//!   `max_bytes` above what was live before it (the counting allocator);
//!   past the hard cap, allocations fail and the process aborts, which the
//!   supervisor reports;
//! - **time**: an input may run at most `max_time`; one that never ends is
//!   the supervisor's to catch (it stops hearing from the worker).
//!
//! Inputs run on a thread with the stack the operator gives CEL and graph
//! builds (a blocking-pool thread, 2 MiB), four times that in debug builds,
//! whose frames are larger: a stack overflow is a crash found.
//!
//! Findings in the worker are shrunk before they are saved: pieces are cut
//! while the same finding still happens, within a few seconds.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::alloc_meter::Measure;
use crate::corpus::Corpus;
use crate::findings::{Findings, Kind};
use crate::frames;
use crate::rng::Rng;
use crate::targets::{Target, TargetName, Verdict, Violation};

/// The stack of the thread that runs inputs.
pub const STACK_BYTES: usize = if cfg!(debug_assertions) {
    8 << 20
} else {
    2 << 20
};

/// How long shrinking one finding may take.
const SHRINK_TIME: Duration = Duration::from_secs(5);

/// The oracles' limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most an input's allocations may rise, in bytes.
    pub max_bytes: usize,
    /// The longest an input may run.
    pub max_time: Duration,
}

/// What one worker does.
#[derive(Debug, Clone)]
pub struct Job {
    /// The target.
    pub target: TargetName,
    /// The seed of the inputs.
    pub seed: u64,
    /// How long to run.
    pub duration: Duration,
    /// The oracles' limits.
    pub limits: Limits,
    /// Where findings go.
    pub out: PathBuf,
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Inputs run.
    pub inputs: u64,
    /// Inputs the code under test accepted.
    pub accepted: u64,
    /// Findings saved.
    pub findings: u64,
    /// The most any input's allocations rose, in bytes.
    pub peak_bytes: u64,
    /// The longest any input ran, in microseconds.
    pub slowest_micros: u64,
}

impl Totals {
    /// The totals as the `DONE` frame carries them.
    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.inputs, self.accepted, self.findings, self.peak_bytes, self.slowest_micros
        )
    }

    /// Reads [`Totals::encode`]'s text.
    pub fn decode(text: &str) -> Option<Self> {
        let mut numbers = text.split(' ').map(str::parse::<u64>);
        Some(Self {
            inputs: numbers.next()?.ok()?,
            accepted: numbers.next()?.ok()?,
            findings: numbers.next()?.ok()?,
            peak_bytes: numbers.next()?.ok()?,
            slowest_micros: numbers.next()?.ok()?,
        })
    }

    /// Adds another worker's totals.
    pub fn add(&mut self, other: Totals) {
        self.inputs += other.inputs;
        self.accepted += other.accepted;
        self.findings += other.findings;
        self.peak_bytes = self.peak_bytes.max(other.peak_bytes);
        self.slowest_micros = self.slowest_micros.max(other.slowest_micros);
    }
}

/// What running one input under the oracles gave.
#[derive(Debug)]
pub struct Judgement {
    /// What went wrong, if anything.
    pub finding: Option<Kind>,
    /// The target's verdict (`Rejected` after a panic or violation).
    pub verdict: Verdict,
    /// How far the input's allocations rose, in bytes.
    pub bytes: usize,
    /// How long it ran.
    pub elapsed: Duration,
}

/// The last panic's message and location, kept by the hook instead of
/// printed.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Keeps panic messages for the findings instead of printing them.
pub fn silence_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("at {location}: {payload}"));
        }
    }));
}

/// Runs `input` under the oracles.
pub fn judge(target: &dyn Target, input: &str, limits: Limits) -> Judgement {
    let measure = Measure::start();
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| target.run(input)));
    let elapsed = started.elapsed();
    let bytes = measure.peak_growth();
    let verdict = match &outcome {
        Ok(Ok(verdict)) => *verdict,
        _ => Verdict::Rejected,
    };
    let kind = match outcome {
        Err(_) => {
            let message = LAST_PANIC
                .lock()
                .ok()
                .and_then(|mut last| last.take())
                .unwrap_or_default();
            Some(Kind::Panic(message))
        }
        Ok(Err(Violation(message))) => Some(Kind::Violation(message)),
        Ok(Ok(_)) if measure.refused() || bytes > limits.max_bytes => Some(Kind::Memory {
            bytes,
            limit: limits.max_bytes,
        }),
        Ok(Ok(_)) if elapsed > limits.max_time => Some(Kind::Time {
            elapsed,
            limit: limits.max_time,
        }),
        Ok(Ok(_)) => None,
    };
    Judgement {
        finding: kind,
        verdict,
        bytes,
        elapsed,
    }
}

/// Runs `job` on a thread of [`STACK_BYTES`], reporting each input on the
/// standard output before running it.
pub fn run(job: &Job, corpus: &Corpus) -> Result<Totals> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("fuzz-{}", job.target))
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || {
                let mut target = job.target.build(corpus)?;
                fuzz(job, target.as_mut(), &mut StdoutReport)
            })
            .context("start the fuzzing thread")?
            .join()
            .map_err(|_| anyhow!("the fuzzing thread panicked"))?
    })
}

/// The worker's standard output, flushed after every frame.
struct StdoutReport;

impl Write for StdoutReport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().lock().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().lock().flush()
    }
}

fn fuzz(job: &Job, target: &mut dyn Target, report: &mut impl Write) -> Result<Totals> {
    let mut rng = Rng::new(job.seed);
    let mut findings = Findings::new(&job.out, job.target);
    let mut totals = Totals::default();
    let deadline = Instant::now() + job.duration;
    while Instant::now() < deadline {
        let input = target.next_input(&mut rng);
        frames::send(report, frames::INPUT, input.as_bytes()).context("report the input")?;
        totals.inputs += 1;
        let judgement = judge(target, &input, job.limits);
        totals.peak_bytes = totals.peak_bytes.max(judgement.bytes as u64);
        totals.slowest_micros = totals
            .slowest_micros
            .max(u64::try_from(judgement.elapsed.as_micros()).unwrap_or(u64::MAX));
        match judgement.finding {
            Some(kind) if !findings.is_known(&kind) => {
                let shrunk = shrink(target, &input, &kind, job.limits);
                if let Some(path) = findings.record(&kind, shrunk.as_bytes(), job.seed)? {
                    eprintln!("fuzz {}: {kind}\n  saved {}", job.target, path.display());
                    totals.findings += 1;
                }
            }
            Some(_) => {}
            None if judgement.verdict == Verdict::Accepted => {
                totals.accepted += 1;
                target.keep(&mut rng, input);
            }
            None => {}
        }
    }
    frames::send(report, frames::DONE, totals.encode().as_bytes()).context("report the totals")?;
    Ok(totals)
}

/// A smaller input with the same finding: pieces are cut, halves first,
/// while the finding stays the same kind (and, for panics and violations,
/// the same place).
fn shrink(target: &dyn Target, input: &str, kind: &Kind, limits: Limits) -> String {
    let same = |candidate: &str| {
        let found = judge(target, candidate, limits).finding;
        found.is_some_and(|found| {
            found.name() == kind.name() && found.signature() == kind.signature()
        })
    };
    let started = Instant::now();
    let mut best: Vec<char> = input.chars().collect();
    let mut chunk = best.len() / 2;
    while chunk > 0 && started.elapsed() < SHRINK_TIME {
        let mut at = 0;
        while at < best.len() && started.elapsed() < SHRINK_TIME {
            let end = (at + chunk).min(best.len());
            let candidate: String = best[..at].iter().chain(&best[end..]).collect();
            if same(&candidate) {
                best = candidate.chars().collect();
            } else {
                at += chunk;
            }
        }
        chunk /= 2;
    }
    best.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::{Limits, Totals, judge, shrink};
    use crate::findings::Kind;
    use crate::rng::Rng;
    use crate::targets::{Outcome, Target, Verdict, Violation};
    use std::time::Duration;

    /// Panics on inputs holding `!`, breaks a property on `?`, allocates
    /// 8 MiB on `m`.
    struct Toy;

    impl Target for Toy {
        fn next_input(&mut self, _: &mut Rng) -> String {
            String::new()
        }

        fn run(&self, input: &str) -> Outcome {
            assert!(!input.contains('!'), "bang");
            if input.contains('?') {
                return Err(Violation("question".to_owned()));
            }
            if input.contains('m') {
                let block = vec![1u8; 8 << 20];
                std::hint::black_box(&block);
            }
            Ok(Verdict::Accepted)
        }

        fn keep(&mut self, _: &mut Rng, _: String) {}
    }

    const LIMITS: Limits = Limits {
        max_bytes: 4 << 20,
        max_time: Duration::from_secs(5),
    };

    #[test]
    fn each_oracle_reports_its_kind() {
        super::silence_panics();
        let kind = |input: &str| judge(&Toy, input, LIMITS).finding.map(|k| k.name());
        assert_eq!(kind("fine"), None);
        assert_eq!(kind("a!b"), Some("panic"));
        assert_eq!(kind("a?b"), Some("violation"));
        assert_eq!(kind("m"), Some("memory"));
    }

    #[test]
    fn shrinking_keeps_what_matters() {
        super::silence_panics();
        let kind = Kind::Violation("question".to_owned());
        assert_eq!(shrink(&Toy, "long text ? around it", &kind, LIMITS), "?");
    }

    #[test]
    fn totals_round_trip() {
        let totals = Totals {
            inputs: 10,
            accepted: 4,
            findings: 1,
            peak_bytes: 1 << 20,
            slowest_micros: 250,
        };
        assert_eq!(Totals::decode(&totals.encode()), Some(totals));
        assert_eq!(Totals::decode("1 2 3"), None);
    }
}
