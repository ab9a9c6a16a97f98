//! Tests of the static estimate: each class of expression that can blow
//! up is refused, ordinary ones pass, and the worst case is never below
//! what an evaluation really costs.

use serde_json::json;

use super::StaticCostError;
use crate::openapi_types::SchemaTypes;
use crate::{CostEstimate, Env, KroOptions, Limits, ResultUse, SizeKind, Value};

/// kro's environment with `schema` typed by this spec schema.
fn env_with(spec: serde_json::Value) -> Env {
    let spec = serde_json::from_value(spec).expect("schema");
    let types = SchemaTypes::of_instance("__type_schema", &spec, false);
    let mut env = Env::kro_with(KroOptions { omit: true });
    types.declare(&mut env);
    env.add_variable("schema", types.root().clone());
    env
}

/// A spec with unbounded and bounded fields of every kind.
fn env() -> Env {
    env_with(json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "short": {"type": "string", "maxLength": 63},
            "replicas": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "string"}},
            "few": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 20}},
            "ports": {"type": "array", "maxItems": 16, "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 15}, "port": {"type": "integer"}}
            }},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    }))
}

fn estimate(env: &Env, src: &str) -> CostEstimate {
    env.compile_kro(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .cost_estimate()
}

fn verdict(env: &Env, src: &str) -> Result<CostEstimate, StaticCostError> {
    env.compile_kro(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .check_static_cost(ResultUse::Whole)
}

#[track_caller]
fn accepted(env: &Env, src: &str) -> CostEstimate {
    verdict(env, src).unwrap_or_else(|e| panic!("{src}: refused: {e}"))
}

#[track_caller]
fn refused(env: &Env, src: &str) -> StaticCostError {
    match verdict(env, src) {
        Ok(estimate) => panic!("{src}: accepted: {estimate:?}"),
        Err(e) => e,
    }
}

/// `s` doubled `n` times by nested binds, around `body`.
fn doubled(seed: &str, n: usize, body: &str) -> String {
    let mut src = body.to_string();
    for _ in 0..n {
        src = format!("cel.bind(s, s + s, {src})");
    }
    format!("cel.bind(s, {seed}, {src})")
}

#[test]
fn constant_expressions_cost_what_they_evaluate_to() {
    let env = env();
    for src in [
        "1 + 2 == 3",
        "'a' + 'b'",
        "[1, 2, 3].map(x, x * 2)",
        "{'a': 1}.transformMap(k, v, v + 1)",
        "'%s-%d'.format(['x', 3])",
        "lists.range(100).filter(i, i % 2 == 0).size()",
    ] {
        let estimate = accepted(&env, src);
        let (out, spent) = env.compile_kro(src).unwrap().program().eval_with_cost(&());
        out.unwrap();
        assert!(
            estimate.min <= spent && spent <= estimate.max,
            "{src}: spent {spent}, estimated {estimate:?}"
        );
        assert!(estimate.max < 5_000, "{src}: {estimate:?}");
    }
}

#[test]
fn string_doubling_then_map_and_join_is_refused() {
    let env = env();
    let seed = format!("'{}'", "x".repeat(100));
    let join = doubled(&seed, 14, "lists.range(2000).map(i, s).join()");
    match refused(&env, &join) {
        StaticCostError::AlwaysTooLarge(too_large) => {
            assert_eq!(too_large.kind, SizeKind::String);
            assert!(too_large.at_least > 3_000_000_000, "{too_large:?}");
        }
        other => panic!("{other}"),
    }
    // The list itself, as a template result, is too large as JSON; as a
    // forEach, each element is converted apart, and fits.
    let list = doubled(&seed, 14, "lists.range(2000).map(i, s)");
    assert!(matches!(
        refused(&env, &list),
        StaticCostError::AlwaysTooLarge(t) if t.kind == SizeKind::Result
    ));
    let compiled = env.compile_kro(&list).unwrap();
    compiled
        .check_static_cost(ResultUse::EachElement)
        .unwrap_or_else(|e| panic!("{e}"));
    // Doubling past the string limit fails on its own.
    let past = doubled(&seed, 20, "size(s)");
    assert!(matches!(
        refused(&env, &past),
        StaticCostError::AlwaysTooLarge(t) if t.kind == SizeKind::String
    ));
    // Doubling an input: nothing certain, but the worst case is bounded by
    // the string limit at each step.
    let input = estimate(&env, &doubled("schema.spec.name", 14, "size(s)"));
    assert!(input.max < 5_000_000, "{input:?}");
}

#[test]
fn nested_comprehensions_over_unbounded_lists_are_refused() {
    let env = env();
    let flat = accepted(&env, "schema.spec.items.all(x, x != '')");
    match refused(
        &env,
        "schema.spec.items.all(x, schema.spec.items.exists(y, x == y))",
    ) {
        StaticCostError::TooCostly {
            estimate,
            unbounded,
            ..
        } => {
            assert!(estimate > flat.max * 1_000, "{estimate} vs {flat:?}");
            let paths: Vec<&str> = unbounded.iter().map(|u| u.path.as_str()).collect();
            assert!(paths.contains(&"schema.spec.items"), "{paths:?}");
            assert!(
                unbounded.iter().any(|u| u.missing == "maxItems"),
                "{unbounded:?}"
            );
        }
        other => panic!("{other}"),
    }
    // The same over lists the schema bounds is cheap.
    accepted(
        &env,
        "schema.spec.few.all(x, schema.spec.few.exists(y, x == y))",
    );
}

#[test]
fn range_chains_are_refused() {
    let env = env();
    // One range of a million costs three times the runtime budget.
    assert!(matches!(
        refused(&env, "lists.range(1000000).size()"),
        StaticCostError::AlwaysOverBudget { .. }
    ));
    let chain = vec!["lists.range(1000000).size()"; 22].join(" + ");
    assert!(matches!(
        refused(&env, &chain),
        StaticCostError::AlwaysOverBudget { .. }
    ));
    assert!(matches!(
        refused(
            &env,
            "lists.range(1000).map(i, lists.range(1000000)).size()"
        ),
        StaticCostError::AlwaysOverBudget { .. }
    ));
    // A range of an input's size is not certain, but its worst case is.
    let e = estimate(&env, "lists.range(schema.spec.replicas).map(i, i * 2)");
    assert!(e.min < 100 && e.max > 3_000_000, "{e:?}");
    assert!(matches!(
        refused(
            &env,
            "lists.range(schema.spec.replicas).map(i, lists.range(schema.spec.replicas))"
        ),
        StaticCostError::TooCostly { .. }
    ));
}

#[test]
fn format_and_marshal_of_large_lists_are_refused() {
    let env = env();
    let seed = format!("'{}'", "x".repeat(1000));
    for body in [
        "json.marshal(lists.range(5000).map(i, s))",
        "'%s'.format([lists.range(5000).map(i, s)])",
        "'%s%s'.format([s, s])",
    ] {
        let src = doubled(&seed, 11, body);
        assert!(
            matches!(refused(&env, &src), StaticCostError::AlwaysTooLarge(_)),
            "{body}"
        );
    }
    // Of input lists: bounded by the string limit, within the static limit.
    let marshal = accepted(&env, "json.marshal(schema.spec.items)");
    assert!(marshal.max > 100_000, "{marshal:?}");
    // ...but not once per element of an unbounded list.
    assert!(matches!(
        refused(
            &env,
            "schema.spec.items.map(i, json.marshal(schema.spec.items))"
        ),
        StaticCostError::TooCostly { .. }
    ));
}

#[test]
fn bounded_inputs_pass_and_cost_little() {
    let env = env();
    let e = accepted(
        &env,
        "schema.spec.ports.map(p, {'name': p.name, 'port': p.port, 'protocol': 'TCP'})",
    );
    assert!(e.max < 5_000, "{e:?}");
    assert!(e.unbounded.is_empty(), "{:?}", e.unbounded);
    let e = accepted(&env, "schema.spec.few.join(',') + '-' + schema.spec.short");
    assert!(e.max < 1_000, "{e:?}");
    assert!(e.unbounded.is_empty(), "{:?}", e.unbounded);
}

#[test]
fn unbounded_inputs_are_named_with_what_would_bound_them() {
    let env = env();
    let e = estimate(&env, "schema.spec.name + schema.spec.labels['a']");
    let found: Vec<String> = e.unbounded.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "schema.spec.labels[*] (no maxLength)",
            "schema.spec.name (no maxLength)"
        ]
    );
    let e = estimate(&env, "schema.spec.items.map(i, i + 'x')");
    let found: Vec<String> = e.unbounded.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "schema.spec.items (no maxItems)",
            "schema.spec.items[*] (no maxLength)"
        ]
    );
}

