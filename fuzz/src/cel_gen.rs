//! Well-typed CEL expressions, generated from the environment's own
//! function declarations: every overload of every library can be called,
//! with arguments of its parameter types, so that each function meets
//! small, empty, huge and odd values. Big values are built the ways the
//! cost model's issue found (doubling `cel.bind`s, `lists.range`, maps of
//! ranges), and flow into whatever function is drawn next.
//!
//! Not every expression checks (type parameters are drawn freely, and
//! `dyn` values are used where anything fits), which is fine: the target
//! also evaluates unchecked programs.

use std::collections::BTreeMap;
use std::fmt::Write;

use kro_cel::{Env, Overload, Type};

use crate::rng::Rng;

/// Strings worth passing to every function: the empty string, formats,
/// separators, regexes known for backtracking, and valid inputs of the
/// Kubernetes library's parsers.
const STRINGS: [&str; 30] = [
    "''",
    "'a'",
    "'hello world'",
    "'%s'",
    "'%d %s %v %x %o %b %e %f'",
    "'%10000000d'",
    "','",
    "''",
    "'é漢字'",
    "'\\u0000'",
    "'(a+)+$'",
    "'.*'",
    "'^[a-z]{1,1000}$'",
    "'(?i)a{1000}{1000}'",
    "'1Gi'",
    "'1e18'",
    "'-0.5m'",
    "'10.0.0.1'",
    "'::ffff:10.0.0.1'",
    "'10.0.0.0/8'",
    "'2001:db8::/32'",
    "'https://user@example.com:8080/a/b?c=d#e'",
    "'1.2.3-rc.1+build'",
    "'2024-01-01T00:00:00Z'",
    "'1h30m'",
    "'{\"a\": [1, 2, {\"b\": null}]}'",
    "'dns1123-label'",
    "'a.b.c'",
    "'true'",
    "'9223372036854775807'",
];

const INTS: [&str; 10] = [
    "0",
    "1",
    "-1",
    "3",
    "64",
    "1000",
    "1000000",
    "9223372036854775807",
    "-9223372036854775808",
    "x",
];

const UINTS: [&str; 4] = ["0u", "1u", "18446744073709551615u", "u"];

const DOUBLES: [&str; 8] = [
    "0.0",
    "-0.0",
    "1.5",
    "1e308",
    "-1e-308",
    "double('NaN')",
    "double('-Infinity')",
    "d",
];

const BYTES: [&str; 4] = ["b''", "b'abc'", "b'\\xff\\x00'", "bytes(s)"];

const TIMESTAMPS: [&str; 4] = [
    "timestamp('2024-02-29T12:00:00Z')",
    "timestamp('0001-01-01T00:00:00Z')",
    "timestamp('9999-12-31T23:59:59.999999999Z')",
    "timestamp(0)",
];

const DURATIONS: [&str; 4] = [
    "duration('1h')",
    "duration('0s')",
    "duration('-2562047h')",
    "duration('1ns')",
];

/// Sizes of generated ranges: small, around the limits, beyond them.
const RANGE_SIZES: [&str; 8] = ["0", "1", "10", "1000", "100000", "1000000", "10000000", "x"];

/// Typed paths into the `schema` variable (a `dyn` instance).
const SCHEMA_PATHS: [(&str, &str); 6] = [
    ("schema.spec.name", "string"),
    ("schema.spec.replicas", "int"),
    ("schema.spec.ports", "list(int)"),
    ("schema.metadata.labels", "map(string, string)"),
    ("schema.spec", "map(string, dyn)"),
    ("schema.?spec.?name.orValue('')", "string"),
];

