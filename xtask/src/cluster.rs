//! Building and running the local control plane (`localcluster/`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::tools::{output, run, workspace_root};

/// What `localcluster up` prints on standard output once it is ready.
const READY_PREFIX: &str = "export KUBECONFIG=";
/// How long a stopping control plane may take to clean up.
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// The built control-plane binaries.
pub struct Binaries {
    localcluster: PathBuf,
    /// The Kubernetes version they run, such as `v1.36.3`.
    kubernetes_version: String,
}

/// Go settings shared by every build: no cgo (the components are static
/// binaries upstream too), and never a toolchain download.
pub fn go(dir: &Path) -> Command {
    let mut command = Command::new("go");
    command
        .current_dir(dir)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=readonly");
    command
}

/// Builds `localcluster`, `kwok` and `kwok-stages` into `localcluster/bin/`.
/// Go downloads the modules named in the go.sum files on first use, and its
/// build cache makes later builds take seconds.
pub fn build() -> Result<Binaries> {
    let module = workspace_root().join("localcluster");
    let bin = module.join("bin");
    let kwok_module = module.join("kwok");

    let version =
        output(go(&module).args(["list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes"]))
            .context("is Go installed? The local control plane is built with it")?;
    let ldflags = version_ldflags(&version)?;
    let localcluster = bin.join("localcluster");
    run(go(&module)
        .args(["build", "-trimpath", "-ldflags", &ldflags, "-o"])
        .arg(&localcluster)
        .arg("."))?;
    run(go(&kwok_module)
        .args(["build", "-trimpath", "-ldflags", "-s -w", "-o"])
        .arg(bin.join("kwok"))
        .arg("sigs.k8s.io/kwok/cmd/kwok"))?;
    run(go(&kwok_module)
        .args(["build", "-trimpath", "-o"])
        .arg(bin.join("kwok-stages"))
        .arg("."))?;
    Ok(Binaries {
        localcluster,
        kubernetes_version: version,
    })
}

/// Linker flags that stamp the Kubernetes version into the components:
/// built from module zips, they would otherwise report `v0.0.0-master`,
/// which clients that compare versions cannot parse.
fn version_ldflags(version: &str) -> Result<String> {
    let mut parts = version.trim_start_matches('v').split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        bail!("unexpected k8s.io/kubernetes version {version:?}");
    };
    let mut flags = String::from("-s -w");
    for package in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        for (name, value) in [
            ("gitVersion", version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
        ] {
            flags.push_str(&format!(" -X {package}.{name}={value}"));
        }
    }
    Ok(flags)
}

/// A control plane started by xtask, stopped by [`Running::stop`].
pub struct Running {
    process: Child,
    stdin: Option<ChildStdin>,
    kubeconfig: PathBuf,
}

impl Running {
    /// Starts `localcluster up` and waits for its ready line.
    pub fn start(binaries: &Binaries) -> Result<Self> {
        let mut process = Command::new(&binaries.localcluster)
            .args(["up", "-exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {}", binaries.localcluster.display()))?;
        let stdin = process.stdin.take();
        let stdout = process.stdout.take().context("stdout is piped")?;
        let kubeconfig = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix(READY_PREFIX).map(PathBuf::from));
        let Some(kubeconfig) = kubeconfig else {
            let status = process.wait()?;
            bail!(
                "the local control plane exited before it was ready ({status}); its log is above"
            );
        };
        Ok(Self {
            process,
            stdin,
            kubeconfig,
        })
    }

    /// The admin kubeconfig of the running control plane.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Stops the control plane by closing its standard input, waits for it,
    /// and checks that it removed its working directory.
    pub fn stop(mut self) -> Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + STOP_LIMIT;
        let status = loop {
            if let Some(status) = self.process.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                self.process.kill()?;
                bail!("the local control plane did not stop within {STOP_LIMIT:?}; killed it");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if !status.success() {
            bail!("the local control plane failed: {status}");
        }
        if let Some(dir) = self.kubeconfig.parent().filter(|dir| dir.exists()) {
            bail!(
                "the local control plane left its directory {} behind",
                dir.display()
            );
        }
        Ok(())
    }
}

/// Where the OpenAPI documents of a Kubernetes minor version are kept.
fn openapi_dir(kubernetes_version: &str) -> Result<PathBuf> {
    let mut parts = kubernetes_version.split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        bail!("unexpected Kubernetes version {kubernetes_version:?}");
    };
    Ok(workspace_root()
        .join("data/kubernetes-openapi")
        .join(format!("{major}.{minor}")))
}

/// Starts a control plane and saves the OpenAPI v3 documents of its built-in
/// group versions under `data/kubernetes-openapi/<version>/`, replacing what
/// was there.
pub fn dump_openapi() -> Result<()> {
    let binaries = build()?;
    let out = openapi_dir(&binaries.kubernetes_version)?;
    let running = Running::start(&binaries)?;
    let result = run(Command::new(&binaries.localcluster)
        .arg("dump-openapi")
        .arg("-kubeconfig")
        .arg(running.kubeconfig())
        .arg("-out")
        .arg(&out));
    running.stop()?;
    result
}

/// Builds the control plane, then becomes it: `localcluster up` runs in this
/// process's place, so Ctrl-C reaches it alone and it stops cleanly.
pub fn run_foreground() -> Result<()> {
    use std::os::unix::process::CommandExt;

    let binaries = build()?;
    eprintln!("xtask: starting the local control plane; Ctrl-C stops it");
    let error = Command::new(&binaries.localcluster).arg("up").exec();
    Err(error).with_context(|| format!("run {}", binaries.localcluster.display()))
}
