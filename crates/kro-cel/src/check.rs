//! The type checker: deduces the type of every node, resolves overloads with
//! type parameters, scopes comprehension variables, and reports errors with
//! spans. It follows the CEL specification's checker (the algorithm cel-go's
//! `checker` package implements): type variables are unified through a
//! substitution map, unresolved variables become `dyn` at the end, and
//! heterogeneous aggregate literals are typed `dyn` instead of rejected.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{Comprehension, Expr, ExprId, ExprKind, FieldInit, Literal, MapEntry, Span};
use crate::decls::{Env, Overload};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::resolve;
use crate::types::Type;

/// A checked expression: the tree and the deduced type of every node.
#[derive(Debug, Clone)]
pub struct CheckedExpr {
    /// The parsed tree (unchanged).
    pub expr: Expr,
    /// Deduced type per node id (ids are dense, so a vector indexed by id).
    types: Vec<Option<Type>>,
    /// Deduced type of the whole expression.
    pub result_type: Type,
}

impl CheckedExpr {
    /// The deduced type of a node.
    pub fn type_of(&self, id: ExprId) -> Option<&Type> {
        self.types.get(id as usize).and_then(Option::as_ref)
    }
}

/// Type-checks `expr` against `env`.
pub fn check(env: &Env, expr: &Expr) -> Result<CheckedExpr, Diagnostics> {
    check_owned(env, expr.clone())
}

/// Type-checks `expr` against `env`, keeping the tree without copying it.
pub fn check_owned(env: &Env, expr: Expr) -> Result<CheckedExpr, Diagnostics> {
    let mut c = Checker {
        env,
        mapping: HashMap::new(),
        next_var: 0,
        types: vec![None; expr.max_id() as usize + 1],
        memo: resolve::VariableMemo::new(expr.max_id()),
        scopes: Vec::new(),
        errors: Vec::new(),
    };
    c.check(&expr);
    if !c.errors.is_empty() {
        return Err(Diagnostics(c.errors));
    }
    let mapping = std::mem::take(&mut c.mapping);
    let types: Vec<Option<Type>> = c
        .types
        .into_iter()
        .map(|t| t.map(|t| substitute(&mapping, &t, true)))
        .collect();
    let result_type = types
        .get(expr.id as usize)
        .cloned()
        .flatten()
        .unwrap_or(Type::Dyn);
    Ok(CheckedExpr {
        expr,
        types,
        result_type,
    })
}

type Mapping = HashMap<Arc<str>, Type>;

struct Checker<'a> {
    env: &'a Env,
    mapping: Mapping,
    next_var: usize,
    types: Vec<Option<Type>>,
    memo: resolve::VariableMemo,
    scopes: Vec<(String, Type)>,
    errors: Vec<Diagnostic>,
}

/// Where an error about `e` points: a method call or a field selection at
/// its name, after the receiver and its dot (`a.b.nope()` at `nope`), which
/// is what the reader looks for; anything else at its start.
fn name_span(e: &Expr) -> Span {
    let receiver = match &e.kind {
        ExprKind::Call {
            target: Some(target),
            ..
        } => target,
        ExprKind::Select { operand, .. } => operand,
        _ => return e.span,
    };
    let name_start = receiver.span.end.saturating_add(1);
    if receiver.span.start >= e.span.start && name_start < e.span.end {
        Span::new(name_start as usize, e.span.end as usize)
    } else {
        e.span
    }
}

