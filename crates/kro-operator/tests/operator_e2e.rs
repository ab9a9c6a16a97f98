//! The `kro-operator` binary against the local control plane: it serves
//! its endpoints, installs the RGD CRD, takes the leader Lease, and stops
//! cleanly on SIGTERM, giving the Lease back.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kro_testenv::{TestNamespace, eventually, free_port, kubeconfig_path};
use kube::Api;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A port that was free a moment ago (the operator binds it right after).
/// `GET path` over plain HTTP/1.1: the status code and the body.
async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// How long the operators of these tests may take to shut down: well
/// inside the 60 s `stop` waits, so that a slow step (a loaded API server)
/// is cut short by the operator's own deadline, as the kubelet would.
const SHUTDOWN_GRACE: &str = "--graceful-shutdown-timeout=20s";

fn operator(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kro-operator"))
        .args(args)
        .arg(SHUTDOWN_GRACE)
        .env("KUBECONFIG", kubeconfig_path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start kro-operator")
}

/// Sends `signal` (`TERM`, `INT`) and waits for the process to exit.
async fn stop(child: &mut Child, signal: &str) -> ExitStatus {
    let pid = child.id().expect("the operator is running");
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} {pid}");
    tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the operator exits within 60s of the signal")
        .expect("wait for the operator")
}

#[tokio::test]
async fn serves_endpoints_installs_the_crd_holds_the_lease_and_stops_on_sigterm() {
    let ns = TestNamespace::create("operator-e2e").await;
    let (metrics_port, health_port) = (free_port(), free_port());
    let mut child = operator(&[
        format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
        format!("--health-probe-bind-address=127.0.0.1:{health_port}"),
        "--leader-elect".to_owned(),
        format!("--leader-election-namespace={}", ns.name()),
        "--log-format=json".to_owned(),
    ]);

    for path in ["/healthz", "/readyz"] {
        let (code, body) = eventually(path, || http_get(health_port, path)).await;
        assert_eq!((code, body.as_str()), (200, "ok"), "{path}");
    }
    kro_testenv::crd_established(&ns.client(), "resourcegraphdefinitions.kro.run").await;

    let leases = Api::<Lease>::namespaced(ns.client(), ns.name());
    let holder = eventually("the Lease to be held", || async {
        let lease = leases.get_opt("controller.kro.run").await.ok()??;
        lease.spec?.holder_identity.filter(|h| !h.is_empty())
    })
    .await;
    let metrics = eventually("/metrics to report the leader", || async {
        let (code, body) = http_get(metrics_port, "/metrics").await?;
        (code == 200
            && body.contains("leader_election_master_status{name=\"controller.kro.run\"} 1"))
        .then_some(body)
    })
    .await;
    assert!(metrics.contains("kro_build_info{version="), "{metrics}");
    // The CRD install's server-side apply, counted by the client layer.
    assert!(
        metrics.contains("rest_client_requests_total{verb=\"patch\",code=\"200\"}"),
        "{metrics}"
    );
    assert_eq!(
        http_get(metrics_port, "/healthz")
            .await
            .map(|(code, _)| code),
        Some(404),
        "probes are on their own address"
    );

    let status = stop(&mut child, "TERM").await;
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let lease = leases
        .get("controller.kro.run")
        .await
        .expect("the Lease stays");
    let after = lease.spec.and_then(|s| s.holder_identity);
    assert_ne!(
        after.as_deref(),
        Some(holder.as_str()),
        "the Lease was given back"
    );
    assert!(
        http_get(health_port, "/healthz").await.is_none(),
        "the probe server stopped"
    );
}

#[tokio::test]
async fn runs_without_leader_election_or_endpoints_and_stops_on_sigint() {
    let ns = TestNamespace::create("operator-e2e-plain").await;
    let mut child = operator(&[
        "--metrics-bind-address=0".to_owned(),
        "--health-probe-bind-address=0".to_owned(),
    ]);
    kro_testenv::crd_established(&ns.client(), "resourcegraphdefinitions.kro.run").await;
    // Give it a moment past startup, so the signal meets a running operator.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = stop(&mut child, "INT").await;
    assert!(status.success(), "clean exit on SIGINT: {status}");
}

#[tokio::test]
async fn refuses_inconsistent_lease_timing() {
    let output = Command::new(env!("CARGO_BIN_EXE_kro-operator"))
        .args([
            "--leader-elect",
            "--leader-election-lease-duration=10s",
            "--leader-election-renew-deadline=10s",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=0",
        ])
        // No cluster is needed to refuse the flags.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .await
        .expect("run kro-operator");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--leader-election-renew-deadline (10s) must be less than"),
        "{stderr}"
    );
}

