//! Schema-aware conversion of observed objects into CEL values, so that run
//! time agrees with the types the checker used: `date-time` strings become
//! timestamps, `duration` strings durations, `byte` strings bytes, and
//! properties are reachable under their escaped names.

use std::sync::Arc;

use base64::Engine;

use super::SchemaTypes;
use super::escape::escape_field_name;
use crate::lib_std::time::{parse_duration, parse_timestamp};
use crate::types::Type;
use crate::value::{Key, Value};

/// Deeper values are converted without their schema.
const MAX_DEPTH: usize = 128;

impl SchemaTypes {
    /// The CEL value of an object of this schema. Values that do not match
    /// the schema (a string where a timestamp is declared but that does not
    /// parse) are converted as plain JSON, never refused: the API server
    /// validated them, and an expression should see what is there.
    pub fn value_of(&self, json: &serde_json::Value) -> Value {
        self.typed(json, &self.root, 0)
    }

    fn typed(&self, json: &serde_json::Value, ty: &Type, depth: usize) -> Value {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return Value::from_json(json);
        }
        match (ty, json) {
            (Type::Timestamp, J::String(s)) => {
                let text = if s.len() == 10 {
                    // format: date
                    format!("{s}T00:00:00Z")
                } else {
                    s.clone()
                };
                parse_timestamp(&text).map_or_else(|_| Value::from(s.as_str()), Value::Timestamp)
            }
            (Type::Duration, J::String(s)) => {
                parse_duration(s).map_or_else(|_| Value::from(s.as_str()), Value::Duration)
            }
            (Type::Bytes, J::String(s)) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_or_else(|_| Value::from(s.as_str()), |b| Value::Bytes(b.into())),
            (Type::Int, J::Number(n)) if n.as_i64().is_none() => match n.as_f64() {
                // A whole number written as a double (`3.0`) is still an int field.
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Value::Int(f as i64),
                _ => Value::from_json(json),
            },
            (Type::Double, J::Number(n)) => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            (Type::List(element), J::Array(items)) => Value::list(
                items
                    .iter()
                    .map(|item| self.typed(item, element, depth + 1))
                    .collect(),
            ),
            (Type::Map(_, value), J::Object(entries)) => Value::Map(Arc::new(
                entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            Key::String(Arc::from(k.as_str())),
                            self.typed(v, value, depth + 1),
                        )
                    })
                    .collect(),
            )),
            (Type::Object(name), J::Object(entries)) => {
                let Some(object) = self.objects.get(&**name) else {
                    return Value::from_json(json);
                };
                let mut out = crate::value::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let escaped = escape_field_name(k);
                    // Reserved words are reachable both ways (`namespace`
                    // and `__namespace__`, as declared); other escapes are
                    // the only way to reach the property.
                    let name = match &escaped {
                        Some(e) if !super::is_reserved(k) => e.clone(),
                        _ => k.clone(),
                    };
                    let value = match object.fields.get(&name) {
                        Some(field) => self.typed(v, field, depth + 1),
                        None => Value::from_json(v),
                    };
                    if super::is_reserved(k)
                        && let Some(alias) = escaped
                    {
                        out.insert(Key::String(Arc::from(alias.as_str())), value.clone());
                    }
                    out.insert(Key::String(Arc::from(name.as_str())), value);
                }
                Value::Map(Arc::new(out))
            }
            _ => Value::from_json(json),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::openapi_types::SchemaTypes;
    use crate::openapi_types::tests::kind;
    use crate::{Env, Value};

    #[test]
    fn observed_deployment_has_typed_values() {
        let t = kind("apis__apps__v1.json.gz", "apps/v1", "Deployment");
        let mut env = Env::kro().with_variable("deployment", t.root().clone());
        t.declare(&mut env);
        let object = t.value_of(&json!({
            "metadata": {"name": "web", "namespace": "ns", "creationTimestamp": "2024-01-02T03:04:05Z"},
            "spec": {"replicas": 3.0},
            "status": {"conditions": [{"type": "Available", "lastTransitionTime": "2024-01-02T04:04:05Z"}]}
        }));
        let eval = |src: &str| {
            env.compile_kro(src)
                .map_err(|d| d.to_string())?
                .eval(&[("deployment", object.clone())])
                .map_err(|e| e.to_string())
        };
        let yes = |src: &str| {
            assert!(
                matches!(eval(src), Ok(Value::Bool(true))),
                "{src}: {:?}",
                eval(src)
            )
        };
        yes(
            "deployment.metadata.creationTimestamp + duration('1h') == deployment.status.conditions[0].lastTransitionTime",
        );
        yes("deployment.metadata.creationTimestamp.getFullYear() == 2024");
        yes("deployment.spec.replicas == 3 && type(deployment.spec.replicas) == int");
        yes("deployment.metadata.namespace == 'ns'");
        yes("deployment.metadata.__namespace__ == 'ns'");
        // Written back, the property appears once, under its name.
        let meta = env
            .compile_kro("deployment.metadata")
            .expect("checks")
            .eval(&[("deployment", object.clone())])
            .expect("evaluates");
        let json = crate::result_json::to_template_json(&meta)
            .expect("JSON")
            .expect("value");
        assert_eq!(json.get("namespace"), Some(&json!("ns")));
        assert_eq!(json.as_object().map(|o| o.len()), Some(3));
    }

    #[test]
    fn escaped_properties_formats_and_mismatches() {
        let schema = serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "my-field": {"type": "string"},
                "data": {"type": "string", "format": "byte"},
                "day": {"type": "string", "format": "date"},
                "timeout": {"type": "string", "format": "duration"},
                "when": {"type": "string", "format": "date-time"}
            }
        }))
        .expect("schema");
        let t = SchemaTypes::of_schema("__type_x", &schema);
        let v = t.value_of(&json!({
            "my-field": "a",
            "data": "YWJj",
            "day": "2024-05-06",
            "timeout": "1m30s",
            "when": "not a time",
            "unknown": 1
        }));
        let Value::Map(m) = &v else { panic!("map") };
        let get = |k: &str| m.get(&crate::Key::String(std::sync::Arc::from(k))).cloned();
        assert!(get("my__dash__field").is_some_and(|v| v.equals(&Value::from("a"))));
        assert!(matches!(get("data"), Some(Value::Bytes(b)) if &*b == b"abc"));
        assert!(matches!(get("day"), Some(Value::Timestamp(_))));
        assert!(matches!(get("timeout"), Some(Value::Duration(d)) if d.as_secs() == 90));
        assert!(get("when").is_some_and(|v| v.equals(&Value::from("not a time"))));
        assert!(get("unknown").is_some_and(|v| v.equals(&Value::Int(1))));
        // Written back, properties get their real names again.
        let out = crate::result_json::to_template_json(&Value::Map(std::sync::Arc::new(
            [(
                crate::Key::String(std::sync::Arc::from("my__dash__field")),
                Value::from("a"),
            )]
            .into_iter()
            .collect(),
        )));
        assert_eq!(out, Ok(Some(json!({"my-field": "a"}))));
    }
}
