//! Planning (AST to an evaluation tree with names and functions resolved) and
//! evaluation with the spec's error semantics and a cost budget.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::ast::{Expr, ExprKind, Literal};
use crate::decls::{Env, FunctionImpl};
use crate::error::EvalError;
use crate::lib_std::ops;
use crate::resolve;
use crate::value::{Key, Map, Value};

/// Supplies variable values to an evaluation.
pub trait Activation {
    /// The value of variable `name`, if bound.
    fn resolve(&self, name: &str) -> Option<Value>;
}

impl Activation for () {
    fn resolve(&self, _: &str) -> Option<Value> {
        None
    }
}

impl<S: std::hash::BuildHasher> Activation for HashMap<String, Value, S> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for BTreeMap<String, Value> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for IndexMap<String, Value> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

impl Activation for &[(&str, Value)] {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

impl Activation for Vec<(&str, Value)> {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.as_slice().resolve(name)
    }
}

impl<const N: usize> Activation for [(&str, Value); N] {
    fn resolve(&self, name: &str) -> Option<Value> {
        self.as_slice().resolve(name)
    }
}

/// Variables bound to JSON documents, converted to CEL values only when an
/// expression first reads them (kro binds every resource of a graph, and an
/// expression usually reads one or two). Each conversion is cached for the
/// lifetime of the activation.
#[derive(Debug, Default)]
pub struct JsonActivation<'a> {
    documents: IndexMap<String, &'a serde_json::Value>,
    converted: std::cell::RefCell<HashMap<String, Value>>,
}

impl<'a> JsonActivation<'a> {
    /// An activation with no variables.
    pub fn new() -> Self {
        JsonActivation::default()
    }

    /// Binds `name` to a JSON document.
    pub fn bind(&mut self, name: &str, document: &'a serde_json::Value) -> &mut Self {
        self.documents.insert(name.to_string(), document);
        self.converted.borrow_mut().remove(name);
        self
    }
}

impl Activation for JsonActivation<'_> {
    fn resolve(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.converted.borrow().get(name) {
            return Some(v.clone());
        }
        let doc = self.documents.get(name)?;
        let v = Value::from_json(doc);
        self.converted
            .borrow_mut()
            .insert(name.to_string(), v.clone());
        Some(v)
    }
}

#[derive(Clone, Copy, Debug)]
enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    In,
    Index,
}

/// A planned node.
#[derive(Clone)]
enum Node {
    Const(Value),
    Var(Arc<str>),
    Local(Arc<str>),
    Select {
        operand: Box<Node>,
        /// The field as a ready-made map key, so selection does not allocate.
        field: Key,
        test_only: bool,
        optional: bool,
    },
    Binary(BinOp, Box<Node>, Box<Node>),
    Call {
        name: Arc<str>,
        imp: Option<FunctionImpl>,
        args: Vec<Node>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    NotStrictlyFalse(Box<Node>),
    List {
        elements: Vec<Node>,
        optional: Vec<bool>,
    },
    Map(Vec<(Node, Node, bool)>),
    Object {
        fields: Vec<(Arc<str>, Node, bool)>,
    },
    Comprehension(Box<Comp>),
    Fail(EvalError),
}

#[derive(Clone)]
struct Comp {
    iter_var: Arc<str>,
    iter_var2: Option<Arc<str>>,
    range: Node,
    accu_var: Arc<str>,
    init: Node,
    cond: Node,
    step: Node,
    result: Node,
}

/// A compiled expression, ready to evaluate any number of times.
#[derive(Clone)]
pub struct Program {
    root: Node,
    cost_budget: Option<u64>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("cost_budget", &self.cost_budget)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// Plans `expr` against `env`. Works for checked and unchecked trees: names
    /// are resolved against the environment's declarations; undeclared names are
    /// looked up in the activation at run time.
    pub fn plan(env: &Env, expr: &Expr) -> Program {
        let mut p = Planner {
            env,
            locals: Vec::new(),
            memo: resolve::VariableMemo::new(expr.max_id()),
        };
        Program {
            root: p.plan(expr),
            cost_budget: env.limits.cost_budget,
        }
    }

    /// Replaces the runtime cost budget (`None`: unlimited).
    pub fn with_cost_budget(mut self, budget: Option<u64>) -> Program {
        self.cost_budget = budget;
        self
    }

    /// Evaluates with the variables in `activation`.
    pub fn eval(&self, activation: &dyn Activation) -> Result<Value, EvalError> {
        self.eval_with_cost(activation).0
    }