/// Flags for a leader-electing operator with short lease timings, its
/// endpoints on free ports.
fn leader_args(namespace: &str, metrics_port: u16, health_port: u16) -> Vec<String> {
    vec![
        format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
        format!("--health-probe-bind-address=127.0.0.1:{health_port}"),
        "--leader-elect".to_owned(),
        format!("--leader-election-namespace={namespace}"),
        "--leader-election-lease-duration=4s".to_owned(),
        "--leader-election-renew-deadline=2s".to_owned(),
        "--leader-election-retry-period=1s".to_owned(),
    ]
}

async fn is_leader(metrics_port: u16) -> Option<bool> {
    let (_, body) = http_get(metrics_port, "/metrics").await?;
    if body.contains("leader_election_master_status{name=\"controller.kro.run\"} 1") {
        Some(true)
    } else if body.contains("leader_election_master_status{name=\"controller.kro.run\"} 0") {
        Some(false)
    } else {
        None
    }
}

#[tokio::test]
async fn a_standby_is_ready_and_takes_over_when_the_leader_stops() {
    let ns = TestNamespace::create("operator-e2e-standby").await;
    let first_ports = (free_port(), free_port());
    let mut first = operator(&leader_args(ns.name(), first_ports.0, first_ports.1));
    eventually("the first operator to lead", || async {
        is_leader(first_ports.0).await?.then_some(())
    })
    .await;

    let second_ports = (free_port(), free_port());
    let mut second = operator(&leader_args(ns.name(), second_ports.0, second_ports.1));
    let (code, _) = eventually("the standby's /readyz", || {
        http_get(second_ports.1, "/readyz")
    })
    .await;
    assert_eq!(code, 200, "a standby is ready");
    let standby = eventually("the standby to report it is not the leader", || {
        is_leader(second_ports.0)
    })
    .await;
    assert!(!standby, "only one leader");

    assert!(stop(&mut first, "TERM").await.success());
    // The standby takes over when the Lease's last term ends: kube-lease-
    // manager sleeps until then even though the leader released it.
    eventually("the standby to lead", || async {
        is_leader(second_ports.0).await?.then_some(())
    })
    .await;
    assert!(stop(&mut second, "TERM").await.success());
}

#[tokio::test]
async fn a_leader_that_loses_its_lease_exits_with_an_error() {
    let ns = TestNamespace::create("operator-e2e-lost").await;
    let ports = (free_port(), free_port());
    let mut child = operator(&leader_args(ns.name(), ports.0, ports.1));
    eventually("the operator to lead", || async {
        is_leader(ports.0).await?.then_some(())
    })
    .await;

    // Someone else takes the Lease, as a partitioned leader would find.
    let leases = Api::<Lease>::namespaced(ns.client(), ns.name());
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    );
    leases
        .patch(
            "controller.kro.run",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({ "spec": {
                "holderIdentity": "intruder",
                "leaseDurationSeconds": 3600,
                "acquireTime": now,
                "renewTime": now,
            } })),
        )
        .await
        .expect("take the Lease");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the operator exits after losing the Lease")
        .expect("wait for the operator");
    assert_eq!(status.code(), Some(1), "{status}");
}

/// A TCP proxy in front of the API server that can be cut: once cut, the
/// connections it carried are closed and new ones are accepted but never
/// answered, as behind a network partition.
struct Partition {
    port: u16,
    cut: tokio_util::sync::CancellationToken,
}

impl Partition {
    async fn in_front_of(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("its address").port();
        let cut = tokio_util::sync::CancellationToken::new();
        let stop = cut.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut client, _)) = listener.accept().await {
                if stop.is_cancelled() {
                    held.push(client);
                    continue;
                }
                let upstream = upstream.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        () = stop.cancelled() => {}
                    }
                });
            }
        });
        Self { port, cut }
    }
}

/// A kubeconfig like the test cluster's that reaches the API server
/// through `port` on this host.
fn kubeconfig_through(port: u16, dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let mut config =
        kube::config::Kubeconfig::read_from(kubeconfig_path()).expect("read the kubeconfig");
    let mut upstream = String::new();
    for named in &mut config.clusters {
        let cluster = named.cluster.as_mut().expect("a cluster");
        let server = cluster.server.clone().expect("a server");
        let url: http::Uri = server.parse().expect("a URL");
        let authority = url.authority().expect("host and port");
        upstream = format!("127.0.0.1:{}", authority.port_u16().expect("a port"));
        cluster.server = Some(format!("https://127.0.0.1:{port}"));
    }
    let path = dir.join("kubeconfig");
    // JSON is YAML.
    std::fs::write(
        &path,
        serde_json::to_vec(&config).expect("serialize the kubeconfig"),
    )
    .expect("write the kubeconfig");
    (path, upstream)
}