/// How an overload is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Global,
    Member,
    Infix(&'static str),
    Prefix(&'static str),
    Index,
    OptionalIndex,
    Conditional,
}

/// The syntax of a function name, or `None` for internal functions the
/// parser writes itself.
fn syntax(name: &str, member: bool) -> Option<Syntax> {
    let infix = [
        ("_+_", "+"),
        ("_-_", "-"),
        ("_*_", "*"),
        ("_/_", "/"),
        ("_%_", "%"),
        ("_==_", "=="),
        ("_!=_", "!="),
        ("_<_", "<"),
        ("_<=_", "<="),
        ("_>_", ">"),
        ("_>=_", ">="),
        ("_&&_", "&&"),
        ("_||_", "||"),
        ("@in", "in"),
    ];
    if let Some((_, op)) = infix.iter().find(|(n, _)| *n == name) {
        return Some(Syntax::Infix(op));
    }
    match name {
        "!_" => Some(Syntax::Prefix("!")),
        "-_" => Some(Syntax::Prefix("-")),
        "_[_]" => Some(Syntax::Index),
        "_[?_]" => Some(Syntax::OptionalIndex),
        "_?_:_" => Some(Syntax::Conditional),
        _ if name.starts_with('_') || name.starts_with('@') => None,
        _ if member => Some(Syntax::Member),
        _ => Some(Syntax::Global),
    }
}

/// One callable overload.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    overload: Overload,
    syntax: Syntax,
}

/// Variables in scope: the environment's, plus those of enclosing macros
/// and bindings.
#[derive(Debug, Default)]
struct Scope {
    variables: Vec<(String, Type)>,
    fresh: usize,
}

impl Scope {
    fn fresh(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }
}

/// Generates expressions over an environment's functions and variables.
#[derive(Debug)]
pub struct CelGenerator {
    calls: Vec<Call>,
    variables: Vec<(String, Type)>,
}

impl CelGenerator {
    /// A generator calling every function of `env`, over `variables`
    /// (which `env` must declare).
    pub fn new(env: &Env, variables: &[(String, Type)]) -> Self {
        let mut calls = Vec::new();
        for decl in env.functions() {
            if decl.implementation.is_none() {
                continue;
            }
            for overload in &decl.overloads {
                if let Some(syntax) = syntax(&decl.name, overload.member) {
                    calls.push(Call {
                        name: decl.name.clone(),
                        overload: overload.clone(),
                        syntax,
                    });
                }
            }
        }
        let mut variables = variables.to_vec();
        for (path, ty) in SCHEMA_PATHS {
            if let Some(ty) = Type::parse(ty) {
                variables.push((path.to_owned(), ty));
            }
        }
        Self { calls, variables }
    }

    /// One expression of a random type.
    pub fn expression(&self, rng: &mut Rng) -> String {
        let ty = random_type(rng, 2);
        let depth = rng.between(1, 5);
        self.expr(rng, &ty, depth, &mut Scope::default())
    }

    /// One expression of type `ty`.
    pub fn expression_of(&self, rng: &mut Rng, ty: &Type) -> String {
        let depth = rng.between(1, 4);
        self.expr(rng, ty, depth, &mut Scope::default())
    }

    fn expr(&self, rng: &mut Rng, ty: &Type, depth: usize, scope: &mut Scope) -> String {
        if depth == 0 {
            return self.leaf(rng, ty, scope);
        }
        let generated = match rng.below(12) {
            0..=4 => self.call(rng, ty, depth, scope),
            5 | 6 => self.macro_call(rng, ty, depth, scope),
            7 => Some(self.big(rng, ty, depth, scope)),
            8 => Some(format!(
                "({} ? {} : {})",
                self.expr(rng, &Type::Bool, depth - 1, scope),
                self.expr(rng, ty, depth - 1, scope),
                self.expr(rng, ty, depth - 1, scope)
            )),
            9 => Some(self.bind(rng, ty, depth, scope)),
            _ => None,
        };
        generated.unwrap_or_else(|| self.leaf(rng, ty, scope))
    }