    /// Evaluates and also returns the cost spent.
    pub fn eval_with_cost(&self, activation: &dyn Activation) -> (Result<Value, EvalError>, u64) {
        let mut ctx = Ctx {
            act: activation,
            locals: Vec::new(),
            cost: 0,
            budget: self.cost_budget.unwrap_or(u64::MAX),
        };
        let r = ctx.eval(&self.root);
        (r, ctx.cost)
    }
}

struct Planner<'a> {
    env: &'a Env,
    locals: Vec<String>,
    memo: resolve::VariableMemo,
}

impl Planner<'_> {
    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|l| l == name)
    }

    fn plan(&mut self, e: &Expr) -> Node {
        if matches!(e.kind, ExprKind::Ident(_) | ExprKind::Select { .. }) {
            let locals = &self.locals;
            let is_local = |n: &str| locals.iter().any(|l| l == n);
            if let Some(name) = self.memo.lookup(self.env, e, &is_local) {
                return Node::Var(Arc::from(name));
            }
        }
        match &e.kind {
            ExprKind::Literal(l) => Node::Const(literal(l)),
            ExprKind::Ident(n) => {
                if !n.starts_with('.') && self.is_local(n) {
                    return Node::Local(Arc::from(n.as_str()));
                }
                if let Some(t) = resolve::type_name(self.env, n) {
                    return Node::Const(type_value(t));
                }
                Node::Var(Arc::from(n.trim_start_matches('.')))
            }
            ExprKind::Select {
                operand,
                field,
                test_only,
                optional,
            } => {
                let locals = &self.locals;
                let is_local = |n: &str| locals.iter().any(|l| l == n);
                if let Some(t) = resolve::qualified_type(self.env, e, &is_local) {
                    return Node::Const(type_value(t));
                }
                Node::Select {
                    operand: Box::new(self.plan(operand)),
                    field: Key::String(Arc::from(field.as_str())),
                    test_only: *test_only,
                    optional: *optional,
                }
            }
            ExprKind::Call {
                target,
                function,
                args,
            } => self.plan_call(target.as_deref(), function, args),
            ExprKind::List {
                elements,
                optional_indices,
            } => Node::List {
                elements: elements.iter().map(|x| self.plan(x)).collect(),
                optional: (0..elements.len())
                    .map(|i| optional_indices.contains(&i))
                    .collect(),
            },
            ExprKind::Map(entries) => Node::Map(
                entries
                    .iter()
                    .map(|en| (self.plan(&en.key), self.plan(&en.value), en.optional))
                    .collect(),
            ),
            ExprKind::Struct { type_name, fields } => {
                let known = self
                    .env
                    .candidates(type_name)
                    .into_iter()
                    .any(|c| self.env.objects.contains_key(&c));
                if !known {
                    return Node::Fail(EvalError::Unsupported(format!(
                        "construction of message type {type_name}"
                    )));
                }
                Node::Object {
                    fields: fields
                        .iter()
                        .map(|f| (Arc::from(f.name.as_str()), self.plan(&f.value), f.optional))
                        .collect(),
                }
            }
            ExprKind::Comprehension(c) => {
                let range = self.plan(&c.iter_range);
                let init = self.plan(&c.accu_init);
                self.locals.push(c.accu_var.clone());
                let result = self.plan(&c.result);
                self.locals.push(c.iter_var.clone());
                if let Some(v2) = &c.iter_var2 {
                    self.locals.push(v2.clone());
                }
                let cond = self.plan(&c.loop_cond);
                let step = self.plan(&c.loop_step);
                self.locals
                    .truncate(self.locals.len() - 2 - usize::from(c.iter_var2.is_some()));
                Node::Comprehension(Box::new(Comp {
                    iter_var: Arc::from(c.iter_var.as_str()),
                    iter_var2: c.iter_var2.as_deref().map(Arc::from),
                    range,
                    accu_var: Arc::from(c.accu_var.as_str()),
                    init,
                    cond,
                    step,
                    result,
                }))
            }
        }
    }

    fn plan_call(&mut self, target: Option<&Expr>, function: &str, args: &[Expr]) -> Node {
        let mut planned: Vec<Node> = Vec::with_capacity(args.len() + 1);
        let name = match target {
            Some(t) => {
                let locals = &self.locals;
                let is_local = |n: &str| locals.iter().any(|l| l == n);
                match resolve::namespaced_function(self.env, t, function, &is_local) {
                    Some(q) => q,
                    None => {
                        planned.push(self.plan(t));
                        function.to_string()
                    }
                }
            }
            None => {
                resolve::global_function(self.env, function).unwrap_or_else(|| function.to_string())
            }
        };
        planned.extend(args.iter().map(|a| self.plan(a)));
        let two = |p: &mut Vec<Node>| {
            let b = p.pop().map(Box::new);
            let a = p.pop().map(Box::new);
            a.zip(b)
        };
        let bin = |op: BinOp, p: &mut Vec<Node>| two(p).map(|(a, b)| Node::Binary(op, a, b));
        let n = planned.len();
        let special = match (name.as_str(), n) {
            ("_&&_", 2) => two(&mut planned).map(|(a, b)| Node::And(a, b)),
            ("_||_", 2) => two(&mut planned).map(|(a, b)| Node::Or(a, b)),
            ("!_", 1) => planned.pop().map(|a| Node::Not(Box::new(a))),
            ("@not_strictly_false", 1) => {
                planned.pop().map(|a| Node::NotStrictlyFalse(Box::new(a)))
            }
            ("_?_:_", 3) => {
                let f = planned.pop().map(Box::new);
                let t = planned.pop().map(Box::new);
                let c = planned.pop().map(Box::new);
                match (c, t, f) {
                    (Some(c), Some(t), Some(f)) => Some(Node::Cond(c, t, f)),
                    _ => None,
                }
            }
            ("_==_", 2) => bin(BinOp::Eq, &mut planned),
            ("_!=_", 2) => bin(BinOp::Ne, &mut planned),
            ("_<_", 2) => bin(BinOp::Lt, &mut planned),
            ("_<=_", 2) => bin(BinOp::Le, &mut planned),
            ("_>_", 2) => bin(BinOp::Gt, &mut planned),
            ("_>=_", 2) => bin(BinOp::Ge, &mut planned),
            ("_+_", 2) => bin(BinOp::Add, &mut planned),
            ("_-_", 2) => bin(BinOp::Sub, &mut planned),
            ("_*_", 2) => bin(BinOp::Mul, &mut planned),
            ("_/_", 2) => bin(BinOp::Div, &mut planned),
            ("_%_", 2) => bin(BinOp::Mod, &mut planned),
            ("@in", 2) => bin(BinOp::In, &mut planned),
            ("_[_]", 2) => bin(BinOp::Index, &mut planned),
            _ => None,
        };
        if let Some(node) = special {
            return node;
        }
        let imp = self
            .env
            .functions
            .get(&name)
            .and_then(|f| f.implementation.clone());
        Node::Call {
            name: Arc::from(name),
            imp,
            args: planned,
        }
    }
}

