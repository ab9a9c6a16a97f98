//! Running cargo and installing the tools the checks need.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The cargo-deny release the checks are written for.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// The workspace root: xtask lives one level below it.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo_command() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Runs `cargo <args>` in the workspace, failing if it fails.
pub fn cargo(args: &[&str]) -> Result<()> {
    cargo_with_env(args, &[])
}

/// Runs `cargo <args>` with extra environment variables.
pub fn cargo_with_env(args: &[&str], env: &[(&str, &OsStr)]) -> Result<()> {
    let mut command = cargo_command();
    command.args(args).envs(env.iter().copied());
    run(&mut command)
}

/// Totals of the `test result:` lines of one or more `cargo test` runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]`.
    pub ignored: u64,
}

impl TestCounts {
    /// Adds the counts of one libtest summary line, such as
    /// `test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; ...`.
    fn add_summary_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                "ignored" => self.ignored += number,
                _ => {}
            }
        }
    }

    /// Adds another run's totals.
    pub fn add(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Runs `cargo <args>` (a `cargo test` invocation), passing its output
/// through while adding up its test counts.
pub fn cargo_test(args: &[&str], env: &[(&str, &OsStr)]) -> Result<TestCounts> {
    let mut command = cargo_command();
    command
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped());
    eprintln!("xtask: running {}", describe(&command));
    let mut child = command
        .spawn()
        .with_context(|| format!("start {}", describe(&command)))?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let mut counts = TestCounts::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("read cargo test output")?;
        println!("{line}");
        counts.add_summary_line(&line);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{} failed: {status}", describe(&command));
    }
    Ok(counts)
}

/// Runs a command with inherited output, failing if it fails.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("xtask: running {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("start {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed: {status}", describe(command));
    }
    Ok(())
}

/// Runs a command and returns its standard output, trimmed.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("start {}", describe(command)))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}\n{}",
            describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Installs cargo-deny from crates.io unless the pinned version is present.
pub fn ensure_cargo_deny() -> Result<()> {
    let installed = cargo_command()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains(CARGO_DENY_VERSION)
        });
    if installed {
        return Ok(());
    }
    cargo(&[
        "install",
        "--locked",
        "cargo-deny",
        "--version",
        CARGO_DENY_VERSION,
    ])
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn adds_up_libtest_summary_lines() {
        let mut counts = TestCounts::default();
        counts.add_summary_line("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.35s");
        counts.add_summary_line(
            "test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        counts.add_summary_line("running 5 tests");
        assert_eq!(
            counts,
            TestCounts {
                passed: 7,
                failed: 3,
                ignored: 1
            }
        );
    }
}
