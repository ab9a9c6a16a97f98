//! Every form of input a user hands `kro`: files of many documents (a
//! vendor's CRD bundle), directories (recursively, in path order), `-` for
//! standard input, and `kind: List` documents as `kubectl get a,b -o yaml`
//! prints them, for RGDs, `--crd`, instances and `--observed`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn example(file: &str) -> String {
    format!("{MANIFEST_DIR}/../../examples/application/{file}")
}

fn testdata(file: &str) -> String {
    format!("{MANIFEST_DIR}/tests/testdata/{file}")
}

fn kro(args: &[&str]) -> Output {
    kro_with_stdin(args, "")
}

fn kro_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the kro binary runs");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(stdin.as_bytes())
        .expect("write standard input");
    child.wait_with_output().expect("kro finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).expect("read the fixture")
}

/// A directory of its own for each test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kro-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn write(path: &Path, text: &str) -> String {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the directory");
    }
    std::fs::write(path, text).expect("write the input");
    path.display().to_string()
}

/// The application's instance CRD, from `kro generate crd`.
fn application_crd() -> String {
    let output = kro(&["generate", "crd", &example("rgd.yaml")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn a_file_of_several_rgds_reports_each_where_it_is() {
    let dir = scratch("several");
    let application = read(&example("rgd.yaml"));
    let cycle = read(&testdata("cycle.yaml"));
    let lines_before_cycle = application.lines().count() + 1;
    let file = write(
        &dir.join("both.yaml"),
        &format!("{application}---\n{cycle}"),
    );

    let output = kro(&["validate", &file]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "{file}:2 (my-application): valid; topological order: deployment, service, ingress"
        )),
        "{stdout}"
    );
    // cycle.yaml's own error is on its line 45: shifted by the application.
    let line = 45 + lines_before_cycle;
    assert!(stdout.contains(&format!("{file}:{line}:7")), "{stdout}");

    let output = kro(&["validate", "-o", "json", &file]);
    let reports: Vec<Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["valid"], true);
    assert_eq!(reports[1]["valid"], false);
    assert_eq!(reports[1]["errors"][0]["line"], json!(line));
    // One RGD is what `generate`, `graph` and `render` take.
    let output = kro(&["graph", &file]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("expected one ResourceGraphDefinition, found 2 documents")
    );
}

#[test]
fn a_directory_is_read_recursively_in_path_order_taking_its_rgds() {
    let dir = scratch("directory");
    write(&dir.join("b/nested/app.yaml"), &read(&example("rgd.yaml")));
    write(&dir.join("a.yml"), &read(&testdata("omit.yaml")));
    // Not RGDs: passed over in a directory.
    write(
        &dir.join("b/instance.yaml"),
        &read(&example("instance.yaml")),
    );
    write(&dir.join("notes.txt"), "not a manifest");
    write(
        &dir.join("chart/templates/cm.yaml"),
        "{{- if .Values.enabled }}\nkind: ConfigMap\n{{- end }}\n",
    );
    let output = kro(&[
        "validate",
        "--feature-gates=CELOmitFunction=true",
        &dir.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    let files: Vec<String> = text(&output.stdout)
        .lines()
        .map(|line| line.split(": valid").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        files,
        [dir.join("a.yml"), dir.join("b/nested/app.yaml")].map(|p| p.display().to_string())
    );
    // A broken RGD in a directory is reported all the same.
    write(
        &dir.join("c.yaml"),
        "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: [\n",
    );
    let output = kro(&[
        "validate",
        "--feature-gates=CELOmitFunction=true",
        &dir.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("c.yaml: 1 error"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn standard_input_is_dash_for_rgds_instances_and_observed_objects() {
    let rgd = read(&example("rgd.yaml"));
    let output = kro_with_stdin(&["validate", "-"], &rgd);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert_eq!(
        text(&output.stdout),
        "<stdin>: valid; topological order: deployment, service, ingress\n"
    );

    let output = kro_with_stdin(
        &["render", "-", &example("instance.yaml"), "-o", "json"],
        &rgd,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = kro_with_stdin(
        &["render", &example("rgd.yaml"), "-", "-o", "json"],
        &read(&example("instance.yaml")),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));

    let observed = read(&testdata("render/deployment/deployment.yaml"));
    let output = kro_with_stdin(
        &[
            "render",
            &example("rgd.yaml"),
            &example("instance.yaml"),
            "--observed",
            "-",
            "-o",
            "json",
        ],
        &observed,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rendered: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(rendered["status"]["availableReplicas"], 3);

    // A problem in standard input is located in it.
    let output = kro_with_stdin(&["validate", "-"], "kind: [unclosed\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("--> <stdin>:"),
        "{}",
        text(&output.stdout)
    );
}

/// The objects of the deployment-and-service fixture, as JSON values.
fn observed_objects() -> Vec<Value> {
    ["deployment.yaml", "service.yaml"]
        .iter()
        .map(|file| {
            serde_saphyr::from_str(&read(&testdata(&format!(
                "render/deployment-and-service/{file}"
            ))))
            .expect("the fixture parses")
        })
        .collect()
}

fn render_observed(observed: &str) -> Value {
    let output = kro(&[
        "render",
        &example("rgd.yaml"),
        &example("instance.yaml"),
        "--observed",
        observed,
        "-o",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn observed_objects_come_as_a_list_or_as_documents() {
    let dir = scratch("observed");
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": observed_objects()});
    let as_list = write(
        &dir.join("list.yaml"),
        &serde_saphyr::to_string(&list).expect("YAML"),
    );
    assert_eq!(render_observed(&as_list)["status"]["state"], "ACTIVE");

    let documents = observed_objects()
        .iter()
        .map(|object| serde_saphyr::to_string(object).expect("YAML"))
        .collect::<Vec<_>>()
        .join("---\n");
    let as_documents = write(
        &dir.join("documents.yaml"),
        &format!("# kubectl get -o yaml, one by one\n---\n{documents}"),
    );
    assert_eq!(render_observed(&as_documents)["status"]["state"], "ACTIVE");

    // A bad item of a List is located at the item.
    let bad = write(
        &dir.join("bad-list.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: 5\n",
    );
    let output = kro(&[
        "render",
        &example("rgd.yaml"),
        &example("instance.yaml"),
        "--observed",
        &bad,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("bad-list.yaml:7:11"), "{stderr}");
    assert!(stderr.contains("metadata.name"), "{stderr}");
}

#[test]
fn a_crd_bundle_or_list_defines_the_kinds_an_rgd_uses() {
    let dir = scratch("crds");
    let platform = testdata("platform.yaml");
    let crd = application_crd();
    // A vendor bundle: other kinds around the CRD are passed over.
    let bundle = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vendor\n---\n{crd}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vendor-operator\n"
    );
    let bundle = write(&dir.join("bundle.yaml"), &bundle);
    let output = kro(&["validate", "--crd", &bundle, &platform]);
    assert!(output.status.success(), "{}", text(&output.stdout));

    let crd: Value = serde_saphyr::from_str(&crd).expect("the CRD parses");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [crd]});
    let list = write(
        &dir.join("list.json"),
        &serde_json::to_string_pretty(&list).expect("JSON"),
    );
    let output = kro(&["validate", "--crd", &list, &platform]);
    assert!(output.status.success(), "{}", text(&output.stdout));

    let output = kro_with_stdin(&["validate", "--crd", "-", &platform], &application_crd());
    assert!(output.status.success(), "{}", text(&output.stdout));

    // Without it, the kind is unknown.
    let output = kro(&["validate", &platform]);
    assert_eq!(output.status.code(), Some(1));
}