impl Checker<'_> {
    fn fresh(&mut self) -> Type {
        self.next_var += 1;
        Type::Param(Arc::from(format!("_var{}", self.next_var)))
    }

    fn error(&mut self, e: &Expr, msg: String) {
        // Keep the first few; later ones are usually consequences.
        if self.errors.len() < 8 {
            self.errors.push(Diagnostic::new(msg, name_span(e)));
        }
    }

    fn local(&self, name: &str) -> Option<&Type> {
        self.scopes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    fn container_name(&self) -> &str {
        self.env.container.as_deref().unwrap_or("")
    }

    fn check(&mut self, e: &Expr) -> Type {
        let t = self.check_inner(e);
        if let Some(slot) = self.types.get_mut(e.id as usize) {
            *slot = Some(t.clone());
        }
        t
    }

    /// One method per node kind, as cel-go's checker dispatches.
    fn check_inner(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Literal(l) => literal_type(l),
            ExprKind::Ident(name) => self.check_ident(e, name),
            ExprKind::Select {
                operand,
                field,
                test_only,
                optional,
            } => self.check_select(e, operand, field, *test_only, *optional),
            ExprKind::Call {
                target,
                function,
                args,
            } => self.check_call(e, target.as_deref(), function, args),
            ExprKind::List {
                elements,
                optional_indices,
            } => self.check_list(elements, optional_indices),
            ExprKind::Map(entries) => self.check_map(entries),
            ExprKind::Struct { type_name, fields } => self.check_struct(e, type_name, fields),
            ExprKind::Comprehension(c) => self.check_comprehension(c),
        }
    }

    /// The declared variable `e` (an identifier or a dotted name) denotes,
    /// if any: qualified names win over field selection.
    fn memoized_variable(&mut self, e: &Expr) -> Option<Type> {
        let scopes = &self.scopes;
        let is_local = |n: &str| scopes.iter().any(|(l, _)| l == n);
        let name = self.memo.lookup(self.env, e, &is_local)?;
        Some(self.env.variables.get(&name).cloned().unwrap_or(Type::Dyn))
    }

    fn check_ident(&mut self, e: &Expr, name: &str) -> Type {
        if let Some(t) = self.memoized_variable(e) {
            return t;
        }
        if !name.starts_with('.')
            && let Some(t) = self.local(name)
        {
            return t.clone();
        }
        if let Some(t) = resolve::type_name(self.env, name) {
            return t;
        }
        let msg = format!(
            "undeclared reference to '{}' (in container '{}')",
            name.trim_start_matches('.'),
            self.container_name()
        );
        self.error(e, msg);
        Type::Error
    }

    fn check_select(
        &mut self,
        e: &Expr,
        operand: &Expr,
        field: &str,
        test_only: bool,
        optional: bool,
    ) -> Type {
        if let Some(t) = self.memoized_variable(e) {
            return t;
        }
        let scopes = &self.scopes;
        let is_local = |n: &str| scopes.iter().any(|(l, _)| l == n);
        if let Some(t) = resolve::qualified_type(self.env, e, &is_local) {
            return t;
        }
        let result = self.select_field(e, operand, field, optional);
        if test_only { Type::Bool } else { result }
    }

    fn check_list(&mut self, elements: &[Expr], optional_indices: &[usize]) -> Type {
        let mut elem: Option<Type> = None;
        for (i, x) in elements.iter().enumerate() {
            let mut t = self.check(x);
            if optional_indices.contains(&i) {
                t = self.unwrap_optional(x, t);
            }
            elem = Some(self.join(elem, t));
        }
        let elem = elem.unwrap_or_else(|| self.fresh());
        Type::list(elem)
    }

    fn check_map(&mut self, entries: &[MapEntry]) -> Type {
        let mut kt: Option<Type> = None;
        let mut vt: Option<Type> = None;
        for en in entries {
            let k = self.check(&en.key);
            kt = Some(self.join(kt, k));
            let mut v = self.check(&en.value);
            if en.optional {
                v = self.unwrap_optional(&en.value, v);
            }
            vt = Some(self.join(vt, v));
        }
        let k = kt.unwrap_or_else(|| self.fresh());
        let v = vt.unwrap_or_else(|| self.fresh());
        Type::map(k, v)
    }

    fn check_struct(&mut self, e: &Expr, type_name: &str, fields: &[FieldInit]) -> Type {
        let found = self
            .env
            .candidates(type_name)
            .into_iter()
            .find_map(|c| self.env.objects.get(&c).cloned());
        let Some(obj) = found else {
            for f in fields {
                self.check(&f.value);
            }
            let msg = format!(
                "undeclared reference to '{type_name}' (in container '{}')",
                self.container_name()
            );
            self.error(e, msg);
            return Type::Error;
        };
        for f in fields {
            let mut t = self.check(&f.value);
            if f.optional {
                t = self.unwrap_optional(&f.value, t);
            }
            match obj.fields.get(&f.name) {
                Some(ft) => {
                    let ft = ft.clone();
                    if !self.assignable(&ft, &t) {
                        let msg = format!(
                            "expected type of field '{}' is '{}' but provided type is '{}'",
                            f.name,
                            ft,
                            self.show(&t)
                        );
                        self.error(&f.value, msg);
                    }
                }
                None => {
                    let msg = format!("undefined field '{}'", f.name);
                    self.error(&f.value, msg);
                }
            }
        }
        Type::object(&obj.name)
    }

    fn check_comprehension(&mut self, c: &Comprehension) -> Type {
        let range = self.check(&c.iter_range);
        let range = substitute(&self.mapping, &range, false);
        let two = c.iter_var2.is_some();
        let (v1, v2) = match &range {
            Type::List(elem) => {
                if two {
                    (Type::Int, (**elem).clone())
                } else {
                    ((**elem).clone(), Type::Dyn)
                }
            }
            Type::Map(k, v) => ((**k).clone(), (**v).clone()),
            Type::Dyn | Type::Error => (Type::Dyn, Type::Dyn),
            Type::Param(_) => {
                self.assignable(&Type::Dyn, &range);
                (Type::Dyn, Type::Dyn)
            }
            other => {
                let msg = format!(
                    "expression of type '{}' cannot be range of a comprehension (must be list, map, or dynamic)",
                    self.show(other)
                );
                self.error(&c.iter_range, msg);
                (Type::Dyn, Type::Dyn)
            }
        };
        let accu = self.check(&c.accu_init);
        self.scopes.push((c.accu_var.clone(), accu.clone()));
        self.scopes.push((c.iter_var.clone(), v1));
        if let Some(n) = &c.iter_var2 {
            self.scopes.push((n.clone(), v2));
        }
        let cond = self.check(&c.loop_cond);
        if !self.assignable(&Type::Bool, &cond) {
            let msg = format!("expected type 'bool' but found '{}'", self.show(&cond));
            self.error(&c.loop_cond, msg);
        }
        let step = self.check(&c.loop_step);
        if !self.assignable(&accu, &step) {
            let msg = format!(
                "expected type '{}' but found '{}'",
                self.show(&accu),
                self.show(&step)
            );
            self.error(&c.loop_step, msg);
        }
        self.scopes
            .truncate(self.scopes.len() - 1 - usize::from(two));
        let result = self.check(&c.result);
        self.scopes.pop();
        result
    }

    fn show(&self, t: &Type) -> String {
        substitute(&self.mapping, t, true).to_string()
    }

    fn unwrap_optional(&mut self, e: &Expr, t: Type) -> Type {
        let t = substitute(&self.mapping, &t, false);
        if let Some(inner) = t.optional_inner() {
            return inner.clone();
        }
        if t.is_dyn_or_error() {
            return Type::Dyn;
        }
        if let Type::Param(_) = t {
            let inner = self.fresh();
            if self.assignable(&Type::optional(inner.clone()), &t) {
                return inner;
            }
        }
        let msg = format!(
            "expected type 'optional_type' but found '{}'",
            self.show(&t)
        );
        self.error(e, msg);
        Type::Error
    }

    fn select_field(&mut self, e: &Expr, operand: &Expr, field: &str, optional: bool) -> Type {
        let t = self.check(operand);
        let t = substitute(&self.mapping, &t, false);
        let (target, was_opt) = match t.optional_inner() {
            Some(inner) => (inner.clone(), true),
            None => (t, false),
        };
        let result = match &target {
            Type::Map(_, v) => (**v).clone(),
            Type::Object(name) => {
                let ft = self
                    .env
                    .objects
                    .get(&**name)
                    .and_then(|o| o.fields.get(field).cloned());
                match ft {
                    Some(ft) => ft,
                    None => {
                        let known = self.env.objects.contains_key(&**name);
                        let msg = if known {
                            format!("undefined field '{field}'")
                        } else {
                            format!("undeclared reference to message type '{name}'")
                        };
                        self.error(e, msg);
                        Type::Error
                    }
                }
            }
            Type::Param(_) => {
                self.assignable(&Type::Dyn, &target);
                Type::Dyn
            }
            Type::Dyn | Type::Error => Type::Dyn,
            other => {
                let msg = format!(
                    "type '{}' does not support field selection",
                    self.show(other)
                );
                self.error(e, msg);
                Type::Error
            }
        };
        if was_opt || optional {
            Type::optional(result)
        } else {
            result
        }
    }

    fn check_call(
        &mut self,
        e: &Expr,
        target: Option<&Expr>,
        function: &str,
        args: &[Expr],
    ) -> Type {
        let (name, member_target) = match target {
            Some(t) => {
                let scopes = &self.scopes;
                let is_local = |n: &str| scopes.iter().any(|(l, _)| l == n);
                match resolve::namespaced_function(self.env, t, function, &is_local) {
                    Some(q) => (q, None),
                    None => (function.to_string(), Some(t)),
                }
            }
            None => (
                resolve::global_function(self.env, function)
                    .unwrap_or_else(|| function.to_string()),
                None,
            ),
        };
        let mut arg_types = Vec::with_capacity(args.len() + 1);
        if let Some(t) = member_target {
            arg_types.push(self.check(t));
        }
        for a in args {
            arg_types.push(self.check(a));
        }
        // Copy the reference out so the overloads can be borrowed while `self` mutates.
        let env = self.env;
        let Some(decl) = env.functions.get(&name) else {
            let msg = format!(
                "undeclared reference to '{name}' (in container '{}')",
                self.container_name()
            );
            self.error(e, msg);
            return Type::Error;
        };
        self.resolve_overload(
            e,
            &name,
            member_target.is_some(),
            &decl.overloads,
            &arg_types,
        )
    }

    fn resolve_overload(
        &mut self,
        e: &Expr,
        name: &str,
        member: bool,
        overloads: &[Overload],
        args: &[Type],
    ) -> Type {
        let mut result: Option<Type> = None;
        for o in overloads {
            if o.member != member
                || o.params.len() != args.len()
                || args
                    .iter()
                    .zip(&o.params)
                    .any(|(a, p)| clearly_unassignable(p, a))
            {
                continue;
            }
            // Instantiate the overload's type parameters with fresh variables.
            let mut params = Vec::new();
            for p in &o.params {
                collect_params(p, &mut params);
            }
            collect_params(&o.result, &mut params);
            let mut inst = Mapping::new();
            for p in params {
                let v = self.fresh();
                inst.insert(p, v);
            }
            let formal: std::borrow::Cow<'_, [Type]> = if inst.is_empty() {
                std::borrow::Cow::Borrowed(&o.params)
            } else {
                o.params
                    .iter()
                    .map(|p| substitute(&inst, p, false))
                    .collect()
            };
            let mut trial = self.mapping.clone();
            let ok = args
                .iter()
                .zip(formal.iter())
                .all(|(a, f)| assignable(&mut trial, a, f));
            if !ok {
                continue;
            }
            self.mapping = trial;
            let rt = substitute(&self.mapping, &substitute(&inst, &o.result, false), false);
            result = Some(match result {
                None => rt,
                Some(prev) if prev == Type::Dyn || prev == rt => prev,
                Some(_) => Type::Dyn,
            });
        }
        match result {
            Some(t) => t,
            None => {
                if args.iter().any(|a| matches!(a, Type::Error)) {
                    return Type::Error;
                }
                let shown: Vec<String> = args.iter().map(|a| self.show(a)).collect();
                let msg = if member && !shown.is_empty() {
                    format!(
                        "found no matching overload for '{name}' applied to '{}.({})'",
                        shown[0],
                        shown[1..].join(", ")
                    )
                } else {
                    format!(
                        "found no matching overload for '{name}' applied to '({})'",
                        shown.join(", ")
                    )
                };
                self.error(e, msg);
                Type::Error
            }
        }
    }

    /// The element type of an aggregate literal given the previous elements'
    /// type: the more general of the two when compatible, else `dyn`.
    fn join(&mut self, prev: Option<Type>, cur: Type) -> Type {
        match prev {
            None => cur,
            Some(p) => {
                if self.assignable(&p, &cur) {
                    most_general(&p, &cur)
                } else {
                    Type::Dyn
                }
            }
        }
    }

    fn assignable(&mut self, t1: &Type, t2: &Type) -> bool {
        let mut trial = self.mapping.clone();
        if assignable(&mut trial, t1, t2) {
            self.mapping = trial;
            true
        } else {
            false
        }
    }
}

