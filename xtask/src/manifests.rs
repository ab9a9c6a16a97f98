//! The plain install manifests under `deploy/`, rendered from the Helm chart
//! `charts/kro` by a `helm` built from its Go module (`tools/helm`); and the
//! chart's checks: `helm lint`, a rendering with an upstream-style values
//! file (`charts/kro/ci/`) that unit tests read, and values it must refuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cluster::go;
use crate::tools::{output, run, workspace_root};

/// The chart, relative to the workspace root.
const CHART: &str = "charts/kro";
/// The release name and namespace of the plain manifests.
const RELEASE: &str = "kro";
const NAMESPACE: &str = "kro-system";

/// One rendered file and the values it is rendered with, on top of the
/// chart's defaults: a values file, then `--set` values.
struct Variant {
    file: &'static str,
    values: Option<&'static str>,
    set: &'static [&'static str],
    /// An install manifest (with the Namespace the chart's namespace flag
    /// would create), or a rendering kept for tests.
    install: bool,
}

/// Every rendered file. The install manifests are rendered without Helm's
/// own labels: a `kubectl apply` does not make Helm manage the objects.
const VARIANTS: [Variant; 3] = [
    Variant {
        file: "deploy/kro.yaml",
        values: None,
        set: &["helmLabels=false"],
        install: true,
    },
    Variant {
        file: "deploy/kro-unrestricted.yaml",
        values: None,
        set: &["helmLabels=false", "rbac.mode=unrestricted"],
        install: true,
    },
    Variant {
        file: "charts/kro/ci/upstream-values.rendered.yaml",
        values: Some("charts/kro/ci/upstream-values.yaml"),
        set: &[],
        install: false,
    },
];

/// Values the chart must refuse, each with a part of the message it fails
/// with: unknown keys (so that a typo is not ignored; the operator's verbs
/// on `rbac.resources` are not a value) and upstream's keys this operator
/// cannot honour.
const REFUSED: [(&[&str], &str); 6] = [
    (&["config.noSuchFlag=1"], "noSuchFlag"),
    (&["noSuchKey=1"], "noSuchKey"),
    (
        &[
            "rbac.resources[0].apiGroups={apps}",
            "rbac.resources[0].resources={deployments}",
            "rbac.resources[0].verbs={get}",
        ],
        "verbs",
    ),
    (&["image.ko=true"], "image.ko"),
    (
        &[
            "debug.pprof.enabled=true",
            "debug.pprof.service.enabled=true",
        ],
        "no pprof endpoint",
    ),
    (
        &["config.logFormat=json", "config.logEncoder=console"],
        "set one",
    ),
];

/// `cargo xtask manifests [--check]`.
pub fn command(args: &[String]) -> Result<()> {
    match args {
        [] => run_all(false),
        [flag] if flag == "--check" => run_all(true),
        _ => bail!("usage: cargo xtask manifests [--check]"),
    }
}

