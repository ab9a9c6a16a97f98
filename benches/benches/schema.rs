//! SimpleSchema: parse and convert a 50-field schema with markers and
//! custom types, as the RGD controller does on every RGD change.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

/// Custom types: aliases with markers, and structs that use them.
fn custom_types() -> Value {
    json!({
        "Port": "integer | minimum=1 maximum=65535 default=80",
        "Name": r#"string | required=true pattern="^[a-z][a-z0-9-]*$" minLength=1 maxLength=63"#,
        "Endpoint": { "name": "Name", "port": "Port", "path": "string | default=/" },
        "Resources": {
            "cpu": r#"string | default="100m""#,
            "memory": r#"string | default="128Mi""#,
        },
        "Retry": { "attempts": "integer | default=3 minimum=0 maximum=10", "backoff": "string | default=1s" },
    })
}

/// Fifty fields cycling through every type and most markers.
fn fifty_field_spec() -> Value {
    let templates = [
        r#"string | required=true description="The primary name" pattern="^[a-z]+$" minLength=1 maxLength=30"#,
        "integer | default=3 minimum=1 maximum=100",
        "float | default=0.5 minimum=0 maximum=1",
        "boolean | default=true",
        r#"string | enum="small,medium,large" default=medium"#,
        r#"[]string | default=["a", "b"] minItems=1 maxItems=10 uniqueItems=true"#,
        r#"map[string]string | default={"team": "core"}"#,
        "[]Endpoint | listType=map listMapKey=name maxItems=8",
        "Resources",
        "Retry | description=\"How to retry\"",
        "Port | immutable=true",
        r#"integer | validation="self % 2 == 0" default=2"#,
        "object",
    ];
    let mut spec = Map::new();
    for i in 0..45 {
        let text = templates[i % templates.len()];
        // Only the first field may be required, so the rest can default.
        let text = if i > 0 {
            text.replace("required=true ", "")
        } else {
            text.to_owned()
        };
        spec.insert(format!("field{i:02}"), Value::String(text));
    }
    // Five more fields as one nested map.
    spec.insert(
        "nested".to_owned(),
        json!({
            "enabled": "boolean | default=false",
            "host": r#"string | default="example.com""#,
            "port": "Port",
            "tags": "[]string | maxItems=5",
            "inner": { "level": "integer | default=1" },
        }),
    );
    Value::Object(spec)
}

fn schema(c: &mut Criterion) {
    let spec = fifty_field_spec();
    let types = custom_types();
    let field = kro_schema::parse_spec(Some(&spec), Some(&types)).expect("bench schema is valid");

    let mut group = c.benchmark_group("schema");
    group.bench_function("parse_50_fields", |b| {
        b.iter(|| kro_schema::parse_spec(Some(black_box(&spec)), Some(black_box(&types))))
    });
    group.bench_function("convert_50_fields", |b| {
        b.iter(|| kro_schema::openapi::to_json_schema(black_box(&field)))
    });
    group.bench_function("parse_and_convert_50_fields", |b| {
        b.iter(|| {
            let field = kro_schema::parse_spec(Some(black_box(&spec)), Some(black_box(&types)))
                .expect("valid");
            kro_schema::openapi::to_json_schema(&field)
        })
    });
    let rgd_schema = json!({
        "apiVersion": "v1alpha1",
        "kind": "Application",
        "spec": spec,
        "types": types,
    });
    group.bench_function("crd_from_rgd_schema_50_fields", |b| {
        b.iter(|| kro_schema::instance_crd::crd_from_rgd_schema(black_box(&rgd_schema), None))
    });
    group.finish();
}

criterion_group!(benches, schema);
criterion_main!(benches);
