//! A key written twice in a YAML file the CLI reads is a warning that
//! names both lines and the key's path; the last value is used, as
//! `kubectl apply` uses it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("run kro")
}

fn rgd() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/duplicate-keys.yaml")
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_warns_with_both_lines_and_uses_the_last_value() {
    let output = kro(&["validate", &rgd()]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("duplicate-keys.yaml:14:7\n"), "{stdout}");
    assert!(
        stdout.contains(
            "warning: duplicate key spec.resources[0].id (lines 13 and 14): the last value is used, as kubectl does\n  --> "
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("duplicate-keys.yaml:21:9\n")
            && stdout.contains(
                "warning: duplicate key spec.resources[0].template.immutable (lines 20 and 21)"
            ),
        "{stdout}"
    );
    // The resource is `config`, and `immutable: true` passed the literal check.
    assert!(
        stdout.ends_with("valid; topological order: config\n"),
        "{stdout}"
    );
}

#[test]
fn validate_json_lists_the_warnings() {
    let output = kro(&["validate", "-o", "json", &rgd()]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], true);
    let warnings = report["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0]["path"], "spec.resources[0].id");
    assert_eq!(
        (&warnings[0]["earlierLine"], &warnings[0]["line"]),
        (&serde_json::json!(13), &serde_json::json!(14))
    );
}

#[test]
fn generate_keeps_stdout_for_the_document() {
    let output = kro(&["generate", "crd", &rgd(), "-o", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let crd: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON CRD");
    assert_eq!(crd["spec"]["names"]["kind"], "Dns");
    assert!(
        text(&output.stderr).contains("warning: duplicate key spec.resources[0].id"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn eval_variables_take_the_last_value() {
    let dir = std::env::temp_dir().join(format!("kro-duplicates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("values.yaml");
    std::fs::write(&file, "size: 1\nsize: 2\n").expect("write");
    let var = format!("values={}", file.display());
    let output = kro(&["eval", "--untyped", "--var", &var, "values.size"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(text(&output.stdout), "2\n", "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("warning: duplicate key size (lines 1 and 2)")
            && text(&output.stderr).contains("values.yaml:2:1"),
        "{}",
        text(&output.stderr)
    );
}
