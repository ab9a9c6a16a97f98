//! Structural mutations of JSON documents (SimpleSchemas, RGDs): the
//! document stays JSON, so each input reaches the code behind the JSON
//! reader instead of failing in it.

use serde_json::{Map, Value, json};

use crate::mutate::mutate;
use crate::rng::Rng;

/// Where mutations draw new strings from.
pub struct Material<'a> {
    /// Whole strings to put in place of a value (type specs with markers,
    /// templates with `${...}`).
    pub strings: &'a [String],
    /// Tokens for text mutations of a string in place.
    pub tokens: &'a [String],
}

/// One to four random mutations of `document`.
pub fn mutate_json(rng: &mut Rng, document: &mut Value, material: &Material<'_>) {
    for _ in 0..rng.between(1, 4) {
        let nodes = count(document);
        let target = rng.below(nodes);
        let donor = nth(document, rng.below(nodes)).cloned();
        if let Some(node) = nth_mut(document, target) {
            mutate_node(rng, node, donor, material);
        }
    }
}

fn mutate_node(rng: &mut Rng, node: &mut Value, donor: Option<Value>, material: &Material<'_>) {
    match rng.below(9) {
        0 | 1 => {
            if let Some(text) = rng.choose(material.strings) {
                *node = Value::String(text.clone());
            }
        }
        2 => {
            if let Value::String(text) = node {
                *text = mutate(rng, text, material.tokens, material.strings);
            }
        }
        3 => {
            *node = rng
                .pick(&[
                    json!(null),
                    json!(true),
                    json!(0),
                    json!(-1),
                    json!(1.5),
                    json!(9_223_372_036_854_775_807_i64),
                    json!(""),
                    json!({}),
                    json!([]),
                ])
                .clone();
        }
        4 => match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).cloned();
                if let Some(key) = key {
                    map.shift_remove(&key);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                items.remove(rng.below(items.len()));
            }
            _ => {}
        },
        5 => match node {
            Value::Object(map) => {
                let value = donor.unwrap_or(Value::Null);
                let key = match rng.choose(material.strings) {
                    Some(text) if rng.chance(1, 3) => text.clone(),
                    _ => format!("f{}", rng.below(100)),
                };
                map.insert(key, value);
            }
            Value::Array(items) => {
                let copy = items
                    .get(rng.below(items.len()))
                    .cloned()
                    .or(donor)
                    .unwrap_or(Value::Null);
                let times = if rng.chance(1, 8) {
                    rng.between(16, 200)
                } else {
                    1
                };
                for _ in 0..times {
                    items.push(copy.clone());
                }
            }
            _ => {}
        },
        6 => {
            let depth = if rng.chance(1, 4) {
                rng.between(32, 130)
            } else {
                rng.between(1, 6)
            };
            let mut nested = std::mem::take(node);
            for _ in 0..depth {
                let mut map = Map::new();
                map.insert("n".to_owned(), nested);
                nested = Value::Object(map);
            }
            *node = nested;
        }
        7 => {
            if let Some(donor) = donor {
                *node = donor;
            }
        }
        _ => {
            if let Value::Object(map) = node {
                rename_a_key(rng, map, material);
            }
        }
    }
}

fn rename_a_key(rng: &mut Rng, map: &mut Map<String, Value>, material: &Material<'_>) {
    let Some(key) = map.keys().nth(rng.below(map.len())).cloned() else {
        return;
    };
    let Some(value) = map.shift_remove(&key) else {
        return;
    };
    map.insert(mutate(rng, &key, material.tokens, &[]), value);
}

/// Nodes in `value`, itself included.
fn count(value: &Value) -> usize {
    1 + match value {
        Value::Object(map) => map.values().map(count).sum(),
        Value::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node in pre-order.
fn nth(value: &Value, n: usize) -> Option<&Value> {
    if n == 0 {
        return Some(value);
    }
    let mut n = n - 1;
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Object(map) => Box::new(map.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return None,
    };
    for child in children {
        let size = count(child);
        if n < size {
            return nth(child, n);
        }
        n -= size;
    }
    None
}

/// [`nth`], mutable.
fn nth_mut(value: &mut Value, n: usize) -> Option<&mut Value> {
    if n == 0 {
        return Some(value);
    }
    let mut n = n - 1;
    let children: Box<dyn Iterator<Item = &mut Value>> = match value {
        Value::Object(map) => Box::new(map.values_mut()),
        Value::Array(items) => Box::new(items.iter_mut()),
        _ => return None,
    };
    for child in children {
        let size = count(child);
        if n < size {
            return nth_mut(child, n);
        }
        n -= size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Material, count, mutate_json, nth};
    use crate::rng::Rng;
    use serde_json::json;

    #[test]
    fn nodes_are_numbered_in_pre_order() {
        let doc = json!({"a": [1, {"b": 2}], "c": 3});
        assert_eq!(count(&doc), 6);
        assert_eq!(nth(&doc, 2), Some(&json!(1)));
        assert_eq!(nth(&doc, 4), Some(&json!(2)));
        assert_eq!(nth(&doc, 5), Some(&json!(3)));
        assert_eq!(nth(&doc, 6), None);
    }

    #[test]
    fn mutations_change_documents() {
        let strings = vec!["string | required=true".to_owned()];
        let tokens = vec!["[]".to_owned()];
        let material = Material {
            strings: &strings,
            tokens: &tokens,
        };
        let mut rng = Rng::new(5);
        let seed = json!({"spec": {"name": "string", "n": "integer"}});
        let changed = (0..200)
            .filter(|_| {
                let mut doc = seed.clone();
                mutate_json(&mut rng, &mut doc, &material);
                doc != seed
            })
            .count();
        assert!(changed > 150, "{changed} of 200 changed");
    }
}
