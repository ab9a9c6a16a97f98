//! `kro generate crd` and `kro graph` on files, as a user runs them.

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

#[test]
fn generate_crd_prints_the_instance_crd() {
    let output = kro(&["generate", "crd", "-o", "json", &application()]);
    assert!(output.status.success());
    let crd: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(crd["metadata"]["name"], "applications.kro.run");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
    assert_eq!(schema["spec"]["properties"]["image"]["default"], "nginx");
    assert_eq!(
        schema["status"]["properties"]["availableReplicas"]["type"],
        "integer"
    );
    assert_eq!(
        schema["status"]["properties"]["deploymentConditions"]["type"],
        "array"
    );

    let yaml = kro(&["generate", "crd", &application()]);
    assert!(yaml.status.success());
    assert!(
        String::from_utf8_lossy(&yaml.stdout).starts_with("apiVersion: apiextensions.k8s.io/v1\n")
    );
}

#[test]
fn an_invalid_rgd_generates_nothing_and_says_why() {
    let output = kro(&["generate", "crd", &path("tests/testdata/cycle.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("graph contains a cycle"));
}

#[test]
fn graph_in_every_format() {
    let text = kro(&["graph", &application()]);
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        "topological order: deployment, service, ingress\n\
         deployment: no dependencies\n\
         service: depends on deployment\n\
         ingress: depends on service\n"
    );
    let json = kro(&["graph", "--format", "json", &application()]);
    let graph: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        graph,
        serde_json::json!({
            "topologicalOrder": ["deployment", "service", "ingress"],
            "edges": [["deployment", "service"], ["service", "ingress"]]
        })
    );
    let dot =
        String::from_utf8_lossy(&kro(&["graph", "-f", "dot", &application()]).stdout).into_owned();
    assert!(
        dot.starts_with("digraph \"my-application\" {")
            && dot.contains("\"deployment\" -> \"service\";"),
        "{dot}"
    );
    let mermaid = String::from_utf8_lossy(&kro(&["graph", "-f", "mermaid", &application()]).stdout)
        .into_owned();
    assert!(
        mermaid.starts_with("flowchart TD\n") && mermaid.contains("service --> ingress"),
        "{mermaid}"
    );
}

#[test]
fn an_rgd_on_another_rgds_kind_needs_its_crd() {
    let platform = path("tests/testdata/platform.yaml");
    let without = kro(&["validate", "-o", "json", &platform]);
    assert_eq!(without.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&without.stdout).expect("JSON");
    assert_eq!(
        report["errors"][0]["message"],
        "schema not found for kro.run/v1alpha1, Kind=Application"
    );

    let dir = std::env::temp_dir().join(format!("kro-chaining-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let crd = kro(&["generate", "crd", &application()]);
    assert!(crd.status.success());
    std::fs::write(dir.join("applications.yaml"), &crd.stdout).expect("write the CRD");
    let dir_arg = dir.display().to_string();

    let with = kro(&["validate", "--crd", &dir_arg, &platform]);
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );

    // The chained kind is typed from its CRD: availableReplicas is an integer.
    let text = std::fs::read_to_string(&platform).expect("read");
    let untyped = dir.join("platform-untyped.yaml");
    std::fs::write(
        &untyped,
        text.replace(
            "${string(app.status.availableReplicas)}",
            "${app.status.availableReplicas}",
        ),
    )
    .expect("write");
    let mismatch = kro(&[
        "validate",
        "--crd",
        &dir.join("applications.yaml").display().to_string(),
        &untyped.display().to_string(),
    ]);
    assert_eq!(mismatch.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&mismatch.stdout)
            .contains("returns type \"int\" but expected \"string\"")
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn generate_instance_prints_a_sample_with_the_defaults() {
    let output = kro(&["generate", "instance", "-o", "json", &application()]);
    assert!(output.status.success());
    let instance: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        instance,
        serde_json::json!({
            "apiVersion": "kro.run/v1alpha1",
            "kind": "Application",
            "metadata": { "name": "application-sample" },
            "spec": { "image": "nginx", "ingress": { "enabled": false } }
        })
    );
}
