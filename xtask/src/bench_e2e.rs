//! `cargo xtask bench-e2e [--concurrency C] [--crds K] [--operator PATH]
//! [N...]`: the load bench on the local control plane (not part of the
//! test command). `--operator` runs that binary instead of building the
//! operator (to compare two builds).
//! `--concurrency` is the operator's
//! `--dynamic-controller-concurrent-reconciles` (default 1, as upstream);
//! `--crds K` installs K generated CRDs (unrelated to any RGD) before the
//! operator starts, as in a cluster full of other operators' kinds.
//!
//! For each N (200 and 1000 by default) it starts a fresh control plane and
//! the operator (release build), registers the Application RGD of
//! `examples/application` (with the Ingress enabled), applies N instances
//! in one batch and reports:
//! - instances per second to `ACTIVE` (N over the time from the start of
//!   the batch until the last one is `ACTIVE`);
//! - p50 and p99 of each instance's time to `ACTIVE`, from the start of the
//!   batch (so it includes waiting in the queue behind the others), sampled
//!   every half second;
//! - API requests and writes per instance to `ACTIVE`: the operator's own
//!   request counters (`rest_client_requests_total`, watches excluded) from
//!   the start of the batch until the last instance is `ACTIVE`, over N;
//! - operator CPU per instance to `ACTIVE` (user and system time from
//!   `/proc/<pid>/stat` over the same span, over N);
//! - the operator's resident memory once the RGD is active and before any
//!   instance (`VmRSS`, "startup") and its peak over the whole run
//!   (`VmHWM`);
//! - API requests per reconcile in steady state: every Deployment gets a
//!   label that changes nothing kro owns, each event triggers a reconcile of
//!   its instance, and the operator's request counters over those
//!   reconciles (`instance_reconcile_total`) give reads and writes per
//!   reconcile. The target is zero writes;
//! - the load average of the machine during the batch (other builds may
//!   share it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cluster::{self, Running};
use crate::operator::{self, kubectl};
use crate::tools::{cargo, output, workspace_root};

/// Verbs that change something on the API server.
const WRITE_VERBS: [&str; 5] = ["create", "patch", "update", "replace", "delete"];

/// What the command line asks for.
struct Settings {
    concurrency: u16,
    crds: usize,
    operator: Option<PathBuf>,
    sizes: Vec<usize>,
}

/// What one run measured.
struct Report {
    concurrency: u16,
    crds: usize,
    instances: usize,
    seconds_to_all_active: f64,
    p50: f64,
    p99: f64,
    requests_per_instance: f64,
    writes_per_instance: f64,
    cpu_ms_per_instance: f64,
    startup_rss_mib: f64,
    peak_rss_mib: f64,
    load_average: String,
    steady_reconciles: f64,
    steady_reads_per_reconcile: f64,
    steady_writes_per_reconcile: f64,
}

/// The operator's request counters at one moment.
struct Requests {
    all: f64,
    writes: f64,
}

fn settings(mut args: &[String]) -> Result<Settings> {
    let mut concurrency = 1;
    let mut crds = 0;
    let mut operator = None;
    loop {
        match args {
            [flag, value, rest @ ..] if flag == "--concurrency" => {
                concurrency = value
                    .parse::<u16>()
                    .with_context(|| format!("{value:?} is not a concurrency"))?;
                args = rest;
            }
            [flag, value, rest @ ..] if flag == "--crds" => {
                crds = value
                    .parse::<usize>()
                    .with_context(|| format!("{value:?} is not a number of CRDs"))?;
                args = rest;
            }
            [flag, value, rest @ ..] if flag == "--operator" => {
                operator = Some(PathBuf::from(value));
                args = rest;
            }
            _ => break,
        }
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![200, 1000]
    } else {
        args.iter()
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} is not a number of instances"))
            })
            .collect::<Result<_>>()?
    };
    Ok(Settings {
        concurrency,
        crds,
        operator,
        sizes,
    })
}