/// Lints the chart and renders every variant; writes them, or with `check`
/// fails if a committed one differs.
pub fn run_all(check: bool) -> Result<()> {
    let root = workspace_root();
    check_chart_version(&root.join(CHART).join("Chart.yaml"))?;
    let helm = build_helm()?;
    for mode in ["unrestricted", "aggregation"] {
        run(Command::new(&helm)
            .current_dir(&root)
            .args(["lint", "--strict", CHART, "--set"])
            .arg(format!("rbac.mode={mode}")))?;
    }
    for (set, message) in REFUSED {
        refused(&helm, &root, set, message)?;
    }
    let mut stale = Vec::new();
    for variant in &VARIANTS {
        let rendered = render(&helm, &root, variant)?;
        let path = root.join(variant.file);
        if check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != rendered {
                stale.push(variant.file);
            }
        } else {
            std::fs::write(&path, rendered).with_context(|| format!("write {}", path.display()))?;
            eprintln!("xtask: wrote {}", variant.file);
        }
    }
    if !stale.is_empty() {
        bail!(
            "not what {CHART} renders: {}; run `cargo xtask manifests` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}

/// Builds `tools/helm/bin/helm` from the version pinned in
/// `tools/helm/go.mod`. The first build takes about a minute; Go's build
/// cache makes later ones a relink of a few seconds.
fn build_helm() -> Result<PathBuf> {
    let module = workspace_root().join("tools/helm");
    let version = output(go(&module).args(["list", "-m", "-f", "{{.Version}}", "helm.sh/helm/v3"]))
        .context("is Go installed? helm is built with it")?;
    let helm = module.join("bin/helm");
    run(go(&module)
        .args(["build", "-trimpath", "-ldflags"])
        .arg(format!(
            "-s -w -X helm.sh/helm/v3/internal/version.version={version}"
        ))
        .arg("-o")
        .arg(&helm)
        .arg("helm.sh/helm/v3/cmd/helm"))?;
    Ok(helm)
}

/// `helm template` of the chart with `values` and `set`.
fn template(
    helm: &Path,
    root: &Path,
    values: Option<&str>,
    set: &[&str],
    include_crds: bool,
) -> Command {
    let mut command = Command::new(helm);
    command
        .current_dir(root)
        .args(["template", RELEASE, CHART, "--namespace", NAMESPACE]);
    if include_crds {
        command.arg("--include-crds");
    }
    if let Some(file) = values {
        command.args(["--values", file]);
    }
    for value in set {
        command.args(["--set", value]);
    }
    command
}

/// Fails unless rendering with `set` fails with `message`.
fn refused(helm: &Path, root: &Path, set: &[&str], message: &str) -> Result<()> {
    let out = template(helm, root, None, set, false)
        .output()
        .context("run helm template")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains(message) {
        bail!(
            "{CHART} with {} must fail with a message containing {message:?}; got {}: {stderr}",
            set.join(" "),
            out.status
        );
    }
    Ok(())
}

/// `helm template` of one variant: an install manifest (CRDs included,
/// after a header and the Namespace that `helm install --create-namespace`
/// would make), or a rendering kept for tests.
fn render(helm: &Path, root: &Path, variant: &Variant) -> Result<String> {
    let body = output(&mut template(
        helm,
        root,
        variant.values,
        variant.set,
        variant.install,
    ))?;
    let values = variant
        .values
        .into_iter()
        .chain(variant.set.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if !variant.install {
        return Ok(format!(
            "# Rendered by `cargo xtask manifests` from {CHART}, release {RELEASE}, namespace {NAMESPACE},\n\
             # values: {values}; do not edit. Read by tests, not an install manifest.\n{body}\n"
        ));
    }
    let header = format!(
        "# Rendered by `cargo xtask manifests` from {CHART}, release {RELEASE}, namespace {NAMESPACE},\n\
         # values: {values}; do not edit.\n\
         # Install: kubectl apply --server-side -f {}\n",
        variant.file,
    );
    // The Namespace; the operator's pods meet the `restricted` Pod
    // Security Standard.
    let namespace = format!(
        r#"---
apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
  labels:
    app.kubernetes.io/part-of: kro
    pod-security.kubernetes.io/enforce: restricted
"#
    );
    Ok(format!("{header}{namespace}{body}\n"))
}

/// The chart's `version` and `appVersion` must be the workspace's version,
/// so that the default image tag names the operator built from this tree.
fn check_chart_version(chart_yaml: &Path) -> Result<()> {
    let text = std::fs::read_to_string(chart_yaml)
        .with_context(|| format!("read {}", chart_yaml.display()))?;
    let workspace = env!("CARGO_PKG_VERSION");
    for key in ["version", "appVersion"] {
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .map(|value| value.trim().trim_matches('"'))
            .with_context(|| format!("{} has no {key}", chart_yaml.display()))?;
        if value != workspace {
            bail!(
                "{} has {key}: {value}, but the workspace version is {workspace}",
                chart_yaml.display()
            );
        }
    }
    Ok(())
}
