//! Declarations an expression is checked and evaluated against: variables,
//! functions (overloads plus implementation) and object types.
//!
//! An [`Env`] is a handful of `Arc`s: cloning is cheap, and adding a variable
//! to a clone copies only the variable table, so kro-graph can derive one
//! environment per RGD from a shared base with the libraries.
//!
//! This module declares; it installs nothing. The environments with
//! libraries ([`Env::standard`], [`Env::kro`]) are composed in `env.rs`, so
//! the core never depends on a library.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::cost::{CallRule, InputSizes, ValueSize};
use crate::error::EvalError;
use crate::meter::{Limits, Meter};
use crate::openapi_types::SchemaSize;
use crate::types::Type;
use crate::value::Value;

/// A function implementation: receives the arguments (the receiver first for
/// member calls) and the evaluation's [`Meter`], and returns a value or an
/// error.
///
/// The evaluator has charged reading the arguments (their bytes and
/// elements, see `meter.rs`) before the call. An implementation that does
/// more work than that, or produces a string, list or map, charges it on
/// the meter before doing it, and refuses what the meter refuses.
pub type FunctionImpl =
    Arc<dyn Fn(&[Value], &mut Meter<'_>) -> Result<Value, EvalError> + Send + Sync>;

/// An implementation that needs no meter: one whose work is linear in its
/// arguments and whose result is a scalar, a fixed-size value or (a part
/// of) one of its arguments without copying.
pub(crate) type PlainImpl = fn(&[Value]) -> Result<Value, EvalError>;

/// An implementation that charges its own work and reservations.
pub(crate) type MeteredImpl = fn(&[Value], &mut Meter<'_>) -> Result<Value, EvalError>;

/// One signature of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Overload {
    /// Unique id, e.g. `size_string`.
    pub id: String,
    /// Parameter types; for member overloads the receiver is the first.
    pub params: Vec<Type>,
    /// Result type.
    pub result: Type,
    /// Called as `receiver.f(args)` rather than `f(args)`.
    pub member: bool,
}

impl Overload {
    /// Parses a compact signature: `(int, int) -> int` for a global overload,
    /// `string.(string) -> bool` for a member overload (receiver type, then `.`).
    pub fn parse(id: &str, sig: &str) -> Option<Overload> {
        let (lhs, result) = sig.split_once("->")?;
        let lhs = lhs.trim();
        let (receiver, params) = if let Some(rest) = lhs.strip_prefix('(') {
            (None, rest)
        } else {
            let (r, p) = lhs.split_once(".(")?;
            (Some(r), p)
        };
        let params = params.strip_suffix(')')?;
        let mut types = Vec::new();
        if let Some(r) = receiver {
            types.push(Type::parse(r)?);
        }
        for p in split_top_level(params) {
            types.push(Type::parse(p)?);
        }
        Some(Overload {
            id: id.to_string(),
            params: types,
            result: Type::parse(result.trim())?,
            member: receiver.is_some(),
        })
    }
}

/// Splits `a, map(b, c), d` at top-level commas.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

/// A function: its overloads and its (single, dynamically dispatching) implementation.
#[derive(Clone)]
pub struct FunctionDecl {
    /// Function name, possibly qualified (`strings.quote`).
    pub name: String,
    /// Signatures the checker accepts.
    pub overloads: Vec<Overload>,
    /// Runtime implementation; absent for declaration-only functions.
    pub implementation: Option<FunctionImpl>,
    /// How the static cost estimate sees a call (see `cost/rules.rs`);
    /// a function without one is assumed to copy all its arguments.
    pub(crate) cost_rule: Option<CallRule>,
}

impl fmt::Debug for FunctionDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionDecl")
            .field("name", &self.name)
            .field("overloads", &self.overloads)
            .field("implementation", &self.implementation.is_some())
            .field("cost_rule", &self.cost_rule)
            .finish()
    }
}

/// A declared object type: a name and typed fields (how kro describes
/// Kubernetes objects from their OpenAPI schemas).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectType {
    /// Type name.
    pub name: String,
    /// Field types, in declaration order.
    pub fields: IndexMap<String, Type>,
}

/// Everything an expression is checked and evaluated against.
#[derive(Clone, Default)]
pub struct Env {
    pub(crate) functions: Arc<IndexMap<String, FunctionDecl>>,
    pub(crate) variables: Arc<IndexMap<String, Type>>,
    pub(crate) objects: Arc<IndexMap<String, ObjectType>>,
    pub(crate) container: Option<Arc<str>>,
    pub(crate) limits: Limits,
    pub(crate) input_sizes: InputSizes,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("functions", &self.functions.len())
            .field("variables", &self.variables)
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field("container", &self.container)
            .finish()
    }
}

impl Env {
    /// An environment with no functions at all (not even operators).
    pub fn empty() -> Self {
        Env::default()
    }

    /// Declares (or redeclares) a variable.
    pub fn add_variable(&mut self, name: &str, ty: Type) -> &mut Self {
        Arc::make_mut(&mut self.variables).insert(name.to_string(), ty);
        self
    }

    /// Builder form of [`Env::add_variable`].
    pub fn with_variable(mut self, name: &str, ty: Type) -> Self {
        self.add_variable(name, ty);
        self
    }

    /// Declares an object type.
    pub fn add_object_type(&mut self, ty: ObjectType) -> &mut Self {
        Arc::make_mut(&mut self.objects).insert(ty.name.clone(), ty);
        self
    }

    /// Sets the container (namespace) used to resolve names.
    pub fn set_container(&mut self, container: &str) -> &mut Self {
        self.container = (!container.is_empty()).then(|| Arc::from(container));
        self
    }

