//! Reading the YAML files the user gives, as `kubectl` reads them: a key
//! written twice in one mapping is not an error, its last value is used,
//! and the user is warned with both lines and the key's path.

use kro_graph::source_map::{DuplicateKey, SourceMap};
use serde_json::{Value, json};

use crate::diagnostics::Diagnostic;
use crate::input::{self, Chunk};

/// The keys written twice in the document `chunk`, located in the file
/// (none when it is not valid YAML: reading it reports that).
pub fn duplicate_keys_in(chunk: &Chunk<'_>) -> Vec<DuplicateKey> {
    SourceMap::from_yaml(chunk.text)
        .map(|map| {
            map.duplicate_keys()
                .iter()
                .map(|duplicate| DuplicateKey {
                    path: duplicate.path.clone(),
                    earlier: chunk.in_file(duplicate.earlier),
                    later: chunk.in_file(duplicate.later),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The warnings about the keys the document `chunk` repeats.
pub fn duplicate_warnings_in(chunk: &Chunk<'_>) -> Vec<Diagnostic> {
    duplicate_keys_in(chunk).iter().map(warning).collect()
}

/// The warnings about the keys any document of `text` repeats.
pub fn duplicate_warnings(text: &str) -> Vec<Diagnostic> {
    input::documents(text)
        .iter()
        .flat_map(duplicate_warnings_in)
        .collect()
}

/// The warning for one repeated key, without its location.
pub fn message(duplicate: &DuplicateKey) -> String {
    format!(
        "duplicate key {} (lines {} and {}): the last value is used, as kubectl does",
        duplicate.path, duplicate.earlier.line, duplicate.later.line
    )
}

/// The warning for one repeated key, at the repeat, the key marked.
pub fn warning(duplicate: &DuplicateKey) -> Diagnostic {
    let key_width = match duplicate.path.segments().last() {
        Some(kro_cel::template::Segment::Key(key)) => key.chars().count(),
        _ => 1,
    };
    Diagnostic::warning(message(duplicate)).marked(
        duplicate.later,
        key_width,
        Some(format!("first written on line {}", duplicate.earlier.line)),
    )
}

/// A repeated key as `kro validate -o json` reports it.
pub fn warning_json(duplicate: &DuplicateKey) -> Value {
    json!({
        "path": duplicate.path.to_string(),
        "line": duplicate.later.line,
        "column": duplicate.later.column,
        "earlierLine": duplicate.earlier.line,
        "earlierColumn": duplicate.earlier.column,
        "message": message(duplicate),
    })
}
