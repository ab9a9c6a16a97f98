//! `kro render` run as users run it, on the user's example: each run with
//! more observed state walks the graph one step forward.

use std::process::{Command, Output};

use serde_json::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/application");
const OBSERVED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/render");

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("the kro binary runs")
}

fn render(observed: Option<&str>) -> Value {
    let rgd = format!("{EXAMPLE}/rgd.yaml");
    let instance = format!("{EXAMPLE}/instance.yaml");
    let mut args = vec!["render", rgd.as_str(), instance.as_str(), "-o", "json"];
    let observed = observed.map(|dir| format!("{OBSERVED}/{dir}"));
    if let Some(dir) = &observed {
        args.extend(["--observed", dir.as_str()]);
    }
    let output = kro(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn kinds(rendered: &Value) -> Vec<&str> {
    rendered["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect()
}

fn node(rendered: &Value, id: &str) -> (String, String) {
    let node = rendered["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == id)
        .expect("node");
    (
        node["state"].as_str().unwrap_or_default().to_owned(),
        node["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn first_the_deployment_with_the_others_waiting_on_it() {
    let rendered = render(None);
    assert_eq!(kinds(&rendered), ["Deployment"]);
    let deployment = &rendered["resources"][0];
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx",
        "the schema's default"
    );
    assert_eq!(
        node(&rendered, "service"),
        (
            "IN_PROGRESS".to_owned(),
            r#"waiting for "deployment" to be ready"#.to_owned()
        )
    );
    assert_eq!(node(&rendered, "ingress").0, "IN_PROGRESS");
    assert_eq!(rendered["status"]["state"], "IN_PROGRESS");
}

#[test]
fn with_the_deployment_observed_the_service_follows_and_the_status_shows_it() {
    let rendered = render(Some("deployment"));
    assert_eq!(kinds(&rendered), ["Deployment", "Service"]);
    assert_eq!(node(&rendered, "ingress").0, "IN_PROGRESS");
    assert_eq!(rendered["status"]["availableReplicas"], 3);
}

#[test]
fn with_the_service_observed_too_the_ingress_follows() {
    let rendered = render(Some("deployment-and-service"));
    assert_eq!(kinds(&rendered), ["Deployment", "Service", "Ingress"]);
    assert_eq!(rendered["status"]["state"], "ACTIVE");
}

#[test]
fn yaml_output_is_the_objects_then_the_states_then_the_instance() {
    let output = kro(&[
        "render",
        &format!("{EXAMPLE}/rgd.yaml"),
        &format!("{EXAMPLE}/instance.yaml"),
    ]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let states = text
        .find("#   service     IN_PROGRESS")
        .expect("node states");
    let deployment = text.find("\nkind: Deployment").expect("the Deployment");
    let instance = text.find("\nkind: Application").expect("the instance");
    assert!(deployment < states && states < instance, "{text}");
    assert!(text.contains("kro.run/finalizer"), "{text}");
}

#[test]
fn an_observed_object_of_another_kind_is_refused() {
    let output = kro(&[
        "render",
        &format!("{EXAMPLE}/rgd.yaml"),
        &format!("{EXAMPLE}/instance.yaml"),
        "--observed",
        &format!("{EXAMPLE}/rgd.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a kind this RGD uses"), "{stderr}");
}

const LIFECYCLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/lifecycle");

fn render_lifecycle(extra: &[&str]) -> Output {
    let rgd = format!("{LIFECYCLE}/rgd.yaml");
    let instance = format!("{LIFECYCLE}/instance.yaml");
    let mut args = vec!["render", rgd.as_str(), instance.as_str()];
    args.extend(extra);
    let output = kro(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn each_resource_shows_its_lifecycle_policies() {
    let output = render_lifecycle(&["-o", "json"]);
    let rendered: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let lifecycle = |id: &str| {
        rendered["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["id"] == id)
            .map(|n| n["lifecycle"].clone())
            .expect("node")
    };
    assert_eq!(
        lifecycle("settings"),
        Value::Null,
        "an externalRef has none"
    );
    assert_eq!(
        lifecycle("plain"),
        serde_json::json!({ "adoption": "never", "deletion": "delete" })
    );
    assert_eq!(
        lifecycle("adopted"),
        serde_json::json!({ "adoption": "adopt", "deletion": "orphan" })
    );
    assert_eq!(
        lifecycle("kept"),
        serde_json::json!({ "adoption": "never", "deletion": "retain" })
    );

    let output = render_lifecycle(&[]);
    let text = String::from_utf8_lossy(&output.stdout);
    let block = "\
# Lifecycle policies (adoption, deletion):
#   settings  read only (externalRef)
#   plain     never  delete
#   adopted   adopt  orphan
#   kept      never  retain
";
    let policies = text.find(block).expect("the policies, after the states");
    let states = text
        .find("# Resources, in topological order:")
        .expect("states");
    let instance = text.find("\nkind: Lifecycle").expect("the instance");
    assert!(states < policies && policies < instance, "{text}");
}

#[test]
fn an_observed_object_of_no_applyset_is_left_alone_unless_adopted() {
    let observed = format!("{LIFECYCLE}/unowned");
    let output = render_lifecycle(&["-o", "json", "--observed", &observed]);
    let rendered: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let (state, reason) = node(&rendered, "plain");
    assert_eq!(state, "ERROR");
    assert!(
        reason.starts_with("ConfigMap default/demo-plain already exists and is not managed"),
        "{reason}"
    );
    assert_eq!(node(&rendered, "adopted").0, "SYNCED", "adopted");
    let written: Vec<&str> = rendered["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str())
        .collect();
    assert!(!written.contains(&"demo-plain"), "{written:?}");
    assert_eq!(rendered["status"]["state"], "ERROR");
}
