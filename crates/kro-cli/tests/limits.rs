//! `kro render` of RGDs whose expressions would take the process's memory
//! or time (the inputs of the issue that motivated the limits, and one of
//! each limit class): each render ends, and the resource or the status
//! field says which limit stopped which expression.
//!
//! The figures (time, peak memory) are in docs/cel.md, "Budgets"; these
//! tests check the outcome, not the time.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// A 100-byte string doubled 14 times by nested `cel.bind`s (1.6 MB),
/// then `body` with the result bound to `s14`.
fn doubled(body: &str) -> String {
    doubled_from(&format!("'{}'", "0123456789".repeat(10)), body)
}

/// [`doubled`], starting from the string `seed`.
fn doubled_from(seed: &str, body: &str) -> String {
    let mut expression = format!("cel.bind(s0, {seed}, ");
    for level in 1..=14 {
        expression.push_str(&format!(
            "cel.bind(s{level}, s{} + s{}, ",
            level - 1,
            level - 1
        ));
    }
    expression.push_str(body);
    expression.push_str(&")".repeat(15));
    expression
}

/// A 1 MiB string of `a` (a 1 KiB one doubled 10 times), bound to `s`,
/// then `body`.
fn megabyte(body: &str) -> String {
    let mut expression = format!("cel.bind(m0, '{}', ", "a".repeat(1024));
    for level in 1..=10 {
        expression.push_str(&format!(
            "cel.bind(m{level}, m{} + m{}, ",
            level - 1,
            level - 1
        ));
    }
    expression.push_str(&format!("cel.bind(s, m10, {body})"));
    expression.push_str(&")".repeat(11));
    expression
}

/// An RGD with a ConfigMap `heavy` whose `data.value` is `${value}`
/// (a string), a status field `big: ${status}` when given, and a ConfigMap
/// `fine` that needs nothing; `for_each` adds a `forEach` dimension `n` to
/// `heavy`.
fn rgd(value: &str, status: Option<&str>, for_each: Option<&str>) -> String {
    let status = status
        .map(|s| format!("    status:\n      big: ${{{s}}}\n"))
        .unwrap_or_default();
    let (for_each, name) = match for_each {
        Some(values) => (
            format!("      forEach:\n        - n: ${{{values}}}\n"),
            "${schema.spec.name + '-heavy-' + string(n)}",
        ),
        None => (String::new(), "${schema.spec.name}-heavy"),
    };
    format!(
        r#"apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: limits
spec:
  schema:
    apiVersion: v1alpha1
    kind: Limits
    spec:
      name: string | default="limits"
{status}  resources:
    - id: fine
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${{schema.spec.name}}-fine
        data:
          value: ok
    - id: heavy
{for_each}      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {name}
        data:
          value: |-
            ${{{value}}}
"#
    )
}

const INSTANCE: &str =
    "apiVersion: kro.run/v1alpha1\nkind: Limits\nmetadata:\n  name: limits\nspec: {}\n";

