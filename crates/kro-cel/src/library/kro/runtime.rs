//! kro's `runtime` library for custom status conditions:
//! `runtime.newCondition({type: ..., status: ..., reason: ..., message: ...})`
//! and `runtime.condition(obj, type)`.
//!
//! A condition is a map with the four string fields, typed statically as
//! the object type `kro.run.Condition`, so `c.status` type-checks and
//! evaluates like any object field and writes to status as an object.
//! `newCondition`'s argument is written with bare identifier keys;
//! [`rewrite_new_condition`] turns them into string keys before checking
//! (upstream does it with a parse-time macro), rejecting unknown, repeated
//! and quoted keys.

use crate::cost::{CallRule, ValueSize};
use std::any::Any;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::ast::{Expr, ExprKind, Literal};
use crate::decls::{Env, ObjectType};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::error::EvalError;
use crate::meter::Meter;
use crate::types::Type;
use crate::value::{Key, Map, Value};
use crate::value::{Opaque, wrap};

/// The type of conditions.
pub const CONDITION_TYPE: &str = "kro.run.Condition";
/// The type of the `runtime` variable.
pub const RUNTIME_TYPE: &str = "kro.run.Runtime";
/// The variable's name.
pub const RUNTIME_VARIABLE: &str = "runtime";

const KEYS: [&str; 4] = ["type", "status", "reason", "message"];

/// The value bound to `runtime`: it carries nothing, only its methods matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime;

