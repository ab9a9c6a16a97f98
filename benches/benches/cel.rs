//! CEL hot paths: compiling and checking a typical kro expression, its
//! static cost estimate, evaluating cached programs, and turning JSON into
//! CEL values.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kro_cel::{Env, Type, Value};
use serde_json::json;

fn deployment() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
            }
        },
        "status": {
            "replicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "observedGeneration": 2,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
            ]
        }
    })
}

/// About 1 KB of JSON: a ConfigMap-like object with nested data.
fn one_kb() -> serde_json::Value {
    let mut data = serde_json::Map::new();
    for i in 0..30 {
        data.insert(format!("key-{i:02}"), json!(format!("value number {i}")));
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default", "labels": {"app": "web", "tier": "backend"}},
        "data": data,
        "numbers": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "flags": {"enabled": true, "ratio": 0.75}
    })
}

/// A map literal of `keys` entries `prefix-i`: every fourth a nested map of
/// three entries, the others strings and numbers.
fn map_literal(prefix: &str, keys: usize) -> String {
    let entries: Vec<String> = (0..keys)
        .map(|i| match i % 4 {
            0 => format!(
                "'k{i}': {{'{prefix}a': {i}, '{prefix}b': '{prefix}-{i}', 'shared': {{'x': {i}}}}}"
            ),
            1 | 2 => format!("'k{i}': '{prefix}-value-{i}'"),
            _ => format!("'{prefix}{i}': {i}"),
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// `left.deepMerge(right)` over two 20-key literals sharing their `k…` keys.
fn deep_merge_expression() -> String {
    format!(
        "{}.deepMerge({})",
        map_literal("l", 20),
        map_literal("r", 20)
    )
}

fn env() -> Env {
    let object = Type::map(Type::String, Type::Dyn);
    Env::standard()
        .with_variable("schema", object.clone())
        .with_variable("deployment", object)
        .with_variable("x", Type::Int)
}

fn benches(c: &mut Criterion) {
    let env = env();
    let typical = "deployment.status.availableReplicas >= schema.spec.replicas && schema.spec.name.startsWith('web')";
    c.bench_function("cel/compile_check_typical", |b| {
        b.iter(|| env.compile(black_box(typical)).map(|_| ()))
    });

    // Parsing alone, ours against the `cel` crate's parser (the reason kro-cel has its own).
    c.bench_function("cel/parse_typical_kro_cel", |b| {
        b.iter(|| kro_cel::parse(black_box(typical)).map(|_| ()))
    });
    c.bench_function("cel/parse_typical_cel_crate", |b| {
        b.iter(|| {
            cel::parser::Parser::new()
                .parse(black_box(typical))
                .map(|_| ())
        })
    });

    // The static estimate the graph builder makes of every expression.
    let compiled = env.compile(typical).expect("compiles");
    c.bench_function("cel/estimate_typical", |b| {
        b.iter(|| black_box(&compiled).cost_estimate())
    });

    let eq = env.compile("x == 80").expect("compiles");
    let x = [("x", Value::Int(80))];
    c.bench_function("cel/eval_cached_x_eq_80", |b| {
        b.iter(|| eq.eval(black_box(&x)))
    });

    let ready = env
        .compile(
            "deployment.status.availableReplicas == deployment.spec.replicas && \
             deployment.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')",
        )
        .expect("compiles");
    let vars = [("deployment", Value::from_json(&deployment()))];
    c.bench_function("cel/eval_ready_when_deployment", |b| {
        b.iter(|| ready.eval(black_box(&vars)))
    });
    c.bench_function("cel/estimate_ready_when_deployment", |b| {
        b.iter(|| black_box(&ready).cost_estimate())
    });

    let template = env
        .compile("schema.spec.name + '-' + string(schema.spec.replicas) + '.' + schema.metadata.namespace + '.svc'")
        .expect("compiles");
    let schema = json!({"metadata": {"namespace": "prod"}, "spec": {"name": "web", "replicas": 3}});
    let vars = [("schema", Value::from_json(&schema))];
    c.bench_function("cel/eval_string_template", |b| {
        b.iter(|| template.eval(black_box(&vars)))
    });

    // `deepMerge` of two map literals of about twenty keys each, nested
    // two levels, half the keys shared: the expression as a whole, literals
    // included, as upstream's bench of the same function measures it.
    let merge = Env::kro()
        .compile(&deep_merge_expression())
        .expect("compiles");
    let none: [(&str, Value); 0] = [];
    assert!(matches!(merge.eval(&none), Ok(Value::Map(_))));
    c.bench_function("cel/eval_deep_merge_20_keys", |b| {
        b.iter(|| merge.eval(black_box(&none)))
    });

    let doc = one_kb();
    assert!(serde_json::to_string(&doc).map_or(0, |s| s.len()) > 900);
    c.bench_function("cel/json_to_value_1kb", |b| {
        b.iter(|| Value::from_json(black_box(&doc)))
    });
}

criterion_group!(cel, benches);
criterion_main!(cel);
