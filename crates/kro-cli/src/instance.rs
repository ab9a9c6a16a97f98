//! An instance checked against its RGD's generated CRD before `kro render`
//! runs it, as the API server checks it on create: the schema's defaults
//! applied, then every structural constraint ([`kro_schema::validation`])
//! and every `x-kubernetes-validations` rule, evaluated with CEL and `self`
//! bound to the value the rule sits on. Rules that read `oldSelf` compare
//! with the stored object, which a create does not have: as the API server
//! does, they are not evaluated.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, ValidationRule,
};
use kro_cel::template::{FieldPath, Segment};
use kro_cel::{Allowance, Env, Limits, Type, Value};
use kro_schema::validation::{self, FieldError, Step};

use crate::diagnostics::Diagnostic;
use crate::input::Object;

/// The variable a rule reads its value through.
const SELF: &str = "self";
/// The variable of transition rules, which a create does not evaluate.
const OLD_SELF: &str = "oldSelf";

/// Every error of `instance` (defaults already applied) against `schema`,
/// each located at its field in `object`'s file.
pub fn check(
    schema: &JSONSchemaProps,
    instance: &serde_json::Value,
    object: &Object<'_>,
) -> Vec<Diagnostic> {
    let mut env = Env::kro();
    env.add_variable(SELF, Type::Dyn);
    let mut evaluate =
        |rule: &ValidationRule, value: &serde_json::Value| evaluate(&env, rule, value);
    validation::validate_object(schema, instance, &mut evaluate)
        .iter()
        .map(|error| diagnostic(error, object))
        .collect()
}

fn diagnostic(error: &FieldError, object: &Object<'_>) -> Diagnostic {
    let mut path = FieldPath::root();
    for step in &error.path.0 {
        path.push(match step {
            Step::Key(key) => Segment::Key(key.clone()),
            Step::Index(index) => Segment::Index(*index),
        });
    }
    // An unknown field is shown at its key, a missing one at the key of
    // the object that lacks it, anything else at its value.
    let position = if error.message == validation::UNKNOWN_FIELD {
        object.key_position_of(&path)
    } else if error.message == validation::REQUIRED {
        path.pop();
        if path.segments().is_empty() {
            object.start()
        } else {
            object.key_position_of(&path)
        }
    } else {
        object.position_of(&path)
    };
    Diagnostic::error(format!("the instance is invalid: {error}")).at(position)
}

/// `Ok(None)` when `rule` holds for `value` (or is a transition rule),
/// `Ok(Some(message))` when it does not.
fn evaluate(
    env: &Env,
    rule: &ValidationRule,
    value: &serde_json::Value,
) -> Result<Option<String>, String> {
    if reads_old_self(&rule.rule) {
        return Ok(None);
    }
    let compiled = env.compile(&rule.rule).map_err(|diagnostics| {
        let messages: Vec<&str> = diagnostics.0.iter().map(|d| d.message.as_str()).collect();
        format!("it does not compile: {}", messages.join("; "))
    })?;
    let activation: &[(&str, Value)] = &[(SELF, Value::from_json(value))];
    let mut allowance = Allowance::new(Limits::default());
    match compiled.eval_within(&activation, &mut allowance) {
        Ok(Value::Bool(true)) => Ok(None),
        Ok(Value::Bool(false)) => Ok(Some(message(env, rule, activation))),
        Ok(other) => Err(format!("it returned {other}, not a bool")),
        Err(e) => Err(e.to_string()),
    }
}

/// The rule's message: its `messageExpression` when that evaluates to a
/// string, else its `message`, else the rule itself, as the API server
/// chooses.
fn message(env: &Env, rule: &ValidationRule, activation: &[(&str, Value)]) -> String {
    let from_expression = rule.message_expression.as_deref().and_then(|expression| {
        let compiled = env.compile(expression).ok()?;
        match compiled.eval_within(&activation, &mut Allowance::new(Limits::default())) {
            Ok(Value::String(text)) => Some(text.to_string()),
            _ => None,
        }
    });
    from_expression
        .or_else(|| rule.message.clone().filter(|m| !m.is_empty()))
        .unwrap_or_else(|| format!("failed rule: {}", rule.rule))
}

/// Whether the rule names `oldSelf` (as an identifier, not inside a
/// longer one).
fn reads_old_self(rule: &str) -> bool {
    rule.match_indices(OLD_SELF).any(|(at, _)| {
        let before = rule[..at].chars().next_back();
        let after = rule[at + OLD_SELF.len()..].chars().next();
        let identifier = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !identifier(before) && !identifier(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_rules_are_recognised() {
        assert!(reads_old_self("self == oldSelf"));
        assert!(reads_old_self("oldSelf.x < self.x"));
        assert!(!reads_old_self("self.oldSelfish == 1"));
    }

    #[test]
    fn a_false_rule_gives_its_message() {
        let mut env = Env::kro();
        env.add_variable(SELF, Type::Dyn);
        let rule = |rule: &str, message: Option<&str>| ValidationRule {
            rule: rule.into(),
            message: message.map(Into::into),
            ..ValidationRule::default()
        };
        let value = serde_json::json!({"min": 5, "max": 1});
        assert_eq!(
            evaluate(
                &env,
                &rule("self.min <= self.max", Some("min > max")),
                &value
            ),
            Ok(Some("min > max".into()))
        );
        assert_eq!(
            evaluate(&env, &rule("self.min > self.max", None), &value),
            Ok(None)
        );
        assert_eq!(
            evaluate(&env, &rule("self.min <= 0", None), &value),
            Ok(Some("failed rule: self.min <= 0".into()))
        );
        assert!(evaluate(&env, &rule("self.min", None), &value).is_err());
        let with_expression = ValidationRule {
            message_expression: Some("'min is ' + string(self.min)".into()),
            ..rule("self.min <= self.max", Some("unused"))
        };
        assert_eq!(
            evaluate(&env, &with_expression, &value),
            Ok(Some("min is 5".into()))
        );
    }
}