impl Opaque for Runtime {
    fn type_name(&self) -> &'static str {
        RUNTIME_TYPE
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().is::<Runtime>()
    }
    fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Err(EvalError::Unsupported(format!(
            "type conversion not supported for {RUNTIME_TYPE}"
        )))
    }
    fn render(&self) -> String {
        RUNTIME_VARIABLE.into()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The value to bind to the `runtime` variable.
pub fn runtime_value() -> Value {
    wrap(Runtime)
}

pub(crate) fn install(env: &mut Env) {
    env.add_object_type(ObjectType {
        name: CONDITION_TYPE.into(),
        fields: KEYS
            .iter()
            .map(|k| (k.to_string(), Type::String))
            .collect::<IndexMap<_, _>>(),
    });
    env.add_variable(RUNTIME_VARIABLE, Type::object(RUNTIME_TYPE));
    env.define_metered(
        "newCondition",
        &["kro.run.Runtime.(map(string, string)) -> kro.run.Condition"],
        |a, meter| match a {
            [_, Value::Map(m)] => new_condition(m, meter),
            [_, other] => Err(EvalError::InvalidArgument(format!(
                "runtime.newCondition: argument must be a map, got {}",
                other.type_name()
            ))),
            _ => Err(EvalError::no_overload("runtime.newCondition", a)),
        },
    );
    env.define_metered(
        "condition",
        &["kro.run.Runtime.(dyn, string) -> kro.run.Condition"],
        |a, meter| match a {
            [_, obj, Value::String(wanted)] => condition(obj, wanted, meter),
            _ => Err(EvalError::no_overload("runtime.condition", a)),
        },
    );
    env.set_cost_rule("newCondition", CallRule::Condition);
    env.set_cost_rule("condition", CallRule::Condition);
    // `runtime` carries nothing.
    env.add_variable_size(RUNTIME_VARIABLE, ValueSize::scalar());
}

fn new_condition(m: &Map, meter: &mut Meter<'_>) -> Result<Value, EvalError> {
    let mut fields = [""; 4].map(String::from);
    for (k, v) in m.iter() {
        let Key::String(key) = k else { continue };
        let Some(slot) = KEYS.iter().position(|n| **n == **key) else {
            continue;
        };
        let Value::String(s) = v else {
            return Err(EvalError::InvalidArgument(format!(
                "runtime.newCondition: {key} must be a string, got {}",
                v.type_name()
            )));
        };
        match slot {
            0 if s.is_empty() => {
                return Err(EvalError::InvalidArgument(
                    "runtime.newCondition: type must not be empty".into(),
                ));
            }
            1 if !matches!(&**s, "True" | "False" | "Unknown") => {
                return Err(EvalError::InvalidArgument(format!(
                    "runtime.newCondition: status must be one of True, False, Unknown (got {s:?})"
                )));
            }
            _ => {}
        }
        meter.reserve_bytes(s.len())?;
        fields[slot] = s.to_string();
    }
    meter.reserve_map(KEYS.len())?;
    Ok(condition_value(fields))
}

fn condition_value(fields: [String; 4]) -> Value {
    Value::Map(Arc::new(
        KEYS.iter()
            .zip(fields)
            .map(|(k, v)| (Key::String(Arc::from(*k)), Value::from(v)))
            .collect(),
    ))
}

/// The condition of `wanted` type in `obj.status.conditions`, or an empty
/// condition when there is none. Each condition looked at is charged, and
/// the one found reserved before it is copied.
fn condition(obj: &Value, wanted: &str, meter: &mut Meter<'_>) -> Result<Value, EvalError> {
    let field = |m: &Map, name: &str| m.get(&Key::String(Arc::from(name))).cloned();
    let Value::Map(obj) = obj else {
        return Err(EvalError::InvalidArgument(format!(
            "runtime.condition: obj must be an object, got {}",
            obj.type_name()
        )));
    };
    let empty = || condition_value([""; 4].map(String::from));
    let Some(status) = field(obj, "status") else {
        return Ok(empty());
    };
    let Value::Map(status) = status else {
        return Err(EvalError::InvalidArgument(
            "runtime.condition: obj.status must be an object".into(),
        ));
    };
    let Some(conditions) = field(&status, "conditions") else {
        return Ok(empty());
    };
    let Value::List(conditions) = conditions else {
        return Err(EvalError::InvalidArgument(
            "runtime.condition: obj.status.conditions must be a list".into(),
        ));
    };
    meter.visit(conditions.len() as u64)?;
    for c in conditions.iter() {
        let Value::Map(c) = c else {
            return Err(EvalError::InvalidArgument(format!(
                "runtime.condition: unexpected condition element type {}",
                c.type_name()
            )));
        };
        let text = |k: &str| match field(c, k) {
            Some(Value::String(s)) => s,
            _ => Arc::from(""),
        };
        meter.read(wanted.len())?;
        if *text("type") == *wanted {
            let fields = KEYS.map(text);
            meter.reserve_bytes(fields.iter().map(|f| f.len()).sum())?;
            meter.reserve_map(KEYS.len())?;
            return Ok(condition_value(fields.map(|f| f.to_string())));
        }
    }
    Ok(empty())
}

/// Rewrites the bare identifier keys of every
/// `runtime.newCondition({type: ..., status: ...})` into string keys.
pub fn rewrite_new_condition(expr: &mut Expr) -> Result<(), Diagnostics> {
    let mut errors = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        if let ExprKind::Call {
            target: Some(target),
            function,
            args,
        } = &mut e.kind
            && function == "newCondition"
            && matches!(&target.kind, ExprKind::Ident(n) if n == RUNTIME_VARIABLE)
            && args.len() == 1
            && let Some(arg) = args.first_mut()
        {
            rewrite_argument(arg, &mut errors);
        }
        match &mut e.kind {
            ExprKind::Literal(_) | ExprKind::Ident(_) => {}
            ExprKind::Select { operand, .. } => stack.push(operand),
            ExprKind::Call { target, args, .. } => {
                if let Some(t) = target {
                    stack.push(t);
                }
                stack.extend(args.iter_mut());
            }
            ExprKind::List { elements, .. } => stack.extend(elements.iter_mut()),
            ExprKind::Map(entries) => {
                for entry in entries.iter_mut() {
                    stack.push(&mut entry.key);
                    stack.push(&mut entry.value);
                }
            }
            ExprKind::Struct { fields, .. } => {
                stack.extend(fields.iter_mut().map(|f| &mut f.value));
            }
            ExprKind::Comprehension(c) => {
                stack.push(&mut c.iter_range);
                stack.push(&mut c.accu_init);
                stack.push(&mut c.loop_cond);
                stack.push(&mut c.loop_step);
                stack.push(&mut c.result);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(errors))
    }
}

fn rewrite_argument(arg: &mut Expr, errors: &mut Vec<Diagnostic>) {
    let span = arg.span;
    let ExprKind::Map(entries) = &mut arg.kind else {
        errors.push(Diagnostic::new(
            "runtime.newCondition: argument must be a map literal",
            span,
        ));
        return;
    };
    let mut seen: Vec<String> = Vec::new();
    for entry in entries.iter_mut() {
        let name = match &entry.key.kind {
            ExprKind::Ident(name) => name.clone(),
            _ => {
                errors.push(Diagnostic::new(
                    "runtime.newCondition: keys must be bare identifiers (type, status, reason, message); quoted or computed keys are not allowed",
                    entry.key.span,
                ));
                continue;
            }
        };
        if !KEYS.contains(&name.as_str()) {
            errors.push(Diagnostic::new(
                format!(
                    "runtime.newCondition: unknown key {name:?} (allowed: type, status, reason, message)"
                ),
                entry.key.span,
            ));
            continue;
        }
        if seen.contains(&name) {
            errors.push(Diagnostic::new(
                format!("runtime.newCondition: duplicate key {name:?}"),
                entry.key.span,
            ));
            continue;
        }
        entry.key.kind = ExprKind::Literal(Literal::String(Arc::from(name.as_str())));
        seen.push(name);
    }
    for required in ["type", "status"] {
        if !seen.iter().any(|s| s == required) {
            errors.push(Diagnostic::new(
                format!("runtime.newCondition: '{required}' is required"),
                span,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Env, Value};

    fn eval_with(src: &str, vars: &[(&str, serde_json::Value)]) -> Result<Value, String> {
        let mut env = Env::kro();
        for (name, _) in vars {
            env.add_variable(name, crate::Type::Dyn);
        }
        let compiled = env.compile_kro(src).map_err(|d| d.to_string())?;
        let mut bound: Vec<(&str, Value)> = vars
            .iter()
            .map(|(n, j)| (*n, Value::from_json(j)))
            .collect();
        bound.push(("runtime", super::runtime_value()));
        compiled.eval(&bound).map_err(|e| e.to_string())
    }

    #[test]
    fn new_condition() {
        let v = eval_with(
            "runtime.newCondition({type: 'Ready', status: 'True', reason: 'AllGood', message: 'ok'})",
            &[],
        )
        .expect("evaluates");
        assert_eq!(
            v.to_json().ok(),
            Some(
                serde_json::json!({"type": "Ready", "status": "True", "reason": "AllGood", "message": "ok"})
            )
        );
        let v = eval_with(
            "runtime.newCondition({type: 'X', status: 'False'}).status",
            &[],
        );
        assert!(matches!(v, Ok(Value::String(s)) if &*s == "False"));
        let v = eval_with(
            "runtime.newCondition({type: 'X', status: 'Unknown'}).reason == ''",
            &[],
        );
        assert!(matches!(v, Ok(Value::Bool(true))));
    }

    #[test]
    fn new_condition_errors() {
        let err = |src: &str| eval_with(src, &[]).expect_err(src);
        assert!(err("runtime.newCondition({type: 'X'})").contains("'status' is required"));
        assert!(err("runtime.newCondition({status: 'True'})").contains("'type' is required"));
        assert!(
            err("runtime.newCondition({type: 'X', status: 'True', colour: 'red'})")
                .contains("unknown key \"colour\"")
        );
        assert!(
            err("runtime.newCondition({type: 'X', type: 'Y', status: 'True'})")
                .contains("duplicate key \"type\"")
        );
        assert!(
            err("runtime.newCondition({'type': 'X', status: 'True'})")
                .contains("keys must be bare identifiers")
        );
        assert!(err("runtime.newCondition(1)").contains("argument must be a map literal"));
        assert!(
            err("runtime.newCondition({type: 'X', status: 'Yes'})")
                .contains("status must be one of True, False, Unknown (got \"Yes\")")
        );
        assert!(
            err("runtime.newCondition({type: '', status: 'True'})")
                .contains("type must not be empty")
        );
        assert!(
            err("runtime.newCondition({type: 'X', status: 'True'}).colour")
                .contains("undefined field")
        );
    }

    #[test]
    fn condition_lookup() {
        let obj = serde_json::json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "Done"},
            {"type": "Synced", "status": "False"}
        ]}});
        let v = eval_with(
            "runtime.condition(obj, 'Synced').status",
            &[("obj", obj.clone())],
        );
        assert!(matches!(v, Ok(Value::String(s)) if &*s == "False"));
        let v = eval_with(
            "runtime.condition(obj, 'Ready').reason",
            &[("obj", obj.clone())],
        );
        assert!(matches!(v, Ok(Value::String(s)) if &*s == "Done"));
        let v = eval_with(
            "runtime.condition(obj, 'Missing').status == ''",
            &[("obj", obj)],
        );
        assert!(matches!(v, Ok(Value::Bool(true))));
        let v = eval_with(
            "runtime.condition(obj, 'X').type",
            &[("obj", serde_json::json!({}))],
        );
        assert!(matches!(v, Ok(Value::String(s)) if s.is_empty()));
        let v = eval_with(
            "runtime.condition(obj, 'X')",
            &[("obj", serde_json::json!({"status": 1}))],
        );
        assert!(
            v.expect_err("bad status")
                .contains("obj.status must be an object")
        );
        let v = eval_with(
            "runtime.condition(obj, 'X')",
            &[("obj", serde_json::json!("s"))],
        );
        assert!(
            v.expect_err("not an object")
                .contains("obj must be an object")
        );
    }
}
