//! `kro validate --output sarif`: the diagnostics as one SARIF 2.1.0 log,
//! the format code-scanning services (GitHub's among them) read. Columns
//! are counted in Unicode code points, as everywhere in `kro`, and the log
//! says so (`columnKind`).

use serde_json::{Value, json};

use crate::diagnostics::{Diagnostic, Severity};

/// The rule every diagnostic of a severity is reported under.
fn rule_id(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "kro/invalid-rgd",
        Severity::Warning => "kro/suspicious-rgd",
    }
}

/// One SARIF log with a run of `kro` over every `(file, diagnostic)`.
pub fn log<'a>(diagnostics: impl Iterator<Item = (&'a str, Diagnostic)>) -> Value {
    let results: Vec<Value> = diagnostics
        .map(|(file, diagnostic)| result(file, &diagnostic))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kro",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://kro.run",
                "rules": [
                    {"id": rule_id(Severity::Error),
                     "shortDescription": {"text": "A ResourceGraphDefinition the operator would refuse"},
                     "defaultConfiguration": {"level": "error"}},
                    {"id": rule_id(Severity::Warning),
                     "shortDescription": {"text": "A ResourceGraphDefinition the operator accepts, probably not as meant"},
                     "defaultConfiguration": {"level": "warning"}},
                ],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn result(file: &str, diagnostic: &Diagnostic) -> Value {
    let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri(file)}}});
    if let Some(position) = diagnostic.position {
        let width = diagnostic.marks.first().map_or(1, |m| m.width.max(1)) as u64;
        location["physicalLocation"]["region"] = json!({
            "startLine": position.line,
            "startColumn": position.column,
            "endColumn": position.column + width,
        });
    }
    json!({
        "ruleId": rule_id(diagnostic.severity),
        "level": diagnostic.severity.as_str(),
        "message": {"text": diagnostic.message},
        "locations": [location],
    })
}

/// A relative URI reference for a path: `/` separators, and the characters
/// a URI may not hold percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:@!$&'()*+,;=".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kro_graph::source_map::Position;

    #[test]
    fn a_diagnostic_is_a_result_with_its_region() {
        let diagnostic = Diagnostic::error("bad").marked(Position { line: 4, column: 9 }, 3, None);
        let log = log([("dir/my rgd.yaml", diagnostic)].into_iter());
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["level"], "error");
        assert_eq!(result["ruleId"], "kro/invalid-rgd");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "dir/my%20rgd.yaml");
        assert_eq!(
            location["region"],
            json!({"startLine": 4, "startColumn": 9, "endColumn": 12})
        );
    }
}
