//! One reconcile pass of one instance, on the in-memory cluster, as the
//! operator runs it on every event: the first pass (everything created)
//! and a steady pass (everything observed, nothing written), for the
//! user's Application and for a 100-item `forEach` collection.
//!
//! The in-memory cluster answers at once, so the figures are the runtime's
//! own cost (CEL, rendering, comparison), not the API server's.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kro_cel::Env;
use kro_graph::api::ResourceGraphDefinition;
use kro_graph::builder::{BuildOptions, Builder, Graph};
use kro_graph::resolver::BuiltinSchemas;
use kro_runtime::cluster::{Cluster, MemoryCluster, ObjectKey};
use kro_runtime::{Options, Requeue, reconcile};
use serde_json::{Value, json};

const APPLICATION: &str = include_str!("../../examples/application/rgd.yaml");

const COLLECTION: &str = r#"
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: shards
spec:
  schema:
    apiVersion: v1alpha1
    kind: Shards
    spec:
      name: string
      shards: "[]string"
    status:
      count: ${size(shard)}
  resources:
    - id: shard
      forEach:
        - index: ${schema.spec.shards}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-${index}
        data:
          index: ${index}
"#;

fn build(yaml: &str) -> Graph {
    let rgd: ResourceGraphDefinition = serde_saphyr::from_str(yaml).expect("bench RGD");
    Builder::new(
        Arc::new(BuiltinSchemas::new()),
        Env::kro(),
        BuildOptions::default(),
    )
    .build(&rgd)
    .expect("bench RGD builds")
}

fn options() -> Options {
    Options {
        rgd_uid: "bench".into(),
        now: Some("2026-01-01T00:00:00Z".into()),
        ..Options::default()
    }
}

struct Case {
    graph: Graph,
    instance: Value,
}

impl Case {
    fn key(&self) -> ObjectKey {
        ObjectKey {
            resource: self.graph.instance_type.clone(),
            namespace: Some("default".into()),
            name: self.instance["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .into(),
        }
    }

    /// A cluster holding only the instance.
    fn fresh(&self) -> MemoryCluster {
        let cluster = MemoryCluster::new();
        cluster
            .insert(&self.graph.instance_type, self.instance.clone())
            .expect("seed the instance");
        cluster
    }

    /// A cluster where the instance has settled.
    fn settled(&self, runtime: &tokio::runtime::Runtime) -> MemoryCluster {
        let cluster = self.fresh();
        runtime.block_on(async {
            for _ in 0..10 {
                let instance = cluster
                    .get(&self.key())
                    .await
                    .expect("read")
                    .expect("the instance");
                let outcome = reconcile(&self.graph, &instance, &cluster, &options())
                    .await
                    .expect("the pass");
                if outcome.writes == 0 && outcome.requeue == Requeue::None {
                    return;
                }
            }
            panic!("the bench instance does not settle");
        });
        cluster
    }
}

fn application() -> Case {
    Case {
        graph: build(APPLICATION),
        instance: json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Application",
            "metadata": { "name": "demo", "namespace": "default", "generation": 1 },
            "spec": { "name": "my-app", "image": "nginx", "ingress": { "enabled": true } }
        }),
    }
}

fn collection() -> Case {
    let shards: Vec<String> = (0..100).map(|i| format!("s{i:03}")).collect();
    Case {
        graph: build(COLLECTION),
        instance: json!({
            "apiVersion": "kro.run/v1alpha1", "kind": "Shards",
            "metadata": { "name": "shards", "namespace": "default", "generation": 1 },
            "spec": { "name": "shard", "shards": shards }
        }),
    }
}

fn passes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    for (name, case) in [
        ("application", application()),
        ("collection-100", collection()),
    ] {
        c.bench_function(&format!("runtime/{name}/first-pass"), |b| {
            b.iter_batched(
                || case.fresh(),
                |cluster| {
                    runtime.block_on(async {
                        let instance = cluster
                            .get(&case.key())
                            .await
                            .expect("read")
                            .expect("the instance");
                        black_box(
                            reconcile(&case.graph, &instance, &cluster, &options())
                                .await
                                .expect("the pass"),
                        )
                    })
                },
                BatchSize::SmallInput,
            )
        });
        let cluster = case.settled(&runtime);
        let instance = runtime
            .block_on(cluster.get(&case.key()))
            .expect("read")
            .expect("the instance");
        c.bench_function(&format!("runtime/{name}/steady-pass"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let outcome = reconcile(&case.graph, &instance, &cluster, &options())
                        .await
                        .expect("the pass");
                    assert_eq!(outcome.writes, 0, "a steady pass writes nothing");
                    black_box(outcome)
                })
            })
        });
    }
}

criterion_group!(benches, passes);
criterion_main!(benches);