/// A cheap pre-test: two different concrete scalar types never match, so the
/// overload can be skipped without trying (and copying the substitutions).
fn clearly_unassignable(param: &Type, arg: &Type) -> bool {
    let scalar = |t: &Type| {
        matches!(
            t,
            Type::Bool
                | Type::Int
                | Type::Uint
                | Type::Double
                | Type::String
                | Type::Bytes
                | Type::Timestamp
                | Type::Duration
        )
    };
    scalar(param) && scalar(arg) && param != arg
}

fn collect_params(t: &Type, out: &mut Vec<Arc<str>>) {
    match t {
        Type::Param(p) if !out.contains(p) => out.push(p.clone()),
        Type::Param(_) => {}
        Type::List(e) => collect_params(e, out),
        Type::Map(k, v) => {
            collect_params(k, out);
            collect_params(v, out);
        }
        Type::Opaque(_, ps) => ps.iter().for_each(|p| collect_params(p, out)),
        Type::Type(Some(t)) => collect_params(t, out),
        _ => {}
    }
}

/// Applies the substitutions; with `to_dyn`, unbound type variables become `dyn`.
fn substitute(m: &Mapping, t: &Type, to_dyn: bool) -> Type {
    substitute_depth(m, t, to_dyn, 0)
}

fn substitute_depth(m: &Mapping, t: &Type, to_dyn: bool, depth: usize) -> Type {
    if depth > 64 {
        return Type::Dyn;
    }
    let rec = |x: &Type| substitute_depth(m, x, to_dyn, depth + 1);
    match t {
        Type::Param(p) => match m.get(p) {
            Some(s) => rec(s),
            None if to_dyn => Type::Dyn,
            None => t.clone(),
        },
        Type::List(e) => Type::list(rec(e)),
        Type::Map(k, v) => Type::map(rec(k), rec(v)),
        Type::Opaque(n, ps) => Type::Opaque(n.clone(), ps.iter().map(rec).collect()),
        Type::Type(Some(x)) => Type::type_of(rec(x)),
        other => other.clone(),
    }
}

