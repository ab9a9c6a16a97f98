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
    assert!(
        text.contains("--> ") && text.contains("cycle.yaml:45:7"),
        "{text}"
    );
    assert!(text.starts_with("error: resourcegraphdefinition"), "{text}");
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
        (Some(42), Some(28)),
        "at the call, inside the expression"
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
    assert!(
        text.contains(
            "42 |                   image: ${imageOf(schema.spec.image)}\n   |                            ^^^^^^^^^^^^^^^^^^^^^^^^^^ undeclared reference to 'imageOf'"
        ),
        "{text}"
    );
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

#[test]
fn a_type_error_names_both_types() {
    let output = kro(&["validate", &path("tests/testdata/type-error.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("type-error.yaml:31:21"), "{text}");
    assert!(
        text.contains("returns type \"string\" but expected \"int\""),
        "{text}"
    );
}

#[test]
fn an_unknown_field_is_reported_at_the_status_field() {
    let output = kro(&[
        "validate",
        "-o",
        "json",
        &path("tests/testdata/unknown-field.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let error = &report["errors"][0];
    assert_eq!(error["path"], "spec.schema.status.availableReplicas");
    assert_eq!(error["expression"], "deployment.status.nope");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("undefined field 'nope'"),
        "{error}"
    );
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(21), Some(46)),
        "at the field the kind does not have"
    );
}

/// `omit()` is behind the `CELOmitFunction` feature gate, as on the
/// operator: refused without it, accepted with it.
#[test]
fn omit_needs_its_feature_gate() {
    let file = path("tests/testdata/omit.yaml");
    let output = kro(&["validate", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("undeclared reference to 'omit'"), "{text}");

    let output = kro(&["validate", "--feature-gates=CELOmitFunction=true", &file]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(
        stdout(&output).ends_with("valid; topological order: config\n"),
        "{}",
        stdout(&output)
    );

    let output = kro(&[
        "validate",
        "--feature-gates",
        "CELOmitFunction=false",
        &file,
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

/// The operator's parsing, so its error messages: an unknown gate is a
/// usage error.
#[test]
fn an_unknown_feature_gate_is_refused() {
    let file = path("tests/testdata/omit.yaml");
    let output = kro(&["validate", "--feature-gates=CELOmitFunktion=true", &file]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown feature gate \"CELOmitFunktion\""),
        "{stderr}"
    );
}

/// A bare `kro` is a usage error: the help on stderr, exit code 2.
#[test]
fn no_subcommand_prints_the_help_and_fails() {
    let output = kro(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Usage: kro"), "{stderr}");
    assert!(stderr.contains("validate"), "{stderr}");
}

#[test]
fn bounds_no_value_meets_are_accepted_with_a_warning() {
    let file = path("tests/testdata/empty-range.yaml");
    let output = kro(&["validate", &file]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(
        stdout(&output).contains(
            "warning: spec.name: minLength 8 is greater than maxLength 4, \
             so no value is valid for this field\n  --> "
        ),
        "{}",
        stdout(&output)
    );

    let output = kro(&["validate", "-o", "json", &file]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["valid"], true);
    assert_eq!(report["warnings"][0]["path"], "spec.name");
    assert_eq!(report["warnings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn an_expression_that_can_blow_up_is_refused_with_the_input_to_bound() {
    let output = kro(&["validate", &path("tests/testdata/unbounded-loops.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    for needle in [
        "unbounded-loops.yaml:24:23",
        "resource \"config\", spec.resources[0].template.data.duplicates",
        "above the static limit of 1,000,000,000",
        "schema.spec.names (no maxItems)",
        "Add maxItems, maxLength or maxProperties",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    // The same loop over a bounded list is not in question.
    assert!(!text.contains("data.zones"), "{text}");
    assert!(text.ends_with("unbounded-loops.yaml: 1 error\n"), "{text}");
}
