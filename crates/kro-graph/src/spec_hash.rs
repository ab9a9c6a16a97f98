//! A hash of an RGD's spec that ignores ordering noise, to tell whether two
//! specs describe the same graph (upstream labels graph revisions with it).

use serde_json::{Map, Value};

use crate::api::{ResourceGraphDefinitionSpec, Scope};

/// The FNV-64a hash, in hex, of the spec's normal form: defaults filled in
/// (group `kro.run`, scope `Namespaced`), resources sorted by id, each
/// resource's `readyWhen` and `includeWhen` sorted, every object's keys
/// sorted. `forEach` keeps its order: it decides the order of items.
pub fn spec_hash(spec: &ResourceGraphDefinitionSpec) -> String {
    let mut spec = spec.clone();
    spec.schema.group = Some(spec.schema.group_or_default().to_owned());
    spec.schema.scope = Some(spec.schema.scope.unwrap_or(Scope::Namespaced));
    spec.resources.sort_by(|a, b| a.id.cmp(&b.id));
    for resource in &mut spec.resources {
        resource.ready_when.sort();
        resource.include_when.sort();
    }
    let normal = canonical(serde_json::to_value(&spec).unwrap_or(Value::Null));
    format!(
        "{:016x}",
        kro_cel::library::kro::fnv64a(normal.to_string().as_bytes())
    )
}

/// `value` with every object's keys in sorted order.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::spec_hash;
    use crate::api::ResourceGraphDefinitionSpec;

    fn spec(value: serde_json::Value) -> ResourceGraphDefinitionSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ordering_noise_and_defaults_do_not_change_the_hash() {
        let a = spec(json!({
            "schema": { "apiVersion": "v1alpha1", "kind": "App", "spec": { "b": "string", "a": "integer" } },
            "resources": [
                { "id": "x", "template": { "kind": "ConfigMap", "apiVersion": "v1" }, "includeWhen": ["${b}", "${a}"] },
                { "id": "y", "template": { "apiVersion": "v1", "kind": "Secret" } }
            ]
        }));
        let b = spec(json!({
            "schema": { "kind": "App", "apiVersion": "v1alpha1", "group": "kro.run", "scope": "Namespaced",
                        "spec": { "a": "integer", "b": "string" } },
            "resources": [
                { "id": "y", "template": { "kind": "Secret", "apiVersion": "v1" } },
                { "id": "x", "template": { "apiVersion": "v1", "kind": "ConfigMap" }, "includeWhen": ["${a}", "${b}"] }
            ]
        }));
        assert_eq!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 16);
    }

    #[test]
    fn meaningful_changes_change_the_hash() {
        let base = json!({
            "schema": { "apiVersion": "v1alpha1", "kind": "App" },
            "resources": [{ "id": "x", "template": { "apiVersion": "v1", "kind": "ConfigMap" },
                            "forEach": [{ "a": "${[1]}" }, { "b": "${[2]}" }] }]
        });
        let mut reordered = base.clone();
        reordered["resources"][0]["forEach"] = json!([{ "b": "${[2]}" }, { "a": "${[1]}" }]);
        let mut other_kind = base.clone();
        other_kind["schema"]["kind"] = json!("Other");
        let hash = spec_hash(&spec(base));
        assert_ne!(
            hash,
            spec_hash(&spec(reordered)),
            "forEach order decides item order"
        );
        assert_ne!(hash, spec_hash(&spec(other_kind)));
    }
}
