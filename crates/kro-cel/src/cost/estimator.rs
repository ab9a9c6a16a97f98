//! The walk over a checked tree: the cost of every node, the bounds of the
//! value it makes, the scopes of comprehension variables, and the
//! operators the evaluator runs itself. Library calls go to `rules.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use indexmap::IndexMap;

use super::bound::{Bound, Parts};
use super::rules::{self, Arg};
use super::units;
use super::{CostEstimate, InputSizes, TooLarge, UnboundedInput, ValueSize};
use crate::ast::{Comprehension, Expr, ExprKind, Literal, MapEntry};
use crate::check::CheckedExpr;
use crate::decls::FunctionDecl;
use crate::error::SizeKind;
use crate::macros::ACCU;
use crate::meter::{Limits, READ_PER_UNIT};
use crate::openapi_types::SchemaSize;
use crate::types::Type;

/// A cost in units: the least and the most.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    pub(crate) min: u64,
    pub(crate) max: u64,
}

impl Cost {
    pub(crate) fn fixed(units: u64) -> Cost {
        Cost {
            min: units,
            max: units,
        }
    }

    pub(crate) fn between(min: u64, max: u64) -> Cost {
        Cost { min, max }
    }

    pub(crate) fn plus(self, other: Cost) -> Cost {
        Cost {
            min: self.min.saturating_add(other.min),
            max: self.max.saturating_add(other.max),
        }
    }
}

/// What the estimate found for one node.
#[derive(Debug, Clone)]
pub(crate) struct Est {
    pub(crate) cost: Cost,
    pub(crate) value: Bound,
    /// A size limit every evaluation of the node runs into.
    pub(crate) fails: Option<TooLarge>,
    /// The input the node reads, as written, when it reads one.
    pub(crate) path: Option<Arc<str>>,
}

impl Est {
    fn leaf(value: Bound) -> Est {
        Est {
            cost: Cost::fixed(1),
            value,
            fails: None,
            path: None,
        }
    }
}

/// What a library call or an operator adds to the cost of its node.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) cost: Cost,
    pub(crate) value: Bound,
    pub(crate) fails: Option<TooLarge>,
}

impl Outcome {
    pub(crate) fn free(value: Bound) -> Outcome {
        Outcome {
            cost: Cost::default(),
            value,
            fails: None,
        }
    }

    pub(crate) fn plus(mut self, cost: Cost) -> Outcome {
        self.cost = self.cost.plus(cost);
        self
    }
}

/// A comprehension variable or accumulator in scope.
struct Local {
    name: String,
    bound: Bound,
    path: Option<Arc<str>>,
    /// For the accumulator of `map`, `filter` (a list) and `transformMap`
    /// (a map): what the loop's steps add to it.
    growth: Option<Growth>,
}

/// What the steps of a loop add to its list or map accumulator.
#[derive(Debug, Clone, Default)]
struct Growth {
    map: bool,
    /// The list (or map) one step appends (or inserts), joined over the
    /// steps seen.
    added: Option<Bound>,
}

pub(crate) struct Estimator<'a> {
    checked: &'a CheckedExpr,
    pub(crate) limits: &'a Limits,
    functions: &'a IndexMap<String, FunctionDecl>,
    sizes: &'a InputSizes,
    locals: Vec<Local>,
    /// How many loops enclose the node being estimated.
    loop_depth: usize,
    /// The inputs without bounds the worst case depends on: path and what
    /// would bound it.
    unbounded: BTreeSet<(Arc<str>, &'static str)>,
    /// Whether a variable with a size is named like a selection (`a.b`).
    dotted_variables: bool,
    /// Room to spell schema paths in while looking them up.
    scratch: String,
}

/// The estimate of `checked` with the functions and input sizes of its
/// environment.
pub(crate) fn estimate(
    checked: &CheckedExpr,
    limits: &Limits,
    functions: &IndexMap<String, FunctionDecl>,
    sizes: &InputSizes,
) -> CostEstimate {
    let mut estimator = Estimator {
        checked,
        limits,
        functions,
        sizes,
        locals: Vec::new(),
        loop_depth: 0,
        unbounded: BTreeSet::new(),
        dotted_variables: sizes.variables.keys().any(|name| name.contains('.')),
        scratch: String::new(),
    };
    let root = estimator.visit(&checked.expr);
    CostEstimate {
        min: root.cost.min,
        max: root.cost.max,
        unbounded: estimator
            .unbounded
            .into_iter()
            .map(|(path, missing)| UnboundedInput {
                path: path.to_string(),
                missing,
            })
            .collect(),
        always_too_large: root.fails,
        result: ValueSize(root.value),
    }
}