pub fn run(args: &[String]) -> Result<()> {
    let settings = settings(args)?;
    let binaries = cluster::build()?;
    if settings.operator.is_none() {
        cargo(&["build", "--release", "-p", "kro-operator"])?;
    }
    let mut reports = Vec::new();
    for &instances in &settings.sizes {
        let running = Running::start(&binaries)?;
        let result = install_crds(running.kubeconfig(), settings.crds)
            .and_then(|()| measure(running.kubeconfig(), instances, &settings));
        running.stop()?;
        reports.push(result?);
    }
    println!("{}", table(&reports));
    Ok(())
}

fn table(reports: &[Report]) -> String {
    let mut out = String::from(
        "| concurrency | extra CRDs | instances | all ACTIVE after | instances/s | p50 | p99 | requests/instance (writes) | CPU/instance | RSS startup, peak | steady reconciles | reads, writes/reconcile | load |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} s | {:.1} | {:.1} s | {:.1} s | {:.1} ({:.1}) | {:.1} ms | {:.0}, {:.0} MiB | {:.0} | {:.2}, {:.2} | {} |",
            r.concurrency,
            r.crds,
            r.instances,
            r.seconds_to_all_active,
            r.instances as f64 / r.seconds_to_all_active,
            r.p50,
            r.p99,
            r.requests_per_instance,
            r.writes_per_instance,
            r.cpu_ms_per_instance,
            r.startup_rss_mib,
            r.peak_rss_mib,
            r.steady_reconciles,
            r.steady_reads_per_reconcile,
            r.steady_writes_per_reconcile,
            r.load_average,
        );
    }
    out
}

fn measure(kubeconfig: &Path, instances: usize, settings: &Settings) -> Result<Report> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let flags = [
        format!("--metrics-bind-address=127.0.0.1:{port}"),
        "--health-probe-bind-address=0".to_owned(),
        "--log-level=warn".to_owned(),
        format!(
            "--dynamic-controller-concurrent-reconciles={}",
            settings.concurrency
        ),
    ];
    let mut operator = match &settings.operator {
        Some(binary) => operator::start_binary(binary, kubeconfig, &flags)?,
        None => operator::start("release", kubeconfig, &flags)?,
    };
    let result = measure_with(kubeconfig, instances, port, &operator).map(|report| Report {
        concurrency: settings.concurrency,
        crds: settings.crds,
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
    // Let the startup settle (watches listed, the RGD's status written).
    std::thread::sleep(Duration::from_secs(3));
    let startup_rss_mib = proc_status_kib(operator.id(), "VmRSS:")? / 1024.0;

    let manifest = std::env::temp_dir().join(format!("kro-bench-{instances}.yaml"));
    std::fs::write(&manifest, instance_manifests(instances))?;
    eprintln!("xtask: applying {instances} instances");
    let load_before = load_average()?;
    let requests_before = requests(&scrape(port)?);
    let cpu_before = cpu_seconds(operator.id())?;
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
    let cpu_to_active = cpu_seconds(operator.id())? - cpu_before;
    let requests_to_active = requests(&scrape(port)?);
    let load_after = load_average()?;
    let mut times: Vec<f64> = active_after.into_values().collect();
    times.sort_by(f64::total_cmp);
    let seconds_to_all_active = times.last().copied().unwrap_or_default();
    let per_instance = |value: f64| value / instances.max(1) as f64;

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
    let reconciles = sum(&after, "instance_reconcile_total", &|_| true)
        - sum(&before, "instance_reconcile_total", &|_| true);
    let (steady_before, steady_after) = (requests(&before), requests(&after));
    let writes = steady_after.writes - steady_before.writes;
    let all = steady_after.all - steady_before.all;
    let per = |count: f64| {
        if reconciles > 0.0 {
            count / reconciles
        } else {
            0.0
        }
    };
    Ok(Report {
        concurrency: 1,
        crds: 0,
        instances,
        seconds_to_all_active,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        requests_per_instance: per_instance(requests_to_active.all - requests_before.all),
        writes_per_instance: per_instance(requests_to_active.writes - requests_before.writes),
        cpu_ms_per_instance: per_instance(cpu_to_active * 1000.0),
        startup_rss_mib,
        peak_rss_mib: proc_status_kib(operator.id(), "VmHWM:")? / 1024.0,
        load_average: format!("{load_before} → {load_after}"),
        steady_reconciles: reconciles,
        steady_reads_per_reconcile: per(all - writes),
        steady_writes_per_reconcile: per(writes),
    })
}

/// The operator's requests so far (watches excluded), and its writes.
fn requests(metrics: &str) -> Requests {
    let writes = sum(metrics, "rest_client_requests_total", &|labels| {
        WRITE_VERBS
            .iter()
            .any(|verb| labels.contains(&format!("verb=\"{verb}\"")))
    });
    let all = sum(metrics, "rest_client_requests_total", &|labels| {
        !labels.contains("verb=\"watch\"")
    });
    Requests { all, writes }
}

/// Installs `count` generated CRDs and waits until they are served.
fn install_crds(kubeconfig: &Path, count: usize) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let manifest = std::env::temp_dir().join(format!("kro-bench-crds-{count}.yaml"));
    std::fs::write(&manifest, crd_manifests(count))?;
    eprintln!("xtask: installing {count} generated CRDs");
    let applied = output(
        kubectl(kubeconfig)
            .args(["apply", "--server-side", "-f"])
            .arg(&manifest),
    );
    let _ = std::fs::remove_file(&manifest);
    applied?;
    output(kubectl(kubeconfig).args([
        "wait",
        "--for=condition=Established",
        "crd",
        "-l",
        "bench.kro.run/generated=true",
        "--timeout=300s",
    ]))?;
    Ok(())
}

