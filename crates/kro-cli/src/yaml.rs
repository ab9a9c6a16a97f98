//! Reading the YAML files the user gives, as `kubectl` reads them: a key
//! written twice in one mapping is not an error, its last value is used,
//! and the user is warned with both lines and the key's path.

use std::io::Write;
use std::path::Path;

use kro_graph::source_map::{DuplicateKey, SourceMap, yaml_options};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The one document of `text`.
pub fn read<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, yaml_options())
}

/// Every document of `text` (empty documents skipped).
pub fn read_documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, serde_saphyr::Error> {
    serde_saphyr::from_multiple_with_options(text, yaml_options())
}

/// The keys written twice in any document of `text`, in document order
/// (none when `text` is not valid YAML: reading it reports that).
pub fn duplicate_keys(text: &str) -> Vec<DuplicateKey> {
    SourceMap::from_yaml_documents(text)
        .unwrap_or_default()
        .iter()
        .flat_map(|map| map.duplicate_keys().iter().cloned())
        .collect()
}

/// The warning for one repeated key, without its location.
pub fn message(duplicate: &DuplicateKey) -> String {
    format!(
        "duplicate key {} (lines {} and {}): the last value is used, as kubectl does",
        duplicate.path, duplicate.earlier.line, duplicate.later.line
    )
}

/// Writes one warning line per repeated key, located at the repeat.
pub fn write_warnings(
    out: &mut dyn Write,
    file: &Path,
    duplicates: &[DuplicateKey],
) -> std::io::Result<()> {
    for duplicate in duplicates {
        writeln!(
            out,
            "{}:{}: warning: {}",
            file.display(),
            duplicate.later,
            message(duplicate)
        )?;
    }
    Ok(())
}

/// Warns on standard error about the repeated keys of `text`, read from
/// `file`.
pub fn warn(file: &Path, text: &str) -> std::io::Result<()> {
    write_warnings(&mut std::io::stderr().lock(), file, &duplicate_keys(text))
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