/// The elements of a list (or values of a map) bounded by `bound`, without
/// the schema: the whole bounds them.
pub(crate) fn element_of(bound: &Bound) -> Bound {
    match &bound.parts {
        Parts::Known { element, .. } => (**element).clone(),
        Parts::Schema(_) | Parts::Unknown => bound.inside(),
    }
}

/// The integer a literal (or a negated literal) holds.
pub(crate) fn int_literal(e: &Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Literal(Literal::Int(n)) => Some(*n),
        ExprKind::Call { function, args, .. } if function == "-_" && args.len() == 1 => {
            int_literal(&args[0]).and_then(i64::checked_neg)
        }
        _ => None,
    }
}

/// The string a literal holds.
pub(crate) fn string_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// `parent.field`, the path of a field.
fn field_path(parent: &str, field: &str) -> Arc<str> {
    let mut path = String::with_capacity(parent.len() + 1 + field.len());
    path.push_str(parent);
    path.push('.');
    path.push_str(field);
    Arc::from(path)
}

/// `parent[*]`, the path of the elements of a list (or values of a map).
pub(crate) fn elements_path(parent: &Arc<str>) -> Arc<str> {
    let mut path = String::with_capacity(parent.len() + 3);
    path.push_str(parent);
    path.push_str("[*]");
    Arc::from(path)
}

/// The dotted name a chain of identifiers and selections spells.
fn dotted(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Ident(name) => Some(name.trim_start_matches('.').to_string()),
        ExprKind::Select {
            operand,
            field,
            test_only: false,
            optional: false,
        } => dotted(operand).map(|prefix| format!("{prefix}.{field}")),
        _ => None,
    }
}

/// The first identifier of a chain.
fn root_ident(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Ident(name) => Some(name),
        ExprKind::Select { operand, .. } => root_ident(operand),
        _ => None,
    }
}

fn is_accumulator(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Ident(name) if name == ACCU)
}

/// Whether values of type `ty` are compared element by element.
fn is_composite(ty: Option<&Type>) -> bool {
    !matches!(
        ty,
        Some(
            Type::Null
                | Type::Bool
                | Type::Int
                | Type::Uint
                | Type::Double
                | Type::String
                | Type::Bytes
                | Type::Timestamp
                | Type::Duration
                | Type::Type(_)
        )
    )
}

