//! Behaviour of the public API beyond the conformance suite: JSON conversion,
//! typed errors, diagnostics, declarations and cost limits.

use kro_cel::{Env, EvalError, Limits, ObjectType, Type, Value};
use serde_json::json;

fn eval(env: &Env, src: &str, vars: &[(&str, Value)]) -> Result<Value, EvalError> {
    let compiled = env.compile(src).expect("compiles");
    compiled.eval(&vars.to_vec())
}

#[test]
fn json_integers_are_int_and_uint_only_above_i64_max() {
    let v = Value::from_json(&json!({"a": 1, "b": 18446744073709551615u64, "c": 1.5}));
    let Value::Map(m) = &v else {
        panic!("not a map")
    };
    let get = |k: &str| m.get(&kro_cel::Key::String(k.into())).cloned();
    assert!(matches!(get("a"), Some(Value::Int(1))));
    assert!(matches!(get("b"), Some(Value::Uint(u64::MAX))));
    assert!(matches!(get("c"), Some(Value::Double(_))));
    assert_eq!(
        v.to_json().unwrap(),
        json!({"a": 1, "b": 18446744073709551615u64, "c": 1.5})
    );
}

#[test]
fn missing_data_is_a_typed_error() {
    let env = Env::standard().with_variable("obj", Type::map(Type::String, Type::Dyn));
    let obj = Value::from_json(&json!({"status": {}}));
    let err = eval(&env, "obj.status.ready", &[("obj", obj.clone())]).unwrap_err();
    assert!(matches!(err, EvalError::NoSuchKey(ref k) if k == "ready"));
    assert!(err.is_missing_data());
    let err = eval(&env, "[1][2]", &[]).unwrap_err();
    assert!(matches!(
        err,
        EvalError::IndexOutOfRange { index: 2, size: 1 }
    ));
    let err = eval(&env, "1 / 0", &[]).unwrap_err();
    assert_eq!(err, EvalError::DivisionByZero);
    assert!(!err.is_missing_data());
    let err = eval(&env, "9223372036854775807 + 1", &[]).unwrap_err();
    assert!(matches!(err, EvalError::Overflow(_)));
}

#[test]
fn errors_are_absorbed_by_logical_operators() {
    let env = Env::standard().with_variable("obj", Type::map(Type::String, Type::Dyn));
    let obj = Value::from_json(&json!({}));
    let v = eval(&env, "obj.missing || true", &[("obj", obj.clone())]).unwrap();
    assert!(v.equals(&Value::Bool(true)));
    let v = eval(&env, "false && obj.missing", &[("obj", obj)]).unwrap();
    assert!(v.equals(&Value::Bool(false)));
}

#[test]
fn check_errors_render_with_line_column_and_caret() {
    let env = Env::standard().with_variable("x", Type::Int);
    let src = "x +\n  'a'";
    let err = env.compile(src).unwrap_err();
    let rendered = err.render("<expr>", src);
    assert!(
        rendered.contains("<expr>:1:1: found no matching overload for '_+_'"),
        "{rendered}"
    );
    let err = env.compile("x.").unwrap_err();
    let rendered = err.render("<expr>", "x.");
    assert!(rendered.starts_with("ERROR: <expr>:1:3:"), "{rendered}");
    assert!(rendered.ends_with(" | ..^"), "{rendered}");
}

/// An error about a method call or a field selection points at the name
/// the reader wrote, not at the start of its receiver.
#[test]
fn method_and_field_errors_point_at_the_name() {
    let env = Env::standard().with_variable("s", Type::String);
    let src = "size(s) + s.nope(1)";
    let err = env.compile(src).unwrap_err();
    assert_eq!(err.0[0].line_col(src), (1, 13), "{err}");
    assert_eq!(
        &src[err.0[0].span.start as usize..err.0[0].span.end as usize],
        "nope(1)"
    );

    let mut env = Env::standard();
    env.add_object_type(ObjectType {
        name: "Thing".into(),
        fields: [("name".to_string(), Type::String)].into_iter().collect(),
    });
    env.add_variable("thing", Type::object("Thing"));
    let src = "thing.name + thing.nope";
    let err = env.compile(src).unwrap_err();
    assert_eq!(err.0[0].line_col(src), (1, 20), "{err}");
}