fn nullable(t: &Type) -> bool {
    matches!(
        t,
        Type::Null
            | Type::Opaque(..)
            | Type::Object(_)
            | Type::Dyn
            | Type::Error
            | Type::Duration
            | Type::Timestamp
    )
}

/// Whether a value of type `t2` may be used where `t1` is expected (and vice
/// versa for type variables), extending the substitution map `m` as needed.
fn assignable(m: &mut Mapping, t1: &Type, t2: &Type) -> bool {
    assignable_depth(m, t1, t2, 0)
}

fn assignable_depth(m: &mut Mapping, t1: &Type, t2: &Type, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    if t1 == t2 {
        return true;
    }
    if let Type::Param(_) = t2 {
        let (valid, has_sub) = valid_substitution(m, t1, t2, depth);
        if valid {
            return true;
        }
        if has_sub {
            return false;
        }
    }
    if let Type::Param(_) = t1 {
        return valid_substitution(m, t2, t1, depth).0;
    }
    if t1.is_dyn_or_error() || t2.is_dyn_or_error() {
        return true;
    }
    if *t1 == Type::Null {
        return nullable(t2);
    }
    if *t2 == Type::Null {
        return nullable(t1);
    }
    let d = depth + 1;
    match (t1, t2) {
        (Type::List(a), Type::List(b)) => assignable_depth(m, a, b, d),
        (Type::Map(k1, v1), Type::Map(k2, v2)) => {
            assignable_depth(m, k1, k2, d) && assignable_depth(m, v1, v2, d)
        }
        (Type::Opaque(n1, p1), Type::Opaque(n2, p2)) => {
            n1 == n2
                && p1.len() == p2.len()
                && p1
                    .iter()
                    .zip(p2.iter())
                    .all(|(a, b)| assignable_depth(m, a, b, d))
        }
        // Type values of different types may be compared (`type(1) == type(1u)`).
        (Type::Type(_), Type::Type(_)) => true,
        _ => false,
    }
}

