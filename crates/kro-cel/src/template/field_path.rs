//! Locations of values inside a JSON document.

use std::fmt;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the root of a document to a value, written as kro writes it:
/// `spec.template.spec.containers[0].image`, with keys that are not plain
/// names quoted: `metadata.labels["app.kubernetes.io/name"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The document itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// The steps, from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Appends a step.
    pub fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// Removes the last step.
    pub fn pop(&mut self) -> Option<Segment> {
        self.segments.pop()
    }

    /// This path with one more key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.push(Segment::Key(key.into()));
        path
    }

    /// This path with one more index.
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.push(Segment::Index(index));
        path
    }

    /// `relative`, read from this path: this path's steps, then its.
    pub fn join(&self, relative: &FieldPath) -> Self {
        let mut path = self.clone();
        path.segments.extend(relative.segments.iter().cloned());
        path
    }

    /// The value at this path in `value`, if there is one.
    pub fn get<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.segments
            .iter()
            .try_fold(value, |value, segment| match segment {
                Segment::Key(key) => value.get(key),
                Segment::Index(index) => value.get(index),
            })
    }

    /// The value at this path, mutably.
    pub fn get_mut<'a>(
        &self,
        value: &'a mut serde_json::Value,
    ) -> Option<&'a mut serde_json::Value> {
        self.segments
            .iter()
            .try_fold(value, |value, segment| match segment {
                Segment::Key(key) => value.get_mut(key),
                Segment::Index(index) => value.get_mut(index),
            })
    }
}

/// Whether a key can be written bare: a CEL-style identifier, plus `-`,
/// which is common in Kubernetes keys and unambiguous in a path.
fn is_plain(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => {
                    // JSON string quoting escapes quotes and backslashes.
                    let quoted = serde_json::Value::String(key.clone()).to_string();
                    write!(f, "[{quoted}]")?;
                }
            }
        }
        Ok(())
    }
}