impl<'a> Estimator<'a> {
    pub(crate) fn type_of(&self, e: &Expr) -> Option<&'a Type> {
        self.checked.type_of(e.id)
    }

    fn local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|l| l.name == name)
    }

    /// Notes that the worst case depends on the length of `bound`.
    pub(crate) fn note_len(&mut self, bound: &Bound) {
        if let Some(origin) = &bound.origin
            && let Some(missing) = origin.len_missing
        {
            self.unbounded.insert((origin.path.clone(), missing));
        }
    }

    /// Notes that the worst case depends on everything `bound` holds.
    pub(crate) fn note_deep(&mut self, bound: &Bound) {
        if let Some(origin) = &bound.origin {
            let missing = origin.len_missing.or(origin.deep_missing);
            if let Some(missing) = missing {
                self.unbounded.insert((origin.path.clone(), missing));
            }
        }
    }

    /// A string of `min` to `max` bytes produced: charged, and refused
    /// above the string size limit.
    pub(crate) fn produce_string(&self, min: u64, max: u64) -> Outcome {
        let limit = self.limits.max_string_size as u64;
        let value = Bound::text(min, max).at_most(limit);
        Outcome {
            cost: Cost::between(units::bytes(value.min_len), units::bytes(value.len)),
            fails: over(SizeKind::String, min, limit),
            value,
        }
    }

    /// A list of `min` to `max` elements of `element` produced.
    pub(crate) fn produce_list(&self, min: u64, max: u64, element: Bound) -> Outcome {
        let limit = self.limits.max_collection_size as u64;
        let value = Bound::list(min.min(limit), max.min(limit), element);
        Outcome {
            cost: Cost::between(
                units::list_elements(value.min_len),
                units::list_elements(value.len),
            ),
            fails: over(SizeKind::Collection, min, limit),
            value,
        }
    }

    /// A map of `min` to `max` entries produced.
    pub(crate) fn produce_map(&self, min: u64, max: u64, key: Bound, value: Bound) -> Outcome {
        let limit = self.limits.max_collection_size as u64;
        let value = Bound::map(min.min(limit), max.min(limit), key, value);
        Outcome {
            cost: Cost::between(
                units::map_entries(value.min_len),
                units::map_entries(value.len),
            ),
            fails: over(SizeKind::Collection, min, limit),
            value,
        }
    }

    /// The elements of a list, or values of a map, bounded by `bound`;
    /// `ty` is their type, `path` how they are read.
    pub(crate) fn element(
        &mut self,
        bound: &Bound,
        ty: Option<&Type>,
        path: Option<&Arc<str>>,
    ) -> Bound {
        if let Parts::Schema(type_path) = &bound.parts {
            for suffix in ["@idx", "@elem"] {
                if let Some((child, size)) = self.schema_child(type_path, suffix) {
                    return Bound::of_schema(child, size, path, ty);
                }
            }
        }
        element_of(bound)
    }

    /// The size the schema records at `type_path.child`, and that path.
    fn schema_child(
        &mut self,
        type_path: &str,
        child: &str,
    ) -> Option<(&'a Arc<str>, &'a SchemaSize)> {
        self.scratch.clear();
        self.scratch.push_str(type_path);
        self.scratch.push('.');
        self.scratch.push_str(child);
        let sizes = self.sizes;
        sizes.schema.get_key_value(self.scratch.as_str())
    }

    /// The keys of a map bounded by `bound`.
    pub(crate) fn key(bound: &Bound) -> Bound {
        match &bound.parts {
            Parts::Known { key, .. } => (**key).clone(),
            Parts::Schema(_) | Parts::Unknown => Bound {
                values: 1,
                parts: Parts::Unknown,
                ..bound.inside()
            },
        }
    }

    /// The field `name` of a value bounded by `bound` (a map's value).
    fn field(
        &mut self,
        bound: &Bound,
        name: &str,
        ty: Option<&Type>,
        path: Option<&Arc<str>>,
    ) -> Bound {
        if let Parts::Schema(type_path) = &bound.parts
            && let Some((child, size)) = self.schema_child(type_path, name)
        {
            return Bound::of_schema(child, size, path, ty);
        }
        self.element(bound, ty, path)
    }

    /// A value of type `ty` read from an input through `path`, bounded by
    /// its schema when the type names one.
    fn input(&self, ty: Option<&Type>, path: &Arc<str>) -> Bound {
        match ty {
            Some(Type::Object(name)) => match self.sizes.schema.get_key_value(&**name) {
                Some((name, size)) => Bound::of_schema(name, size, Some(path), ty),
                None => Bound::any_input(path, ty),
            },
            Some(Type::List(element)) if matches!(&**element, Type::Object(_)) => {
                let item = self.input(Some(element), &elements_path(path));
                Bound::collection(path, self.limits.max_collection_size as u64, item)
            }
            Some(t) if !is_composite(Some(t)) && !matches!(t, Type::String | Type::Bytes) => {
                Bound::scalar()
            }
            Some(t) => match t.optional_inner() {
                Some(inner) => self.input(Some(inner), path),
                None => Bound::any_input(path, ty),
            },
            None => Bound::any_input(path, ty),
        }
    }

    pub(crate) fn visit(&mut self, e: &Expr) -> Est {
        match &e.kind {
            ExprKind::Literal(Literal::String(s)) => {
                Est::leaf(Bound::text(s.len() as u64, s.len() as u64))
            }
            ExprKind::Literal(Literal::Bytes(b)) => {
                Est::leaf(Bound::text(b.len() as u64, b.len() as u64))
            }
            ExprKind::Literal(_) => Est::leaf(Bound::scalar()),
            ExprKind::Ident(name) => self.ident(e, name),
            ExprKind::Select {
                operand,
                field,
                test_only,
                ..
            } => self.select(e, operand, field, *test_only),
            ExprKind::Call {
                target,
                function,
                args,
            } => self.call(e, target.as_deref(), function, args),
            ExprKind::List {
                elements,
                optional_indices,
            } => self.list(elements, optional_indices),
            ExprKind::Map(entries) => self.map(entries),
            ExprKind::Struct { fields, .. } => {
                let values: Vec<Est> = fields.iter().map(|f| self.visit(&f.value)).collect();
                let mut key = Bound::nothing();
                for f in fields {
                    key = key.join(&Bound::text(f.name.len() as u64, f.name.len() as u64));
                }
                self.aggregate(values, key, fields.len(), true)
            }
            ExprKind::Comprehension(c) => self.comprehension(c),
        }
    }

    fn ident(&mut self, e: &Expr, name: &str) -> Est {
        if !name.starts_with('.')
            && let Some(local) = self.local(name)
        {
            return Est {
                path: local.path.clone(),
                ..Est::leaf(local.bound.clone())
            };
        }
        let name = name.trim_start_matches('.');
        let path: Arc<str> = Arc::from(name);
        let value = match self.sizes.variables.get(name) {
            Some(bound) => bound.clone(),
            None => self.input(self.type_of(e), &path),
        };
        Est {
            path: Some(path),
            ..Est::leaf(value)
        }
    }

    fn select(&mut self, e: &Expr, operand: &Expr, field: &str, test_only: bool) -> Est {
        // A qualified variable name (`a.b` declared as one variable).
        if self.dotted_variables
            && root_ident(operand).is_some_and(|r| self.local(r).is_none())
            && let Some(name) = dotted(e)
            && self.sizes.variables.contains_key(&name)
        {
            return self.ident(e, &name);
        }
        let op = self.visit(operand);
        let cost = op
            .cost
            .plus(Cost::fixed(1 + field.len() as u64 / READ_PER_UNIT));
        if test_only {
            return Est {
                cost,
                value: Bound::scalar(),
                fails: op.fails,
                path: None,
            };
        }
        let path = op.path.as_ref().map(|p| field_path(p, field));
        let ty = self.type_of(e);
        let value = match (ty, &path) {
            (Some(Type::Object(name)), Some(path)) if self.sizes.schema.contains_key(&**name) => {
                self.input(ty, path)
            }
            _ => self.field(&op.value, field, ty, path.as_ref()),
        };
        Est {
            cost,
            value,
            fails: op.fails,
            path,
        }
    }

    fn list(&mut self, elements: &[Expr], optional_indices: &[usize]) -> Est {
        let parts: Vec<Est> = elements.iter().map(|x| self.visit(x)).collect();
        let mut element = Bound::nothing();
        let mut values = 1u64;
        let (mut bytes, mut min_bytes) = (0u64, 0u64);
        let mut cost = Cost::fixed(1 + units::list_elements(elements.len() as u64));
        let mut fails = None;
        for (i, part) in parts.iter().enumerate() {
            element = element.join(&part.value);
            values = values.saturating_add(part.value.values);
            bytes = bytes.saturating_add(part.value.bytes);
            if !optional_indices.contains(&i) {
                min_bytes = min_bytes.saturating_add(part.value.min_bytes);
            }
            cost = cost.plus(part.cost);
            fails = fails.or(part.fails);
        }
        let required = elements.len().saturating_sub(optional_indices.len()) as u64;
        let mut value = Bound::list(required, elements.len() as u64, element);
        // The sum of the elements is tighter than their count times the
        // largest.
        value.values = values;
        value.bytes = bytes;
        value.min_bytes = min_bytes;
        Est {
            cost,
            value,
            fails,
            path: None,
        }
    }

    fn map(&mut self, entries: &[MapEntry]) -> Est {
        let mut key = Bound::nothing();
        let mut values = Vec::with_capacity(entries.len());
        let mut key_cost = Cost::default();
        for entry in entries {
            let k = self.visit(&entry.key);
            // The key is hashed twice: looked up, then inserted.
            key_cost = key_cost
                .plus(k.cost)
                .plus(Cost::fixed(units::read(2 * k.value.len)));
            key = key.join(&k.value);
            let mut v = self.visit(&entry.value);
            v.fails = v.fails.or(k.fails);
            values.push(v);
        }
        let mut est = self.aggregate(values, key, entries.len(), false);
        est.cost = est.cost.plus(key_cost);
        est
    }

    /// A map literal or an object construction of `count` entries with
    /// these values and keys.
    fn aggregate(&mut self, values: Vec<Est>, key: Bound, count: usize, object: bool) -> Est {
        let n = count as u64;
        let mut cost = Cost::fixed(1 + units::map_entries(n));
        let mut value_bound = Bound::nothing();
        let (mut total_values, mut bytes) = (1u64, 0u64);
        let mut fails = None;
        for v in &values {
            cost = cost.plus(v.cost);
            value_bound = value_bound.join(&v.value);
            total_values = total_values
                .saturating_add(v.value.values)
                .saturating_add(1);
            bytes = bytes.saturating_add(v.value.bytes);
            fails = fails.or(v.fails);
        }
        bytes = bytes.saturating_add(n.saturating_mul(key.bytes));
        // Entries of a literal may repeat a key (an error), or be optional.
        let least = if object { 0 } else { u64::from(n > 0) };
        let mut value = Bound::map(least, n, key, value_bound);
        value.values = total_values;
        value.bytes = bytes;
        Est {
            cost,
            value,
            fails,
            path: None,
        }
    }

    fn call(&mut self, e: &Expr, target: Option<&Expr>, function: &str, args: &[Expr]) -> Est {
        if target.is_none()
            && let Some(est) = self.operator(e, function, args)
        {
            return est;
        }
        let (name, operands): (String, Vec<&Expr>) = match target {
            Some(t) => match self.namespaced(t, function) {
                Some(q) => (q, args.iter().collect()),
                None => (
                    function.to_string(),
                    std::iter::once(t).chain(args.iter()).collect(),
                ),
            },
            None => (function.to_string(), args.iter().collect()),
        };
        let mut cost = Cost::fixed(1);
        let mut fails = None;
        let mut read = Cost::default();
        let mut parts = Vec::with_capacity(operands.len());
        for operand in operands {
            let est = self.visit(operand);
            cost = cost.plus(est.cost);
            fails = fails.or(est.fails);
            // The evaluator reads the arguments' bytes and elements.
            read = read.plus(Cost::between(est.value.min_len, est.value.len));
            self.note_len(&est.value);
            parts.push(Arg {
                ty: self.type_of(operand),
                expr: operand,
                est,
            });
        }
        cost = cost.plus(Cost::between(units::read(read.min), units::read(read.max)));
        let rule = self.functions.get(&name).and_then(|f| f.cost_rule);
        let outcome = rules::estimate(self, rule, &parts, self.type_of(e));
        Est {
            cost: cost.plus(outcome.cost),
            value: outcome.value,
            fails: fails.or(outcome.fails),
            path: None,
        }
    }

    /// When `target.function(...)` calls a namespaced function
    /// (`lists.range`, `strings.quote`), its full name.
    fn namespaced(&self, target: &Expr, function: &str) -> Option<String> {
        let root = root_ident(target)?;
        if !root.starts_with('.') && self.local(root).is_some() {
            return None;
        }
        let name = format!("{}.{function}", dotted(target)?);
        self.functions.contains_key(&name).then_some(name)
    }

    /// The operators the evaluator runs itself (see `plan.rs`), or `None`
    /// for a library call.
    fn operator(&mut self, e: &Expr, function: &str, args: &[Expr]) -> Option<Est> {
        let est = match (function, args) {
            ("_&&_" | "_||_", [l, r]) => {
                let (l, r) = (self.visit(l), self.visit(r));
                Est {
                    cost: Cost::between(1 + l.cost.min, 1 + l.cost.max + r.cost.max),
                    value: Bound::scalar(),
                    fails: l.fails,
                    path: None,
                }
            }
            ("_?_:_", [c, t, f]) => {
                let (c, t, f) = (self.visit(c), self.visit(t), self.visit(f));
                Est {
                    cost: Cost::between(
                        1 + c.cost.min + t.cost.min.min(f.cost.min),
                        1 + c.cost.max + t.cost.max.max(f.cost.max),
                    ),
                    value: t.value.join(&f.value),
                    fails: c.fails.or(t.fails.and(f.fails)),
                    path: None,
                }
            }
            ("!_" | "@not_strictly_false", [a]) => {
                let a = self.visit(a);
                self.binary(a, None, Outcome::free(Bound::scalar()))
            }
            ("_==_" | "_!=_", [a, b]) => {
                let composite = is_composite(self.type_of(a)) || is_composite(self.type_of(b));
                let (a, b) = (self.visit(a), self.visit(b));
                let work = if composite {
                    self.note_deep(&a.value);
                    self.note_deep(&b.value);
                    units::visits(a.value.walk_steps().min(b.value.walk_steps()))
                } else {
                    self.note_len(&a.value);
                    units::read(a.value.len.min(b.value.len))
                };
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(a, Some(b), outcome)
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", [a, b]) => {
                let (a, b) = (self.visit(a), self.visit(b));
                self.note_len(&a.value);
                let work = units::read(a.value.len.min(b.value.len));
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(a, Some(b), outcome)
            }
            ("_-_" | "_*_" | "_/_" | "_%_", [a, b]) => {
                let (a, b) = (self.visit(a), self.visit(b));
                self.binary(a, Some(b), Outcome::free(Bound::scalar()))
            }
            ("_+_", [a, b]) => self.add(e, a, b),
            ("_[_]", [c, i]) => {
                let elem_ty = self.type_of(e);
                let (c, i) = (self.visit(c), self.visit(i));
                let path = c.path.as_ref().map(elements_path);
                let element = self.element(&c.value, elem_ty, path.as_ref());
                // A map key is hashed.
                let outcome = Outcome::free(element).plus(Cost::fixed(units::read(i.value.len)));
                let mut est = self.binary(c, Some(i), outcome);
                est.path = path;
                est
            }
            ("@in", [x, c]) => {
                let in_list = !matches!(self.type_of(c), Some(Type::Map(..)));
                let (x, c) = (self.visit(x), self.visit(c));
                let work = if in_list {
                    self.note_deep(&c.value);
                    units::visits(c.value.walk_steps())
                } else {
                    units::read(x.value.len)
                };
                let outcome = Outcome::free(Bound::scalar()).plus(Cost::between(0, work));
                self.binary(x, Some(c), outcome)
            }
            ("cel.@mapInsert", [m, rest @ ..]) if !rest.is_empty() => self.map_insert(m, rest),
            _ => return None,
        };
        Some(est)
    }

    /// A node of one or two evaluated operands and what its operator adds.
    fn binary(&mut self, a: Est, b: Option<Est>, outcome: Outcome) -> Est {
        let mut cost = Cost::fixed(1).plus(a.cost).plus(outcome.cost);
        let mut fails = a.fails;
        if let Some(b) = b {
            cost = cost.plus(b.cost);
            fails = fails.or(b.fails);
        }
        Est {
            cost,
            value: outcome.value,
            fails: fails.or(outcome.fails),
            path: None,
        }
    }

    /// `a + b`: numbers, a concatenation of strings (or bytes), or of lists
    /// (in place when `a` is the accumulator of `map` or `filter`).
    fn add(&mut self, e: &Expr, a: &Expr, b: &Expr) -> Est {
        let accumulates = is_accumulator(a);
        let result_ty = self.type_of(e);
        let (a, b) = (self.visit(a), self.visit(b));
        let (x, y) = (&a.value, &b.value);
        let outcome = match result_ty {
            Some(Type::List(element_ty)) => {
                if accumulates && self.grow(y, false) {
                    // Only the appended elements are allocated.
                    let appended =
                        Cost::between(units::list_elements(y.min_len), units::list_elements(y.len));
                    Outcome::free(x.clone()).plus(appended)
                } else {
                    self.concatenate_lists(x, y, Some(element_ty))
                }
            }
            Some(Type::String | Type::Bytes) => self.concatenate_text(x, y),
            Some(ty) if !is_composite(Some(ty)) => Outcome::free(Bound::scalar()),
            _ => {
                // Unknown at check time: the costlier of the two.
                let text = self.concatenate_text(x, y);
                let list = self.concatenate_lists(x, y, None);
                Outcome {
                    cost: Cost::between(
                        text.cost.min.min(list.cost.min),
                        text.cost.max.max(list.cost.max),
                    ),
                    value: text.value.join(&list.value),
                    fails: text.fails.and(list.fails),
                }
            }
        };
        self.binary(a, Some(b), outcome)
    }

    fn concatenate_text(&mut self, x: &Bound, y: &Bound) -> Outcome {
        self.note_len(x);
        self.note_len(y);
        self.produce_string(
            x.min_len.saturating_add(y.min_len),
            x.len.saturating_add(y.len),
        )
    }

    fn concatenate_lists(&mut self, x: &Bound, y: &Bound, element_ty: Option<&Type>) -> Outcome {
        self.note_len(x);
        self.note_len(y);
        let element = self
            .element(x, element_ty, None)
            .join(&self.element(y, element_ty, None));
        let mut out = self.produce_list(
            x.min_len.saturating_add(y.min_len),
            x.len.saturating_add(y.len),
            element,
        );
        out.value.values = x.values.saturating_add(y.values);
        out.value.bytes = x.bytes.saturating_add(y.bytes);
        out.value.min_bytes = x.min_bytes.saturating_add(y.min_bytes);
        // Lists of a schema may be `set` or `map` lists, which merge by
        // key: a walk over both.
        if matches!(x.parts, Parts::Schema(_)) || matches!(y.parts, Parts::Schema(_)) {
            let walk = units::visits(2 * x.values.saturating_add(y.values));
            out = out.plus(Cost::between(0, walk));
        }
        out
    }

    /// `cel.@mapInsert(m, k, v)` or `cel.@mapInsert(m, entries)`: in place
    /// when `m` is the accumulator of `transformMap`.
    fn map_insert(&mut self, m: &Expr, rest: &[Expr]) -> Est {
        let accumulates = is_accumulator(m);
        let map = self.visit(m);
        let parts: Vec<Est> = rest.iter().map(|x| self.visit(x)).collect();
        let added = match parts.as_slice() {
            [k, v] => Bound::map(1, 1, k.value.clone(), v.value.clone()),
            [entries] => entries.value.clone(),
            _ => Bound::nothing(),
        };
        let outcome = if accumulates && self.grow(&added, true) {
            Outcome::free(map.value.clone()).plus(Cost::between(
                units::map_entries(added.min_len),
                units::map_entries(added.len),
            ))
        } else {
            self.note_len(&map.value);
            let value = element_of(&map.value).join(&element_of(&added));
            let key = Self::key(&map.value).join(&Self::key(&added));
            self.produce_map(
                map.value.min_len.max(added.min_len),
                map.value.len.saturating_add(added.len),
                key,
                value,
            )
        };
        let mut cost = Cost::fixed(1).plus(map.cost).plus(outcome.cost);
        let mut fails = map.fails.or(outcome.fails);
        for p in &parts {
            cost = cost.plus(p.cost);
            fails = fails.or(p.fails);
        }
        Est {
            cost,
            value: outcome.value,
            fails,
            path: None,
        }
    }

    /// Records what one step adds to the innermost accumulator (a list, or
    /// a map when `map`); false when that accumulator does not grow so.
    fn grow(&mut self, added: &Bound, map: bool) -> bool {
        let Some(local) = self.locals.iter_mut().rev().find(|l| l.name == ACCU) else {
            return false;
        };
        match &mut local.growth {
            Some(growth) if growth.map == map => {
                growth.added = Some(match &growth.added {
                    Some(before) => before.join(added),
                    None => added.clone(),
                });
                true
            }
            _ => false,
        }
    }

    fn comprehension(&mut self, c: &Comprehension) -> Est {
        let range = self.visit(&c.iter_range);
        let init = self.visit(&c.accu_init);
        let range_ty = self.type_of(&c.iter_range);
        let always = matches!(c.loop_cond.kind, ExprKind::Literal(Literal::Bool(true)));
        let (min_n, max_n) = (
            if always { range.value.min_len } else { 0 },
            range.value.len,
        );
        if max_n > 0 {
            self.note_len(&range.value);
        }
        let growth = match (&c.accu_init.kind, c.accu_var == ACCU) {
            (ExprKind::List { elements, .. }, true) if elements.is_empty() => Some(Growth {
                map: false,
                added: None,
            }),
            (ExprKind::Map(entries), true) if entries.is_empty() => Some(Growth {
                map: true,
                added: None,
            }),
            _ => None,
        };
        let grows = growth.is_some();
        let map_accumulator = matches!(c.accu_init.kind, ExprKind::Map(_));
        self.locals.push(Local {
            name: c.accu_var.clone(),
            bound: init.value.clone(),
            path: None,
            growth,
        });
        let variables = self.iteration_variables(c, &range, range_ty);
        self.loop_depth += 1;
        let full = self.body(c, &variables.largest, grows);
        // The same step with the smallest elements, to tell what a step
        // costs whatever its element from what grows with the element.
        let least = (max_n > 0 && variables.sized && self.loop_depth <= AMORTIZED_DEPTH)
            .then(|| self.body(c, &variables.smallest, grows));
        self.loop_depth -= 1;
        self.locals.pop();
        let largest = variables.largest_elements(&range.value, max_n);
        let amortized = |full: u64, least: Option<u64>| match least {
            Some(least) => amortize(max_n, largest, least, full),
            None => full.saturating_mul(max_n),
        };
        let loop_cost = Cost {
            min: min_n.saturating_mul(least.as_ref().map_or(full.cost.min, |l| l.cost.min)),
            max: amortized(full.cost.max, least.as_ref().map(|l| l.cost.max)),
        };
        let final_bound = match &full.added {
            Some(added) if grows => {
                let conditional = matches!(
                    &c.loop_step.kind,
                    ExprKind::Call { function, .. } if function == "_?_:_"
                );
                let least_added = least.as_ref().and_then(|l| l.added.as_ref());
                let mut out = self.grown(added, map_accumulator, conditional, min_n, max_n);
                out.value.values =
                    amortized(added.values, least_added.map(|l| l.values)).saturating_add(1);
                out.value.bytes = amortized(added.bytes, least_added.map(|l| l.bytes));
                out
            }
            None if grows => self.grown(&Bound::nothing(), map_accumulator, false, 0, 0),
            _ if max_n > 0 => Outcome::free(init.value.join(&full.step)),
            _ => Outcome::free(init.value.clone()),
        };
        self.locals.push(Local {
            name: c.accu_var.clone(),
            bound: final_bound.value.clone(),
            path: None,
            growth: None,
        });
        let result = self.visit(&c.result);
        self.locals.pop();
        let cost = Cost::fixed(1)
            .plus(range.cost)
            .plus(init.cost)
            .plus(loop_cost)
            .plus(result.cost);
        let in_loop = if min_n > 0 { full.fails } else { None };
        Est {
            cost,
            value: result.value,
            fails: range
                .fails
                .or(init.fails)
                .or(in_loop)
                .or(final_bound.fails)
                .or(result.fails),
            path: None,
        }
    }

    /// The variables a loop over `range` binds, at their largest and at
    /// their smallest.
    fn iteration_variables(
        &mut self,
        c: &Comprehension,
        range: &Est,
        range_ty: Option<&Type>,
    ) -> IterationVariables {
        let element_path = range.path.as_ref().map(elements_path);
        let element_ty = match range_ty {
            Some(Type::List(t)) => Some(&**t),
            Some(Type::Map(_, v)) => Some(&**v),
            _ => None,
        };
        let element = self.element(&range.value, element_ty, element_path.as_ref());
        let key = match range_ty {
            Some(Type::List(_)) => Bound::scalar(),
            Some(Type::Map(..)) => Self::key(&range.value),
            _ => Self::key(&range.value).join(&element),
        };
        let is_list = matches!(range_ty, Some(Type::List(_)));
        let largest: Vec<(String, Bound, Option<Arc<str>>)> = match &c.iter_var2 {
            Some(second) => vec![
                (c.iter_var.clone(), key, None),
                (second.clone(), element, element_path),
            ],
            None if is_list => vec![(c.iter_var.clone(), element, element_path)],
            None => vec![(c.iter_var.clone(), key, element_path)],
        };
        let sized = largest
            .iter()
            .any(|(_, b, _)| b.bytes > 0 || b.values > 1 || b.len > 0);
        let smallest = largest
            .iter()
            .map(|(name, _, path)| (name.clone(), Bound::scalar(), path.clone()))
            .collect();
        IterationVariables {
            largest,
            smallest,
            sized,
        }
    }

    /// One step of a loop with its variables bound to `variables`.
    fn body(
        &mut self,
        c: &Comprehension,
        variables: &[(String, Bound, Option<Arc<str>>)],
        grows: bool,
    ) -> Body {
        let scope = self.locals.len();
        for (name, bound, path) in variables {
            self.push_local(name, bound.clone(), path.clone());
        }
        let cond = self.visit(&c.loop_cond);
        let step = self.visit(&c.loop_step);
        self.locals.truncate(scope);
        let added = if grows { self.take_growth() } else { None };
        Body {
            cost: Cost::fixed(1).plus(cond.cost).plus(step.cost),
            step: step.value,
            added,
            fails: cond.fails.or(step.fails),
        }
    }

    /// What the steps seen so far added to the innermost accumulator.
    fn take_growth(&mut self) -> Option<Bound> {
        let local = self.locals.iter_mut().rev().find(|l| l.name == ACCU)?;
        local.growth.as_mut()?.added.take()
    }

    fn push_local(&mut self, name: &str, bound: Bound, path: Option<Arc<str>>) {
        self.locals.push(Local {
            name: name.to_string(),
            bound,
            path,
            growth: None,
        });
    }

    /// The accumulator of a `map`, `filter` (or of a `transformMap` when
    /// `map`) after `min_n` to `max_n` steps that each add `added` (only
    /// some of them when `conditional`). Its allocation was charged step
    /// by step.
    fn grown(
        &self,
        added: &Bound,
        map: bool,
        conditional: bool,
        min_n: u64,
        max_n: u64,
    ) -> Outcome {
        let least = if conditional {
            0
        } else {
            min_n.saturating_mul(added.min_len)
        };
        let most = max_n.saturating_mul(added.len);
        let mut out = if map {
            self.produce_map(least, most, Self::key(added), element_of(added))
        } else {
            self.produce_list(least, most, element_of(added))
        };
        let steps = if conditional { 0 } else { min_n };
        out.value.min_bytes = steps.saturating_mul(added.min_bytes);
        out.cost = Cost::default();
        out
    }
}

