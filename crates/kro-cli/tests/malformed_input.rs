//! No input makes `kro` panic: malformed observed objects, instances, RGD
//! files and CRDs of many shapes are each refused with a message (or, where
//! the API server would take them, used), never with a crash.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/application");

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("the kro binary runs")
}

/// A directory of its own for each test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kro-malformed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the input");
    path.display().to_string()
}

/// Runs `kro` and checks it did not crash: exit code 0, 1 or 2, and no
/// panic message; returns standard error.
fn no_panic(args: &[&str], input: &str) -> String {
    let output = kro(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        matches!(output.status.code(), Some(0..=2)) && !stderr.contains("panicked"),
        "kro {args:?} crashed on\n{input}\nstatus {:?}\n{stderr}",
        output.status
    );
    stderr
}

/// Bodies of a Deployment document that are each wrong in their own way
/// (or odd, but valid).
const MALFORMED_OBJECTS: &[&str] = &[
    "metadata: oops",
    "metadata: [1, 2]",
    "metadata: 7",
    "metadata: {}",
    "metadata: {name: 5}",
    "metadata: {name: [a]}",
    "metadata: {name: my-awesome-app, namespace: {a: b}}",
    "metadata: {name: my-awesome-app, labels: oops}",
    "metadata: {name: my-awesome-app, labels: [a, b]}",
    "metadata: {name: my-awesome-app, labels: {a: {b: c}}}",
    "metadata: {name: my-awesome-app, annotations: 3}",
    "metadata: {name: my-awesome-app, ownerReferences: oops}",
    "metadata: {name: my-awesome-app, ownerReferences: [oops]}",
    "metadata: {name: my-awesome-app, finalizers: {a: b}}",
    "metadata: {name: my-awesome-app, uid: [1]}",
    "metadata: {name: my-awesome-app, resourceVersion: {}}",
    "metadata: {name: my-awesome-app, generation: oops}",
    "metadata: {name: my-awesome-app, creationTimestamp: 5}",
    "metadata: {name: my-awesome-app, deletionTimestamp: yesterday}",
    "metadata: {name: my-awesome-app, managedFields: 1}",
    "metadata: {name: my-awesome-app}\nstatus: oops",
    "metadata: {name: my-awesome-app}\nstatus: [1]",
    "metadata: {name: my-awesome-app}\nstatus: {availableReplicas: oops, conditions: 3}",
    "metadata: {name: my-awesome-app}\nstatus: {conditions: [oops, 1, {type: 5}]}",
    "metadata: {name: my-awesome-app}\nspec: oops",
    "metadata: {name: my-awesome-app}\nspec: {selector: 5, replicas: many}",
    "metadata: {name: my-awesome-app}\n\"\": 1",
];

#[test]
fn malformed_observed_objects_are_refused_without_a_panic() {
    let dir = scratch("observed");
    let rgd = format!("{EXAMPLE}/rgd.yaml");
    let instance = format!("{EXAMPLE}/instance.yaml");
    for (i, body) in MALFORMED_OBJECTS.iter().enumerate() {
        let text = format!("apiVersion: apps/v1\nkind: Deployment\n{body}\n");
        let file = write(&dir, &format!("observed-{i}.yaml"), &text);
        no_panic(&["render", &rgd, &instance, "--observed", &file], &text);
    }
    // Whole documents of the wrong shape, and lists of them.
    for (i, text) in [
        "oops\n",
        "[1, 2, 3]\n",
        "42\n",
        "apiVersion: 5\nkind: Deployment\n",
        "apiVersion: apps/v1\nkind: [Deployment]\n",
        "apiVersion: v1\nkind: List\nitems: oops\n",
        "apiVersion: v1\nkind: List\nitems: [oops, 1, {kind: Deployment}]\n",
        "apiVersion: v1\nkind: List\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: oops\n",
        "---\n---\n",
        "a: [unclosed\n",
        "\u{feff}\u{0}\n",
    ]
    .iter()
    .enumerate()
    {
        let file = write(&dir, &format!("document-{i}.yaml"), text);
        no_panic(&["render", &rgd, &instance, "--observed", &file], text);
    }
    // Nesting deep enough to exhaust a recursive reader's stack.
    let deep = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: my-awesome-app}}\nstatus: {}1{}\n",
        "{a: ".repeat(5000),
        "}".repeat(5000)
    );
    let file = write(&dir, "deep.yaml", &deep);
    no_panic(
        &["render", &rgd, &instance, "--observed", &file],
        "status: {a: {a: ...}}",
    );
    no_panic(&["validate", &file], "status: {a: {a: ...}}");
}

