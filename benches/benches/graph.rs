//! The graph builder: from an RGD to a validated, ordered graph, as the RGD
//! controller does on every RGD change and `kro validate` does per file.
//!
//! The schema resolver is warmed by one build before measuring, as it is in
//! the operator (it caches resolved kinds), so the figures are the
//! builder's own cost.
//!
//! `graph/upstream/*` take the inputs of upstream's own graph benchmarks
//! (a ConfigMap and a Pod with 4 expressions; 20 independent Pods with 21
//! expressions; a Pod collection over `schema.spec.regions`), each built
//! against the real Kubernetes schemas and against small hand-written Pod
//! and ConfigMap schemas like those of upstream's fake resolver.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder};
use kro_graph::resolver::{BuiltinSchemas, Gvk, KindSchema, ResolveError, SchemaResolver};
use kro_schema::kinds::ResourceType;
use serde_json::{Value, json};

const APPLICATION: &str = include_str!("../../examples/application/rgd.yaml");

fn builder() -> Builder {
    builder_with(Arc::new(BuiltinSchemas::new()))
}

fn builder_with(resolver: Arc<dyn SchemaResolver>) -> Builder {
    Builder::new(resolver, Env::kro(), BuildOptions::default())
}

/// Pods and ConfigMaps only, with small hand-written schemas: metadata
/// (name, namespace, labels, annotations), a Pod's containers (name, image,
/// env) and phase, a ConfigMap's data.
struct SmallSchemas {
    pod: Arc<KindSchema>,
    config_map: Arc<KindSchema>,
}

impl SmallSchemas {
    fn new() -> Self {
        let metadata = json!({
            "type": "object",
            "properties": {
                "name": { "type": "string" },
                "namespace": { "type": "string" },
                "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                "annotations": { "type": "object", "additionalProperties": { "type": "string" } }
            }
        });
        let pod = json!({
            "type": "object",
            "properties": {
                "apiVersion": { "type": "string" },
                "kind": { "type": "string" },
                "metadata": metadata,
                "spec": {
                    "type": "object",
                    "properties": {
                        "containers": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": { "type": "string" },
                                    "image": { "type": "string" },
                                    "env": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "name": { "type": "string" },
                                                "value": { "type": "string" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
                "status": {
                    "type": "object",
                    "properties": { "phase": { "type": "string" } }
                }
            }
        });
        let config_map = json!({
            "type": "object",
            "properties": {
                "apiVersion": { "type": "string" },
                "kind": { "type": "string" },
                "metadata": metadata,
                "data": { "type": "object", "additionalProperties": { "type": "string" } }
            }
        });
        let kind = |kind: &str, plural: &str, schema: Value| {
            Arc::new(KindSchema {
                resource_type: ResourceType::new(Gvk::new("", "v1", kind), plural, true),
                schema: serde_json::from_value(schema).expect("a hand-written schema"),
            })
        };
        Self {
            pod: kind("Pod", "pods", pod),
            config_map: kind("ConfigMap", "configmaps", config_map),
        }
    }
}

impl SchemaResolver for SmallSchemas {
    fn resolve(&self, gvk: &Gvk) -> Result<Arc<KindSchema>, ResolveError> {
        match (gvk.group.as_str(), gvk.version.as_str(), gvk.kind.as_str()) {
            ("", "v1", "Pod") => Ok(Arc::clone(&self.pod)),
            ("", "v1", "ConfigMap") => Ok(Arc::clone(&self.config_map)),
            _ => Err(ResolveError::UnknownKind { gvk: gvk.clone() }),
        }
    }
}

fn rgd(name: &str, spec: Value, resources: Vec<Value>, status: Value) -> ResourceGraphDefinition {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": {
            "schema": { "apiVersion": "v1alpha1", "kind": "Bench", "spec": spec, "status": status },
            "resources": resources
        }
    }))
    .expect("bench RGD is well-formed")
}

/// A ConfigMap and a Pod reading it: 4 expressions.
fn config_map_and_pod() -> ResourceGraphDefinition {
    rgd(
        "simple",
        json!({ "name": "string", "value": "string" }),
        vec![
            json!({ "id": "config", "template": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "${schema.spec.name}-config" },
                "data": { "value": "${schema.spec.value}" }
            }}),
            json!({ "id": "pod", "template": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": { "name": "${schema.spec.name}" },
                "spec": { "containers": [{
                    "name": "main", "image": "nginx",
                    "env": [{ "name": "VALUE", "value": "${config.data.value}" }]
                }]}
            }}),
        ],
        json!({}),
    )
}

/// 20 Pods reading only `schema`, and a status field: 21 expressions.
fn independent_pods() -> ResourceGraphDefinition {
    let pods = (0..20)
        .map(|i| {
            json!({ "id": format!("pod{i}"), "template": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": { "name": format!("${{schema.spec.name}}-{i}") },
                "spec": { "containers": [{ "name": "main", "image": "nginx" }] }
            }})
        })
        .collect();
    rgd(
        "independent",
        json!({ "name": "string" }),
        pods,
        json!({ "firstPhase": "${pod0.status.phase}" }),
    )
}

/// One Pod per region of `schema.spec.regions`.
fn pod_collection() -> ResourceGraphDefinition {
    rgd(
        "collection",
        json!({ "name": "string", "regions": "[]string" }),
        vec![json!({
            "id": "pods",
            "forEach": [{ "region": "${schema.spec.regions}" }],
            "template": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": "${schema.spec.name}-${region}",
                    "labels": { "region": "${region}" }
                },
                "spec": { "containers": [{ "name": "main", "image": "nginx" }] }
            }
        })],
        json!({}),
    )
}

/// Upstream's inputs, with the real schemas and with the small ones.
fn upstream_inputs(c: &mut Criterion) {
    let builders = [
        ("builtin", builder()),
        ("small", builder_with(Arc::new(SmallSchemas::new()))),
    ];
    let mut group = c.benchmark_group("graph/upstream");
    for (name, rgd) in [
        ("configmap_and_pod", config_map_and_pod()),
        ("20_independent_pods", independent_pods()),
        ("pod_collection", pod_collection()),
    ] {
        for (schemas, builder) in &builders {
            builder.build(&rgd).expect("upstream-shaped RGD builds");
            group.bench_with_input(BenchmarkId::new(name, schemas), &rgd, |b, rgd| {
                b.iter(|| builder.build(black_box(rgd)).expect("builds"))
            });
        }
    }
    group.finish();
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

criterion_group!(benches, bench, upstream_inputs);
criterion_main!(benches);
