//! `kro validate` on files, as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("run kro")
}

fn path(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_application_example_is_valid_and_ordered() {
    let output = kro(&["validate", &path("../../examples/application/rgd.yaml")]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(
        stdout(&output).ends_with("valid; topological order: deployment, service, ingress\n"),
        "{}",
        stdout(&output)
    );

    let output = kro(&[
        "validate",
        "-o",
        "json",
        &path("../../examples/application/rgd.yaml"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], true);
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(
        report["topologicalOrder"],
        serde_json::json!(["deployment", "service", "ingress"])
    );
}

#[test]
fn a_cycle_is_an_error_located_at_the_resource() {
    let output = kro(&["validate", &path("tests/testdata/cycle.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("cycle.yaml:45:7: error:"), "{text}");
    assert!(
        text.contains("graph contains a cycle: deployment -> service -> deployment"),
        "{text}"
    );
}

#[test]
fn an_unknown_function_is_located_at_its_expression() {
    let output = kro(&[
        "validate",
        "--output",
        "json",
        &path("tests/testdata/unknown-function.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], false);
    let error = &report["errors"][0];
    assert_eq!(error["resource"], "deployment");
    assert_eq!(
        error["path"],
        "spec.resources[0].template.spec.template.spec.containers[0].image"
    );
    assert_eq!(error["expression"], "imageOf(schema.spec.image)");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(42), Some(26))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("imageOf"),
        "{error}"
    );

    let text = stdout(&kro(&[
        "validate",
        &path("tests/testdata/unknown-function.yaml"),
    ]));
    assert!(text.contains("42 |                   image: ${imageOf(schema.spec.image)}\n   |                          ^^^^"), "{text}");
}

#[test]
fn unreadable_and_malformed_files_are_errors() {
    let output = kro(&["validate", "/nonexistent/rgd.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("cannot read the file"));

    let dir = std::env::temp_dir().join(format!("kro-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("not-an-rgd.yaml");
    std::fs::write(&file, "kind: [unclosed").expect("write");
    let output = kro(&["validate", &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("not a valid ResourceGraphDefinition"));
    std::fs::remove_dir_all(&dir).expect("clean up");
}
