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
use kro_graph::api::Lifecycle;
use kro_graph::api::metadata::{APPLYSET_PART_OF, InstanceIdentity};
use kro_graph::builder::{Graph, GraphResource};
use kro_runtime::cluster::{Cluster, MemoryCluster, ObjectKey, ResourceType};
use kro_runtime::{Options, Outcome, reconcile};
use kro_schema::defaulting::apply_defaults;
use serde_json::{Value, json};

use crate::diagnostics::{Diagnostic, Located};
use crate::format::Format;
use crate::input::{self, Source};
use crate::limits::LimitArgs;
use crate::source::{GateArgs, builder, load_graph, report};
use crate::{shape, yaml};

/// Show what one reconcile of an instance would do, offline.
///
/// The instance is first checked against the CRD the RGD generates, as the
/// API server checks it on create (defaults applied, then the schema and
/// its `x-kubernetes-validations` rules); an instance it refuses is not
/// rendered, and `kro render` exits 1.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The RGD file (`-`: standard input).
    rgd: PathBuf,
    /// The instance file (`-`: standard input).
    instance: PathBuf,
    /// A file, a directory (read recursively) or `-` with objects as they
    /// are in the cluster: their status, what exists already. A file may
    /// hold many documents, and a `List` (`kubectl get a,b -o yaml`). An object without
    /// an `applyset.kubernetes.io/part-of` label is taken to be the
    /// instance's own child; give it the label (empty: no ApplySet) to see
    /// how kro treats an object it does not own.
    #[arg(long, value_name = "DIR_OR_FILE")]
    observed: Vec<PathBuf>,
    /// Output format. YAML: the objects as a YAML stream, node states and
    /// each resource's lifecycle policies as comments, then the instance
    /// with its status. JSON: `{"resources": [...], "nodes": [...],
    /// "status": {...}}`, each node with its `lifecycle` (`adoption` and
    /// `deletion`; null for an externalRef).
    #[arg(long, short, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// CRD files, directories of them, or `-`, defining kinds the RGD uses
    /// (many documents a file, and `List`s, are read).
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
    let Some(graph) = load_graph(&builder(&args.crds, args.gates.gates())?, &args.rgd)? else {
        return Ok(false);
    };
    let cluster = MemoryCluster::new();
    let Some(instance) = seed_instance(&cluster, &graph, &args.instance)? else {
        return Ok(false);
    };
    let applyset = applyset_id(&graph, &instance);
    for source in input::read_all(&args.observed)? {
        seed_observed(&cluster, &graph, &applyset, &source)?;
    }
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
        Format::Json => serde_json::to_string_pretty(&as_json(&graph, &outcome))? + "\n",
        Format::Yaml => as_yaml(&graph, &outcome, &stored)?,
    };
    print!("{output}");
    Ok(true)
}

/// The lifecycle policies of resource `id`; `None` for an externalRef
/// (and for an id the graph does not have).
fn lifecycle(graph: &Graph, id: &str) -> Option<Lifecycle> {
    graph.resource(id)?.structure.lifecycle
}

fn as_json(graph: &Graph, outcome: &Outcome) -> Value {
    json!({
        "resources": outcome.desired,
        "nodes": outcome.nodes.iter().map(|n| json!({
            "id": n.id,
            "state": n.state.as_str(),
            "reason": n.reason,
            "lifecycle": lifecycle(graph, &n.id).map(|l| json!({
                "adoption": l.adoption.as_str(),
                "deletion": l.deletion.as_str(),
            })),
        })).collect::<Vec<_>>(),
        "status": outcome.computed_status,
    })
}

/// One comment line per resource, in topological order: its adoption and
/// deletion policies.
fn lifecycle_comments(graph: &Graph) -> String {
    let width = graph
        .topological_order
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0);
    let mut out = String::from("# Lifecycle policies (adoption, deletion):\n");
    for id in &graph.topological_order {
        let line = match lifecycle(graph, id) {
            Some(l) => format!("{id:width$}  {}  {}", l.adoption, l.deletion),
            None => format!("{id:width$}  read only (externalRef)"),
        };
        out.push_str(&format!("#   {}\n", line.trim_end()));
    }
    out
}

