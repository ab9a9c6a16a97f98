//! The `${...}` target: scan a string value of a resource template,
//! compile and evaluate each expression in kro's environment, render the
//! text within the result limit (a standalone value is converted to JSON
//! within it). Two properties besides the oracles: each expression's span
//! is where its source is, and the one CEL expression a template stands
//! for ([`Template::to_cel`]) parses whenever its expressions do (each in
//! parentheses, as it puts them).

use kro_cel::result_json::to_template_json_within;
use kro_cel::template::{Rendered, Template, TemplateExpression, scan};
use kro_cel::{Env, Type, Value};

use super::cel::{fuzz_activation, fuzz_env, fuzz_variables};
use super::{Outcome, Pool, Target, Verdict, Violation};
use crate::cel_gen::CelGenerator;
use crate::corpus::Corpus;
use crate::mutate::mutate;
use crate::rng::Rng;

const TOKENS: [&str; 16] = [
    "${",
    "}",
    "${}",
    "$",
    "{",
    "'",
    "\"",
    "'''",
    "\"\"\"",
    "r'",
    "\\",
    "${'}'}",
    "${\"${\"}",
    "// ",
    "\n",
    "$${",
];

/// The template target.
pub struct TemplateTarget {
    env: Env,
    activation: Vec<(&'static str, Value)>,
    generator: CelGenerator,
    tokens: Vec<String>,
    pool: Pool,
}

impl TemplateTarget {
    /// The target, seeded with the string values of the corpus's RGDs.
    pub fn new(corpus: &Corpus) -> Self {
        let env = fuzz_env();
        let mut tokens: Vec<String> = TOKENS.iter().map(|t| (*t).to_owned()).collect();
        tokens.extend(corpus.expressions.iter().take(200).cloned());
        Self {
            generator: CelGenerator::new(&env, &fuzz_variables()),
            activation: fuzz_activation(),
            env,
            tokens,
            pool: Pool::new(corpus.templates.clone()),
        }
    }

    /// Text and expressions, or one standalone expression.
    fn generate(&self, rng: &mut Rng) -> String {
        if rng.chance(1, 3) {
            return format!("${{{}}}", self.generator.expression(rng));
        }
        let mut text = String::new();
        for _ in 0..rng.between(1, 4) {
            if rng.chance(1, 2) {
                let glue = rng.pick(&["", "prefix-", " ", "a}b", "$", "é"]);
                text.push_str(glue);
            }
            let expression = self.generator.expression_of(rng, &Type::String);
            text.push_str(&format!("${{{expression}}}"));
        }
        text
    }
}

impl Target for TemplateTarget {
    fn next_input(&mut self, rng: &mut Rng) -> String {
        if rng.chance(1, 3) {
            return self.generate(rng);
        }
        match self.pool.pick(rng) {
            Some(seed) => mutate(rng, seed, &self.tokens, self.pool.items()),
            None => self.generate(rng),
        }
    }

    fn run(&self, input: &str) -> Outcome {
        let Ok(template) = scan(input) else {
            return Ok(Verdict::Rejected);
        };
        check_spans(input, &template)?;
        // Each expression parses even inside the parentheses `to_cel` puts
        // around it (an expression at the parser's depth limit does not,
        // which is no fault of the concatenation).
        let every_expression_parses = template
            .expressions()
            .iter()
            .all(|e| kro_cel::parse(&format!("({}\n)", e.source)).is_ok());
        if every_expression_parses && kro_cel::parse(&template.to_cel()).is_err() {
            return Err(Violation(format!(
                "each expression parses, but the template's CEL does not: {}",
                template.to_cel()
            )));
        }
        let limit = self.env.limits().max_result_size;
        let rendered = template.render_within(
            limit,
            |expression| self.evaluate(expression),
            |error| error.to_string(),
        );
        match rendered {
            Ok(Some(Rendered::Value { value, .. })) => {
                let _ = to_template_json_within(&value, limit);
                Ok(Verdict::Accepted)
            }
            Ok(Some(Rendered::Text(text))) if text.len() > limit => Err(Violation(format!(
                "rendered {} bytes, over the limit of {limit}",
                text.len()
            ))),
            Ok(_) => Ok(Verdict::Accepted),
            Err(_) => Ok(Verdict::Rejected),
        }
    }

    fn keep(&mut self, rng: &mut Rng, input: String) {
        self.pool.add(rng, input);
    }
}

impl TemplateTarget {
    /// The value of one expression; an error (compiling or evaluating) in
    /// words.
    fn evaluate(&self, expression: &TemplateExpression) -> Result<Option<Value>, String> {
        let compiled = self
            .env
            .compile_kro(&expression.source)
            .map_err(|d| d.to_string())?;
        compiled
            .eval(&self.activation)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// Each expression's span must cover exactly its source in `input`.
fn check_spans(input: &str, template: &Template) -> Result<(), Violation> {
    for expression in template.expressions() {
        let span = expression.span;
        let found = input.get(span.start as usize..span.end as usize);
        if found != Some(expression.source.as_str()) {
            return Err(Violation(format!(
                "span {}..{} holds {found:?}, not the source {:?}",
                span.start, span.end, expression.source
            )));
        }
    }
    Ok(())
}
