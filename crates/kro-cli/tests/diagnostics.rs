//! How `kro validate` shows a problem: one renderer for every kind of
//! problem, the caret under the right character on any line (CJK, emoji)
//! and under the name of a method call, SimpleSchema errors at the bad
//! field, real positions in JSON for YAML errors, and the same diagnostics
//! as GitHub Actions annotations and as SARIF.

use std::process::{Command, Output};

use serde_json::Value;

fn testdata(file: &str) -> String {
    format!(
        "{}/tests/testdata/diagnostics/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn validate(file: &str, output: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(["validate", "-o", output, &testdata(file)])
        .output()
        .expect("the kro binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(file: &str) -> Value {
    let output = validate(file, "json");
    assert_eq!(output.status.code(), Some(1));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// Terminal cells, as terminals draw the characters of the fixtures: CJK
/// and emoji take two.
fn cells(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

#[test]
fn the_caret_is_under_the_method_name_on_a_cjk_and_emoji_line() {
    let output = validate("method-on-cjk-line.yaml", "text");
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let source = lines
        .iter()
        .position(|line| line.contains("名前🙂"))
        .unwrap_or_else(|| panic!("the source line in\n{text}"));
    let (source_line, caret_line) = (lines[source], lines[source + 1]);
    let caret = caret_line.find('^').expect("a caret");
    let name = source_line.find("nope()").expect("the call");
    assert_eq!(
        cells(&caret_line[..caret]),
        cells(&source_line[..name]),
        "\n{text}"
    );
    assert!(
        caret_line.ends_with("^^^^^^ undeclared reference to 'nope' (in container '')"),
        "\n{text}"
    );
    assert!(text.contains("method-on-cjk-line.yaml:22:40\n"), "\n{text}");
    // One renderer: no second snippet of the expression alone.
    assert!(!text.contains("ERROR:"), "\n{text}");

    let report = json("method-on-cjk-line.yaml");
    let error = &report["errors"][0];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(22), Some(40))
    );
    assert_eq!(error["expression"], "schema.spec.name.nope()");
    assert_eq!(
        error["message"],
        "undeclared reference to 'nope' (in container '')"
    );
}

#[test]
fn a_simple_schema_error_is_at_the_bad_field() {
    let output = validate("schema-field.yaml", "text");
    let text = stdout(&output);
    assert!(text.contains("schema-field.yaml:13:15\n"), "{text}");
    assert!(
        text.contains("spec.ports.http: unknown type `integr`"),
        "{text}"
    );
    let report = json("schema-field.yaml");
    assert_eq!(
        (
            report["errors"][0]["line"].as_u64(),
            report["errors"][0]["column"].as_u64()
        ),
        (Some(13), Some(15))
    );
}

#[test]
fn a_yaml_error_has_a_real_position_in_json() {
    let report = json("unclosed.yaml");
    let error = &report["errors"][0];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(4), Some(11)),
        "{report}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not a valid ResourceGraphDefinition: "),
        "{report}"
    );
}

#[test]
fn github_annotations_carry_file_line_and_column() {
    let output = validate("method-on-cjk-line.yaml", "github");
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let file = testdata("method-on-cjk-line.yaml");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!(
            "::error file={file},line=22,col=40,endColumn=46::resourcegraphdefinition \"cjk\""
        )),
        "{text}"
    );
    let output = validate("../../../../../examples/application/rgd.yaml", "github");
    assert!(output.status.success());
    assert_eq!(stdout(&output), "", "nothing to annotate");
}

#[test]
fn sarif_lists_every_diagnostic_with_its_region() {
    let output = validate("method-on-cjk-line.yaml", "sarif");
    assert_eq!(output.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&output.stdout).expect("a SARIF log");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kro");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["level"], "error");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert!(
        location["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .ends_with("tests/testdata/diagnostics/method-on-cjk-line.yaml")
    );
    assert_eq!(location["region"]["startLine"], 22);
    assert_eq!(location["region"]["startColumn"], 40);
}