    /// A call of an overload whose result fits `ty`.
    fn call(&self, rng: &mut Rng, ty: &Type, depth: usize, scope: &mut Scope) -> Option<String> {
        let fitting: Vec<&Call> = self
            .calls
            .iter()
            .filter(|c| unify(&c.overload.result, ty, &mut BTreeMap::new()))
            .collect();
        let call = *rng.choose(&fitting)?;
        let mut bindings = BTreeMap::new();
        unify(&call.overload.result, ty, &mut bindings);
        let args: Vec<String> = call
            .overload
            .params
            .iter()
            .map(|param| {
                let concrete = substitute(param, &mut bindings, rng);
                self.expr(rng, &concrete, depth - 1, scope)
            })
            .collect();
        Some(write_call(call, &args))
    }

    /// A macro (comprehension) whose result fits `ty`.
    fn macro_call(
        &self,
        rng: &mut Rng,
        ty: &Type,
        depth: usize,
        scope: &mut Scope,
    ) -> Option<String> {
        let element = random_type(rng, 1);
        let range = self.expr(rng, &Type::list(element.clone()), depth - 1, scope);
        let var = scope.fresh("v");
        scope.variables.push((var.clone(), element.clone()));
        let text = match ty {
            Type::Bool => {
                let name = *rng.pick(&["all", "exists", "exists_one"]);
                let body = self.expr(rng, &Type::Bool, depth - 1, scope);
                Some(format!("{range}.{name}({var}, {body})"))
            }
            Type::List(out) => {
                let out = out.as_ref().clone();
                match rng.below(3) {
                    0 => {
                        let body = self.expr(rng, &out, depth - 1, scope);
                        Some(format!("{range}.map({var}, {body})"))
                    }
                    1 => {
                        let index = scope.fresh("i");
                        scope.variables.push((index.clone(), Type::Int));
                        let body = self.expr(rng, &out, depth - 1, scope);
                        scope.variables.pop();
                        Some(format!("{range}.transformList({index}, {var}, {body})"))
                    }
                    _ => {
                        let keep = self.expr(rng, &Type::Bool, depth - 1, scope);
                        let body = self.expr(rng, &out, depth - 1, scope);
                        Some(format!("{range}.filter({var}, {keep}).map({var}, {body})"))
                    }
                }
            }
            Type::Map(key, value) if matches!(key.as_ref(), Type::String | Type::Int) => {
                let body = self.expr(rng, value, depth - 1, scope);
                let key_expr = if key.as_ref() == &Type::String {
                    format!("string({var})")
                } else {
                    "0".to_owned()
                };
                Some(format!(
                    "{range}.transformMapEntry({var}, {{{key_expr}: {body}}})"
                ))
            }
            _ => None,
        };
        scope.variables.pop();
        text
    }

    /// `cel.bind(name, value, body)`, the body of type `ty`.
    fn bind(&self, rng: &mut Rng, ty: &Type, depth: usize, scope: &mut Scope) -> String {
        let value_type = if rng.chance(1, 2) {
            ty.clone()
        } else {
            random_type(rng, 1)
        };
        let value = self.expr(rng, &value_type, depth - 1, scope);
        let name = scope.fresh("b");
        scope.variables.push((name.clone(), value_type));
        let body = self.expr(rng, ty, depth - 1, scope);
        scope.variables.pop();
        format!("cel.bind({name}, {value}, {body})")
    }

    /// A large value of type `ty`, built cheaply.
    fn big(&self, rng: &mut Rng, ty: &Type, depth: usize, scope: &mut Scope) -> String {
        match ty {
            Type::String => match rng.below(3) {
                0 => doubled(rng, scope),
                1 => format!(
                    "lists.range({}).map(i, {}).join()",
                    rng.pick(&RANGE_SIZES),
                    rng.pick(&STRINGS)
                ),
                _ => "text".to_owned(),
            },
            Type::Bytes => format!("bytes({})", doubled(rng, scope)),
            Type::List(element) => match element.as_ref() {
                Type::Int | Type::Dyn if rng.chance(1, 2) => {
                    format!("lists.range({})", rng.pick(&RANGE_SIZES))
                }
                Type::Int => "big".to_owned(),
                other => {
                    let item = self.expr(rng, other, depth.saturating_sub(1), scope);
                    format!("lists.range({}).map(i, {item})", rng.pick(&RANGE_SIZES))
                }
            },
            Type::Map(key, value) if key.as_ref() == &Type::String => {
                let item = self.expr(rng, value, depth.saturating_sub(1), scope);
                format!(
                    "lists.range({}).transformMapEntry(i, v, {{string(v): {item}}})",
                    rng.pick(&RANGE_SIZES)
                )
            }
            _ => self.leaf(rng, ty, scope),
        }
    }

