//! The SimpleSchema target: `{"spec": ..., "types": ...}` documents,
//! mutated structurally with field specs drawn from types and markers.
//! What parses is converted to OpenAPI (which must serialise), sampled and
//! defaulted; properties: a schema compared with itself has no changes,
//! and every default a field accepted is a valid value of that field.

use kro_schema::evolution::diff_schemas;
use kro_schema::{Field, FieldType};
use serde_json::Value;

use super::{Outcome, Pool, Target, Verdict, Violation};
use crate::corpus::Corpus;
use crate::json_mutate::{Material, mutate_json};
use crate::mutate::mutate;
use crate::rng::Rng;

const TYPES: [&str; 14] = [
    "string",
    "integer",
    "boolean",
    "float",
    "number",
    "object",
    "[]string",
    "[]integer",
    "map[string]string",
    "map[string][]Item",
    "[][]map[string]Item",
    "Item",
    "Missing",
    "[]",
];

const MARKERS: [&str; 24] = [
    "required=true",
    "required=false",
    "default=5",
    "default=\"x\"",
    "default=[\"a\"]",
    "default={\"k\": 1}",
    "default=",
    "description=\"a | b\"",
    "minimum=0",
    "maximum=1e308",
    "minimum=-9223372036854775809",
    "enum=\"a,b,,a\"",
    "enum=1,2",
    "pattern=\"^(a+)+$\"",
    "pattern=\"[\"",
    "minLength=2",
    "maxLength=-1",
    "minItems=1",
    "maxItems=99999999999999999999",
    "uniqueItems=true",
    "listType=map listMapKey=name",
    "immutable=true",
    "validation=\"self.size() > 0\"",
    "validation=\"self.",
];

/// A field spec: a type and zero to three markers.
fn field_spec(rng: &mut Rng) -> String {
    let mut spec = rng.pick(&TYPES).to_string();
    for _ in 0..rng.below(4) {
        spec.push_str(if rng.chance(1, 2) { " | " } else { " " });
        let marker = rng.pick(&MARKERS);
        spec.push_str(marker);
    }
    spec
}

/// The SimpleSchema target.
pub struct SchemaTarget {
    pool: Pool,
    strings: Vec<String>,
    tokens: Vec<String>,
}

impl SchemaTarget {
    /// The target, seeded with the corpus's schemas.
    pub fn new(corpus: &Corpus) -> Self {
        let mut seeds: Vec<String> = corpus.schemas.iter().map(Value::to_string).collect();
        seeds.push(r#"{"spec": {"items": "[]Item"}, "types": {"Item": {"name": "string | required=true"}}}"#.to_owned());
        let mut rng = Rng::new(0);
        let strings: Vec<String> = (0..256).map(|_| field_spec(&mut rng)).collect();
        let mut tokens: Vec<String> = TYPES
            .iter()
            .chain(&MARKERS)
            .map(|t| (*t).to_owned())
            .collect();
        tokens.extend(["|", " ", "=", "\"", "[]", "map[string]"].map(str::to_owned));
        Self {
            pool: Pool::new(seeds),
            strings,
            tokens,
        }
    }
}

impl Target for SchemaTarget {
    fn next_input(&mut self, rng: &mut Rng) -> String {
        let seed = self.pool.pick(rng).cloned().unwrap_or_default();
        if rng.chance(1, 5) {
            return mutate(rng, &seed, &self.tokens, self.pool.items());
        }
        let mut document: Value = serde_json::from_str(&seed).unwrap_or(Value::Null);
        let fresh = field_spec(rng);
        let mut strings = self.strings.clone();
        strings.push(fresh);
        mutate_json(
            rng,
            &mut document,
            &Material {
                strings: &strings,
                tokens: &self.tokens,
            },
        );
        document.to_string()
    }

    fn run(&self, input: &str) -> Outcome {
        let Ok(document) = serde_json::from_str::<Value>(input) else {
            return Ok(Verdict::Rejected);
        };
        let Ok(field) = kro_schema::parse_spec(document.get("spec"), document.get("types")) else {
            return Ok(Verdict::Rejected);
        };
        let schema = kro_schema::openapi::to_json_schema(&field);
        if let Err(e) = serde_json::to_string(&schema) {
            return Err(Violation(format!(
                "the OpenAPI schema does not serialise: {e}"
            )));
        }
        let changes = diff_schemas(&schema, &schema, "spec");
        if let Some(change) = changes.first() {
            return Err(Violation(format!(
                "a schema differs from itself at {}: {}",
                change.path, change.message
            )));
        }
        let mut sample = kro_schema::sample::sample_value(&schema);
        kro_schema::defaulting::apply_defaults(&schema, &mut sample);
        check_defaults(&field, "spec")?;
        Ok(Verdict::Accepted)
    }

    fn keep(&mut self, rng: &mut Rng, input: String) {
        self.pool.add(rng, input);
    }
}

/// Every default in `field` (and below) is a valid value of its field.
fn check_defaults(field: &Field, path: &str) -> Result<(), Violation> {
    if let Some(default) = &field.default
        && let Err(e) = field.check_value(default)
    {
        return Err(Violation(format!(
            "{path}: the accepted default {default} is invalid: {e}"
        )));
    }
    match &field.ty {
        FieldType::Array(item) => check_defaults(item, &format!("{path}[]")),
        FieldType::Map(value) => check_defaults(value, &format!("{path}{{}}")),
        FieldType::Struct(children) => children
            .iter()
            .try_for_each(|(name, child)| check_defaults(child, &format!("{path}.{name}"))),
        _ => Ok(()),
    }
}
