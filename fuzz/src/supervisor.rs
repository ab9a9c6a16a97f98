//! The supervisor: runs each target in a worker process of its own, and
//! catches what the worker cannot report itself. It keeps the last input
//! the worker announced; if the worker dies (stack overflow, an allocation
//! past the hard cap, an abort) or stops announcing inputs for longer than
//! the hang timeout (it is then killed), that input is the finding. A
//! worker that died is started again, with the next seed, for the time
//! left.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::findings::{Findings, Kind};
use crate::frames;
use crate::targets::TargetName;
use crate::worker::{Limits, Totals};

/// Lines of a dead worker's standard error kept for its finding.
const STDERR_TAIL: usize = 6;

/// What the supervisor runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The targets, each for an equal share of the time.
    pub targets: Vec<TargetName>,
    /// The total time.
    pub duration: Duration,
    /// The first seed; each target and each restart adds to it.
    pub seed: u64,
    /// The oracles' limits.
    pub limits: Limits,
    /// The most bytes a worker may have live at once.
    pub hard_cap_bytes: usize,
    /// How long a worker may go without announcing an input.
    pub hang_timeout: Duration,
    /// Where findings go.
    pub out: PathBuf,
}

/// What happened to one worker process.
enum Ending {
    /// It ran its time and reported its totals.
    Done(Totals),
    /// It died or hung on `input`.
    Failed { kind: Kind, input: Vec<u8> },
}

/// Runs the plan; returns every target's totals (findings included).
pub fn run(plan: &Plan) -> Result<Vec<(TargetName, Totals)>> {
    let share = plan.duration / u32::try_from(plan.targets.len().max(1)).unwrap_or(1);
    let mut results = Vec::new();
    for (index, target) in plan.targets.iter().enumerate() {
        let mut findings = Findings::new(&plan.out, *target);
        let before = saved_inputs(&findings.dir());
        let mut totals = Totals::default();
        let started = Instant::now();
        let mut seed = plan.seed.wrapping_add(1_000_000 * index as u64);
        while let Some(left) = share.checked_sub(started.elapsed()) {
            if left < Duration::from_millis(200) {
                break;
            }
            match run_worker(plan, *target, seed, left)? {
                Ending::Done(done) => {
                    totals.add(Totals {
                        findings: 0,
                        ..done
                    });
                    break;
                }
                Ending::Failed { kind, input } => {
                    if let Some(path) = findings.record(&kind, &input, seed)? {
                        eprintln!("fuzz {target}: {kind}\n  saved {}", path.display());
                    }
                    seed = seed.wrapping_add(1);
                }
            }
        }
        // Counted from the files: a worker that died saved its earlier
        // findings but could not report them.
        let after = saved_inputs(&findings.dir());
        totals.findings = after.difference(&before).count() as u64;
        eprintln!(
            "fuzz {target}: {} inputs ({} accepted) in {:.1?}, {} findings; an input allocated at most {:.1} MiB and ran at most {} ms",
            totals.inputs,
            totals.accepted,
            started.elapsed(),
            totals.findings,
            totals.peak_bytes as f64 / f64::from(1 << 20),
            totals.slowest_micros / 1000
        );
        results.push((*target, totals));
    }
    Ok(results)
}

/// The finding inputs saved in `dir`.
fn saved_inputs(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "input"))
        .collect()
}

/// A frame from the worker, or the end of its output.
enum Message {
    Frame(u8, Vec<u8>),
    End,
}

fn run_worker(plan: &Plan, target: TargetName, seed: u64, time: Duration) -> Result<Ending> {
    let exe = std::env::current_exe().context("find the fuzzer's own executable")?;
    let mut child = Command::new(exe)
        .arg("worker")
        .arg(format!("--target={target}"))
        .arg(format!("--seed={seed}"))
        .arg(format!("--millis={}", time.as_millis()))
        .arg(format!("--max-bytes={}", plan.limits.max_bytes))
        .arg(format!("--max-ms={}", plan.limits.max_time.as_millis()))
        .arg(format!("--hard-cap-bytes={}", plan.hard_cap_bytes))
        .arg("--out")
        .arg(&plan.out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start a worker")?;
    let frames = spawn_frame_reader(&mut child)?;
    let stderr = spawn_stderr_forwarder(&mut child)?;
    let mut last_input = Vec::new();
    let mut totals = None;
    loop {
        match frames.recv_timeout(plan.hang_timeout) {
            Ok(Message::Frame(frames::INPUT, input)) => last_input = input,
            Ok(Message::Frame(frames::DONE, text)) => {
                totals = Totals::decode(&String::from_utf8_lossy(&text));
            }
            Ok(Message::Frame(..)) => {}
            Ok(Message::End) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                // Killing a worker that just exited fails harmlessly.
                let _ = child.kill();
                let _ = child.wait();
                return Ok(Ending::Failed {
                    kind: Kind::Hang(plan.hang_timeout),
                    input: last_input,
                });
            }
        }
    }
    let status = child.wait().context("wait for a worker")?;
    let tail = stderr.join().unwrap_or_default();
    match totals {
        Some(totals) if status.success() => Ok(Ending::Done(totals)),
        _ => Ok(Ending::Failed {
            kind: Kind::Crash(format!("{status}; its last words: {}", tail.join(" / "))),
            input: last_input,
        }),
    }
}

fn spawn_frame_reader(child: &mut Child) -> Result<Receiver<Message>> {
    let mut stdout = child
        .stdout
        .take()
        .context("the worker's standard output")?;
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some((tag, payload))) = frames::receive(&mut stdout) {
            if send.send(Message::Frame(tag, payload)).is_err() {
                return;
            }
        }
        let _ = send.send(Message::End);
    });
    Ok(receive)
}

/// Copies the worker's standard error to ours, keeping its last lines.
fn spawn_stderr_forwarder(child: &mut Child) -> Result<std::thread::JoinHandle<Vec<String>>> {
    let stderr = child.stderr.take().context("the worker's standard error")?;
    Ok(std::thread::spawn(move || {
        let mut tail = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            tail.push(line);
            if tail.len() > STDERR_TAIL {
                tail.remove(0);
            }
        }
        tail
    }))
}
