//! `kro render` checks the instance against the CRD its RGD generates
//! before it runs it, as the API server checks it on create: an instance
//! the cluster would refuse is refused here too, each problem located at
//! its field.

use std::process::{Command, Output};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/testdata/instance-validation"
);

fn render(instance: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args([
            "render",
            &format!("{DATA}/rgd.yaml"),
            &format!("{DATA}/{instance}"),
            "-o",
            "json",
        ])
        .output()
        .expect("the kro binary runs")
}

#[test]
fn a_valid_instance_renders_with_its_defaults() {
    let output = render("valid.yaml");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        rendered["resources"][0]["data"]["size"], "small",
        "the default"
    );
    assert_eq!(rendered["status"]["state"], "ACTIVE");
}

#[test]
fn every_constraint_the_api_server_checks_is_a_located_error() {
    let output = render("invalid.yaml");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing is rendered");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (message, at) in [
        ("spec.name: Required value", "invalid.yaml:5:1"),
        (
            "spec.replicas: Invalid value: 99: should be less than or equal to 10",
            "invalid.yaml:6:13",
        ),
        (
            "spec.size: Unsupported value: \"huge\": supported values: \"small\", \"large\"",
            "invalid.yaml:7:9",
        ),
        (
            "spec.tags: Too many: 3: must have at most 2 items",
            "invalid.yaml:8:9",
        ),
        (
            "spec.even: Invalid value: 3: validation failed",
            "invalid.yaml:9:9",
        ),
        ("spec.colour: unknown field", "invalid.yaml:10:3"),
    ] {
        let error = format!("error: the instance is invalid: {message}\n");
        let found = stderr
            .find(&error)
            .unwrap_or_else(|| panic!("{error:?} not in\n{stderr}"));
        let location = stderr[found + error.len()..]
            .lines()
            .next()
            .unwrap_or_default();
        assert!(location.ends_with(at), "{message}: at {location}, not {at}");
    }
}

#[test]
fn a_pattern_and_lengths_are_checked_after_the_defaults() {
    let dir = std::env::temp_dir().join(format!("kro-instance-validation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let file = dir.join("instance.yaml");
    std::fs::write(
        &file,
        "apiVersion: kro.run/v1alpha1\nkind: Web\nmetadata: {name: shop}\nspec: {name: Shop_1, replicas: 0}\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_kro"))
        .args([
            "render",
            &format!("{DATA}/rgd.yaml"),
            &file.display().to_string(),
        ])
        .output()
        .expect("the kro binary runs");
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spec.name: Invalid value: \"Shop_1\": should match '^[a-z][a-z0-9-]*$'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.replicas: Invalid value: 0: should be greater than or equal to 1"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("spec.even"),
        "the default 2 is even: {stderr}"
    );
}
