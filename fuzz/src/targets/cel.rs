//! The CEL target: kro's environment with every library (the `omit()` gate
//! on), variables of every type (a 64 KiB string and a 10,000-element list
//! among them), and each input parsed, checked, estimated, planned and
//! evaluated, checked and unchecked, with the default limits, its result
//! converted to JSON within the result limit. Inputs are generated from
//! the functions' signatures or mutated from the pool.

use kro_cel::result_json::to_template_json_within;
use kro_cel::{Env, KroOptions, Program, Type, Value};

use super::{Outcome, Pool, Target, Verdict};
use crate::cel_gen::CelGenerator;
use crate::corpus::Corpus;
use crate::mutate::mutate;
use crate::rng::Rng;

/// The variables expressions may use: name and CEL type.
const VARIABLES: [(&str, &str); 12] = [
    ("x", "int"),
    ("u", "uint"),
    ("d", "double"),
    ("s", "string"),
    ("b", "bytes"),
    ("ok", "bool"),
    ("l", "list(int)"),
    ("ls", "list(string)"),
    ("m", "map(string, dyn)"),
    ("schema", "dyn"),
    ("text", "string"),
    ("big", "list(int)"),
];

/// The variables, typed.
pub fn fuzz_variables() -> Vec<(String, Type)> {
    VARIABLES
        .iter()
        .filter_map(|(name, ty)| Some(((*name).to_owned(), Type::parse(ty)?)))
        .collect()
}

/// kro's environment with every library and gate, and the variables.
pub fn fuzz_env() -> Env {
    let mut env = Env::kro_with(KroOptions { omit: true });
    for (name, ty) in fuzz_variables() {
        env.add_variable(&name, ty);
    }
    env
}

/// The values of the variables.
pub fn fuzz_activation() -> Vec<(&'static str, Value)> {
    let json = |value: serde_json::Value| Value::from_json(&value);
    vec![
        ("x", Value::Int(80)),
        ("u", Value::Uint(3)),
        ("d", Value::Double(2.5)),
        ("s", Value::string("abc")),
        ("b", Value::Bytes(b"xyz".to_vec().into())),
        ("ok", Value::Bool(true)),
        ("l", json(serde_json::json!([1, 2, 3]))),
        ("ls", json(serde_json::json!(["a", "b"]))),
        (
            "m",
            json(serde_json::json!({"a": 1, "b": "two", "c": [1, 2], "d": {"e": null}})),
        ),
        (
            "schema",
            json(serde_json::json!({
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                "spec": {"name": "web", "replicas": 3, "ports": [80, 443], "image": "nginx"}
            })),
        ),
        ("text", Value::string(&"lorem ipsum ".repeat(5461))),
        (
            "big",
            json(serde_json::Value::from((0..10_000).collect::<Vec<i64>>())),
        ),
    ]
}

/// Words of the language, for mutations.
fn tokens(env: &Env) -> Vec<String> {
    let mut tokens: Vec<String> = [
        " + ",
        " - ",
        " * ",
        " / ",
        " % ",
        " == ",
        " != ",
        " < ",
        " >= ",
        " && ",
        " || ",
        " ? ",
        " : ",
        " in ",
        "!",
        "-",
        ".",
        ".?",
        "[?",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "'''",
        "r'",
        "b'",
        "\\",
        "null",
        "true",
        "1u",
        "1.0",
        "1e9",
        "has(",
        ".map(v, ",
        ".filter(v, ",
        ".all(v, ",
        ".exists(v, ",
        ".exists_one(v, ",
        "cel.bind(v, ",
        ".transformList(i, v, ",
        ".transformMap(k, v, ",
        "optional.of(",
        "optional.none()",
        ".orValue(",
        "dyn(",
        "type(",
        "int(",
        "string(",
        "v",
        "i",
        "k",
    ]
    .iter()
    .map(|t| (*t).to_owned())
    .collect();
    tokens.extend(VARIABLES.iter().map(|(name, _)| (*name).to_owned()));
    tokens.extend(env.functions().map(|f| f.name.clone()));
    tokens
}

/// The CEL target.
pub struct CelTarget {
    env: Env,
    activation: Vec<(&'static str, Value)>,
    generator: CelGenerator,
    tokens: Vec<String>,
    pool: Pool,
}

impl CelTarget {
    /// The target, seeded with the corpus's expressions.
    pub fn new(corpus: &Corpus) -> Self {
        let env = fuzz_env();
        let generator = CelGenerator::new(&env, &fuzz_variables());
        Self {
            tokens: tokens(&env),
            activation: fuzz_activation(),
            generator,
            env,
            pool: Pool::new(corpus.expressions.clone()),
        }
    }
}

impl Target for CelTarget {
    fn next_input(&mut self, rng: &mut Rng) -> String {
        if rng.chance(2, 5) {
            return self.generator.expression(rng);
        }
        match self.pool.pick(rng) {
            Some(seed) => mutate(rng, seed, &self.tokens, self.pool.items()),
            None => self.generator.expression(rng),
        }
    }

    fn run(&self, input: &str) -> Outcome {
        Ok(evaluate(&self.env, &self.activation, input))
    }

    fn keep(&mut self, rng: &mut Rng, input: String) {
        self.pool.add(rng, input);
    }
}

/// Everything the operator does with an expression, and evaluating it
/// unchecked as well (dynamic evaluation meets ill-typed programs).
pub fn evaluate(env: &Env, activation: &Vec<(&'static str, Value)>, src: &str) -> Verdict {
    let Ok(ast) = kro_cel::parse(src) else {
        return Verdict::Rejected;
    };
    let limit = env.limits().max_result_size;
    if let Ok(value) = Program::plan(env, &ast).eval(activation) {
        let _ = to_template_json_within(&value, limit);
    }
    let Ok(compiled) = env.compile_kro(src) else {
        return Verdict::Rejected;
    };
    let _ = compiled.cost_estimate();
    if let Ok(value) = compiled.eval(activation) {
        let _ = to_template_json_within(&value, limit);
    }
    Verdict::Accepted
}
