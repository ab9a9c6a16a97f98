//! Upstream kro's command lines (`kro validate rgd -f FILE`, `kro generate
//! crd|instance|diagram -f FILE`) do what ours do.

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

fn application() -> String {
    path("../../examples/application/rgd.yaml")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs both command lines and checks they succeed with the same output.
fn same_output(upstream: &[&str], ours: &[&str]) -> String {
    let theirs = kro(upstream);
    let ours = kro(ours);
    assert!(
        theirs.status.success(),
        "{upstream:?}: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(stdout(&theirs), stdout(&ours), "{upstream:?}");
    stdout(&theirs)
}

#[test]
fn validate_rgd_with_a_file_flag() {
    let file = application();
    let out = same_output(&["validate", "rgd", "-f", &file], &["validate", &file]);
    assert!(out.ends_with("valid; topological order: deployment, service, ingress\n"));
    same_output(&["validate", "rgd", "--file", &file], &["validate", &file]);
    same_output(&["validate", "-f", &file], &["validate", &file]);
}

#[test]
fn validate_rgd_reports_problems_as_validate_does() {
    let broken = path("tests/testdata/cycle.yaml");
    let theirs = kro(&["validate", "rgd", "-f", &broken]);
    let ours = kro(&["validate", &broken]);
    assert_eq!(theirs.status.code(), Some(1));
    assert_eq!(stdout(&theirs), stdout(&ours));
}

#[test]
fn validate_rgd_needs_a_file() {
    assert_eq!(kro(&["validate", "rgd"]).status.code(), Some(2));
    assert_eq!(kro(&["validate"]).status.code(), Some(2));
}

#[test]
fn generate_crd_and_instance_with_a_file_flag_and_format() {
    let file = application();
    for what in ["crd", "instance"] {
        same_output(&["generate", what, "-f", &file], &["generate", what, &file]);
        same_output(
            &["generate", what, "-f", &file, "--format", "json"],
            &["generate", what, &file, "-o", "json"],
        );
        same_output(
            &["generate", what, "-f", &file, "-o", "json"],
            &["generate", what, &file, "--output", "json"],
        );
    }
}

#[test]
fn generate_diagram_is_a_mermaid_flowchart() {
    let file = application();
    let out = same_output(
        &["generate", "diagram", "-f", &file],
        &["graph", &file, "--format", "mermaid"],
    );
    assert_eq!(
        out,
        "flowchart TD\n  deployment\n  service\n  ingress\n  deployment --> service\n  service --> ingress\n"
    );
    same_output(
        &["generate", "diagram", "-f", &file, "--format", "dot"],
        &["graph", &file, "--format", "dot"],
    );
}

#[test]
fn a_file_is_given_once() {
    let file = application();
    let output = kro(&["generate", "crd", "-f", &file, &file]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(kro(&["generate", "diagram"]).status.code(), Some(2));
}