/// `count` CRDs of a made-up group, each with a schema of some size
/// (nested objects, lists, descriptions, enums), so that an operator that
/// reads every CRD's schema at startup pays for it as it would in a
/// cluster with many operators installed.
fn crd_manifests(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        let kind = format!("Generated{i:03}");
        let plural = format!("generated{i:03}s");
        let _ = write!(
            text,
            "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.bench.kro.run\n  labels:\n    bench.kro.run/generated: \"true\"\nspec:\n  group: bench.kro.run\n  scope: Namespaced\n  names:\n    kind: {kind}\n    plural: {plural}\n    singular: generated{i:03}\n    listKind: {kind}List\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      subresources:\n        status: {{}}\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            spec:\n              type: object\n              description: The desired state of a generated kind, for the bench.\n              properties:\n"
        );
        for field in 0..20 {
            let _ = write!(
                text,
                "                field{field:02}:\n                  type: object\n                  description: Field {field} of {kind}, nested to look like a real API.\n                  properties:\n                    name:\n                      type: string\n                      maxLength: 253\n                    mode:\n                      type: string\n                      enum: [Always, Never, IfNeeded]\n                    replicas:\n                      type: integer\n                      minimum: 0\n                    items:\n                      type: array\n                      items:\n                        type: object\n                        properties:\n                          key:\n                            type: string\n                          value:\n                            type: string\n"
            );
        }
        text.push_str(
            "            status:\n              type: object\n              x-kubernetes-preserve-unknown-fields: true\n",
        );
    }
    text
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

/// A field of `/proc/<pid>/status` given in KiB (`VmRSS:`, `VmHWM:`).
fn proc_status_kib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/<pid>/status"))
}

/// The user and system CPU time a process has used, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = cpu_ticks(&stat).context("unexpected /proc/<pid>/stat")?;
    let per_second: f64 = output(std::process::Command::new("getconf").arg("CLK_TCK"))?
        .trim()
        .parse()
        .context("getconf CLK_TCK")?;
    Ok(ticks / per_second)
}

/// `utime + stime` from a `/proc/<pid>/stat` line: fields 14 and 15,
/// counted after the command name, which is in parentheses and may hold
/// spaces.
fn cpu_ticks(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The one-minute load average.
fn load_average() -> Result<String> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    Ok(text.split_whitespace().next().unwrap_or("?").to_owned())
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
    fn reads_cpu_ticks_after_the_command_name() {
        let stat = "4242 (kro op) S 1 4242 4242 0 -1 4194560 2045 0 0 0 150 27 0 0 20 0 9 0";
        assert_eq!(cpu_ticks(stat), Some(177.0));
    }

    #[test]
    fn generated_crds_are_documents() {
        let text = crd_manifests(2);
        assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 2);
        assert!(text.contains("name: generated001s.bench.kro.run"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&times, 0.5), 50.0);
        assert_eq!(percentile(&times, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }
}