#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_stops_writing_before_its_lease_could_expire() {
    let ns = TestNamespace::create("operator-e2e-partition").await;
    let dir = std::env::temp_dir().join(format!("kro-partition-{}", ns.name()));
    std::fs::create_dir_all(&dir).expect("a directory for the kubeconfig");
    let upstream = kubeconfig_through(0, &dir).1;
    let partition = Partition::in_front_of(upstream).await;
    let (kubeconfig, _) = kubeconfig_through(partition.port, &dir);

    // The Lease lasts 20 s; the leader must stop within the 6 s renew
    // deadline of its last renewal, long before anyone could take over.
    let ports = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kro-operator"))
        .args([
            format!("--metrics-bind-address=127.0.0.1:{}", ports.0),
            format!("--health-probe-bind-address=127.0.0.1:{}", ports.1),
            "--leader-elect".to_owned(),
            format!("--leader-election-namespace={}", ns.name()),
            "--leader-election-lease-duration=20s".to_owned(),
            "--leader-election-renew-deadline=6s".to_owned(),
            "--leader-election-retry-period=1s".to_owned(),
            SHUTDOWN_GRACE.to_owned(),
        ])
        .env("KUBECONFIG", &kubeconfig)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start kro-operator");
    let mut log = tokio::io::BufReader::new(child.stderr.take().expect("its log")).lines();
    eventually("the operator to lead", || async {
        is_leader(ports.0).await?.then_some(())
    })
    .await;

    partition.cut.cancel();
    let cut_at = std::time::Instant::now();
    loop {
        let line = log
            .next_line()
            .await
            .expect("read the log")
            .expect("the operator says that writes stopped before it exits");
        if line.contains("writes stopped") {
            break;
        }
    }
    let stopped_after = cut_at.elapsed();
    // Keep reading, so that the operator never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    assert!(
        stopped_after < Duration::from_secs(20),
        "writes stopped {stopped_after:?} after the partition, past the Lease's 20 s"
    );
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the operator exits after losing leadership")
        .expect("wait for the operator");
    assert_eq!(status.code(), Some(1), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A leader-electing operator whose log (at debug level for the write
/// fence) is collected line by line as it comes.
struct Replica {
    child: Child,
    metrics_port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Replica {
    fn start(ns: &TestNamespace) -> Self {
        let ports = (free_port(), free_port());
        let mut args = leader_args(ns.name(), ports.0, ports.1);
        // A Lease long enough that a frozen replica, thawed, still finds
        // the other's term running on a loaded machine: the test is about
        // the fence, not about who wins a race for an expired Lease.
        args.retain(|a| !a.starts_with("--leader-election-lease-duration"));
        args.push("--leader-election-lease-duration=10s".to_owned());
        args.push(format!("--rgd-selector=kro-test={}", ns.name()));
        args.push("--log-level=info,kro_operator::leader::fence=debug".to_owned());
        let mut child = Command::new(env!("CARGO_BIN_EXE_kro-operator"))
            .args(args)
            .arg(SHUTDOWN_GRACE)
            .env("KUBECONFIG", kubeconfig_path())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start kro-operator");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stderr.take().expect("its stderr"))
                as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stdout.take().expect("its stdout")),
        ] {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().expect("the log").push(line);
                }
            });
        }
        Self {
            child,
            metrics_port: ports.0,
            log,
        }
    }

    /// How many writes it sent so far.
    fn writes_sent(&self) -> usize {
        let log = self.log.lock().expect("the log");
        log.iter().filter(|l| l.contains("write sent")).count()
    }

    fn writes_refused(&self) -> usize {
        let log = self.log.lock().expect("the log");
        log.iter().filter(|l| l.contains("write refused")).count()
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the operator is running");
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {pid}");
    }
}

