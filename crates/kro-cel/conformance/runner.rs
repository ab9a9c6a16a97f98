//! The CEL conformance runner, shared by `examples/conformance.rs` and the
//! ratchet test. It reads the cel-spec simple tests (converted to JSON) from
//! `../shared/cel-conformance` relative to the project root.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use kro_cel::{Env, Key, Overload, Type, Value};
use serde_json::Value as Json;

/// Files of the suite kro needs (see the data README).
pub const IN_SCOPE: [&str; 21] = [
    "basic",
    "comparisons",
    "conversions",
    "dynamic",
    "fields",
    "fp_math",
    "integer_math",
    "lists",
    "logic",
    "macros",
    "macros2",
    "namespace",
    "parse",
    "plumbing",
    "string",
    "timestamps",
    "type_deduction",
    "optionals",
    "bindings_ext",
    "encoders_ext",
    "string_ext",
];

/// Outcome of one file.
#[derive(Debug, Default)]
pub struct FileReport {
    /// File name without extension.
    pub name: String,
    /// Tests run and passed.
    pub passed: usize,
    /// Tests in scope.
    pub total: usize,
    /// `section/name: reason` of every failure.
    pub failures: Vec<String>,
    /// Tests expecting an error that passed because parsing or checking failed.
    pub static_errors: usize,
}

/// Outcome of the whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Per file.
    pub files: Vec<FileReport>,
    /// Out-of-scope tests, `file/section/name: reason`.
    pub skipped: Vec<String>,
}

impl Report {
    /// Total passed.
    pub fn passed(&self) -> usize {
        self.files.iter().map(|f| f.passed).sum()
    }

    /// Total in scope.
    pub fn total(&self) -> usize {
        self.files.iter().map(|f| f.total).sum()
    }

    /// The printable report, ending with the `conformance:` summary line.
    pub fn render(&self, verbose_skips: bool) -> String {
        let mut out = String::new();
        for f in &self.files {
            for fail in &f.failures {
                let _ = writeln!(out, "FAIL {}/{}", f.name, fail);
            }
        }
        if verbose_skips {
            for s in &self.skipped {
                let _ = writeln!(out, "SKIP {s}");
            }
        }
        let _ = writeln!(
            out,
            "{} tests skipped as out of scope (protobuf messages); {} failed; \
             {} expected-error tests passed with a parse or check error",
            self.skipped.len(),
            self.total() - self.passed(),
            self.files.iter().map(|f| f.static_errors).sum::<usize>()
        );
        let _ = writeln!(out);
        for f in &self.files {
            let pct = if f.total == 0 {
                100.0
            } else {
                100.0 * f.passed as f64 / f.total as f64
            };
            let _ = writeln!(
                out,
                "{:<16} {:>4}/{:<4} {:>6.2}%",
                f.name, f.passed, f.total, pct
            );
        }
        let pct = if self.total() == 0 {
            0.0
        } else {
            100.0 * self.passed() as f64 / self.total() as f64
        };
        let _ = writeln!(
            out,
            "conformance: {}/{} passed ({:.2}%)",
            self.passed(),
            self.total(),
            pct
        );
        out
    }
}

/// Where the data lives: `$KRO_CEL_CONFORMANCE_DIR`, else `../shared/cel-conformance`
/// relative to the project root.
pub fn data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("KRO_CEL_CONFORMANCE_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/cel-conformance")
}

/// Runs every in-scope file found in `dir`; `None` when the folder is absent.
pub fn run(dir: &Path, only: Option<&str>) -> Option<Report> {
    if !dir.is_dir() {
        return None;
    }
    let base = Env::standard();
    let mut report = Report::default();
    for file in IN_SCOPE {
        if only.is_some_and(|o| o != file) {
            continue;
        }
        let path = dir.join(format!("{file}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            report.files.push(FileReport {
                name: file.to_string(),
                failures: vec![format!("(file): cannot read {}", path.display())],
                ..Default::default()
            });
            continue;
        };
        let Ok(json) = serde_json::from_str::<Json>(&text) else {
            report.files.push(FileReport {
                name: file.to_string(),
                failures: vec!["(file): invalid JSON".into()],
                ..Default::default()
            });
            continue;
        };
        let mut fr = FileReport {
            name: file.to_string(),
            ..Default::default()
        };
        for section in json["section"].as_array().into_iter().flatten() {
            let sname = section["name"].as_str().unwrap_or("");
            for test in section["test"].as_array().into_iter().flatten() {
                let tname = test["name"].as_str().unwrap_or("");
                if let Some(why) = out_of_scope(test) {
                    report
                        .skipped
                        .push(format!("{file}/{sname}/{tname}: {why}"));
                    continue;
                }
                fr.total += 1;
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_test(&base, test)
                }))
                .unwrap_or_else(|_| Err("PANIC".to_string()));
                match outcome {
                    Ok(Pass::Eval) => fr.passed += 1,
                    Ok(Pass::StaticError) => {
                        fr.passed += 1;
                        fr.static_errors += 1;
                    }
                    Err(why) => fr.failures.push(format!("{sname}/{tname}: {why}")),
                }
            }
        }
        report.files.push(fr);
    }
    Some(report)
}

