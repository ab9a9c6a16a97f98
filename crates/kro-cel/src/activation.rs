//! Where variable values come from during evaluation.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;

use crate::value::Value;

/// Supplies variable values to an evaluation.
pub trait Activation {
    /// The value of variable `name`, if bound.
    fn resolve(&self, name: &str) -> Option<Value>;
}

impl Activation for () {
    fn resolve(&self, _: &str) -> Option<Value> {
        None
    }
}

impl<S: std::hash::BuildHasher> Activation for HashMap<String, Value, S> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for BTreeMap<String, Value> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for IndexMap<String, Value> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for &[(&str, Value)] {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

impl Activation for Vec<(&str, Value)> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.as_slice().resolve(name)
    }
}

impl<const N: usize> Activation for [(&str, Value); N] {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.as_slice().resolve(name)
    }
}

/// Variables bound to JSON documents, converted to CEL values only when an
/// expression first reads them (kro binds every resource of a graph, and an
/// expression usually reads one or two). Each conversion is cached for the
/// lifetime of the activation.
#[derive(Debug, Default)]
pub struct JsonActivation<'a> {
    documents: IndexMap<String, &'a serde_json::Value>,
    converted: std::cell::RefCell<HashMap<String, Value>>,
}

impl<'a> JsonActivation<'a> {
    /// An activation with no variables.
    pub fn new() -> Self {
        JsonActivation::default()
    }

    /// Binds `name` to a JSON document.
    pub fn bind(&mut self, name: &str, document: &'a serde_json::Value) -> &mut Self {
        self.documents.insert(name.to_string(), document);
        self.converted.borrow_mut().remove(name);
        self
    }
}

impl Activation for JsonActivation<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.converted.borrow().get(name) {
            return Some(v.clone());
        }
        let doc = self.documents.get(name)?;
        let v = Value::from_json(doc);
        self.converted
            .borrow_mut()
            .insert(name.to_string(), v.clone());
        Some(v)
    }
}