/// Loops nested deeper than this are estimated with every element at its
/// largest (each level estimates its step twice).
const AMORTIZED_DEPTH: usize = 6;

/// One step of a loop, as estimated.
struct Body {
    /// The iteration, the condition and the step.
    cost: Cost,
    /// The step's value.
    step: Bound,
    /// What the step adds to a growing accumulator.
    added: Option<Bound>,
    fails: Option<TooLarge>,
}

/// The variables of a loop: name, bound and path.
struct IterationVariables {
    largest: Vec<(String, Bound, Option<Arc<str>>)>,
    smallest: Vec<(String, Bound, Option<Arc<str>>)>,
    /// Whether the largest have a size at all.
    sized: bool,
}

impl IterationVariables {
    /// How many of the `n` elements of `range` can be at their largest at
    /// once: the elements together are no larger than the range.
    fn largest_elements(&self, range: &Bound, n: u64) -> u64 {
        let (mut bytes, mut values) = (0u64, 0u64);
        for (_, b, _) in &self.largest {
            bytes = bytes.saturating_add(b.bytes);
            values = values.saturating_add(b.values);
        }
        let mut k = n;
        if bytes > 0 {
            k = k.min(range.bytes.div_ceil(bytes));
        }
        if values > 1 {
            k = k.min(range.values.div_ceil(values));
        }
        k
    }
}

/// The total over `n` steps of something that is `least` for the
/// smallest element and `full` for the largest, of which at most `largest`
/// steps see: the rest is no more than the smallest case (for work that
/// grows with its element at least linearly, as loops over it do).
fn amortize(n: u64, largest: u64, least: u64, full: u64) -> u64 {
    let spread = n
        .saturating_mul(least)
        .saturating_add(largest.saturating_mul(full.saturating_sub(least)));
    spread.min(n.saturating_mul(full))
}

/// The certain failure of producing at least `least` of `kind` under `limit`.
fn over(kind: SizeKind, least: u64, limit: u64) -> Option<TooLarge> {
    (least > limit).then_some(TooLarge {
        kind,
        at_least: least,
        limit,
    })
}