/// Writes the RGD and the instance for case `name` and renders them with
/// `flags`: the output as JSON, or, when the RGD itself is refused (the
/// static estimate refuses what can only fail), the refusal.
fn try_render(name: &str, rgd: &str, flags: &[&str]) -> Result<Value, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("limits");
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let rgd_path = dir.join(format!("{name}.yaml"));
    let instance_path = dir.join("instance.yaml");
    std::fs::write(&rgd_path, rgd).expect("write the RGD");
    std::fs::write(&instance_path, INSTANCE).expect("write the instance");
    let output: Output = Command::new(env!("CARGO_BIN_EXE_kro"))
        .arg("render")
        .arg(&rgd_path)
        .arg(&instance_path)
        .args(["-o", "json"])
        .args(flags)
        .output()
        .expect("run kro");
    if output.status.code() == Some(1) {
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    assert!(
        output.status.success(),
        "{name}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout).expect("JSON output"))
}

/// [`try_render`] of an RGD that must be accepted.
fn render(name: &str, rgd: &str, flags: &[&str]) -> Value {
    try_render(name, rgd, flags).unwrap_or_else(|refused| panic!("{name}: refused: {refused}"))
}

/// A refusal of the RGD at build time: located at `path`, naming the
/// limit that its expression is always above.
fn assert_refused(name: &str, refusal: &str, path: &str) {
    assert!(refusal.contains(path), "{name}: {path:?} not in {refusal}");
    assert!(
        refusal.contains("(Limits::") || refusal.contains("above the runtime cost budget"),
        "{name}: no limit named in {refusal}"
    );
}

/// The state and reason of node `id`.
fn node(rendered: &Value, id: &str) -> (String, String) {
    let node = rendered["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == id))
        .unwrap_or_else(|| panic!("no node {id} in {rendered}"));
    let text = |key: &str| node[key].as_str().unwrap_or_default().to_owned();
    (text("state"), text("reason"))
}

/// `heavy` failed, its reason saying each of `said`; `fine` is rendered;
/// the instance is in `ERROR`. Returns the reason.
fn assert_stopped(name: &str, rendered: &Value, said: &[&str]) -> String {
    let (state, reason) = node(rendered, "heavy");
    assert_eq!(state, "ERROR", "{name}: {reason}");
    for part in said {
        assert!(reason.contains(part), "{name}: {part:?} not in {reason:?}");
    }
    assert_eq!(node(rendered, "fine").0, "SYNCED", "{name}");
    assert_eq!(rendered["status"]["state"], "ERROR", "{name}");
    reason
}

#[test]
fn huge_strings_are_refused_before_they_are_built() {
    let cases = [
        ("join", doubled("lists.range(2000).map(i, s14).join()")),
        (
            "json-marshal",
            doubled("json.marshal(lists.range(2000).map(i, s14))"),
        ),
        (
            "format",
            doubled("'%s'.format([lists.range(2000).map(i, s14)])"),
        ),
    ];
    for (name, expression) in cases {
        match try_render(name, &rgd(&expression, None, None), &[]) {
            Err(refusal) => assert_refused(name, &refusal, "data.value"),
            Ok(rendered) => {
                assert_stopped(
                    name,
                    &rendered,
                    &[
                        "data.value: `${cel.bind(s0, ",
                        "over the limit of 3145728 (Limits::max_string_size)",
                    ],
                );
            }
        }
    }
}

#[test]
fn a_huge_result_is_refused_before_it_is_converted() {
    // The same 1.6 MB string 2,000 times: built for almost nothing, but
    // 3.2 GB as JSON.
    let seed = format!("schema.spec.name + '{}'", "0123456789".repeat(10));
    let status = doubled_from(&seed, "lists.range(2000).map(i, s14)");
    let rendered = match try_render("result", &rgd("'ok'", Some(&status), None), &[]) {
        Err(refusal) => return assert_refused("result", &refusal, "spec.schema.status.big"),
        Ok(rendered) => rendered,
    };
    let message = rendered["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ResourcesReady"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("status error: status.big: `${cel.bind(s0, "),
        "{message}"
    );
    assert!(
        message.contains("over the limit of 3145728 (Limits::max_result_size)"),
        "{message}"
    );
    assert_eq!(rendered["status"]["state"], "ERROR");
}

#[test]
fn work_over_the_expressions_budget_is_stopped() {
    let million = format!(
        "string([{}].size())",
        vec!["lists.range(1000000)"; 22].join(", ")
    );
    let cases = [
        ("ranges", million),
        (
            "distinct",
            "string(lists.range(1000000).distinct().size())".to_owned(),
        ),
        (
            "index-of",
            megabyte(&format!(
                "string(lists.range(1000).map(i, s.indexOf('{}b')).size())",
                "a".repeat(1023)
            )),
        ),
        (
            "in-list",
            "cel.bind(l, lists.range(100000), string(lists.range(1000).filter(i, -1 in l).size()))"
                .to_owned(),
        ),
    ];
    for (name, expression) in cases {
        let rendered = match try_render(name, &rgd(&expression, None, None), &[]) {
            Err(refusal) => {
                assert_refused(name, &refusal, "data.value");
                continue;
            }
            Ok(rendered) => rendered,
        };
        let reason = assert_stopped(name, &rendered, &["data.value: `${"]);
        // The budget pays for 10 to 50 ms of optimised work; an unoptimised
        // build may reach the one-second deadline first.
        assert!(
            reason.contains("actual cost limit exceeded (per-expression budget of 1000000)")
                || reason.contains("evaluation deadline exceeded (evaluation timeout of 1s)"),
            "{name}: {reason}"
        );
    }
}

#[test]
fn many_expressions_share_the_reconciles_budget() {
    let rendered = render(
        "reconcile",
        &rgd(
            "string(lists.range(20000).map(j, j).size())",
            None,
            Some("lists.range(30)"),
        ),
        &[],
    );
    assert_stopped(
        "reconcile",
        &rendered,
        &["per-reconcile budget of 4000000, shared by every expression of the instance"],
    );
    // Unlimited, the same instance renders all thirty objects.
    let rendered = render(
        "reconcile",
        &rgd(
            "string(lists.range(20000).map(j, j).size())",
            None,
            Some("lists.range(30)"),
        ),
        &["--cel-reconcile-cost-budget=0"],
    );
    assert_eq!(node(&rendered, "heavy").0, "SYNCED");
}

#[test]
fn the_deadline_stops_what_no_budget_does() {
    // Nine million iterations: within the static limit, far past 200 ms.
    let expression = "string(lists.range(3000).all(i, lists.range(3000).all(j, j >= 0)))";
    let rendered = render(
        "deadline",
        &rgd(expression, None, None),
        &[
            "--cel-cost-budget=0",
            "--cel-reconcile-cost-budget=0",
            "--cel-evaluation-timeout=200ms",
        ],
    );
    assert_stopped(
        "deadline",
        &rendered,
        &["evaluation deadline exceeded (evaluation timeout of 200ms)"],
    );
}
