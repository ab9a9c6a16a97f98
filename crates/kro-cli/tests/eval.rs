//! `kro eval` run as users run it.

use std::process::{Command, Output};

fn kro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(args)
        .output()
        .expect("the kro binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn seeded_string_matches_upstream() {
    let o = kro(&["eval", r#"random.seededString(20, "test-seed")"#]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"5czheg3o5czheg3o5czh\"\n");
}

#[test]
fn quantity_comparison() {
    let o = kro(&[
        "eval",
        r#"quantity("1Gi").isGreaterThan(quantity("500Mi"))"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "true\n");
}

#[test]
fn expressions_as_written_in_an_rgd() {
    let o = kro(&["eval", "${1 + 2}"]);
    assert_eq!(stdout(&o), "3\n", "{}", stderr(&o));
    let o = kro(&["eval", r#"${"web"}-service "quoted" \ ${string(1)}"#]);
    assert_eq!(
        stdout(&o),
        "\"web-service \\\"quoted\\\" \\\\ 1\"\n",
        "{}",
        stderr(&o)
    );
    let o = kro(&["eval", "${1}-x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no matching overload"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn check_only_prints_the_type() {
    let o = kro(&["eval", "--check-only", "[1, 2].map(x, string(x))"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "list(string)\n");
}

#[test]
fn library_values_are_shown_while_debugging() {
    let o = kro(&["eval", "quantity('1.5Gi')"]);
    assert_eq!(stdout(&o), "\"1536Mi\"\n");
    let o = kro(&["eval", "type(quantity('1'))"]);
    assert_eq!(stdout(&o), "kubernetes.Quantity\n");
}

#[test]
fn variables_from_yaml_files() {
    let dir = std::env::temp_dir().join(format!("kro-eval-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("deployment.yaml");
    std::fs::write(
        &file,
        "spec:\n  replicas: 3\nstatus:\n  availableReplicas: 3\n  conditions:\n  - type: Available\n    status: \"True\"\n",
    )
    .expect("write");
    let var = format!("deployment={}", file.display());
    let o = kro(&[
        "eval",
        "deployment.status.availableReplicas == deployment.spec.replicas && deployment.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')",
        "--var",
        &var,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "true\n");
    let o = kro(&[
        "eval",
        "{'n': deployment.spec.replicas, 'd': duration('90s')}",
        "--var",
        &var,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\n  \"n\": 3,\n  \"d\": \"1m30s\"\n}\n");

    // With apiVersion and kind, the variable is typed from the kind's schema.
    let typed = dir.join("typed.yaml");
    std::fs::write(
        &typed,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  creationTimestamp: \"2024-01-02T03:04:05Z\"\nspec:\n  replicas: 2\n",
    )
    .expect("write");
    let var = format!("deployment={}", typed.display());
    let o = kro(&[
        "eval",
        "deployment.metadata.creationTimestamp + duration('1h')",
        "--var",
        &var,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\"2024-01-02T04:04:05Z\"\n");
    let o = kro(&[
        "eval",
        "--check-only",
        "deployment.spec.template.spec.containers",
        "--var",
        &var,
    ]);
    assert_eq!(
        stdout(&o),
        "list(__type_deployment.spec.template.spec.containers.@idx)\n"
    );
    let o = kro(&["eval", "deployment.spec.replicaz", "--var", &var]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("undefined field 'replicaz'"),
        "{}",
        stderr(&o)
    );
    let o = kro(&[
        "eval",
        "--untyped",
        "--check-only",
        "deployment.spec.replicaz",
        "--var",
        &var,
    ]);
    assert_eq!(stdout(&o), "dyn\n");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn failures_exit_1_with_the_error_on_stderr() {
    let o = kro(&["eval", "1 + 'a'"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("no matching overload"),
        "{}",
        stderr(&o)
    );

    let o = kro(&["eval", "[1][5]"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("evaluation failed"), "{}", stderr(&o));

    let o = kro(&["eval", "hash.sha256('x')"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("base64.encode"), "{}", stderr(&o));

    let o = kro(&["eval", "x", "--var", "x=/nonexistent/file.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--var x"), "{}", stderr(&o));

    let o = kro(&["eval", "x", "--var", "novalue"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("expected NAME=FILE"), "{}", stderr(&o));
}

/// `omit()` needs the `CELOmitFunction` gate: `--feature-gates`, as the
/// other commands and the operator take it, or its alias `--enable-omit`.
#[test]
fn omit_is_behind_its_feature_gate() {
    let o = kro(&["eval", "--check-only", "omit()"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    for gate in ["--enable-omit", "--feature-gates=CELOmitFunction=true"] {
        let o = kro(&["eval", "--check-only", gate, "omit()"]);
        assert!(o.status.success(), "{gate}: {}", stderr(&o));
    }
}

/// The operator's `--cel-*` limits, with its defaults.
#[test]
fn the_operators_limits_apply() {
    let o = kro(&["eval", "lists.range(1000000).size()"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(
            "evaluation failed: operation cancelled: actual cost limit exceeded (per-expression budget of 1000000)"
        ),
        "{}",
        stderr(&o)
    );
    let o = kro(&["eval", "lists.range(1000000).size()", "--cel-cost-budget=0"]);
    assert_eq!(stdout(&o), "1000000\n", "{}", stderr(&o));

    let o = kro(&["eval", "lists.range(100)", "--cel-max-result-size=50"]);
    assert!(
        stderr(&o).contains("bytes of JSON, over the limit of 50 (Limits::max_result_size)"),
        "{}",
        stderr(&o)
    );
    let o = kro(&["eval", "${'a' + 'b'}-${'c'}", "--cel-max-result-size=3"]);
    assert!(
        stderr(&o).contains("the result as JSON would reach 4 bytes, over the limit of 3"),
        "{}",
        stderr(&o)
    );
}

/// A compile error is shown by the same renderer as every other problem,
/// marked in the expression at the method's name.
#[test]
fn compile_errors_are_marked_in_the_expression() {
    let o = kro(&["eval", r#""名前".size() + "a".nope()"#]);
    assert_eq!(o.status.code(), Some(1));
    let text = stderr(&o);
    assert!(
        text.starts_with(
            "error: undeclared reference to 'nope' (in container '')\n --> <expression>:1:19\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\"a\".nope()\n  |                     ^^^^^^"),
        "{text}"
    );
    assert!(!text.contains("ERROR:"), "{text}");
}

#[test]
fn a_variable_can_come_from_standard_input() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kro"))
        .args(["eval", "--untyped", "--var", "x=-", "x.a + 1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the kro binary runs");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(b"a: 41\n")
        .expect("write standard input");
    let o = child.wait_with_output().expect("kro finishes");
    assert_eq!(stdout(&o), "42\n", "{}", stderr(&o));
}
