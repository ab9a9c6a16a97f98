//! Running the operator binary and `kubectl` against a local control
//! plane, for the demo and the load bench.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::tools::workspace_root;

/// How long the operator may take to shut down before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// Starts `<target dir>/<profile>/kro-operator` on `kubeconfig` with
/// `flags`. The target directory is cargo's: `$CARGO_TARGET_DIR` when set,
/// else `target/` in the workspace.
pub fn start(profile: &str, kubeconfig: &Path, flags: &[String]) -> Result<Child> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    start_binary(
        &target.join(profile).join("kro-operator"),
        kubeconfig,
        flags,
    )
}

/// Starts the operator binary `binary` on `kubeconfig` with `flags`.
pub fn start_binary(binary: &Path, kubeconfig: &Path, flags: &[String]) -> Result<Child> {
    eprintln!("xtask: starting the operator");
    Command::new(binary)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(flags)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))
}

/// Asks the operator to shut down (SIGTERM) and waits for it; kills it if
/// it takes too long.
pub fn stop(operator: &mut Child) {
    if let Ok(Some(_)) = operator.try_wait() {
        // Already stopped, by a Ctrl-C that reached it too.
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(operator.id().to_string())
        .status();
    let deadline = Instant::now() + STOP_LIMIT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = operator.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = operator.kill();
    let _ = operator.wait();
}

/// `kubectl` on `kubeconfig`.
pub fn kubectl(kubeconfig: &Path) -> Command {
    let mut command = Command::new("kubectl");
    command.env("KUBECONFIG", kubeconfig);
    command
}