#[test]
fn object_types_give_field_types_and_errors() {
    let mut env = Env::standard();
    env.add_object_type(ObjectType {
        name: "Deployment".into(),
        fields: [
            ("replicas".to_string(), Type::Int),
            ("name".to_string(), Type::String),
        ]
        .into_iter()
        .collect(),
    });
    env.add_variable("d", Type::object("Deployment"));
    assert_eq!(
        env.compile("d.replicas + 1").unwrap().result_type(),
        &Type::Int
    );
    let err = env.compile("d.nope").unwrap_err();
    assert!(err.to_string().contains("undefined field 'nope'"));
}

#[test]
fn deduced_types_of_macros_and_optionals() {
    let env = Env::standard().with_variable("l", Type::list(Type::String));
    let t = |src: &str| env.compile(src).unwrap().result_type().clone();
    assert_eq!(t("l.map(s, size(s))"), Type::list(Type::Int));
    assert_eq!(t("l[?0]"), Type::optional(Type::String));
    assert_eq!(
        t("{'a': 1}.transformMap(k, v, v * 2)"),
        Type::map(Type::String, Type::Int)
    );
    assert_eq!(t("cel.bind(n, 2, n * n)"), Type::Int);
}

#[test]
fn runtime_cost_budget_stops_evaluation() {
    let mut env = Env::standard();
    env.set_limits(Limits {
        cost_budget: Some(1_000),
        ..Limits::default()
    });
    let err = eval(&env, "lists.range(1000).map(i, i * 2).size() > 0", &[]).unwrap_err();
    assert!(matches!(err, EvalError::CostExceeded { limit: 1_000 }));
    let compiled = env.compile("lists.range(3).all(i, i >= 0)").unwrap();
    let estimate = compiled.cost_estimate();
    assert!(
        estimate.min <= estimate.max && estimate.max < 100,
        "{estimate:?}"
    );
}

#[test]
fn env_clones_share_libraries() {
    let base = Env::standard();
    let a = base.clone().with_variable("a", Type::Int);
    assert!(base.variable("a").is_none());
    assert!(a.variable("a").is_some());
    assert!(a.function("size").is_some());
}

#[test]
fn json_activation_converts_lazily() {
    let env = Env::standard()
        .with_variable("a", Type::map(Type::String, Type::Dyn))
        .with_variable("b", Type::Dyn);
    let a = json!({"spec": {"replicas": 2}});
    let b = json!("never read");
    let mut act = kro_cel::JsonActivation::new();
    act.bind("a", &a).bind("b", &b);
    let compiled = env.compile("a.spec.replicas * a.spec.replicas").unwrap();
    assert!(compiled.eval(&act).unwrap().equals(&Value::Int(4)));
}

#[test]
fn parse_errors_point_at_the_offending_token() {
    let err = kro_cel::parse("a + (b * ").unwrap_err();
    assert_eq!(err.0[0].span.start, 9);
    let err = kro_cel::parse("if").unwrap_err();
    assert!(err.0[0].message.contains("reserved"));
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(kro_cel::parse(&deep).is_err());
    let long_chain = vec!["x"; 5000].join(" + ");
    assert!(kro_cel::parse(&long_chain).is_err());
}

#[test]
fn nodes_have_ids_and_spans() {
    let e = kro_cel::parse("a.b + f(c)").unwrap();
    assert_eq!((e.span.start, e.span.end), (0, 10));
    let mut ids: Vec<u32> = Vec::new();
    let mut stack = vec![&e];
    while let Some(n) = stack.pop() {
        ids.push(n.id);
        stack.extend(n.children());
    }
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "ids are unique");
}

#[test]
fn nested_loops_over_unknown_data_have_large_estimates() {
    let env = Env::standard().with_variable("l", Type::list(Type::Int));
    let flat = env.compile("l.all(x, x > 0)").unwrap().cost_estimate();
    let nested = env
        .compile("l.all(x, l.all(y, x != y))")
        .unwrap()
        .cost_estimate();
    assert!(nested.max > flat.max * 100, "{flat:?} {nested:?}");
    assert_eq!(flat.min, nested.min.min(flat.min));
}

#[test]
fn macros_over_large_lists_are_linear() {
    let env = Env::standard();
    let compiled = env
        .compile("lists.range(20000).map(i, i * 2).filter(i, i % 3 == 0).size()")
        .unwrap();
    let start = std::time::Instant::now();
    let (out, cost) = compiled.program().eval_with_cost(&());
    assert!(out.unwrap().equals(&Value::Int(6667)));
    // Quadratic appends would cost about 20000^2 / 200 = 2,000,000 units.
    assert!(cost < 1_000_000, "cost {cost}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    let m = env
        .compile("lists.range(3000).transformMap(i, v, v + 1).size()")
        .unwrap();
    assert!(m.eval(&()).unwrap().equals(&Value::Int(3000)));
}