/// The data of ConfigMap `name`, once it has `from: <from>`.
async fn config_map_from(ns: &TestNamespace, name: &str, from: &str) {
    let api = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(ns.client(), ns.name());
    eventually(&format!("ConfigMap {name} with from={from}"), || async {
        let data = api.get_opt(name).await.ok()??.data?;
        (data.get("from").map(String::as_str) == Some(from)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn two_replicas_never_write_at_once_even_when_the_leader_is_frozen() {
    use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
    use serde_json::json;

    let ns = TestNamespace::create("operator-e2e-replicas").await;
    let mut first = Replica::start(&ns);
    eventually("the first replica to lead", || async {
        is_leader(first.metrics_port).await?.then_some(())
    })
    .await;
    let mut second = Replica::start(&ns);
    eventually("the second replica to stand by", || async {
        (!is_leader(second.metrics_port).await?).then_some(())
    })
    .await;

    // An RGD served only by these replicas, and one instance of it.
    let group = format!("{}.kro.test", ns.name());
    let rgd = json!({
        "apiVersion": "kro.run/v1alpha1",
        "kind": "ResourceGraphDefinition",
        "metadata": { "name": ns.name(), "labels": { "kro-test": ns.name() } },
        "spec": {
            "schema": {
                "apiVersion": "v1alpha1", "kind": "Pair", "group": group,
                "spec": { "from": "string" }
            },
            "resources": [{
                "id": "config",
                "template": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "${schema.metadata.name}" },
                    "data": { "from": "${schema.spec.from}" }
                }
            }]
        }
    });
    let manager = PatchParams::apply("kro-test").force();
    let rgds = Api::<DynamicObject>::all_with(
        ns.client(),
        &ApiResource::erase::<kro_graph::api::ResourceGraphDefinition>(&()),
    );
    eventually("the RGD to be written", || async {
        rgds.patch(ns.name(), &manager, &Patch::Apply(&rgd))
            .await
            .ok()
    })
    .await;
    let pairs = Api::<DynamicObject>::namespaced_with(
        ns.client(),
        ns.name(),
        &ApiResource {
            group: group.clone(),
            version: "v1alpha1".to_owned(),
            api_version: format!("{group}/v1alpha1"),
            kind: "Pair".to_owned(),
            plural: "pairs".to_owned(),
        },
    );
    let instance = |from: &str| {
        json!({
            "apiVersion": format!("{group}/v1alpha1"),
            "kind": "Pair",
            "metadata": { "name": "pair" },
            "spec": { "from": from },
        })
    };
    eventually("the instance to be created", || async {
        pairs
            .patch("pair", &manager, &Patch::Apply(instance("first")))
            .await
            .ok()
    })
    .await;
    config_map_from(&ns, "pair", "first").await;
    assert!(first.writes_sent() > 0, "the leader wrote");
    assert_eq!(second.writes_sent(), 0, "the standby never writes");

    // Give the leader a backlog, then freeze it half-way through, as a long
    // pause or an overloaded node would: it cannot renew, and the standby
    // takes over once the Lease expires.
    let backlog: Vec<String> = (0..100).map(|i| format!("backlog-{i}")).collect();
    for name in &backlog {
        let mut body = instance("backlog");
        body["metadata"]["name"] = json!(name);
        pairs
            .patch(name, &manager, &Patch::Apply(&body))
            .await
            .expect("create an instance");
    }
    first.signal("STOP");
    eventually("the second replica to lead", || async {
        is_leader(second.metrics_port).await?.then_some(())
    })
    .await;
    pairs
        .patch("pair", &manager, &Patch::Apply(instance("second")))
        .await
        .expect("update the instance");
    config_map_from(&ns, "pair", "second").await;
    for name in &backlog {
        config_map_from(&ns, name, "backlog").await;
    }
    assert!(second.writes_sent() > 0, "the new leader wrote");

    // Freeze the new leader too, and change the instance: the old leader
    // wakes up believing it leads, with an instance to update. It must not
    // write, and must step down; the new leader, thawed, does the update.
    second.signal("STOP");
    pairs
        .patch("pair", &manager, &Patch::Apply(instance("third")))
        .await
        .expect("update the instance");
    let sent_before = first.writes_sent();
    first.signal("CONT");
    let status = tokio::time::timeout(Duration::from_secs(60), first.child.wait())
        .await
        .expect("the old leader exits after finding it lost the Lease")
        .expect("wait for the operator");
    assert_eq!(status.code(), Some(1), "{status}");
    // Let the readers drain what it printed last.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        first.writes_sent(),
        sent_before,
        "the old leader sent writes after it could no longer lead: {:?}",
        first.log.lock().expect("the log")
    );
    config_map_from(&ns, "pair", "second").await;
    // It had reconciles in flight when frozen: the fence refused their
    // writes (without it they would have reached the API server).
    assert!(
        first.writes_refused() > 0,
        "the frozen leader's reconciles in flight should have tried to write"
    );
    second.signal("CONT");
    config_map_from(&ns, "pair", "third").await;
    second.signal("TERM");
    let status = tokio::time::timeout(Duration::from_secs(60), second.child.wait())
        .await
        .expect("the new leader stops on SIGTERM")
        .expect("wait for the operator");
    assert!(status.success(), "{status}");
}