fn out_of_scope(test: &Json) -> Option<&'static str> {
    let text = test.to_string();
    if text.contains("\"object_value\"") || text.contains("\"message_type\"") {
        return Some("uses protobuf messages");
    }
    // Whitespace may separate the parts of a qualified name (`cel. expr`).
    // Comments may too.
    let squash = |s: &str| {
        s.lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
    };
    let expr = squash(test["expr"].as_str().unwrap_or(""));
    let container = squash(test["container"].as_str().unwrap_or(""));
    for s in [&expr, &container] {
        if s.contains("cel.expr.conformance") || s.contains("google.protobuf") {
            return Some("uses protobuf names");
        }
    }
    None
}

/// How a test passed.
enum Pass {
    /// By evaluation (or by the deduced type for check-only tests).
    Eval,
    /// An error was expected and parsing or checking reported one.
    StaticError,
}

fn run_test(base: &Env, test: &Json) -> Result<Pass, String> {
    let expr = test["expr"].as_str().unwrap_or("");
    let mut env = base.clone();
    if let Some(c) = test["container"].as_str() {
        env.set_container(c);
    }
    for decl in test["type_env"].as_array().into_iter().flatten() {
        let name = decl["name"].as_str().unwrap_or("");
        if let Some(t) = decl.get("ident") {
            env.add_variable(name, parse_type(&t["type"]).ok_or("bad type in type_env")?);
        }
        if let Some(f) = decl.get("function") {
            for o in f["overloads"].as_array().into_iter().flatten() {
                let params = o["params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(parse_type)
                    .collect::<Option<Vec<_>>>()
                    .ok_or("bad overload param type")?;
                env.add_overload(
                    name,
                    Overload {
                        id: o["overload_id"].as_str().unwrap_or("").to_string(),
                        params,
                        result: parse_type(&o["result_type"]).ok_or("bad result type")?,
                        member: o["is_instance_function"].as_bool().unwrap_or(false),
                    },
                );
            }
        }
    }
    let mut bindings: Vec<(String, Value)> = Vec::new();
    if let Some(b) = test["bindings"].as_object() {
        for (name, v) in b {
            let value =
                parse_value(&v["value"]).ok_or_else(|| format!("cannot read binding {name}"))?;
            if env.variable(name).is_none() {
                env.add_variable(name, Type::Dyn);
            }
            bindings.push((name.clone(), value));
        }
    }
    let disable_check = test["disable_check"].as_bool().unwrap_or(false);
    let check_only = test["check_only"].as_bool().unwrap_or(false);
    let expects_error = test.get("eval_error").is_some();

    let ast = match kro_cel::parse(expr) {
        Ok(a) => a,
        Err(_) if expects_error => return Ok(Pass::StaticError),
        Err(d) => {
            return Err(format!(
                "parse error: {}",
                d.render("<input>", expr).replace('\n', " ")
            ));
        }
    };
    let mut deduced = None;
    let program = if disable_check {
        kro_cel::Program::plan(&env, &ast)
    } else {
        match kro_cel::check(&env, &ast) {
            Ok(c) => {
                deduced = Some(c.result_type.clone());
                kro_cel::Program::plan(&env, &c.expr)
            }
            Err(_) if expects_error => return Ok(Pass::StaticError),
            Err(d) => {
                return Err(format!(
                    "check error: {}",
                    d.render("<input>", expr).replace('\n', " ")
                ));
            }
        }
    };
    if let Some(tr) = test.get("typed_result") {
        let want = parse_type(&tr["deduced_type"]).ok_or("cannot read deduced_type")?;
        match &deduced {
            Some(got) if *got == want => {}
            Some(got) => return Err(format!("deduced type {got}, want {want}")),
            None => return Err("no deduced type".into()),
        }
        if check_only {
            return Ok(Pass::Eval);
        }
    } else if check_only {
        return Ok(Pass::Eval);
    }
    let activation: Vec<(&str, Value)> = bindings
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    let result = program.eval(&activation);
    let expected = if let Some(tr) = test.get("typed_result") {
        Some(&tr["result"])
    } else {
        test.get("value")
    };
    match (result, expects_error, expected) {
        (Err(_), true, _) => Ok(Pass::Eval),
        (Ok(v), true, _) => Err(format!("got {v}, want an error")),
        (Err(e), false, _) => Err(format!("eval error: {e}")),
        (Ok(v), false, None) => {
            if strict_eq(&v, &Value::Bool(true)) {
                Ok(Pass::Eval)
            } else {
                Err(format!("got {v}, want true"))
            }
        }
        (Ok(v), false, Some(want)) => {
            let want = parse_value(want).ok_or("cannot read expected value")?;
            if strict_eq(&v, &want) {
                Ok(Pass::Eval)
            } else {
                Err(format!("got {v}, want {want}"))
            }
        }
    }
}

/// Equality that also requires the same types (1 and 1u differ) and treats NaN as equal to NaN.
fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => (x.is_nan() && y.is_nan()) || x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| strict_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| strict_eq(v, w)))
        }
        (Value::Optional(Some(x)), Value::Optional(Some(y))) => strict_eq(x, y),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b) && a.equals(b),
    }
}

