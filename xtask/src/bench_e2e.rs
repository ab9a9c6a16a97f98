//! `cargo xtask bench-e2e [--concurrency C] [N...]`: the load bench on the
//! local control plane (not part of the test command). `--concurrency` is
//! the operator's `--dynamic-controller-concurrent-reconciles` (default 1,
//! as upstream).
//!
//! For each N (100 and 1000 by default) it starts a fresh control plane and
//! the operator (release build), registers the Application RGD of
//! `examples/application`, applies N instances in one batch and reports:
//! - instances per second to `ACTIVE` (N over the time from the start of
//!   the batch until the last one is `ACTIVE`);
//! - p50 and p99 of each instance's time to `ACTIVE`, from the start of the
//!   batch (so it includes waiting in the queue behind the others), sampled
//!   every half second;
//! - the operator's peak resident memory (`VmHWM`);
//! - API requests per reconcile in steady state: every Deployment gets a
//!   label that changes nothing kro owns, each event triggers a reconcile of
//!   its instance, and the operator's own request counters
//!   (`rest_client_requests_total`) over those reconciles
//!   (`instance_reconcile_total`) give reads and writes per reconcile. The
//!   target is zero writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cluster::{self, Running};
use crate::operator::{self, kubectl};
use crate::tools::{cargo, output, workspace_root};

/// Verbs that change something on the API server.
const WRITE_VERBS: [&str; 5] = ["create", "patch", "update", "replace", "delete"];

/// What one run measured.
struct Report {
    concurrency: u16,
    instances: usize,
    seconds_to_all_active: f64,
    p50: f64,
    p99: f64,
    peak_rss_mib: f64,
    steady_reconciles: f64,
    steady_reads_per_reconcile: f64,
    steady_writes_per_reconcile: f64,
}

pub fn run(args: &[String]) -> Result<()> {
    let (concurrency, args) = match args {
        [flag, value, rest @ ..] if flag == "--concurrency" => (
            value
                .parse::<u16>()
                .with_context(|| format!("{value:?} is not a concurrency"))?,
            rest,
        ),
        _ => (1, args),
    };
    let sizes: Vec<usize> = if args.is_empty() {
        vec![100, 1000]
    } else {
        args.iter()
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} is not a number of instances"))
            })
            .collect::<Result<_>>()?
    };
    let binaries = cluster::build()?;
    cargo(&["build", "--release", "-p", "kro-operator"])?;
    let mut reports = Vec::new();
    for instances in sizes {
        let running = Running::start(&binaries)?;
        let result = measure(running.kubeconfig(), instances, concurrency);
        running.stop()?;
        reports.push(result?);
    }
    println!("{}", table(&reports));
    Ok(())
}

fn table(reports: &[Report]) -> String {
    let mut out = String::from(
        "| concurrency | instances | to ACTIVE (all) | instances/s | p50 | p99 | operator peak RSS | steady reconciles | reads/reconcile | writes/reconcile |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} s | {:.1} | {:.1} s | {:.1} s | {:.0} MiB | {:.0} | {:.2} | {:.2} |",
            r.concurrency,
            r.instances,
            r.seconds_to_all_active,
            r.instances as f64 / r.seconds_to_all_active,
            r.p50,
            r.p99,
            r.peak_rss_mib,
            r.steady_reconciles,
            r.steady_reads_per_reconcile,
            r.steady_writes_per_reconcile,
        );
    }
    out
}

fn measure(kubeconfig: &Path, instances: usize, concurrency: u16) -> Result<Report> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut operator = operator::start(
        "release",
        kubeconfig,
        &[
            format!("--metrics-bind-address=127.0.0.1:{port}"),
            "--health-probe-bind-address=0".to_owned(),
            "--log-level=warn".to_owned(),
            format!("--dynamic-controller-concurrent-reconciles={concurrency}"),
        ],
    )?;
    let result = measure_with(kubeconfig, instances, port, &operator).map(|report| Report {
        concurrency,
        ..report
    });
    operator::stop(&mut operator);
    result
}

