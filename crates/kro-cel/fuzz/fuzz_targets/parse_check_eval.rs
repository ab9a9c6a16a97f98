//! Parses, checks and evaluates arbitrary input: nothing may panic, and the
//! unchecked evaluation must stay within its cost budget.
#![no_main]

use kro_cel::{Env, Program, Type, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut env = Env::standard();
    env.add_variable("x", Type::Int)
        .add_variable("s", Type::String)
        .add_variable("obj", Type::map(Type::String, Type::Dyn));
    let obj = Value::from_json(&serde_json::json!({
        "spec": {"replicas": 3, "name": "web", "ports": [80, 443]},
        "status": {"ready": true}
    }));
    let activation = [("x", Value::Int(80)), ("s", Value::string("abc")), ("obj", obj)];
    let Ok(ast) = kro_cel::parse(src) else {
        return;
    };
    // Unchecked evaluation exercises the runtime on ill-typed programs too.
    let unchecked = Program::plan(&env, &ast).with_cost_budget(Some(100_000));
    let _ = unchecked.eval(&activation);
    if let Ok(checked) = kro_cel::check(&env, &ast) {
        let _ = kro_cel::estimate_cost(&checked, &env);
        let program = Program::plan(&env, &checked.expr).with_cost_budget(Some(100_000));
        if let Ok(v) = program.eval(&activation) {
            let _ = v.to_json();
        }
    }
});