fn as_yaml(graph: &Graph, outcome: &Outcome, instance: &Value) -> Result<String> {
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
    out.push_str(&lifecycle_comments(graph));
    out.push_str("# The instance after this pass:\n");
    let mut instance = instance.clone();
    // The shape check made the instance a mapping with a metadata mapping.
    if let Some(fields) = instance.as_object_mut() {
        fields.insert("status".to_owned(), outcome.computed_status.clone());
        if let Some(metadata) = fields.get_mut("metadata").and_then(Value::as_object_mut) {
            // Made up for the render; they would only confuse.
            for invented in ["uid", "resourceVersion", "generation", "creationTimestamp"] {
                metadata.remove(invented);
            }
        }
    }
    out.push_str(&serde_saphyr::to_string(&instance).context("write YAML")?);
    Ok(out)
}

/// Reads the instance, checks its shape, fills in its schema's defaults
/// and checks it against the schema as the API server would, and stores
/// it; `None` (the errors written on standard error) when the schema
/// refuses it.
fn seed_instance(cluster: &MemoryCluster, graph: &Graph, path: &Path) -> Result<Option<Value>> {
    let source = input::read(path)?;
    report(&source, &yaml::duplicate_warnings(&source.text));
    let objects = input::objects(&source)?;
    let [object] = objects.as_slice() else {
        bail!(
            "{}: expected one instance, found {} objects",
            source.name,
            objects.len()
        );
    };
    shape::check(object).map_err(|d| Located::new(&source, vec![d]))?;
    let mut instance = object.value.clone();
    let resource = &graph.instance_type;
    if instance["kind"] != resource.gvk.kind.as_str()
        || instance["apiVersion"] != resource.api_version().as_str()
    {
        let message = format!(
            "the instance is a {} {}, the RGD defines {} {}",
            instance["apiVersion"],
            instance["kind"],
            resource.api_version(),
            resource.gvk.kind
        );
        return Err(
            Located::new(&source, vec![Diagnostic::error(message).at(object.start())]).into(),
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
        let errors = crate::instance::check(schema, &instance, object);
        if !errors.is_empty() {
            report(&source, &errors);
            return Ok(None);
        }
    }
    let metadata = instance
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .with_context(|| format!("{}: the instance has no metadata", source.name))?;
    if resource.namespaced && !metadata.contains_key("namespace") {
        metadata.insert("namespace".into(), json!("default"));
    }
    metadata.entry("generation").or_insert(json!(1));
    metadata
        .entry("creationTimestamp")
        .or_insert(json!(RENDER_TIME));
    cluster
        .insert(resource, instance)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", source.name))
}

/// The ApplySet id of the stored `instance`.
fn applyset_id(graph: &Graph, instance: &Value) -> String {
    let text = |field: &str| instance["metadata"][field].as_str().map(str::to_owned);
    let kind = &graph.instance_type.gvk;
    InstanceIdentity {
        name: text("name").unwrap_or_default(),
        namespace: text("namespace"),
        uid: text("uid").unwrap_or_default(),
        group: kind.group.clone(),
        version: kind.version.clone(),
        kind: kind.kind.clone(),
    }
    .applyset_id()
}

/// Stores every object of the sources (many documents a file, `List`s
/// expanded) as observed state; one without an ApplySet label becomes a
/// member of `applyset` (observed state is mostly the instance's own
/// children, which carry it).
fn seed_observed(
    cluster: &MemoryCluster,
    graph: &Graph,
    applyset: &str,
    source: &Source,
) -> Result<()> {
    report(source, &yaml::duplicate_warnings(&source.text));
    for object in input::objects(source)? {
        let located = |message: String| {
            Located::new(source, vec![Diagnostic::error(message).at(object.start())])
        };
        shape::check(&object).map_err(|d| Located::new(source, vec![d]))?;
        let resource = type_of(graph, &object.value).ok_or_else(|| {
            located(format!(
                "{} {} is not a kind this RGD uses",
                object.value["apiVersion"], object.value["kind"]
            ))
        })?;
        let mut value = object.value.clone();
        // The shape check made `metadata` a mapping.
        if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            if resource.namespaced && !metadata.contains_key("namespace") {
                metadata.insert("namespace".into(), json!("default"));
            }
            let labels = metadata.entry("labels").or_insert_with(|| json!({}));
            if labels.is_null() {
                *labels = json!({});
            }
            if let Some(labels) = labels.as_object_mut() {
                labels
                    .entry(APPLYSET_PART_OF)
                    .or_insert_with(|| json!(applyset));
            }
        }
        cluster
            .insert(resource, value)
            .map_err(|e| located(e.to_string()))?;
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