/// Tries to bind the type variable `t2` to `t1` (or to the more general of
/// `t1` and its existing binding). Returns (valid, t2 already had a binding).
fn valid_substitution(m: &mut Mapping, t1: &Type, t2: &Type, depth: usize) -> (bool, bool) {
    let Type::Param(p2) = t2 else {
        return (false, false);
    };
    if t1 == t2 {
        return (true, true);
    }
    if let Some(sub) = m.get(p2).cloned() {
        if *t1 == sub {
            return (true, true);
        }
        if assignable_depth(m, t1, &sub, depth + 1) {
            let general = most_general(t1, &sub);
            if not_referenced_in(m, p2, &general, 0) {
                m.insert(p2.clone(), general);
            }
            return (true, true);
        }
        return (false, true);
    }
    if not_referenced_in(m, p2, t1, 0) {
        m.insert(p2.clone(), t1.clone());
        return (true, false);
    }
    (false, false)
}

fn not_referenced_in(m: &Mapping, p: &Arc<str>, t: &Type, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match t {
        Type::Param(q) => {
            if q == p {
                return false;
            }
            match m.get(q) {
                Some(s) => not_referenced_in(m, p, s, depth + 1),
                None => true,
            }
        }
        Type::List(e) => not_referenced_in(m, p, e, depth + 1),
        Type::Map(k, v) => {
            not_referenced_in(m, p, k, depth + 1) && not_referenced_in(m, p, v, depth + 1)
        }
        Type::Opaque(_, ps) => ps.iter().all(|x| not_referenced_in(m, p, x, depth + 1)),
        Type::Type(Some(x)) => not_referenced_in(m, p, x, depth + 1),
        _ => true,
    }
}

