//! Where the CLI's input comes from, and how it is cut into documents.
//!
//! Every argument that names input takes a file, a directory (its `.yaml`,
//! `.yml` and `.json` files, recursively, in path order so that the output
//! is the same on every machine) or `-` for standard input. A file may hold
//! many YAML documents (a vendor's CRD bundle), and a document may be a
//! `kind: List` (`kubectl get a,b -o yaml`), whose items are the objects.
//! Positions are kept relative to the whole file, so that every problem is
//! reported where it is.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kro_graph::source_map::{Position, SourceMap, yaml_options};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Located};

/// The name standard input is reported under.
pub const STDIN_NAME: &str = "<stdin>";

/// One input read whole: a file, or standard input.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given (or found in a directory), or `<stdin>`.
    pub name: String,
    /// The text.
    pub text: String,
    /// Whether it was found in a directory rather than named.
    pub from_directory: bool,
}

impl Located {
    /// Diagnostics about `source`.
    pub fn new(source: &Source, diagnostics: Vec<Diagnostic>) -> Self {
        Self {
            name: source.name.clone(),
            text: source.text.clone(),
            diagnostics,
        }
    }
}

/// The paths `path` stands for: itself, or the manifests under it when it
/// is a directory, sorted; `-` stays `-`.
pub fn expand(path: &Path) -> Result<Vec<(PathBuf, bool)>, Located> {
    if path == Path::new("-") || !path.is_dir() {
        return Ok(vec![(path.to_path_buf(), false)]);
    }
    let mut files = Vec::new();
    walk(path, &mut files)?;
    files.sort();
    Ok(files.into_iter().map(|file| (file, true)).collect())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Located> {
    let unreadable = |e: std::io::Error| Located::plain(&dir.display().to_string(), e.to_string());
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else if is_manifest(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// Every source the paths stand for, read.
pub fn read_all(paths: &[PathBuf]) -> Result<Vec<Source>, Located> {
    let mut sources = Vec::new();
    for path in paths {
        for (file, from_directory) in expand(path)? {
            let mut source = read(&file)?;
            source.from_directory = from_directory;
            sources.push(source);
        }
    }
    Ok(sources)
}

/// One file, or standard input for `-` (read once: naming it twice gives
/// the same text twice).
pub fn read(path: &Path) -> Result<Source, Located> {
    if path == Path::new("-") {
        return stdin().map(|text| Source {
            name: STDIN_NAME.to_owned(),
            text: text.to_owned(),
            from_directory: false,
        });
    }
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Located::plain(&name, format!("cannot read the file: {e}")))?;
    Ok(Source {
        name,
        text,
        from_directory: false,
    })
}

fn stdin() -> Result<&'static str, Located> {
    static STDIN: OnceLock<Result<String, String>> = OnceLock::new();
    STDIN
        .get_or_init(|| {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map(|_| text)
                .map_err(|e| format!("cannot read standard input: {e}"))
        })
        .as_deref()
        .map_err(|message| Located::plain(STDIN_NAME, message.clone()))
}

/// One YAML document of a source: its text, and how many lines of the
/// file come before it.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'s> {
    /// The document's text, from the line after its `---`.
    pub text: &'s str,
    /// Lines of the file before `text`.
    pub lines_before: u64,
}

impl Chunk<'_> {
    /// A position in the chunk as a position in the file.
    pub fn in_file(&self, position: Position) -> Position {
        Position {
            line: position.line + self.lines_before,
            column: position.column,
        }
    }

    /// Where the document starts in the file.
    pub fn start(&self) -> Position {
        let blank = self
            .text
            .lines()
            .take_while(|line| {
                let line = line.trim();
                line.is_empty() || line.starts_with('#')
            })
            .count();
        Position {
            line: self.lines_before + blank as u64 + 1,
            column: 1,
        }
    }

    /// The value at `path` located in the file (the document's start when
    /// the chunk has no source map).
    pub fn position_of(&self, path: &kro_cel::template::FieldPath) -> Position {
        SourceMap::from_yaml(self.text)
            .and_then(|map| map.position(path))
            .map_or_else(|| self.start(), |p| self.in_file(p))
    }

    /// The document, read as `T`, or the reader's error located in the
    /// file.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        // As kubectl reads YAML: a key written twice keeps its last value
        // (`yaml` warns about it).
        serde_saphyr::from_str_with_options(self.text, yaml_options())
            .map_err(|e| self.yaml_error(&e))
    }

    /// A YAML reader's error as a diagnostic at its place in the file.
    pub fn yaml_error(&self, error: &serde_saphyr::Error) -> Diagnostic {
        let error = error.without_snippet();
        let mut message = error.to_string();
        let position = error.location().and_then(|location| {
            let (line, column) = (location.line(), location.column());
            (line > 0).then(|| {
                let suffix = format!(" at line {line}, column {column}");
                if let Some(stripped) = message.strip_suffix(&suffix) {
                    message = stripped.to_owned();
                }
                self.in_file(Position {
                    line,
                    column: column.max(1),
                })
            })
        });
        Diagnostic::error(message).at(position.unwrap_or_else(|| self.start()))
    }
}

