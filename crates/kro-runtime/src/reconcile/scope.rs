//! The activations the expressions of a pass are evaluated in: the
//! bindings of the pass (`schema`, `runtime` and every observed resource),
//! with a few variables added or some resources hidden.

use std::collections::BTreeMap;

use kro_cel::{Activation, Value};

/// Variables of a base activation plus a few more (an item's iterators or
/// `each`), looked up first.
pub(super) struct Scope<'a> {
    pub base: &'a BTreeMap<String, Value>,
    pub extra: Vec<(String, Value)>,
}

impl Activation for Scope<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.base.get(name).cloned())
    }
}

/// The bindings without the resources in `hidden`.
pub(super) struct ReadyOnly<'a> {
    pub base: &'a BTreeMap<String, Value>,
    pub hidden: &'a [&'a str],
}

impl Activation for ReadyOnly<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        if self.hidden.contains(&name) {
            return None;
        }
        self.base.get(name).cloned()
    }
}