fn most_general(a: &Type, b: &Type) -> Type {
    // `null` joins with any nullable type as that type.
    if *a == Type::Null {
        return b.clone();
    }
    if *b == Type::Null {
        return a.clone();
    }
    if less_specific(a, b) {
        a.clone()
    } else {
        b.clone()
    }
}

/// True when `a` is at most as specific as `b` (`dyn` and variables are the least specific).
fn less_specific(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Dyn | Type::Param(_), _) => true,
        (_, Type::Dyn | Type::Param(_)) => false,
        (Type::List(x), Type::List(y)) => less_specific(x, y),
        (Type::Map(k1, v1), Type::Map(k2, v2)) => less_specific(k1, k2) && less_specific(v1, v2),
        (Type::Opaque(n1, p1), Type::Opaque(n2, p2)) => {
            n1 == n2
                && p1.len() == p2.len()
                && p1.iter().zip(p2.iter()).all(|(x, y)| less_specific(x, y))
        }
        (Type::Type(Some(x)), Type::Type(Some(y))) => less_specific(x, y),
        _ => a == b,
    }
}

/// The type of a constant.
fn literal_type(l: &Literal) -> Type {
    match l {
        Literal::Null => Type::Null,
        Literal::Bool(_) => Type::Bool,
        Literal::Int(_) => Type::Int,
        Literal::Uint(_) => Type::Uint,
        Literal::Double(_) => Type::Double,
        Literal::String(_) => Type::String,
        Literal::Bytes(_) => Type::Bytes,
    }
}
