//! Golden tests: RGDs of our own covering the builder's features, each
//! with the graph and instance CRD the builder makes of it, kept in
//! `tests/rgds/*.golden.json`. Set `KRO_UPDATE_GOLDEN=1` to rewrite them
//! after a deliberate change, and review the diff.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::resolver::BuiltinSchemas;
use serde_json::{Value, json};

/// The RGDs and where each one's golden file is: the user's Application
/// example, then ours in `tests/rgds`.
fn rgds() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/rgds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/rgds")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let application = (
        root.join("../../examples/application/rgd.yaml"),
        dir.join("application.golden.json"),
    );
    std::iter::once(application)
        .chain(files.into_iter().map(|file| {
            let golden = file.with_extension("golden.json");
            (file, golden)
        }))
        .collect()
}

/// What the golden file records of a graph.
fn summary(graph: &Graph) -> Value {
    let resources: Vec<Value> = graph
        .resources
        .iter()
        .map(|r| {
            json!({
                "id": r.structure.id,
                "kind": format!("{:?}", r.structure.kind),
                "gvk": r.structure.schema.resource_type.gvk.to_string(),
                "dependencies": r.dependencies,
                "expressions": r.expressions.iter().map(|e| json!({
                    "path": e.path.to_string(),
                    "expression": e.source,
                    "type": e.compiled.result_type().to_string(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "rgd": graph.rgd,
        "topologicalOrder": graph.topological_order,
        "deletionWaves": graph.dependencies.deletion_waves(),
        "resources": resources,
        "statusDependencies": graph.status.dependencies,
        "instanceCrd": graph.instance_crd,
    })
}

#[test]
fn every_rgd_builds_as_recorded() {
    let builder = Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    );
    let update = std::env::var_os("KRO_UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (file, golden) in rgds() {
        let text = std::fs::read_to_string(&file).expect("read");
        let rgd: ResourceGraphDefinition = serde_saphyr::from_str(&text).expect("an RGD");
        let graph = builder
            .build(&rgd)
            .unwrap_or_else(|e| panic!("{} does not build:\n{e}", file.display()));
        let actual = serde_json::to_string_pretty(&summary(&graph)).expect("JSON") + "\n";
        if update {
            std::fs::write(&golden, &actual).expect("write golden");
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
            stale.push(golden.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (run with KRO_UPDATE_GOLDEN=1 and review): {stale:?}"
    );
}