    /// A variable or a literal of type `ty`.
    fn leaf(&self, rng: &mut Rng, ty: &Type, scope: &mut Scope) -> String {
        let variables: Vec<&String> = scope
            .variables
            .iter()
            .chain(&self.variables)
            .filter(|(_, t)| t == ty || (ty == &Type::Dyn && rng.chance(1, 3)))
            .map(|(name, _)| name)
            .collect();
        if rng.chance(1, 2)
            && let Some(name) = rng.choose(&variables)
        {
            return (*name).clone();
        }
        self.literal(rng, ty, scope)
    }

    fn literal(&self, rng: &mut Rng, ty: &Type, scope: &mut Scope) -> String {
        match ty {
            Type::Bool => rng.pick(&["true", "false", "ok"]).to_string(),
            Type::Int => rng.pick(&INTS).to_string(),
            Type::Uint => rng.pick(&UINTS).to_string(),
            Type::Double => rng.pick(&DOUBLES).to_string(),
            Type::String => rng.pick(&STRINGS).to_string(),
            Type::Bytes => rng.pick(&BYTES).to_string(),
            Type::Null | Type::Error | Type::Object(_) => "null".to_owned(),
            Type::Timestamp => rng.pick(&TIMESTAMPS).to_string(),
            Type::Duration => rng.pick(&DURATIONS).to_string(),
            Type::List(element) => {
                let items: Vec<String> = (0..rng.below(4))
                    .map(|_| self.leaf(rng, element, scope))
                    .collect();
                format!("[{}]", items.join(", "))
            }
            Type::Map(key, value) => {
                let mut text = String::from("{");
                for i in 0..rng.below(3) {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    let _ = write!(
                        text,
                        "{}: {}",
                        self.literal(rng, key, scope),
                        self.leaf(rng, value, scope)
                    );
                }
                text.push('}');
                text
            }
            Type::Opaque(name, params) if name.as_ref() == "optional_type" => {
                match params.first() {
                    Some(inner) if rng.chance(3, 4) => {
                        format!("optional.of({})", self.leaf(rng, inner, scope))
                    }
                    _ => "optional.none()".to_owned(),
                }
            }
            Type::Opaque(..) => self
                .call(rng, ty, 1, scope)
                .unwrap_or_else(|| "null".to_owned()),
            Type::Type(_) => {
                let described = random_type(rng, 1);
                format!("type({})", self.leaf(rng, &described, scope))
            }
            Type::Dyn | Type::Param(_) => {
                let concrete = random_type(rng, 1);
                self.literal(rng, &concrete, scope)
            }
        }
    }
}

/// A string doubled up to 22 times through nested bindings: a few bytes
/// written, megabytes produced.
fn doubled(rng: &mut Rng, scope: &mut Scope) -> String {
    let times = rng.between(1, 22);
    let names: Vec<String> = (0..=times).map(|_| scope.fresh("d")).collect();
    let mut text = names[times].clone();
    for i in (1..=times).rev() {
        text = format!(
            "cel.bind({}, {} + {}, {text})",
            names[i],
            names[i - 1],
            names[i - 1]
        );
    }
    format!("cel.bind({}, {}, {text})", names[0], rng.pick(&STRINGS))
}

/// A random type, nested at most `depth` levels.
fn random_type(rng: &mut Rng, depth: usize) -> Type {
    let scalar = [
        Type::Int,
        Type::Uint,
        Type::Double,
        Type::String,
        Type::Bytes,
        Type::Bool,
        Type::Null,
        Type::Timestamp,
        Type::Duration,
        Type::Dyn,
    ];
    if depth == 0 || rng.chance(2, 3) {
        return rng.pick(&scalar).clone();
    }
    match rng.below(3) {
        0 => Type::list(random_type(rng, depth - 1)),
        1 => Type::map(Type::String, random_type(rng, depth - 1)),
        _ => Type::optional(random_type(rng, depth - 1)),
    }
}

