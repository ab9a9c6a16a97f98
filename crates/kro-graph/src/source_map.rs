//! Where each value of a YAML document is, so that errors found in the
//! parsed document can point at the file: `rgd.yaml:23:19`.
//!
//! A key written twice in one mapping is not an error here: as `kubectl`
//! does, the last value wins, and the map records each repeat as a
//! [`DuplicateKey`] so that the reader can warn about it. Read the
//! document itself with [`yaml_options`] to get the same values.

use std::collections::BTreeMap;
use std::fmt;

use kro_cel::template::{FieldPath, Segment};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::options::DuplicateKeyPolicy;
use serde_saphyr::{Options, Spanned};

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How to read YAML so that a key written twice in one mapping keeps its
/// last value, as `kubectl` reads it (and as the [`SourceMap`] locates it).
pub fn yaml_options() -> Options {
    serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::LastWins }
}

/// How the source map reads YAML: every entry of a mapping, repeats
/// included, is handed to [`NodeVisitor`], which finds the repeats.
fn every_entry() -> Options {
    serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::PassThrough }
}

/// A key written again in the same mapping. The value of the last one
/// written is the one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key's path in the document.
    pub path: FieldPath,
    /// Where the key was written before.
    pub earlier: Position,
    /// Where it is written again.
    pub later: Position,
}

/// The position of every value (and of every map key) in one YAML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    values: BTreeMap<FieldPath, Position>,
    keys: BTreeMap<FieldPath, Position>,
    duplicates: Vec<DuplicateKey>,
}

impl SourceMap {
    /// Maps the first document of `yaml`. `None` when it is not valid YAML
    /// (the caller reports that when it parses the document itself).
    pub fn from_yaml(yaml: &str) -> Option<Self> {
        let root: Spanned<Node> = serde_saphyr::from_str_with_options(yaml, every_entry()).ok()?;
        Some(SourceMap::of(&root))
    }

    /// Maps every document of a multi-document `yaml` (empty documents
    /// skipped). `None` when it is not valid YAML.
    pub fn from_yaml_documents(yaml: &str) -> Option<Vec<Self>> {
        let roots: Vec<Spanned<Node>> =
            serde_saphyr::from_multiple_with_options(yaml, every_entry()).ok()?;
        Some(roots.iter().map(SourceMap::of).collect())
    }

    fn of(root: &Spanned<Node>) -> Self {
        let mut map = SourceMap::default();
        map.record(root, &mut FieldPath::root());
        map
    }

    fn record(&mut self, node: &Spanned<Node>, path: &mut FieldPath) {
        self.values.insert(path.clone(), position(node));
        match &node.value {
            Node::Map(entries) => {
                // The last entry of each key is the one read; only its
                // value is mapped.
                let last: BTreeMap<&str, usize> = entries
                    .iter()
                    .enumerate()
                    .map(|(index, (key, _))| (key.value.as_str(), index))
                    .collect();
                let mut seen: BTreeMap<&str, Position> = BTreeMap::new();
                for (index, (key, value)) in entries.iter().enumerate() {
                    path.push(Segment::Key(key.value.clone()));
                    if let Some(earlier) = seen.insert(key.value.as_str(), position(key)) {
                        self.duplicates.push(DuplicateKey {
                            path: path.clone(),
                            earlier,
                            later: position(key),
                        });
                    }
                    if last.get(key.value.as_str()) == Some(&index) {
                        self.keys.insert(path.clone(), position(key));
                        self.record(value, path);
                    }
                    path.pop();
                }
            }
            Node::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(Segment::Index(index));
                    self.record(item, path);
                    path.pop();
                }
            }
            Node::Scalar => {}
        }
    }

    /// Where the value at `path` starts; for a path that is not in the
    /// document, where its nearest existing ancestor starts.
    pub fn position(&self, path: &FieldPath) -> Option<Position> {
        let mut path = path.clone();
        loop {
            if let Some(position) = self.values.get(&path) {
                return Some(*position);
            }
            path.pop()?;
        }
    }

    /// Where the key of the map entry at `path` is written (its last
    /// occurrence, when it is written more than once).
    pub fn key_position(&self, path: &FieldPath) -> Option<Position> {
        self.keys.get(path).copied()
    }

    /// Every key written again in its mapping, in document order (within
    /// the values that are read: a repeat inside a value that a later key
    /// replaces is not reported).
    pub fn duplicate_keys(&self) -> &[DuplicateKey] {
        &self.duplicates
    }
}

fn position<T>(node: &Spanned<T>) -> Position {
    Position {
        line: node.referenced.line(),
        column: node.referenced.column(),
    }
}

