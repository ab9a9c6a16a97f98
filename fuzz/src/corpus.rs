//! The seeds mutations start from: the CEL specification's conformance
//! expressions (`../shared/cel-conformance`, when present), the RGDs under
//! `examples/` with their expressions, templates and schemas, the CRDs of
//! `examples/compat/crds` (kinds the graph builder resolves), and a few
//! built-in expressions shaped like the attacks of the cost model's issue.
//! Everything is read once, at the start, in a fixed order.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

/// Expressions that stress sizes and loops, whatever the files hold.
const BUILTIN_EXPRESSIONS: &[&str] = &[
    "x * 2 == 84",
    "s.size() > 0 ? s + s : 'empty'",
    "l.map(i, i * i).filter(i, i % 2 == 0)",
    "m.all(k, m[k] != null)",
    "cel.bind(a, 'ab', cel.bind(b, a + a, cel.bind(c, b + b, c + c)))",
    "lists.range(2000).map(i, s).join()",
    "json.marshal(lists.range(100).map(i, m))",
    "'%s'.format([l])",
    "lists.range(1000).distinct()",
    "text.indexOf(s)",
    "x in big",
    "big == big",
    "big.sort()",
    "text.matches(s)",
    "text.replace('a', text)",
    "text.split('').join('-')",
    "base64.encode(bytes(text))",
    "sha256(bytes(text))",
    "quantity('1Gi').add(quantity('10Mi')).asInteger()",
    "ip('10.0.0.1').family() == 4 && cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))",
    "url('https://example.com/a?b=c').getQuery()",
    "semver('1.2.3').isGreaterThan(semver('1.2.0'))",
    "duration('1h') + timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
    "optional.of(x).orValue(0) + m.?missing.orValue(1)",
    "schema.spec.name + '-' + string(schema.spec.replicas)",
    "has(schema.metadata.labels) ? schema.metadata.labels : {}",
    "schema.spec.ports.map(p, {'port': p, 'name': 'p' + string(p)})",
    "big.transformList(i, v, v + i)",
    "m.transformMap(k, v, k)",
    "strings.quote(text)",
    "text.lowerAscii().upperAscii().trim()",
    "[1, 2, 3].exists_one(i, i == 2)",
    "math.greatest(l) - math.least(l)",
    "sets.contains(big, l) && sets.intersects(l, big)",
];

/// Seeds for every target.
#[derive(Debug, Default)]
pub struct Corpus {
    /// CEL expressions.
    pub expressions: Vec<String>,
    /// String values of resource templates (with or without `${...}`).
    pub templates: Vec<String>,
    /// `{"spec": ..., "types": ...}` SimpleSchemas.
    pub schemas: Vec<Value>,
    /// Whole RGDs, as JSON.
    pub rgds: Vec<Value>,
    /// CRDs of other operators' kinds the RGDs use.
    pub crds: Vec<Value>,
    /// The files read, for the run's header.
    pub sources: Vec<PathBuf>,
}

impl Corpus {
    /// Reads the seeds under `root` (the workspace).
    pub fn load(root: &Path) -> Result<Self> {
        let mut corpus = Corpus {
            expressions: BUILTIN_EXPRESSIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            ..Corpus::default()
        };
        let conformance = root.join("../shared/cel-conformance");
        for file in sorted_files(&conformance, "json")? {
            let text = read(&file)?;
            let json: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            collect_field(&json, "expr", &mut corpus.expressions);
            corpus.sources.push(file);
        }
        let mut rgd_files = vec![root.join("examples/application/rgd.yaml")];
        rgd_files.extend(sorted_files(&root.join("examples/compat"), "yaml")?);
        for file in rgd_files {
            // Seeds are taken where they read; an RGD written to test odd
            // YAML (duplicate keys) is left out.
            let Ok(json) = read_yaml(&file) else {
                continue;
            };
            if json.get("kind").and_then(Value::as_str) != Some("ResourceGraphDefinition") {
                continue;
            }
            corpus.add_rgd(json);
            corpus.sources.push(file);
        }
        for file in sorted_files(&root.join("examples/compat/crds"), "yaml")? {
            corpus.crds.push(read_yaml(&file)?);
            corpus.sources.push(file);
        }
        Ok(corpus)
    }

    /// Adds an RGD and the templates, expressions and schema it holds.
    fn add_rgd(&mut self, rgd: Value) {
        let mut strings = Vec::new();
        collect_strings(&rgd["spec"], &mut strings);
        for text in &strings {
            if let Ok(template) = kro_cel::template::scan(text) {
                self.expressions
                    .extend(template.expressions().into_iter().map(|e| e.source.clone()));
            }
        }
        self.templates.extend(strings);
        let schema = &rgd["spec"]["schema"];
        self.schemas.push(serde_json::json!({
            "spec": schema.get("spec").cloned().unwrap_or(Value::Null),
            "types": schema.get("types").cloned().unwrap_or(Value::Null),
        }));
        self.rgds.push(rgd);
    }
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))
}

fn read_yaml(file: &Path) -> Result<Value> {
    serde_saphyr::from_str(&read(file)?).with_context(|| format!("{} is not YAML", file.display()))
}

/// The files of `dir` ending in `.extension`, sorted; none when `dir` does
/// not exist.
fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("read {}", dir.display()))?
            .path();
        if path.extension().and_then(|e| e.to_str()) == Some(extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every string value of a field named `name`, anywhere in `json`.
fn collect_field(json: &Value, name: &str, out: &mut Vec<String>) {
    match json {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(text) if key == name => out.push(text.clone()),
                    _ => collect_field(value, name, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_field(v, name, out)),
        _ => {}
    }
}

/// Every string leaf of `json`, keys excluded.
fn collect_strings(json: &Value, out: &mut Vec<String>) {
    match json {
        Value::String(text) => out.push(text.clone()),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::Corpus;
    use std::path::Path;

    #[test]
    fn the_examples_give_seeds_for_every_target() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let corpus = Corpus::load(&root).expect("the corpus loads");
        assert!(corpus.rgds.len() > 40, "{} RGDs", corpus.rgds.len());
        assert_eq!(corpus.schemas.len(), corpus.rgds.len());
        assert!(!corpus.crds.is_empty());
        assert!(corpus.templates.iter().any(|t| t.contains("${")));
        assert!(corpus.expressions.len() > super::BUILTIN_EXPRESSIONS.len());
    }
}
