//! List values, and the `x-kubernetes-list-type` semantics the API server
//! gives to lists read from a schema.
//!
//! A list converted from JSON through its schema
//! ([`crate::openapi_types::SchemaTypes::value_of`]) remembers whether the
//! schema declares it a `set` or a `map` list. Such a list compares without
//! regard to order, and `+` merges into it instead of appending blindly, as
//! in the API server's CEL. Every other list (literals, function results,
//! lists read without a schema, `atomic` lists) is an ordinary CEL list.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::Arc;

use super::steps::{Exhausted, Steps};
use super::{Key, Value};

/// How a list's elements are identified, from `x-kubernetes-list-type`.
/// `atomic` (the default) needs no entry: such lists are ordinary lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// `set`: unique scalar elements; order does not matter.
    Set,
    /// `map`: objects identified by the values of `keys`; order does not
    /// matter.
    Map {
        /// The `x-kubernetes-list-map-keys`, named as CEL sees the
        /// properties (escaped like every property name, see
        /// [`crate::openapi_types::escape_field_name`]).
        keys: Vec<Arc<str>>,
    },
}

/// A list value: its elements and, for a list read through a schema that
/// makes it a `set` or `map` list, that kind.
///
/// It dereferences to its elements, so it reads like a `Vec<Value>`.
#[derive(Debug, Clone, Default)]
pub struct List {
    items: Arc<Vec<Value>>,
    kind: Option<Arc<ListKind>>,
}

impl List {
    /// An ordinary (ordered) list.
    pub fn new(items: Vec<Value>) -> List {
        List {
            items: Arc::new(items),
            kind: None,
        }
    }

    /// A list with the semantics of `kind`. The elements are taken as they
    /// are: like the API server, nothing checks that a set has no
    /// duplicates or that map keys are unique (the API server validated
    /// the object already).
    pub fn with_kind(items: Vec<Value>, kind: Arc<ListKind>) -> List {
        List {
            items: Arc::new(items),
            kind: Some(kind),
        }
    }

    /// The schema's list type, when it is `set` or `map`.
    pub fn kind(&self) -> Option<&ListKind> {
        self.kind.as_deref()
    }

