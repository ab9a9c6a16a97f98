//! Schema-aware conversion of observed objects into CEL values, so that run
//! time agrees with the types the checker used: `date-time` strings become
//! timestamps, `duration` strings durations, `byte` strings bytes, and
//! properties are reachable under their escaped names.

use std::sync::Arc;

use base64::Engine;

use super::SchemaTypes;
use super::convert::{LIST_ELEMENT, MAP_VALUE};
use super::escape::escape_field_name;
use crate::types::Type;
use crate::value::time::{parse_duration, parse_timestamp};
use crate::value::{Key, List, Value};

/// Deeper values are converted without their schema.
const MAX_DEPTH: usize = 128;

impl SchemaTypes {
    /// The CEL value of an object of this schema. Values that do not match
    /// the schema (a string where a timestamp is declared but that does not
    /// parse) are converted as plain JSON, never refused: the API server
    /// validated them, and an expression should see what is there.
    ///
    /// Lists the schema makes `set` or `map` lists remember it (see
    /// [`List`]), so they compare regardless of order, as in the API server.
    pub fn value_of(&self, json: &serde_json::Value) -> Value {
        self.typed(json, &self.root, Some(&self.root_name), 0)
    }

    /// `path` is the schema path of the value (`__type_x.spec.ports`), the
    /// key of its list kind. Object types are named by their path, so it
    /// is only given where a list may be found: for lists and maps.
    fn typed(
        &self,
        json: &serde_json::Value,
        ty: &Type,
        path: Option<&str>,
        depth: usize,
    ) -> Value {
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
            (Type::List(element), J::Array(items)) => {
                let element_path = child_path(path, LIST_ELEMENT, element);
                let items = items
                    .iter()
                    .map(|item| self.typed(item, element, element_path.as_deref(), depth + 1))
                    .collect();
                match path.and_then(|p| self.list_kinds.get(p)) {
                    Some(kind) => Value::List(List::with_kind(items, kind.clone())),
                    None => Value::list(items),
                }
            }
            (Type::Map(_, value), J::Object(entries)) => {
                let value_path = child_path(path, MAP_VALUE, value);
                Value::Map(Arc::new(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            (
                                Key::String(Arc::from(k.as_str())),
                                self.typed(v, value, value_path.as_deref(), depth + 1),
                            )
                        })
                        .collect(),
                ))
            }
            (Type::Object(type_name), J::Object(entries)) => {
                let Some(object) = self.objects.get(&**type_name) else {
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
                        Some(field) => {
                            // Fields were declared under their escaped names.
                            let field_name = escaped.as_deref().unwrap_or(&name);
                            let path = child_path(Some(type_name), field_name, field);
                            self.typed(v, field, path.as_deref(), depth + 1)
                        }
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

/// The schema path of a child (`segment` is a property name, or the list
/// element or map value marker) when the child is a list or holds lists
/// through maps: only those need it (objects are named by their path), and
/// skipping the others keeps `labels` and the like from costing a string.
fn child_path(parent: Option<&str>, segment: &str, child: &Type) -> Option<String> {
    fn needs_path(t: &Type) -> bool {
        match t {
            Type::List(_) => true,
            Type::Map(_, value) => needs_path(value),
            _ => false,
        }
    }
    parent
        .filter(|_| needs_path(child))
        .map(|p| format!("{p}.{segment}"))
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
    fn set_and_map_lists_of_a_pod_compare_regardless_of_order() {
        let t = kind("api__v1.json.gz", "v1", "Pod");
        let mut env = Env::kro()
            .with_variable("pod", t.root().clone())
            .with_variable("other", t.root().clone());
        t.declare(&mut env);
        let pod = |containers: serde_json::Value, finalizers: serde_json::Value| {
            t.value_of(&json!({
                "metadata": {"name": "p", "finalizers": finalizers},
                "spec": {"containers": containers}
            }))
        };
        let web = json!({
            "name": "web",
            "image": "nginx",
            "args": ["--a", "--b"],
            "ports": [
                {"containerPort": 80, "protocol": "TCP"},
                {"containerPort": 53, "protocol": "UDP"}
            ]
        });
        let sidecar = json!({"name": "sidecar", "image": "envoy"});
        let first = pod(json!([web.clone(), sidecar.clone()]), json!(["x/a", "x/b"]));
        let swapped = pod(json!([sidecar, web]), json!(["x/b", "x/a"]));
        let eval = |src: &str| {
            env.compile_kro(src)
                .map_err(|d| d.to_string())?
                .eval(&[("pod", first.clone()), ("other", swapped.clone())])
                .map_err(|e| e.to_string())
        };
        let check = |src: &str, expected: bool| {
            assert!(
                matches!(eval(src), Ok(Value::Bool(b)) if b == expected),
                "{src}: {:?}",
                eval(src)
            )
        };
        // `finalizers` is a set; either side may be the schema's list.
        check("pod.metadata.finalizers == ['x/b', 'x/a']", true);
        check("['x/b', 'x/a'] == pod.metadata.finalizers", true);
        check("pod.metadata.finalizers != ['x/b', 'x/a']", false);
        check("pod.metadata.finalizers == ['x/a', 'x/a']", false);
        check("pod.metadata.finalizers == ['x/a']", false);
        // Container ports are a map list keyed by port and protocol.
        check(
            "pod.spec.containers[0].ports == dyn([{'containerPort': 53, 'protocol': 'UDP'}, {'containerPort': 80, 'protocol': 'TCP'}])",
            true,
        );
        check(
            "pod.spec.containers[0].ports == dyn([{'containerPort': 53, 'protocol': 'TCP'}, {'containerPort': 80, 'protocol': 'TCP'}])",
            false,
        );
        // Containers are a map list keyed by name: whole objects holding
        // them compare regardless of the order, at any depth.
        check("pod.spec.containers == other.spec.containers", true);
        check(
            "pod.spec == other.spec && pod.metadata == other.metadata",
            true,
        );
        check("pod == other", true);
        check("[pod.spec] == [other.spec]", true);
        // `args` is atomic: ordered.
        check("pod.spec.containers[0].args == ['--a', '--b']", true);
        check("pod.spec.containers[0].args == ['--b', '--a']", false);
        // What functions return are ordinary lists.
        check(
            "pod.metadata.finalizers.filter(f, true) == ['x/b', 'x/a']",
            false,
        );
        check(
            "other.spec.containers.map(c, c.name) == ['web', 'sidecar']",
            false,
        );
        // `+` merges into set and map lists, and keeps their kind.
        check(
            "(pod.metadata.finalizers + ['x/c', 'x/a']).size() == 3",
            true,
        );
        check(
            "pod.metadata.finalizers + ['x/c', 'x/a'] == ['x/c', 'x/b', 'x/a']",
            true,
        );
        check(
            "(pod.spec.containers + [other.spec.containers[1]]).size() == 2",
            true,
        );
        // Only the left operand's kind counts: this is a concatenation.
        check(
            "['x/c'] + pod.metadata.finalizers == ['x/c', 'x/a', 'x/b']",
            true,
        );
        check(
            "['x/c'] + pod.metadata.finalizers == ['x/c', 'x/b', 'x/a']",
            false,
        );
    }

    #[test]
    fn list_kinds_inside_lists_and_maps() {
        // A set inside a map's values and inside a list's elements still
        // compares as a set; an atomic list beside it does not.
        let schema = serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "groups": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": {"type": "string"},
                        "x-kubernetes-list-type": "set"
                    }
                },
                "matrix": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "x-kubernetes-list-type": "set"
                    }
                },
                "ordered": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "x-kubernetes-list-type": "atomic"
                },
                "my-items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"my-key": {"type": "string"}, "v": {"type": "integer"}}
                    },
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["my-key"]
                }
            }
        }))
        .expect("schema");
        let t = SchemaTypes::of_schema("__type_x", &schema);
        let mut env = Env::kro().with_variable("x", t.root().clone());
        t.declare(&mut env);
        let x = t.value_of(&json!({
            "groups": {"a": ["u", "v"]},
            "matrix": [[1, 2], [3, 4]],
            "ordered": [1, 2],
            "my-items": [{"my-key": "a", "v": 1}, {"my-key": "b", "v": 2}]
        }));
        let check = |src: &str, expected: bool| {
            let out = env
                .compile_kro(src)
                .map_err(|d| d.to_string())
                .and_then(|p| p.eval(&[("x", x.clone())]).map_err(|e| e.to_string()));
            assert!(
                matches!(out, Ok(Value::Bool(b)) if b == expected),
                "{src}: {out:?}"
            );
        };
        check("x.groups.a == ['v', 'u']", true);
        check("x.matrix[1] == [4, 3]", true);
        // The outer list is atomic: its elements keep their order.
        check("x.matrix == [[2, 1], [4, 3]]", true);
        check("x.matrix == [[3, 4], [1, 2]]", false);
        check("x.ordered == [2, 1]", false);
        // Map keys are escaped like the properties they name.
        check(
            "x.my__dash__items == dyn([{'my__dash__key': 'b', 'v': 2}, {'my__dash__key': 'a', 'v': 1}])",
            true,
        );
        check(
            "x.my__dash__items == dyn([{'my__dash__key': 'b', 'v': 1}, {'my__dash__key': 'a', 'v': 2}])",
            false,
        );
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