fn measure_with(
    kubeconfig: &Path,
    instances: usize,
    port: u16,
    operator: &Child,
) -> Result<Report> {
    let example = workspace_root().join("examples/application");
    output(
        kubectl(kubeconfig)
            .arg("apply")
            .arg("-f")
            .arg(example.join("rgd.yaml")),
    )?;
    wait_until(Duration::from_secs(120), "the RGD to be Active", || {
        let state = output(kubectl(kubeconfig).args([
            "get",
            "rgd",
            "my-application",
            "-o",
            "jsonpath={.status.state}",
        ]))?;
        Ok(state == "Active")
    })?;

    let manifest = std::env::temp_dir().join(format!("kro-bench-{instances}.yaml"));
    std::fs::write(&manifest, instance_manifests(instances))?;
    eprintln!("xtask: applying {instances} instances");
    let start = Instant::now();
    output(
        kubectl(kubeconfig)
            .args(["apply", "--server-side", "-f"])
            .arg(&manifest),
    )?;
    let _ = std::fs::remove_file(&manifest);

    let mut active_after: BTreeMap<String, f64> = BTreeMap::new();
    let limit = Duration::from_secs(120 + instances as u64);
    while active_after.len() < instances {
        if start.elapsed() > limit {
            bail!(
                "only {} of {instances} instances were ACTIVE after {limit:?}",
                active_after.len()
            );
        }
        let states = output(kubectl(kubeconfig).args([
            "get",
            "applications",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}={.status.state}{"\n"}{end}"#,
        ]))?;
        let now = start.elapsed().as_secs_f64();
        for line in states.lines() {
            if let Some((name, "ACTIVE")) = line.split_once('=') {
                active_after.entry(name.to_owned()).or_insert(now);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut times: Vec<f64> = active_after.into_values().collect();
    times.sort_by(f64::total_cmp);
    let seconds_to_all_active = times.last().copied().unwrap_or_default();

    // Steady state: let the last events settle, then touch every
    // Deployment with a label kro does not own.
    std::thread::sleep(Duration::from_secs(10));
    let before = scrape(port)?;
    output(kubectl(kubeconfig).args([
        "label",
        "deployments",
        "-l",
        "kro.run/owned=true",
        "bench-touched=yes",
        "--overwrite",
    ]))?;
    std::thread::sleep(Duration::from_secs(15));
    let after = scrape(port)?;
    let delta = |name: &str, filter: &dyn Fn(&str) -> bool| {
        sum(&after, name, filter) - sum(&before, name, filter)
    };
    let reconciles = delta("instance_reconcile_total", &|_| true);
    let writes = delta("rest_client_requests_total", &|labels| {
        WRITE_VERBS
            .iter()
            .any(|verb| labels.contains(&format!("verb=\"{verb}\"")))
    });
    let requests = delta("rest_client_requests_total", &|labels| {
        !labels.contains("verb=\"watch\"")
    });
    let per = |count: f64| {
        if reconciles > 0.0 {
            count / reconciles
        } else {
            0.0
        }
    };
    Ok(Report {
        concurrency: 1,
        instances,
        seconds_to_all_active,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        peak_rss_mib: peak_rss_kib(operator.id())? / 1024.0,
        steady_reconciles: reconciles,
        steady_reads_per_reconcile: per(requests - writes),
        steady_writes_per_reconcile: per(writes),
    })
}

fn instance_manifests(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        let _ = write!(
            text,
            "---\napiVersion: kro.run/v1alpha1\nkind: Application\nmetadata:\n  name: bench-{i:04}\n  namespace: default\nspec:\n  name: bench-app-{i:04}\n  ingress:\n    enabled: true\n"
        );
    }
    text
}

fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    eprintln!("xtask: waiting for {what}");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("gave up waiting for {what} after {limit:?}")
}

/// The operator's metrics, in the Prometheus text format.
fn scrape(port: u16) -> Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .context("connect to the operator's metrics endpoint")?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The sum of a metric's samples whose labels pass `filter`.
fn sum(metrics: &str, name: &str, filter: &dyn Fn(&str) -> bool) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, labels) = match series.split_once('{') {
                Some((metric, labels)) => (metric, labels),
                None => (series, ""),
            };
            (metric == name && filter(labels)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `VmHWM` of a process, in KiB.
fn peak_rss_kib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_counters_by_label() {
        let text = "# HELP x\nrest_client_requests_total{verb=\"get\",code=\"200\"} 5\nrest_client_requests_total{verb=\"patch\",code=\"200\"} 2\ninstance_reconcile_total{gvr=\"a\"} 3\n";
        assert_eq!(sum(text, "rest_client_requests_total", &|_| true), 7.0);
        assert_eq!(
            sum(text, "rest_client_requests_total", &|l| l
                .contains("verb=\"patch\"")),
            2.0
        );
        assert_eq!(sum(text, "instance_reconcile_total", &|_| true), 3.0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&times, 0.5), 50.0);
        assert_eq!(percentile(&times, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }
}