/// The shape of a YAML node, with the positions of its children.
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    List(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<Spanned<KeyText>>()? {
            let value = access.next_value::<Spanned<Node>>()?;
            let key = Spanned::new(key.value.0, key.referenced, key.defined);
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
}

/// A map key as text, whatever scalar it was written as (`80: x` has key
/// `80`), as the document is read into JSON.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar map key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPLICATION: &str = include_str!("../../../examples/application/rgd.yaml");

    fn path(parts: &[&str]) -> FieldPath {
        let mut path = FieldPath::root();
        for part in parts {
            match part.parse::<usize>() {
                Ok(index) => path.push(Segment::Index(index)),
                Err(_) => path.push(Segment::Key((*part).to_owned())),
            }
        }
        path
    }

    fn line_of(text: &str, needle: &str) -> u64 {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i as u64 + 1)
            .unwrap()
    }

    #[test]
    fn locates_values_in_the_application_example() {
        let map = SourceMap::from_yaml(APPLICATION).unwrap();
        let replicas = map
            .position(&path(&[
                "spec",
                "resources",
                "0",
                "template",
                "spec",
                "replicas",
            ]))
            .unwrap();
        assert_eq!(replicas.line, line_of(APPLICATION, "replicas: 3"));
        assert_eq!(replicas.column, 21);
        let image = map
            .position(&path(&[
                "spec",
                "resources",
                "0",
                "template",
                "spec",
                "template",
                "spec",
                "containers",
                "0",
                "image",
            ]))
            .unwrap();
        assert_eq!(
            image.line,
            line_of(APPLICATION, "image: ${schema.spec.image}")
        );
        let include = map
            .position(&path(&["spec", "resources", "2", "includeWhen", "0"]))
            .unwrap();
        assert_eq!(
            include.line,
            line_of(APPLICATION, "- ${schema.spec.ingress.enabled}")
        );
        let key = map
            .key_position(&path(&["spec", "schema", "kind"]))
            .unwrap();
        assert_eq!(
            (key.line, key.column),
            (line_of(APPLICATION, "kind: Application"), 5)
        );
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let map = SourceMap::from_yaml("a:\n  b: 1\n").unwrap();
        assert_eq!(
            map.position(&path(&["a", "b", "c", "d"])),
            Some(Position { line: 2, column: 6 })
        );
        assert_eq!(map.position(&path(&["a", "b"])).unwrap().to_string(), "2:6");
    }

    #[test]
    fn a_repeated_key_is_reported_and_its_last_value_mapped() {
        let yaml = "a:\n  b: 1\n  c: 2\n  b:\n    d: 3\nb: 4\n";
        let map = SourceMap::from_yaml(yaml).unwrap();
        assert_eq!(
            map.duplicate_keys(),
            [DuplicateKey {
                path: path(&["a", "b"]),
                earlier: Position { line: 2, column: 3 },
                later: Position { line: 4, column: 3 },
            }]
        );
        assert_eq!(
            map.position(&path(&["a", "b", "d"])).unwrap().to_string(),
            "5:8"
        );
        assert_eq!(
            map.key_position(&path(&["a", "b"])).unwrap().to_string(),
            "4:3"
        );
        let read: serde_json::Value =
            serde_saphyr::from_str_with_options(yaml, yaml_options()).expect("duplicates are read");
        assert_eq!(
            read,
            serde_json::json!({"a": {"b": {"d": 3}, "c": 2}, "b": 4})
        );
    }

    #[test]
    fn a_key_written_three_times_is_reported_twice() {
        let map = SourceMap::from_yaml("x: 1\nx: 2\nx: 3\n").unwrap();
        let lines: Vec<(u64, u64)> = map
            .duplicate_keys()
            .iter()
            .map(|d| (d.earlier.line, d.later.line))
            .collect();
        assert_eq!(lines, [(1, 2), (2, 3)]);
    }

    #[test]
    fn every_document_is_mapped() {
        let maps = SourceMap::from_yaml_documents("a: 1\n---\nb: 1\nb: 2\n").unwrap();
        assert_eq!(maps.len(), 2);
        assert!(maps[0].duplicate_keys().is_empty());
        assert_eq!(maps[1].duplicate_keys()[0].path, path(&["b"]));
        assert_eq!(maps[1].duplicate_keys()[0].later.line, 4);
    }

    #[test]
    fn invalid_yaml_has_no_map() {
        assert_eq!(SourceMap::from_yaml("a: [1, 2"), None);
    }
}