#[test]
fn the_static_limit_can_be_lifted() {
    let mut env = env();
    let src = "schema.spec.items.all(x, schema.spec.items.exists(y, x == y))";
    refused(&env, src);
    env.set_limits(Limits {
        static_cost_limit: None,
        ..Limits::default()
    });
    accepted(&env, src);
}

/// The worst case is never below what an evaluation costs, for inputs
/// at their bounds and beyond what ordinary objects hold.
#[test]
fn the_worst_case_covers_real_evaluations() {
    let env = env();
    let name = "n".repeat(5_000);
    let items: Vec<String> = (0..2_000).map(|i| format!("item-{i}")).collect();
    let labels: serde_json::Map<String, serde_json::Value> = (0..500)
        .map(|i| (format!("key-{i}"), json!(format!("<value-{i}>"))))
        .collect();
    let instance = json!({
        "spec": {
            "name": name,
            "short": "s".repeat(63),
            "replicas": 300,
            "items": items,
            "few": (0..10).map(|i| "f".repeat(18) + &i.to_string()).collect::<Vec<_>>(),
            "ports": (0..16).map(|i| json!({"name": format!("p{i}"), "port": 8000 + i})).collect::<Vec<_>>(),
            "labels": labels,
            "free": {"a": [1, 2, {"b": "c"}]}
        }
    });
    let schema = Value::from_json(&instance);
    let unlimited = Limits {
        cost_budget: None,
        ..Limits::default()
    };
    for src in [
        "schema.spec.name + '-' + schema.spec.short",
        "schema.spec.items.map(i, i + schema.spec.short).join(',')",
        "schema.spec.items.filter(i, i.startsWith('item-1')).size()",
        "schema.spec.items.exists(i, i == schema.spec.name)",
        "schema.spec.name in schema.spec.items",
        "json.marshal(schema.spec)",
        "'%s and %s'.format([schema.spec.labels, schema.spec.items])",
        "schema.spec.labels.transformMap(k, v, v + k)",
        "schema.spec.items.sort().distinct()",
        "schema.spec.name.split('n').size()",
        "schema.spec.name.replace('n', 'mm')",
        "lists.range(schema.spec.replicas).map(i, string(i)).join('-')",
        "schema.spec.ports.map(p, p.name + ':' + string(p.port)).join(',')",
        "schema.spec.free.a.map(x, json.marshal(x)).size()",
        "base64.encode(bytes(schema.spec.name))",
        "schema.spec.items.map(i, schema.spec.few.map(f, f + i)).flatten().size()",
        "schema.spec.name.matches('^n+$') && schema.spec.short.matches(schema.spec.short)",
        "strings.quote(schema.spec.name).size() + schema.spec.name.lowerAscii().size()",
    ] {
        let program = env
            .compile_kro(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let estimate = program.cost_estimate();
        let (out, spent) = program
            .program()
            .clone()
            .with_limits(unlimited)
            .eval_with_cost(&[("schema", schema.clone())]);
        out.unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(
            spent <= estimate.max,
            "{src}: spent {spent} above the worst case {}",
            estimate.max
        );
    }
}

/// The functions the estimator estimates itself, as the evaluator runs
/// them itself (see `plan.rs`): they need no cost rule.
const OPERATORS: [&str; 19] = [
    "_&&_",
    "_||_",
    "_?_:_",
    "!_",
    "@not_strictly_false",
    "_==_",
    "_!=_",
    "_<_",
    "_<=_",
    "_>_",
    "_>=_",
    "_-_",
    "_*_",
    "_/_",
    "_%_",
    "_+_",
    "_[_]",
    "@in",
    "cel.@mapInsert",
];

/// Every function of kro's environment is estimated as its library
/// charges it: a new function without a rule would be estimated as a
/// copy of its arguments, which is rarely right.
#[test]
fn every_function_has_a_cost_rule() {
    let env = Env::kro_with(KroOptions { omit: true });
    let missing: Vec<&str> = env
        .functions
        .values()
        .filter(|f| f.cost_rule.is_none())
        .map(|f| f.name.as_str())
        .filter(|name| !OPERATORS.contains(name))
        .collect();
    assert!(missing.is_empty(), "no cost rule: {missing:?}");
}
