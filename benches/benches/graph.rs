//! The graph builder: from an RGD to a validated, ordered graph, as the RGD
//! controller does on every RGD change and `kro validate` does per file.
//!
//! The schema resolver is warmed by one build before measuring, as it is in
//! the operator (it caches resolved kinds), so the figures are the
//! builder's own cost.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::resolver::BuiltinSchemas;
use serde_json::{Value, json};

const APPLICATION: &str = include_str!("../../examples/application/rgd.yaml");

fn builder() -> Builder {
    Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::standard(),
        BuildOptions::default(),
    )
}

/// `count` ConfigMaps; in a chain each reads the one before, in a fan each
/// reads the first.
fn generated(count: usize, chain: bool) -> ResourceGraphDefinition {
    let resources: Vec<Value> = (0..count)
        .map(|i| {
            let source = if i == 0 {
                "schema.spec.name".to_owned()
            } else if chain {
                format!("r{}.metadata.name", i - 1)
            } else {
                "r0.metadata.name".to_owned()
            };
            json!({
                "id": format!("r{i}"),
                "template": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": format!("${{{source}}}-{i}") },
                    "data": { "from": format!("${{{source}}}") }
                }
            })
        })
        .collect();
    serde_json::from_value(json!({
        "metadata": { "name": "generated" },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Generated", "spec": { "name": "string" } },
            "resources": resources
        }
    }))
    .expect("generated RGD is well-formed")
}

fn bench(c: &mut Criterion) {
    let builder = builder();
    let application: ResourceGraphDefinition =
        serde_saphyr::from_str(APPLICATION).expect("the example parses");
    builder.build(&application).expect("the example builds");
    c.bench_function("graph/application", |b| {
        b.iter(|| builder.build(black_box(&application)).expect("builds"))
    });

    let mut group = c.benchmark_group("graph/generated");
    group.sample_size(20);
    for count in [100, 500] {
        for (shape, chain) in [("chain", true), ("fan", false)] {
            let rgd = generated(count, chain);
            builder.build(&rgd).expect("generated RGD builds");
            group.bench_with_input(BenchmarkId::new(shape, count), &rgd, |b, rgd| {
                b.iter(|| builder.build(black_box(rgd)).expect("builds"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
