//! Finding or starting the control plane that tests talk to.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Names the kubeconfig of a running control plane to use instead of
/// starting one.
const KUBECONFIG_VAR: &str = "KRO_TEST_KUBECONFIG";
/// Names the `localcluster` binary to start, when not the workspace's own.
const LOCALCLUSTER_VAR: &str = "KRO_LOCALCLUSTER";
/// How long a cold control plane may take to report ready.
const START_LIMIT: Duration = Duration::from_secs(300);
/// What `localcluster up` prints on standard output once it is ready.
const READY_PREFIX: &str = "export KUBECONFIG=";

/// The control plane of this test binary.
struct Cluster {
    kubeconfig: PathBuf,
    /// The `localcluster` process when this binary started it. Never waited
    /// on: it must outlive every test, and its piped standard input closes
    /// when this process exits, which makes it stop.
    _process: Option<Child>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The kubeconfig of the control plane, starting it on first use.
///
/// # Panics
///
/// If the control plane cannot be started.
pub fn kubeconfig_path() -> &'static Path {
    &CLUSTER.get_or_init(find_or_start).kubeconfig
}

/// A new client for the control plane, with admin rights.
///
/// Each call makes a new client because a `kube::Client` belongs to the
/// tokio runtime it was created on, and every `#[tokio::test]` has its own.
///
/// # Panics
///
/// If the control plane cannot be started or its kubeconfig is unusable.
pub async fn client() -> Client {
    let path = kubeconfig_path();
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("read kubeconfig {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("load kubeconfig {}: {e}", path.display()));
    Client::try_from(config).unwrap_or_else(|e| panic!("create client: {e}"))
}

fn find_or_start() -> Cluster {
    if let Some(path) = std::env::var_os(KUBECONFIG_VAR) {
        return Cluster {
            kubeconfig: PathBuf::from(path),
            _process: None,
        };
    }
    start(&localcluster_binary())
}

/// The workspace's root directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `localcluster` binary, built with `cargo xtask build-cluster` if it
/// is missing.
fn localcluster_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(LOCALCLUSTER_VAR) {
        return PathBuf::from(path);
    }
    let root = workspace_root();
    let binary = root.join("localcluster/bin/localcluster");
    if !binary.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["xtask", "build-cluster"])
            .current_dir(&root)
            .status()
            .unwrap_or_else(|e| panic!("run `cargo xtask build-cluster`: {e}"));
        assert!(
            status.success(),
            "`cargo xtask build-cluster` failed: {status}"
        );
    }
    binary
}

fn start(binary: &Path) -> Cluster {
    let mut process = Command::new(binary)
        .args(["up", "-exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let stdout = process.stdout.take().expect("stdout is piped");

    // Read on a thread so that a control plane that never becomes ready
    // fails the test after START_LIMIT instead of hanging it.
    let (ready, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(path) = line.strip_prefix(READY_PREFIX) {
                let _ = ready.send(PathBuf::from(path));
                return;
            }
        }
    });
    match ready_rx.recv_timeout(START_LIMIT) {
        Ok(kubeconfig) => Cluster {
            kubeconfig,
            _process: Some(process),
        },
        Err(_) => {
            let _ = process.kill();
            let _ = process.wait();
            panic!(
                "{} did not report ready within {START_LIMIT:?}; its log is above",
                binary.display()
            );
        }
    }
}
