//! `cargo xtask demo [--exit]`: the user's example, end to end, on the
//! local control plane.
//!
//! Starts the control plane and the operator, applies the Application RGD
//! and instance from `examples/application/`, waits until the instance is
//! `ACTIVE` with its Deployment 3/3 available, and prints what `kubectl`
//! shows. Then it keeps running until Ctrl-C (or stops at once with
//! `--exit`), leaving nothing behind.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cluster::{self, Running};
use crate::operator::{self, kubectl};
use crate::tools::{cargo, output, workspace_root};

/// How long each step may take before the demo gives up.
const STEP_LIMIT: Duration = Duration::from_secs(180);

pub fn run(args: &[String]) -> Result<()> {
    let exit = match args {
        [] => false,
        [flag] if flag == "--exit" => true,
        _ => bail!("usage: cargo xtask demo [--exit]"),
    };
    let binaries = cluster::build()?;
    cargo(&["build", "-p", "kro-operator"])?;
    let running = Running::start(&binaries)?;
    let kubeconfig = running.kubeconfig().to_owned();
    let operator = operator::start(
        "debug",
        &kubeconfig,
        &[
            "--metrics-bind-address=0".to_owned(),
            "--health-probe-bind-address=0".to_owned(),
        ],
    );
    let result = match operator {
        Ok(mut operator) => {
            let shown = show(&kubeconfig);
            let kept = match &shown {
                Ok(()) if !exit => wait_for_interrupt(&kubeconfig, &mut operator),
                _ => Ok(()),
            };
            operator::stop(&mut operator);
            shown.and(kept)
        }
        Err(error) => Err(error),
    };
    running.stop()?;
    result
}

/// Applies the example, waits for it to come up, and prints it.
fn show(kubeconfig: &Path) -> Result<()> {
    let example = example_dir();
    apply(kubeconfig, &example.join("rgd.yaml"))?;
    wait_for(
        kubeconfig,
        "the RGD to be Active",
        &[
            "get",
            "rgd",
            "my-application",
            "-o",
            "jsonpath={.status.state}",
        ],
        "Active",
    )?;
    apply(kubeconfig, &example.join("instance.yaml"))?;
    wait_for(
        kubeconfig,
        "the Deployment to be 3/3 available",
        &[
            "get",
            "deployment",
            "my-awesome-app",
            "-o",
            "jsonpath={.status.availableReplicas}",
        ],
        "3",
    )?;
    wait_for(
        kubeconfig,
        "the instance to be ACTIVE with availableReplicas 3",
        &[
            "get",
            "applications",
            "my-application-instance",
            "-o",
            "jsonpath={.status.state}/{.status.availableReplicas}",
        ],
        "ACTIVE/3",
    )?;
    // What a person would type, and what is run (the status is shown
    // abridged, as the lines that matter).
    let status_lines = r#"jsonpath=status:{"\n  state: "}{.status.state}{"\n  availableReplicas: "}{.status.availableReplicas}{"\n  conditions:"}{range .status.conditions[*]}{"\n  - "}{.type}: {.status} ({.reason}){end}"#;
    for (shown, args) in [
        ("get rgd -owide", &["get", "rgd", "-owide"][..]),
        ("get applications", &["get", "applications"]),
        ("get deploy,svc,ingress", &["get", "deploy,svc,ingress"]),
        (
            "get application my-application-instance -o yaml   # the status, abridged",
            &[
                "get",
                "application",
                "my-application-instance",
                "-o",
                status_lines,
            ],
        ),
    ] {
        println!("$ kubectl {shown}");
        println!("{}\n", output(kubectl(kubeconfig).args(args))?);
    }
    Ok(())
}

fn example_dir() -> PathBuf {
    workspace_root().join("examples/application")
}

fn apply(kubeconfig: &Path, file: &Path) -> Result<()> {
    println!("$ kubectl apply -f {}", file.display());
    println!(
        "{}",
        output(kubectl(kubeconfig).arg("apply").arg("-f").arg(file))?
    );
    Ok(())
}

/// Polls `kubectl <args>` until it prints `expected`.
fn wait_for(kubeconfig: &Path, what: &str, args: &[&str], expected: &str) -> Result<()> {
    eprintln!("xtask: waiting for {what}");
    let deadline = Instant::now() + STEP_LIMIT;
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = kubectl(kubeconfig).args(args).output()?;
        last = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if last == expected {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("gave up waiting for {what} after {STEP_LIMIT:?} (last seen: {last:?})")
}

/// Keeps the demo up until Ctrl-C. The terminal sends SIGINT to the whole
/// process group: the control plane and the operator stop on their own,
/// and so does this process, which waits for the operator meanwhile.
fn wait_for_interrupt(kubeconfig: &Path, operator: &mut Child) -> Result<()> {
    eprintln!(
        "xtask: the demo is running; use it with KUBECONFIG={} from another shell. Ctrl-C stops it.",
        kubeconfig.display()
    );
    let status = operator.wait()?;
    if !status.success() {
        bail!("the operator exited: {status}");
    }
    Ok(())
}
