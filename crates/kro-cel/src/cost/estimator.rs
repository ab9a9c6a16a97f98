//! The walk over a checked tree: the cost of every node, the bounds of the
//! value it makes and the scopes of comprehension variables. The operators
//! are estimated in `operators.rs`, loops in `loops.rs`, library calls by
//! their rules (`rules.rs`).

mod loops;
mod operators;
pub(crate) mod rules;

use std::collections::BTreeSet;
use std::sync::Arc;

use indexmap::IndexMap;

use self::rules::Arg;
use super::bound::{Bound, Parts};
use super::units;
use super::{CostEstimate, InputSizes, TooLarge, UnboundedInput, ValueSize};
use crate::ast::{Expr, ExprKind, Literal, MapEntry};
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
}

/// The certain failure of producing at least `least` of `kind` under `limit`.
fn over(kind: SizeKind, least: u64, limit: u64) -> Option<TooLarge> {
    (least > limit).then_some(TooLarge {
        kind,
        at_least: least,
        limit,
    })
}