fn type_value(t: crate::Type) -> Value {
    match t {
        crate::Type::Type(Some(inner)) => Value::Type((*inner).clone()),
        other => Value::Type(other),
    }
}

pub(crate) fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Uint(u) => Value::Uint(*u),
        Literal::Double(d) => Value::Double(*d),
        Literal::String(s) => Value::String(s.clone()),
        Literal::Bytes(b) => Value::Bytes(b.clone()),
    }
}

type R = Result<Value, EvalError>;

struct Ctx<'a> {
    act: &'a dyn Activation,
    /// Comprehension variables, innermost last. Accumulators may hold errors:
    /// `exists` must be able to absorb an error from an earlier iteration.
    locals: Vec<(Arc<str>, R)>,
    cost: u64,
    budget: u64,
}

impl Ctx<'_> {
    fn charge(&mut self, n: u64) -> Result<(), EvalError> {
        self.cost = self.cost.saturating_add(n);
        if self.cost > self.budget {
            return Err(EvalError::CostExceeded { limit: self.budget });
        }
        Ok(())
    }

    /// Evaluates one node. Kept small (the rare, bulky cases live in their own
    /// functions) so that the recursion's stack frames stay small and fast.
    fn eval(&mut self, n: &Node) -> R {
        self.charge(1)?;
        match n {
            Node::Const(v) => Ok(v.clone()),
            Node::Var(name) => self
                .act
                .resolve(name)
                .ok_or_else(|| EvalError::UnknownVariable(name.to_string())),
            Node::Local(name) => match self.locals.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => Err(EvalError::UnknownVariable(name.to_string())),
            },
            Node::Select {
                operand,
                field,
                test_only,
                optional,
            } => {
                let v = self.eval(operand)?;
                ops::select(&v, field, *test_only, *optional)
            }
            Node::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                self.binary(*op, &a, &b)
            }
            Node::Call { name, imp, args } => self.call(name, imp.as_ref(), args),
            Node::And(a, b) => self.and(a, b),
            Node::Or(a, b) => self.or(a, b),
            Node::Not(a) => match self.eval(a)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                other => Err(EvalError::no_overload("!_", &[other])),
            },
            Node::Cond(c, t, f) => match self.eval(c)? {
                Value::Bool(true) => self.eval(t),
                Value::Bool(false) => self.eval(f),
                other => Err(EvalError::no_overload("_?_:_", &[other])),
            },
            Node::NotStrictlyFalse(a) => match self.eval(a) {
                Ok(Value::Bool(b)) => Ok(Value::Bool(b)),
                Err(e @ EvalError::CostExceeded { .. }) => Err(e),
                _ => Ok(Value::Bool(true)),
            },
            Node::List { elements, optional } => self.list(elements, optional),
            Node::Map(entries) => self.map(entries),
            Node::Object { fields } => self.object(fields),
            Node::Comprehension(c) => self.comprehension(c),
            Node::Fail(e) => Err(e.clone()),
        }
    }

    #[inline(always)]
    fn binary(&mut self, op: BinOp, a: &Value, b: &Value) -> R {
        // The common case of kro conditions first.
        if let (BinOp::Eq, Value::Int(x), Value::Int(y)) = (op, a, b) {
            return Ok(Value::Bool(x == y));
        }
        self.binary_slow(op, a, b)
    }

    #[inline(never)]
    fn binary_slow(&mut self, op: BinOp, a: &Value, b: &Value) -> R {
        match op {
            BinOp::Eq => Ok(Value::Bool(a.equals(b))),
            BinOp::Ne => Ok(Value::Bool(!a.equals(b))),
            BinOp::Lt => ops::relation(a, b, |o| o.is_lt()),
            BinOp::Le => ops::relation(a, b, |o| o.is_le()),
            BinOp::Gt => ops::relation(a, b, |o| o.is_gt()),
            BinOp::Ge => ops::relation(a, b, |o| o.is_ge()),
            BinOp::Add => {
                let units = crate::cost::units(a) + crate::cost::units(b);
                self.charge((units / 100) as u64)?;
                ops::add(a, b)
            }
            BinOp::Sub => ops::sub(a, b),
            BinOp::Mul => ops::mul(a, b),
            BinOp::Div => ops::div(a, b),
            BinOp::Mod => ops::rem(a, b),
            BinOp::In => ops::contains(b, a),
            BinOp::Index => ops::index(a, b, false),
        }
    }

    #[inline(never)]
    fn call(&mut self, name: &str, imp: Option<&FunctionImpl>, args: &[Node]) -> R {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        self.charge(crate::cost::call_cost(&vals))?;
        let out = match imp {
            Some(f) => f(&vals)?,
            None => return Err(EvalError::UnknownFunction(name.to_string())),
        };
        self.charge(crate::cost::call_cost(std::slice::from_ref(&out)))?;
        Ok(out)
    }

    #[inline(never)]
    fn and(&mut self, a: &Node, b: &Node) -> R {
        let l = self.eval(a);
        if matches!(l, Ok(Value::Bool(false))) {
            return Ok(Value::Bool(false));
        }
        if let Err(EvalError::CostExceeded { .. }) = l {
            return l;
        }
        let r = self.eval(b);
        match (l, r) {
            (_, Ok(Value::Bool(false))) => Ok(Value::Bool(false)),
            (_, Err(e @ EvalError::CostExceeded { .. })) => Err(e),
            (Ok(Value::Bool(true)), Ok(Value::Bool(true))) => Ok(Value::Bool(true)),
            (Err(e), _) => Err(e),
            (Ok(Value::Bool(true)), Err(e)) => Err(e),
            (Ok(x), Ok(y)) => Err(EvalError::no_overload("_&&_", &[x, y])),
            (Ok(x), Err(_)) => Err(EvalError::no_overload("_&&_", &[x])),
        }
    }

    #[inline(never)]
    fn or(&mut self, a: &Node, b: &Node) -> R {
        let l = self.eval(a);
        if matches!(l, Ok(Value::Bool(true))) {
            return Ok(Value::Bool(true));
        }
        if let Err(EvalError::CostExceeded { .. }) = l {
            return l;
        }
        let r = self.eval(b);
        match (l, r) {
            (_, Ok(Value::Bool(true))) => Ok(Value::Bool(true)),
            (_, Err(e @ EvalError::CostExceeded { .. })) => Err(e),
            (Ok(Value::Bool(false)), Ok(Value::Bool(false))) => Ok(Value::Bool(false)),
            (Err(e), _) => Err(e),
            (Ok(Value::Bool(false)), Err(e)) => Err(e),
            (Ok(x), Ok(y)) => Err(EvalError::no_overload("_||_", &[x, y])),
            (Ok(x), Err(_)) => Err(EvalError::no_overload("_||_", &[x])),
        }
    }

    #[inline(never)]
    fn list(&mut self, elements: &[Node], optional: &[bool]) -> R {
        let mut out = Vec::with_capacity(elements.len());
        for (e, opt) in elements.iter().zip(optional) {
            let v = self.eval(e)?;
            if *opt {
                match v {
                    Value::Optional(Some(inner)) => out.push((*inner).clone()),
                    Value::Optional(None) => {}
                    other => {
                        return Err(EvalError::no_overload("optional list element", &[other]));
                    }
                }
            } else {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    }

    #[inline(never)]
    fn map(&mut self, entries: &[(Node, Node, bool)]) -> R {
        let mut m = Map::with_capacity(entries.len());
        for (k, v, opt) in entries {
            let kv = self.eval(k)?;
            let key = Key::from_value(&kv).ok_or_else(|| {
                EvalError::InvalidArgument(format!("unsupported key type: {}", kv.type_name()))
            })?;
            let mut val = self.eval(v)?;
            if *opt {
                match val {
                    Value::Optional(Some(inner)) => val = (*inner).clone(),
                    Value::Optional(None) => continue,
                    other => {
                        return Err(EvalError::no_overload("optional map entry", &[other]));
                    }
                }
            }
            if Value::map_get(&m, &kv).is_some() {
                return Err(EvalError::RepeatedKey(key.to_string()));
            }
            m.insert(key, val);
        }
        Ok(Value::Map(Arc::new(m)))
    }

    #[inline(never)]
    fn object(&mut self, fields: &[(Arc<str>, Node, bool)]) -> R {
        let mut m = Map::with_capacity(fields.len());
        for (name, v, opt) in fields {
            let mut val = self.eval(v)?;
            if *opt {
                match val {
                    Value::Optional(Some(inner)) => val = (*inner).clone(),
                    Value::Optional(None) => continue,
                    other => {
                        return Err(EvalError::no_overload("optional field", &[other]));
                    }
                }
            }
            m.insert(Key::String(name.clone()), val);
        }
        Ok(Value::Map(Arc::new(m)))
    }

    fn comprehension(&mut self, c: &Comp) -> R {
        let range = self.eval(&c.range)?;
        let count = match &range {
            Value::List(l) => l.len(),
            Value::Map(m) => m.len(),
            other => {
                return Err(EvalError::no_overload(
                    "comprehension range",
                    std::slice::from_ref(other),
                ));
            }
        };
        let is_list = matches!(range, Value::List(_));
        let init = self.eval(&c.init);
        let base = self.locals.len();
        self.locals.push((c.accu_var.clone(), init));
        let accu_slot = base;
        let mut outcome = Ok(());
        for i in 0..count {
            // Index instead of collecting, so a loop does not copy its range.
            let (k, v) = match &range {
                Value::List(l) => (Value::Int(i as i64), l[i].clone()),
                Value::Map(m) => match m.get_index(i) {
                    Some((k, v)) => (k.to_value(), v.clone()),
                    None => break,
                },
                _ => break,
            };
            if let Err(e) = self.charge(1) {
                outcome = Err(e);
                break;
            }
            match &c.iter_var2 {
                Some(v2) => {
                    self.locals.push((c.iter_var.clone(), Ok(k)));
                    self.locals.push((v2.clone(), Ok(v)));
                }
                None => {
                    let single = if is_list { v } else { k };
                    self.locals.push((c.iter_var.clone(), Ok(single)));
                }
            }
            let cond = self.eval(&c.cond);
            let stop = match cond {
                Ok(Value::Bool(false)) => true,
                Ok(Value::Bool(true)) => false,
                Err(e @ EvalError::CostExceeded { .. }) => {
                    outcome = Err(e);
                    true
                }
                Err(e) => {
                    outcome = Err(e);
                    true
                }
                Ok(other) => {
                    outcome = Err(EvalError::no_overload("loop condition", &[other]));
                    true
                }
            };
            if !stop {
                let step = self.eval(&c.step);
                if let Err(e @ EvalError::CostExceeded { .. }) = step {
                    outcome = Err(e);
                    self.locals.truncate(base + 1);
                    break;
                }
                self.locals[accu_slot].1 = step;
            }
            self.locals.truncate(base + 1);
            if stop {
                break;
            }
        }
        let result = match outcome {
            Ok(()) => self.eval(&c.result),
            Err(e) => Err(e),
        };
        self.locals.truncate(base);
        result
    }
}