    /// Sets evaluation and estimation limits.
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Adds an overload to a function, creating the function if needed.
    pub fn add_overload(&mut self, name: &str, overload: Overload) -> &mut Self {
        let f = Arc::make_mut(&mut self.functions)
            .entry(name.to_string())
            .or_insert_with(|| FunctionDecl {
                name: name.to_string(),
                overloads: Vec::new(),
                implementation: None,
                cost_rule: None,
            });
        if let Some(existing) = f.overloads.iter_mut().find(|o| o.id == overload.id) {
            *existing = overload;
        } else {
            f.overloads.push(overload);
        }
        self
    }

    /// Sets the runtime implementation of a function, creating it if needed.
    pub fn set_implementation(&mut self, name: &str, imp: FunctionImpl) -> &mut Self {
        Arc::make_mut(&mut self.functions)
            .entry(name.to_string())
            .or_insert_with(|| FunctionDecl {
                name: name.to_string(),
                overloads: Vec::new(),
                implementation: None,
                cost_rule: None,
            })
            .implementation = Some(imp);
        self
    }

    /// Sets how the static cost estimate sees calls of a declared function.
    pub(crate) fn set_cost_rule(&mut self, name: &str, rule: CallRule) {
        let functions = Arc::make_mut(&mut self.functions);
        match functions.get_mut(name) {
            Some(f) => f.cost_rule = Some(rule),
            None => debug_assert!(false, "cost rule for undeclared function {name}"),
        }
    }

    /// Records the sizes of the values of schema places (by type path, as
    /// [`crate::openapi_types::SchemaTypes`] names them) for the static
    /// cost estimate.
    pub fn add_schema_sizes<'a>(
        &mut self,
        sizes: impl IntoIterator<Item = (&'a str, SchemaSize)>,
    ) -> &mut Self {
        let table = Arc::make_mut(&mut self.input_sizes.schema);
        for (name, size) in sizes {
            table.insert(Arc::from(name), size);
        }
        self
    }

    /// Bounds the values of a declared variable for the static cost
    /// estimate, when they come from something whose size is known (a
    /// `forEach` iterator takes the elements of its list); otherwise its
    /// type and the schema sizes bound it.
    pub fn add_variable_size(&mut self, name: &str, size: ValueSize) -> &mut Self {
        Arc::make_mut(&mut self.input_sizes.variables).insert(name.to_string(), size.0);
        self
    }

    /// Declares signatures in the compact notation of [`Overload::parse`] and an
    /// implementation; ids are derived from the name and position. Library code
    /// calls this with literal signatures, so a malformed one is a bug caught by tests.
    pub(crate) fn define(&mut self, name: &str, sigs: &[&str], imp: PlainImpl) {
        self.declare(name, sigs);
        self.set_implementation(name, Arc::new(move |args, _| imp(args)));
    }

    /// [`Env::define`] for an implementation that uses the meter.
    pub(crate) fn define_metered(&mut self, name: &str, sigs: &[&str], imp: MeteredImpl) {
        self.declare(name, sigs);
        self.set_implementation(name, Arc::new(imp));
    }

    /// Declares signatures only (see [`Env::define`]).
    pub(crate) fn declare(&mut self, name: &str, sigs: &[&str]) {
        let existing = self.functions.get(name).map_or(0, |f| f.overloads.len());
        for (i, sig) in sigs.iter().enumerate() {
            let id = format!("{name}#{}", existing + i);
            match Overload::parse(&id, sig) {
                Some(o) => {
                    self.add_overload(name, o);
                }
                None => debug_assert!(false, "bad signature {sig:?} for {name}"),
            }
        }
    }

    /// The type of a declared variable.
    pub fn variable(&self, name: &str) -> Option<&Type> {
        self.variables.get(name)
    }

    /// A declared function.
    pub fn function(&self, name: &str) -> Option<&FunctionDecl> {
        self.functions.get(name)
    }

    /// Every declared function, in declaration order (generators of
    /// expressions, such as the fuzzer's, draw calls from them).
    pub fn functions(&self) -> impl Iterator<Item = &FunctionDecl> {
        self.functions.values()
    }

    /// A declared object type.
    pub fn object_type(&self, name: &str) -> Option<&ObjectType> {
        self.objects.get(name)
    }

    /// The candidate qualified names for `name` under the container, most
    /// specific first (`a.b.c` container, name `x`: `a.b.c.x`, `a.b.x`, `a.x`, `x`).
    /// A leading `.` means the name is already absolute.
    pub(crate) fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(abs) = name.strip_prefix('.') {
            return vec![abs.to_string()];
        }
        let mut out = Vec::new();
        if let Some(c) = &self.container {
            let mut prefix: &str = c;
            loop {
                out.push(format!("{prefix}.{name}"));
                match prefix.rfind('.') {
                    Some(i) => prefix = &prefix[..i],
                    None => break,
                }
            }
        }
        out.push(name.to_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_signatures() {
        let o = Overload::parse("x", "map(K, V).(K, list(V)) -> bool").unwrap();
        assert!(o.member);
        assert_eq!(o.params.len(), 3);
        assert_eq!(o.result, Type::Bool);
        let g = Overload::parse("y", "() -> optional_type(T)").unwrap();
        assert!(!g.member && g.params.is_empty());
        assert!(Overload::parse("z", "int -> int").is_none());
    }

    #[test]
    fn container_candidates_go_from_specific_to_general() {
        let mut env = Env::empty();
        env.set_container("a.b");
        assert_eq!(env.candidates("x"), ["a.b.x", "a.x", "x"]);
        assert_eq!(env.candidates(".x"), ["x"]);
    }
}