fn parse_type(j: &Json) -> Option<Type> {
    let o = j.as_object()?;
    let (k, v) = o.iter().next()?;
    Some(match k.as_str() {
        "primitive" => match v.as_str()? {
            "BOOL" => Type::Bool,
            "INT64" => Type::Int,
            "UINT64" => Type::Uint,
            "DOUBLE" => Type::Double,
            "STRING" => Type::String,
            "BYTES" => Type::Bytes,
            _ => return None,
        },
        "well_known" => match v.as_str()? {
            "TIMESTAMP" => Type::Timestamp,
            "DURATION" => Type::Duration,
            _ => Type::Dyn,
        },
        "list_type" => Type::list(parse_type(&v["elem_type"])?),
        "map_type" => Type::map(parse_type(&v["key_type"])?, parse_type(&v["value_type"])?),
        "abstract_type" => {
            let params = v["parameter_types"]
                .as_array()
                .map(|ps| ps.iter().map(parse_type).collect::<Option<Vec<_>>>())
                .unwrap_or(Some(vec![]))?;
            Type::Opaque(Arc::from(v["name"].as_str()?), Arc::from(params))
        }
        "type_param" => Type::param(v.as_str()?),
        "null" => Type::Null,
        "dyn" => Type::Dyn,
        "error" => Type::Error,
        "type" => {
            if v.as_object().is_some_and(|m| m.is_empty()) {
                Type::Type(None)
            } else {
                Type::type_of(parse_type(v)?)
            }
        }
        "message_type" => Type::object(v.as_str()?),
        _ => return None,
    })
}

fn parse_value(j: &Json) -> Option<Value> {
    let o = j.as_object()?;
    let (k, v) = o.iter().next()?;
    Some(match k.as_str() {
        "null_value" => Value::Null,
        "bool_value" => Value::Bool(v.as_bool()?),
        "int64_value" => Value::Int(num_str(v)?.parse().ok()?),
        "uint64_value" => Value::Uint(num_str(v)?.parse().ok()?),
        "double_value" => Value::Double(match v {
            Json::String(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other.parse().ok()?,
            },
            other => other.as_f64()?,
        }),
        "string_value" => Value::string(v.as_str()?),
        "bytes_value" => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str()?)
                .ok()?
                .into(),
        ),
        "list_value" => Value::list(
            v["values"]
                .as_array()
                .map(|a| a.iter().map(parse_value).collect::<Option<Vec<_>>>())
                .unwrap_or(Some(vec![]))?,
        ),
        "map_value" => {
            let mut m = kro_cel::Map::new();
            for e in v["entries"].as_array().into_iter().flatten() {
                let key = Key::from_value(&parse_value(&e["key"])?)?;
                m.insert(key, parse_value(&e["value"])?);
            }
            Value::Map(Arc::new(m))
        }
        "type_value" => Value::Type(match v.as_str()? {
            "list" => Type::list(Type::Dyn),
            "map" => Type::map(Type::Dyn, Type::Dyn),
            "type" => Type::Type(None),
            "optional_type" => Type::optional(Type::Dyn),
            other => Type::parse(other)?,
        }),
        _ => return None,
    })
}

fn num_str(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
