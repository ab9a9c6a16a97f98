//! `kro render`: one reconcile pass of an instance, offline.
//!
//! The pass runs against an in-memory cluster seeded with the objects the
//! user supplies as observed state (`--observed DIR`), so it shows exactly
//! what the operator would do next: the objects it would apply, each
//! resource's state, and the instance's status. Supplying more observed
//! state (the Deployment, then the Service, ...) walks the graph forward.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use kro_graph::builder::{Graph, GraphResource};
use kro_runtime::cluster::{Cluster, MemoryCluster, ObjectKey, ResourceType};
use kro_runtime::{Options, Outcome, reconcile};
use kro_schema::defaulting::apply_defaults;
use serde_json::{Value, json};

use crate::format::Format;
use crate::limits::LimitArgs;
use crate::source::{GateArgs, builder, load, manifest_files, warn_duplicates, write_problems};
use crate::yaml;

/// Show what one reconcile of an instance would do, offline.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The RGD file.
    rgd: PathBuf,
    /// The instance file.
    instance: PathBuf,
    /// A directory of YAML files (or one file) with objects as they are in
    /// the cluster: their status, what exists already.
    #[arg(long, value_name = "DIR_OR_FILE")]
    observed: Vec<PathBuf>,
    /// Output format. YAML: the objects as a YAML stream, node states as
    /// comments, then the instance with its status. JSON:
    /// `{"resources": [...], "nodes": [...], "status": {...}}`.
    #[arg(long, short, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// CRD files, or directories of them, defining kinds the RGD uses.
    #[arg(long = "crd", value_name = "DIR_OR_FILE")]
    crds: Vec<PathBuf>,
    #[command(flatten)]
    gates: GateArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The time written into conditions, so that the same input gives the same
/// output.
const RENDER_TIME: &str = "2000-01-01T00:00:00Z";

/// Renders; returns false (after reporting the RGD's problems on standard
/// error) when the RGD is invalid.
pub fn run(args: &RenderArgs) -> Result<bool> {
    let loaded = load(&builder(&args.crds, args.gates.gates())?, &args.rgd);
    warn_duplicates(&args.rgd, &loaded)?;
    let graph = match loaded.result {
        Ok(graph) => graph,
        Err(problems) => {
            write_problems(
                &mut std::io::stderr().lock(),
                &args.rgd,
                &loaded.text,
                &problems,
            )?;
            return Ok(false);
        }
    };
    let cluster = MemoryCluster::new();
    for path in &args.observed {
        seed_observed(&cluster, &graph, path)?;
    }
    let instance = seed_instance(&cluster, &graph, &args.instance)?;
    let options = Options {
        rgd_uid: "rendered".to_owned(),
        now: Some(RENDER_TIME.to_owned()),
        evaluation: args.limits.evaluation(),
        ..Options::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("start the async runtime")?;
    let outcome = runtime
        .block_on(reconcile(&graph, &instance, &cluster, &options))
        .context("the reconcile pass failed")?;
    // The instance as the pass left it: kro's labels, finalizer and status.
    let key = ObjectKey::of(&graph.instance_type, &instance).context("the rendered instance")?;
    let stored = runtime
        .block_on(cluster.get(&key))
        .context("read the rendered instance")?
        .unwrap_or(instance);
    let output = match args.output {
        Format::Json => serde_json::to_string_pretty(&as_json(&outcome))? + "\n",
        Format::Yaml => as_yaml(&outcome, &stored)?,
    };
    print!("{output}");
    Ok(true)
}

fn as_json(outcome: &Outcome) -> Value {
    json!({
        "resources": outcome.desired,
        "nodes": outcome.nodes.iter().map(|n| json!({
            "id": n.id,
            "state": n.state.as_str(),
            "reason": n.reason,
        })).collect::<Vec<_>>(),
        "status": outcome.computed_status,
    })
}

fn as_yaml(outcome: &Outcome, instance: &Value) -> Result<String> {
    let mut out = String::new();
    for object in &outcome.desired {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(object).context("write YAML")?);
    }
    out.push_str("---\n# Resources, in topological order:\n");
    let width = outcome.nodes.iter().map(|n| n.id.len()).max().unwrap_or(0);
    for node in &outcome.nodes {
        let line = match &node.reason {
            Some(reason) => format!("{:width$}  {}  {reason}", node.id, node.state),
            None => format!("{:width$}  {}", node.id, node.state),
        };
        out.push_str(&format!("#   {}\n", line.trim_end()));
    }
    out.push_str("# The instance after this pass:\n");
    let mut instance = instance.clone();
    instance["status"] = outcome.computed_status.clone();
    if let Some(metadata) = instance["metadata"].as_object_mut() {
        // Made up for the render; they would only confuse.
        for invented in ["uid", "resourceVersion", "generation", "creationTimestamp"] {
            metadata.remove(invented);
        }
    }
    out.push_str(&serde_saphyr::to_string(&instance).context("write YAML")?);
    Ok(out)
}

/// Reads the instance, fills in its schema's defaults as the API server
/// would, and stores it.
fn seed_instance(cluster: &MemoryCluster, graph: &Graph, path: &Path) -> Result<Value> {
    let documents = read_documents(path)?;
    let [mut instance] = <[Value; 1]>::try_from(documents).map_err(|documents| {
        anyhow::anyhow!(
            "{}: expected one instance, found {} documents",
            path.display(),
            documents.len()
        )
    })?;
    let resource = &graph.instance_type;
    if instance["kind"] != resource.gvk.kind.as_str()
        || instance["apiVersion"] != resource.api_version().as_str()
    {
        bail!(
            "{}: the instance is a {} {}, the RGD defines {} {}",
            path.display(),
            instance["apiVersion"],
            instance["kind"],
            resource.api_version(),
            resource.gvk.kind
        );
    }
    let schema = graph
        .instance_crd
        .spec
        .versions
        .first()
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref());
    if let Some(schema) = schema {
        apply_defaults(schema, &mut instance);
    }
    let metadata = instance
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .with_context(|| format!("{}: the instance has no metadata", path.display()))?;
    if resource.namespaced && !metadata.contains_key("namespace") {
        metadata.insert("namespace".into(), json!("default"));
    }
    metadata.entry("generation").or_insert(json!(1));
    metadata
        .entry("creationTimestamp")
        .or_insert(json!(RENDER_TIME));
    cluster
        .insert(resource, instance)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Stores every object in the file or directory as observed state.
fn seed_observed(cluster: &MemoryCluster, graph: &Graph, path: &Path) -> Result<()> {
    for file in manifest_files(path)? {
        for mut object in read_documents(&file)? {
            let resource = type_of(graph, &object).with_context(|| {
                format!(
                    "{}: {} {} is not a kind this RGD uses",
                    file.display(),
                    object["apiVersion"],
                    object["kind"]
                )
            })?;
            if resource.namespaced && object["metadata"]["namespace"].is_null() {
                object["metadata"]["namespace"] = json!("default");
            }
            cluster
                .insert(resource, object)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        }
    }
    Ok(())
}

fn type_of<'g>(graph: &'g Graph, object: &Value) -> Option<&'g ResourceType> {
    graph
        .resources
        .iter()
        .map(GraphResource::resource_type)
        .find(|t| {
            object["apiVersion"] == t.api_version().as_str()
                && object["kind"] == t.gvk.kind.as_str()
        })
}

/// The YAML documents of a file (empty documents skipped); repeated keys
/// are warned about.
fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let documents: Vec<Value> = yaml::read_documents(&text)
        .with_context(|| format!("{}: not valid YAML", path.display()))?;
    yaml::warn(path, &text).context("write to standard error")?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}