/// Whether a value of type `pattern` (type parameters free, bound in
/// `bindings`) can be used where `wanted` is expected.
fn unify(pattern: &Type, wanted: &Type, bindings: &mut BTreeMap<String, Type>) -> bool {
    match (pattern, wanted) {
        (Type::Param(name), _) => match bindings.get(name.as_ref()) {
            Some(bound) => bound == wanted || wanted == &Type::Dyn,
            None => {
                bindings.insert(name.to_string(), wanted.clone());
                true
            }
        },
        (_, Type::Dyn) | (Type::Dyn, _) => true,
        (Type::List(a), Type::List(b)) => unify(a, b, bindings),
        (Type::Map(k1, v1), Type::Map(k2, v2)) => {
            unify(k1, k2, bindings) && unify(v1, v2, bindings)
        }
        (Type::Opaque(n1, a1), Type::Opaque(n2, a2)) => {
            n1 == n2
                && a1.len() == a2.len()
                && a1.iter().zip(a2.iter()).all(|(x, y)| unify(x, y, bindings))
        }
        (Type::Type(_), Type::Type(_)) => true,
        _ => pattern == wanted,
    }
}

/// `ty` with its type parameters replaced: by their binding, or by a type
/// drawn now (and bound, so that the other parameters agree).
fn substitute(ty: &Type, bindings: &mut BTreeMap<String, Type>, rng: &mut Rng) -> Type {
    match ty {
        Type::Param(name) => {
            if let Some(bound) = bindings.get(name.as_ref()) {
                return bound.clone();
            }
            let drawn = random_type(rng, 1);
            bindings.insert(name.to_string(), drawn.clone());
            drawn
        }
        Type::List(element) => Type::list(substitute(element, bindings, rng)),
        Type::Map(key, value) => Type::map(
            substitute(key, bindings, rng),
            substitute(value, bindings, rng),
        ),
        Type::Opaque(name, params) => Type::Opaque(
            name.clone(),
            params
                .iter()
                .map(|p| substitute(p, bindings, rng))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn write_call(call: &Call, args: &[String]) -> String {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("null");
    match call.syntax {
        Syntax::Infix(op) => format!("({} {op} {})", arg(0), arg(1)),
        Syntax::Prefix(op) => format!("{op}({})", arg(0)),
        Syntax::Index => format!("{}[{}]", arg(0), arg(1)),
        Syntax::OptionalIndex => format!("{}[?{}]", arg(0), arg(1)),
        Syntax::Conditional => format!("({} ? {} : {})", arg(0), arg(1), arg(2)),
        Syntax::Member => format!(
            "{}.{}({})",
            arg(0),
            call.name,
            args.get(1..).unwrap_or_default().join(", ")
        ),
        Syntax::Global => format!("{}({})", call.name, args.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::CelGenerator;
    use crate::rng::Rng;
    use crate::targets::cel::{fuzz_env, fuzz_variables};

    #[test]
    fn generated_expressions_mostly_parse_and_many_check() {
        let env = fuzz_env();
        let generator = CelGenerator::new(&env, &fuzz_variables());
        assert!(generator.calls.len() > 200, "{}", generator.calls.len());
        let mut rng = Rng::new(11);
        let (mut parsed, mut checked) = (0, 0);
        for _ in 0..300 {
            let src = generator.expression(&mut rng);
            if let Ok(ast) = kro_cel::parse(&src) {
                parsed += 1;
                checked += usize::from(kro_cel::check(&env, &ast).is_ok());
            }
        }
        assert!(parsed > 280, "{parsed} of 300 parsed");
        assert!(checked > 60, "{checked} of 300 checked");
    }
}
