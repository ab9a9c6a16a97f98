//! The compatibility corpus (`examples/compat/`) through `kro validate`:
//! every RGD gets the verdict recorded for it in `verdicts.yaml`, the one
//! upstream kro's documented behaviour gives.
//!
//! All files are checked before the test fails, so that one run lists
//! every mismatch.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("run kro")
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/compat")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `verdicts.yaml`, file name -> entry, in the manifest's order.
fn verdicts() -> serde_json::Map<String, Value> {
    let manifest = std::fs::read_to_string(corpus().join("verdicts.yaml")).expect("read verdicts");
    match serde_saphyr::from_str(&manifest).expect("verdicts.yaml parses") {
        Value::Object(entries) => entries,
        other => panic!("verdicts.yaml is not a mapping: {other}"),
    }
}

/// The strings of the list `key` of an entry (empty when absent).
fn strings<'a>(entry: &'a Value, key: &str) -> Vec<&'a str> {
    entry[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The `--crd` arguments an entry needs: its CRD files, and the CRDs of
/// the RGDs it is chained from, generated into `scratch` (each with the
/// CRDs generated before it, so that chains of chains are typed).
fn crd_args(file: &str, entry: &Value, scratch: &Path) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    for crd in strings(entry, "crds") {
        args.extend(["--crd".to_owned(), corpus().join(crd).display().to_string()]);
    }
    for (index, base) in strings(entry, "chainedFrom").into_iter().enumerate() {
        let base_path = corpus().join(base).display().to_string();
        let mut generate: Vec<&str> = vec!["generate", "crd"];
        generate.extend(args.iter().map(String::as_str));
        generate.push(&base_path);
        let output = kro(&generate);
        if !output.status.success() {
            return Err(format!(
                "{file}: `kro generate crd {base}` failed: {}",
                text(&output.stderr)
            ));
        }
        let generated = scratch.join(format!("{file}-{index}.yaml"));
        std::fs::write(&generated, &output.stdout).expect("write the generated CRD");
        args.extend(["--crd".to_owned(), generated.display().to_string()]);
    }
    Ok(args)
}

/// What is wrong with `kro validate`'s verdict on one file, if anything.
fn check(file: &str, entry: &Value, scratch: &Path) -> Result<(), String> {
    let mut args = vec!["validate".to_owned()];
    args.extend(crd_args(file, entry, scratch)?);
    args.push(corpus().join(file).display().to_string());
    let output = kro(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let report = format!("{}{}", text(&output.stdout), text(&output.stderr));
    match entry["verdict"].as_str() {
        Some("accepted") => {
            if output.status.code() != Some(0) {
                return Err(format!("{file}: expected accepted, got:\n{report}"));
            }
            match entry["warning"].as_str() {
                Some(warning) if !report.contains(warning) => Err(format!(
                    "{file}: accepted, but without the warning `{warning}`:\n{report}"
                )),
                _ => Ok(()),
            }
        }
        Some("refused") => {
            let error = entry["error"].as_str().unwrap_or_default();
            if output.status.code() != Some(1) {
                Err(format!("{file}: expected refused, got:\n{report}"))
            } else if error.is_empty() || !report.contains(error) {
                Err(format!(
                    "{file}: refused, but not with `{error}`:\n{report}"
                ))
            } else {
                Ok(())
            }
        }
        other => Err(format!("{file}: unknown verdict {other:?}")),
    }
}

#[test]
fn every_corpus_rgd_gets_its_recorded_verdict() {
    let scratch = std::env::temp_dir().join(format!("kro-compat-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let entries = verdicts();
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|(file, entry)| check(file, entry, &scratch).err())
        .collect();
    std::fs::remove_dir_all(&scratch).expect("clean up");
    assert!(
        failures.is_empty(),
        "{} of {} corpus RGDs do not get their verdict:\n\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_has_a_verdict_and_every_verdict_a_file() {
    let entries = verdicts();
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .expect("read the corpus")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".yaml") && name != "verdicts.yaml")
        .collect();
    files.sort();
    let mut listed: Vec<String> = entries.keys().cloned().collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(files.len() >= 40, "the corpus has {} RGDs", files.len());
    let refused = entries
        .values()
        .filter(|entry| entry["verdict"] == "refused")
        .count();
    assert!(
        refused > 0 && refused < files.len() / 2,
        "{refused} refused"
    );
}