    /// Whether another value holds these same elements, so that changing
    /// them means copying them first.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.items) > 1
    }

    /// The elements, to change in place (copied first when shared).
    pub fn make_mut(&mut self) -> &mut Vec<Value> {
        Arc::make_mut(&mut self.items)
    }

    /// CEL equality. When either list is a `set` or `map` list (the left
    /// one's kind first), order does not matter; otherwise elements are
    /// compared pairwise. The API server only looks at the left operand's
    /// kind; either counts here so that `a == b` and `b == a` agree.
    ///
    /// For a `set`, both lists must have the same length and the same
    /// distinct elements. For a `map` list, both must have the same length,
    /// every element of each must have an element with the same key values
    /// in the other, and elements with the same key must be equal (an
    /// absent key property counts as `null`; with duplicate keys, the last
    /// element of a key is the one compared).
    pub fn equals(&self, other: &List) -> bool {
        self.equals_within(other, &mut Steps::unlimited())
            .unwrap_or(false)
    }

    /// [`List::equals`], counting the values visited in `steps`.
    pub(crate) fn equals_within(&self, other: &List, steps: &mut Steps) -> Result<bool, Exhausted> {
        if self.len() != other.len() {
            return Ok(false);
        }
        let Some(kind) = self.kind().or_else(|| other.kind()) else {
            for (x, y) in self.iter().zip(other.iter()) {
                if !x.equals_within(y, steps)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        };
        let mine = KeyIndex::of(kind, self, steps)?;
        let theirs = KeyIndex::of(kind, other, steps)?;
        // Each side's keys must all appear in the other: same length alone
        // would let `[a, a]` equal the set `[a, b]`.
        for e in other.iter() {
            let matched = match mine.find(e, steps)?.and_then(|i| self.get(i)) {
                Some(x) => matches!(kind, ListKind::Set) || x.equals_within(e, steps)?,
                None => false,
            };
            if !matched {
                return Ok(false);
            }
        }
        for e in self.iter() {
            if theirs.find(e, steps)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `self + other`: for an ordinary list, the concatenation. For a `set`
    /// list, the union: its elements in place, then those of `other` it
    /// lacks, in their order. For a `map` list, the merge: an element of
    /// `other` whose key is already present replaces that element in its
    /// position, the others are appended in their order. The result keeps
    /// the kind. Only the left operand's kind counts, as in the API server.
    pub fn concat(&self, other: &List) -> List {
        match self.concat_within(other, &mut Steps::unlimited()) {
            Ok(list) => list,
            Err(Exhausted) => unreachable!("an unlimited walk never runs out"),
        }
    }

    /// [`List::concat`], counting the values visited in `steps` (merging
    /// into a `set` or `map` list looks every element up).
    pub(crate) fn concat_within(&self, other: &List, steps: &mut Steps) -> Result<List, Exhausted> {
        let mut items = Vec::with_capacity(self.len() + other.len());
        items.extend(self.iter().cloned());
        let Some(kind) = self.kind() else {
            items.extend(other.iter().cloned());
            return Ok(List::new(items));
        };
        let mut index = KeyIndex::of(kind, self, steps)?;
        for e in other.iter() {
            match (kind, index.find(e, steps)?) {
                (ListKind::Map { .. }, Some(i)) => {
                    if let Some(slot) = items.get_mut(i) {
                        *slot = e.clone();
                    }
                }
                (ListKind::Set, Some(_)) => {}
                (ListKind::Set, None) => {
                    // Added to the index too: `other`'s own duplicates are
                    // dropped as well.
                    index.insert(e, items.len());
                    items.push(e.clone());
                }
                // Appended map elements are not indexed, as in the API
                // server: two new elements with one key are both kept.
                (ListKind::Map { .. }, None) => items.push(e.clone()),
            }
        }
        Ok(List {
            items: Arc::new(items),
            kind: self.kind.clone(),
        })
    }
}

impl Deref for List {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.items
    }
}

impl From<Vec<Value>> for List {
    fn from(items: Vec<Value>) -> List {
        List::new(items)
    }
}

/// A key part that can be hashed, for the common lists of strings and
/// integers and maps keyed by them: equal parts are exactly the CEL-equal
/// values. Doubles (equal to ints, NaN equal to nothing) and composites are
/// left out and compared with CEL equality instead.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Part<'a> {
    Null,
    Bool(bool),
    Int(i128),
    String(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Part<'a> {
    fn of(v: &'a Value) -> Option<Part<'a>> {
        Some(match v {
            Value::Null => Part::Null,
            Value::Bool(b) => Part::Bool(*b),
            Value::Int(i) => Part::Int(i128::from(*i)),
            Value::Uint(u) => Part::Int(i128::from(*u)),
            Value::String(s) => Part::String(s),
            Value::Bytes(b) => Part::Bytes(b),
            _ => return None,
        })
    }
}

/// Finds, for an element, the last indexed element with the same key: the
/// element itself for a set, its key properties for a map list.
struct KeyIndex<'a> {
    kind: &'a ListKind,
    entries: Vec<(&'a Value, usize)>,
    /// Keys by hash, while every indexed key has only hashable parts;
    /// `None` once one has not, and lookups compare one by one.
    hashed: Option<HashMap<Vec<Part<'a>>, usize>>,
}

impl<'a> KeyIndex<'a> {
    fn of(
        kind: &'a ListKind,
        items: &'a [Value],
        steps: &mut Steps,
    ) -> Result<KeyIndex<'a>, Exhausted> {
        steps.take(items.len() as u64)?;
        let mut index = KeyIndex {
            kind,
            entries: Vec::with_capacity(items.len()),
            hashed: Some(HashMap::with_capacity(items.len())),
        };
        for (i, e) in items.iter().enumerate() {
            index.insert(e, i);
        }
        Ok(index)
    }

    fn insert(&mut self, e: &'a Value, position: usize) {
        self.entries.push((e, position));
        let key = self.hashable_key(e);
        match (&mut self.hashed, key) {
            (Some(map), Some(key)) => {
                map.insert(key, position);
            }
            (hashed, _) => *hashed = None,
        }
    }

    fn find(&self, e: &Value, steps: &mut Steps) -> Result<Option<usize>, Exhausted> {
        steps.take(1)?;
        steps.read(key_bytes(self.kind, e))?;
        if let (Some(map), Some(key)) = (&self.hashed, self.hashable_key(e)) {
            return Ok(map.get(&key).copied());
        }
        for (x, position) in self.entries.iter().rev() {
            if self.same_key(x, e, steps)? {
                return Ok(Some(*position));
            }
        }
        Ok(None)
    }

    fn hashable_key(&self, e: &'a Value) -> Option<Vec<Part<'a>>> {
        match self.kind {
            ListKind::Set => Some(vec![Part::of(e)?]),
            ListKind::Map { keys } => keys.iter().map(|k| Part::of(key_part(e, k))).collect(),
        }
    }

    fn same_key(&self, a: &Value, b: &Value, steps: &mut Steps) -> Result<bool, Exhausted> {
        match self.kind {
            ListKind::Set => a.equals_within(b, steps),
            ListKind::Map { keys } => {
                for k in keys {
                    if !key_part(a, k).equals_within(key_part(b, k), steps)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

const NULL: &Value = &Value::Null;

/// The bytes of strings in an element's key, which hashing it reads.
fn key_bytes(kind: &ListKind, e: &Value) -> usize {
    let text = |v: &Value| match v {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    };
    match kind {
        ListKind::Set => text(e),
        ListKind::Map { keys } => keys.iter().map(|k| text(key_part(e, k))).sum(),
    }
}

/// The value of key property `key` of a map-list element; `null` when the
/// element lacks it or is not an object, as the API server's lookup gives.
fn key_part<'a>(e: &'a Value, key: &Arc<str>) -> &'a Value {
    match e {
        Value::Map(m) => m.get(&Key::String(key.clone())).unwrap_or(NULL),
        _ => NULL,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{List, ListKind};
    use crate::value::{Key, Value};

    fn set(items: Vec<Value>) -> List {
        List::with_kind(items, Arc::new(ListKind::Set))
    }

    fn map_list(keys: &[&str], items: Vec<Value>) -> List {
        List::with_kind(
            items,
            Arc::new(ListKind::Map {
                keys: keys.iter().map(|k| Arc::from(*k)).collect(),
            }),
        )
    }

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Map(Arc::new(
            entries
                .iter()
                .map(|(k, v)| (Key::String(Arc::from(*k)), v.clone()))
                .collect(),
        ))
    }

    fn strings(items: &[&str]) -> Vec<Value> {
        items.iter().map(|s| Value::from(*s)).collect()
    }

    fn port(name: &str, number: i64) -> Value {
        object(&[("name", name.into()), ("port", number.into())])
    }

    #[test]
    fn ordinary_lists_are_ordered() {
        let ab = List::new(strings(&["a", "b"]));
        assert!(ab.equals(&List::new(strings(&["a", "b"]))));
        assert!(!ab.equals(&List::new(strings(&["b", "a"]))));
        assert_eq!(ab.kind(), None);
    }

    #[test]
    fn sets_ignore_order_on_either_side() {
        let s = set(strings(&["a", "b", "c"]));
        let plain = List::new(strings(&["c", "a", "b"]));
        assert!(s.equals(&plain));
        assert!(plain.equals(&s));
        assert!(s.equals(&set(strings(&["b", "c", "a"]))));
        assert!(!s.equals(&List::new(strings(&["a", "b"]))));
        assert!(!s.equals(&List::new(strings(&["a", "b", "d"]))));
    }

    #[test]
    fn sets_compare_distinct_elements_and_length() {
        // Length and distinct elements must both agree: no multiset rules,
        // and `[a, a]` is not the set `[a, b]` (either way round).
        let aab = set(strings(&["a", "a", "b"]));
        assert!(aab.equals(&List::new(strings(&["b", "a", "a"]))));
        assert!(aab.equals(&List::new(strings(&["a", "b", "b"]))));
        assert!(!set(strings(&["a", "b"])).equals(&List::new(strings(&["a", "a"]))));
        assert!(!List::new(strings(&["a", "a"])).equals(&set(strings(&["a", "b"]))));
    }

    #[test]
    fn set_elements_use_cel_equality() {
        // Hashed (int and uint) and compared (double) paths agree with `==`.
        let ints = set(vec![Value::Int(1), Value::Int(2)]);
        assert!(ints.equals(&List::new(vec![Value::Uint(2), Value::Uint(1)])));
        assert!(ints.equals(&List::new(vec![Value::Double(2.0), Value::Int(1)])));
        assert!(!ints.equals(&List::new(vec![Value::Double(2.5), Value::Int(1)])));
        let nan = set(vec![Value::Double(f64::NAN)]);
        assert!(!nan.equals(&nan.clone()));
        // Composite elements (not what a schema allows, but possible
        // through `dyn`) are compared by value too.
        let nested = set(vec![
            Value::list(strings(&["x"])),
            Value::list(strings(&["y"])),
        ]);
        assert!(nested.equals(&List::new(vec![
            Value::list(strings(&["y"])),
            Value::list(strings(&["x"])),
        ])));
        assert!(!set(vec![Value::Int(1)]).equals(&List::new(strings(&["1"]))));
    }

    #[test]
    fn map_lists_match_elements_by_key() {
        let ports = map_list(&["name"], vec![port("http", 80), port("https", 443)]);
        let reordered = List::new(vec![port("https", 443), port("http", 80)]);
        assert!(ports.equals(&reordered));
        assert!(reordered.equals(&ports));
        // Same keys, different values.
        assert!(!ports.equals(&List::new(vec![port("https", 443), port("http", 8080)])));
        // Different keys.
        assert!(!ports.equals(&List::new(vec![port("https", 443), port("web", 80)])));
        // Same length, a key repeated on one side.
        assert!(!ports.equals(&List::new(vec![port("http", 80), port("http", 80)])));
        assert!(!ports.equals(&List::new(vec![port("http", 80)])));
    }

    #[test]
    fn map_lists_with_several_keys_and_missing_keys() {
        let entry = |port: i64, protocol: Option<&str>| {
            let mut fields = vec![("containerPort", Value::Int(port))];
            if let Some(p) = protocol {
                fields.push(("protocol", p.into()));
            }
            object(&fields)
        };
        let keys = ["containerPort", "protocol"];
        let l = map_list(&keys, vec![entry(53, Some("UDP")), entry(53, Some("TCP"))]);
        assert!(l.equals(&List::new(vec![
            entry(53, Some("TCP")),
            entry(53, Some("UDP"))
        ])));
        assert!(!l.equals(&List::new(vec![
            entry(53, Some("TCP")),
            entry(53, Some("TCP"))
        ])));
        // An absent key property counts as null (and `null` matches it).
        let absent = map_list(&keys, vec![entry(80, None), entry(81, None)]);
        let with_null = object(&[("containerPort", Value::Int(80)), ("protocol", Value::Null)]);
        assert!(!absent.equals(&List::new(vec![entry(81, None), with_null.clone()])));
        let absent_null = map_list(&keys, vec![with_null.clone(), entry(81, None)]);
        assert!(absent_null.equals(&List::new(vec![entry(81, None), with_null])));
        // A key given as a double is found by CEL equality.
        let by_double = object(&[("containerPort", Value::Double(81.0))]);
        assert!(absent.equals(&List::new(vec![by_double, entry(80, None)])));
    }

    #[test]
    fn the_left_kind_wins_when_both_have_one() {
        // Two elements with one key: equal as a set, not as a map list
        // (where the last element of a key stands for it).
        let items = vec![port("a", 1), port("a", 2)];
        let s = set(items.clone());
        let m = map_list(&["name"], items);
        let swapped = List::new(vec![port("a", 2), port("a", 1)]);
        assert!(s.equals(&swapped));
        assert!(!m.equals(&swapped));
        assert!(s.equals(&m));
        assert!(!m.equals(&s));
    }

    #[test]
    fn adding_to_a_set_is_a_union() {
        let s = set(strings(&["a", "b"]));
        let sum = s.concat(&List::new(strings(&["c", "b", "c", "d"])));
        assert_eq!(sum.kind(), Some(&ListKind::Set));
        assert!(
            List::new(strings(&["a", "b", "c", "d"]))
                .iter()
                .zip(sum.iter())
                .all(|(x, y)| x.equals(y))
        );
        assert_eq!(sum.len(), 4);
        // An ordinary list on the left appends, and stays ordinary.
        let plain = List::new(strings(&["a"])).concat(&s);
        assert_eq!(plain.len(), 3);
        assert_eq!(plain.kind(), None);
    }

    #[test]
    fn adding_to_a_map_list_merges_by_key() {
        let m = map_list(&["name"], vec![port("http", 80), port("https", 443)]);
        let sum = m.concat(&List::new(vec![
            port("metrics", 9090),
            port("http", 8080),
            port("metrics", 9091),
        ]));
        let expected = [
            port("http", 8080),
            port("https", 443),
            port("metrics", 9090),
            port("metrics", 9091),
        ];
        assert_eq!(sum.len(), expected.len());
        assert!(sum.iter().zip(expected.iter()).all(|(x, y)| x.equals(y)));
        assert!(matches!(sum.kind(), Some(ListKind::Map { .. })));
    }

    #[test]
    fn make_mut_copies_shared_elements() {
        let mut a = List::new(strings(&["a"]));
        let b = a.clone();
        assert!(a.is_shared());
        a.make_mut().push("b".into());
        assert_eq!((a.len(), b.len()), (2, 1));
        assert!(!a.is_shared());
    }
}