#[test]
fn the_panic_the_issue_names_is_a_located_error() {
    let dir = scratch("oops");
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: oops\n";
    let file = write(&dir, "oops.yaml", text);
    let rgd = format!("{EXAMPLE}/rgd.yaml");
    let instance = format!("{EXAMPLE}/instance.yaml");
    let output = kro(&["render", &rgd, &instance, "--observed", &file]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("oops.yaml:3:11"), "{stderr}");
    assert!(stderr.contains("metadata"), "{stderr}");
}

#[test]
fn malformed_instances_are_refused_without_a_panic() {
    let dir = scratch("instances");
    let rgd = format!("{EXAMPLE}/rgd.yaml");
    let header = "apiVersion: kro.run/v1alpha1\nkind: Application\n";
    let mut inputs: Vec<String> = MALFORMED_OBJECTS
        .iter()
        .map(|body| format!("{header}{}\n", body.replace("my-awesome-app", "app")))
        .collect();
    inputs.extend(
        [
            "metadata: {name: app}\nspec: {name: 5}",
            "metadata: {name: app}\nspec: {name: a, ingress: oops}",
            "metadata: {name: app}\nspec: {name: a, ingress: {enabled: maybe}}",
            "metadata: {name: app}\nspec: {name: a, unknown: 1}",
            "metadata: {name: app}\nspec: [1]",
            "metadata: {name: app}\nspec: null",
            "metadata: {name: app}",
        ]
        .iter()
        .map(|body| format!("{header}{body}\n")),
    );
    inputs.extend(
        ["oops\n", "[]\n", "", "---\n---\n", "a: [unclosed\n"]
            .iter()
            .map(|text| (*text).to_owned()),
    );
    for (i, text) in inputs.iter().enumerate() {
        let file = write(&dir, &format!("instance-{i}.yaml"), text);
        no_panic(&["render", &rgd, &file], text);
    }
}

#[test]
fn malformed_rgds_and_crds_are_refused_without_a_panic() {
    let dir = scratch("rgds");
    let rgd = format!("{EXAMPLE}/rgd.yaml");
    let rgds = [
        "oops\n",
        "[1]\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: oops\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: oops\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: oops, resources: 5}\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: {apiVersion: v1alpha1, kind: X, spec: [1]}, resources: [oops]}\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: {apiVersion: v1alpha1, kind: X, spec: {a: \"string | default=\"}}}\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: {apiVersion: v1alpha1, kind: X}, resources: [{id: a, template: oops}]}\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: {apiVersion: v1alpha1, kind: X}, resources: [{id: a, template: {apiVersion: v1, kind: ConfigMap, metadata: oops}}]}\n",
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: x}\nspec: {schema: {apiVersion: v1alpha1, kind: X}, resources: [{id: a, template: {apiVersion: v1, kind: ConfigMap, metadata: {name: \"${\"}}}]}\n",
        "a: [unclosed\n",
        "",
    ];
    for (i, text) in rgds.iter().enumerate() {
        let file = write(&dir, &format!("rgd-{i}.yaml"), text);
        no_panic(&["validate", &file], text);
        no_panic(
            &["render", &file, &format!("{EXAMPLE}/instance.yaml")],
            text,
        );
        no_panic(&["generate", "crd", &file], text);
    }
    let crds = [
        "oops\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: oops\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: oops\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b, names: {kind: A, plural: a}, scope: Namespaced, versions: []}\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b, names: {kind: A, plural: a}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec: {group: b, names: {kind: A, plural: a}, scope: Sideways, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: nonsense, items: 5}}}}}]}\n",
        "apiVersion: v1\nkind: List\nitems: [oops]\n",
    ];
    for (i, text) in crds.iter().enumerate() {
        let file = write(&dir, &format!("crd-{i}.yaml"), text);
        no_panic(&["validate", &rgd, "--crd", &file], text);
    }
}