/// The documents of `text`: cut at each `---` line (a document marker at
/// column 0 is always one), empty documents (blank, comments only, a
/// bare `...`) left out.
pub fn documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut lines_before = 0;
    let mut offset = 0;
    for (line_number, line) in (0u64..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if marker {
            chunks.push(Chunk {
                text: &text[start..offset],
                lines_before,
            });
            // What follows the marker on its line belongs to the document:
            // keep the line, with the marker blanked out.
            start = offset;
            lines_before = line_number;
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        text: &text[start..],
        lines_before,
    });
    chunks
        .into_iter()
        .map(blank_marker)
        .filter(|chunk| !is_empty_document(chunk.text))
        .collect()
}

/// A chunk whose first line is a `---` marker: the marker dropped, the
/// rest of its line kept (`--- !tag` and `--- {a: 1}` are valid).
fn blank_marker(chunk: Chunk<'_>) -> Chunk<'_> {
    if chunk.text.starts_with("---") {
        // Three ASCII bytes: a char boundary.
        Chunk {
            text: chunk.text.get(3..).unwrap_or_default(),
            ..chunk
        }
    } else {
        chunk
    }
}

fn is_empty_document(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "..." || line.starts_with("%")
    })
}

/// One object of an input, with where it is.
#[derive(Debug, Clone)]
pub struct Object<'s> {
    /// The object.
    pub value: Value,
    /// The document it is in.
    pub chunk: Chunk<'s>,
    /// Its path in the document: the root, or `items[i]` of a List.
    pub base: kro_cel::template::FieldPath,
}

impl Object<'_> {
    /// Where the field at `path` (from the object's root) is in the file:
    /// the nearest ancestor that is written, at worst the object itself.
    pub fn position_of(&self, path: &kro_cel::template::FieldPath) -> Position {
        let mut full = self.base.clone();
        for segment in path.segments() {
            full.push(segment.clone());
        }
        self.chunk.position_of(&full)
    }

    /// Where the key of the field at `path` is written; where its value
    /// is when it has no key of its own.
    pub fn key_position_of(&self, path: &kro_cel::template::FieldPath) -> Position {
        let mut full = self.base.clone();
        for segment in path.segments() {
            full.push(segment.clone());
        }
        SourceMap::from_yaml(self.chunk.text)
            .and_then(|map| map.key_position(&full))
            .map_or_else(|| self.position_of(path), |p| self.chunk.in_file(p))
    }

    /// Where the object starts.
    pub fn start(&self) -> Position {
        if self.base.segments().is_empty() {
            self.chunk.start()
        } else {
            self.chunk.position_of(&self.base)
        }
    }
}

/// The objects of a source: each document, or each item of a document
/// that is a `List`. A document that is not YAML, or not a mapping, is an
/// error at its place.
pub fn objects(source: &Source) -> Result<Vec<Object<'_>>, Located> {
    let mut objects = Vec::new();
    for chunk in documents(&source.text) {
        let value: Value = chunk.parse().map_err(|d| Located::new(source, vec![d]))?;
        if !value.is_object() {
            let found = json_kind(&value);
            return Err(Located::new(
                source,
                vec![
                    Diagnostic::error(format!("expected an object (a mapping), found {found}"))
                        .at(chunk.start()),
                ],
            ));
        }
        if is_list(&value) {
            let items = match value.get("items") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(items)) => &items[..],
                Some(other) => {
                    let position = chunk.position_of(&field_path(&["items"]));
                    return Err(Located::new(
                        source,
                        vec![
                            Diagnostic::error(format!(
                                "the items of a List must be a list, found {}",
                                json_kind(other)
                            ))
                            .at(position),
                        ],
                    ));
                }
            };
            for (index, item) in items.iter().enumerate() {
                let mut path = field_path(&["items"]);
                path.push(kro_cel::template::Segment::Index(index));
                objects.push(Object {
                    value: item.clone(),
                    chunk,
                    base: path,
                });
            }
        } else {
            objects.push(Object {
                value,
                chunk,
                base: kro_cel::template::FieldPath::root(),
            });
        }
    }
    Ok(objects)
}

/// Whether `value` is a `kind: List` (or a `FooList`) of `v1`: a list of
/// objects as `kubectl get -o yaml` prints it.
pub fn is_list(value: &Value) -> bool {
    value.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind == "List")
}

/// A field path of map keys.
pub fn field_path(keys: &[&str]) -> kro_cel::template::FieldPath {
    let mut path = kro_cel::template::FieldPath::root();
    for key in keys {
        path.push(kro_cel::template::Segment::Key((*key).to_owned()));
    }
    path
}

/// "a string", "a list", ... for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(&str, u64)> {
        documents(text)
            .iter()
            .map(|c| (c.text, c.lines_before))
            .collect()
    }

    #[test]
    fn documents_are_cut_at_markers_and_keep_their_lines() {
        assert_eq!(texts("a: 1\n"), [("a: 1\n", 0)]);
        assert_eq!(
            texts("---\na: 1\n---\n# only a comment\n---\nb: 2\n"),
            [("\na: 1\n", 0), ("\nb: 2\n", 4)]
        );
        assert_eq!(texts("a: |\n  ---\n  x\n"), [("a: |\n  ---\n  x\n", 0)]);
        assert_eq!(texts("--- {a: 1}\n"), [(" {a: 1}\n", 0)]);
        assert!(texts("---\n---\n...\n").is_empty());
    }

    #[test]
    fn a_position_in_a_document_is_one_in_the_file() {
        let text = "a: 1\n---\nb: [x\n";
        let chunks = documents(text);
        let error = chunks[1].parse::<Value>().expect_err("an unclosed list");
        assert_eq!(error.position.map(|p| p.line), Some(3));
    }
}
