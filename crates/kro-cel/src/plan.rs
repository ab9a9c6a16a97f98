//! Planning: the AST becomes an evaluation tree with names, namespaced
//! functions and implementations resolved once, so evaluation does no lookups
//! by name except for variables.

use std::sync::Arc;

use crate::ast::{Expr, ExprKind, Literal};
use crate::decls::{Env, FunctionImpl};
use crate::error::EvalError;
use crate::regexes::ProgramRegexes;
use crate::resolve;
use crate::value::{Key, Value};

#[derive(Clone, Copy, Debug)]
pub(crate) enum BinOp {
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
pub(crate) enum Node {
    Const(Value),
    Var(Arc<str>),
    Local(Arc<str>),
    /// A read of a macro's hidden accumulator inside its loop step: the value
    /// is moved out of its slot (the step's result replaces it anyway), so
    /// `@result + [x]` can append in place instead of copying the list.
    TakeLocal(Arc<str>),
    /// `cel.@mapInsert(accumulator, ...)`, inserting in place when possible.
    MapInsert(Vec<Node>),
    Select {
        operand: Box<Node>,
        /// The field as a ready-made map key, so selection does not allocate.
        field: Key,
        test_only: bool,
        optional: bool,
        /// What hashing the field costs beyond the node (0 but for very
        /// long names).
        cost: u64,
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
pub(crate) struct Comp {
    pub(crate) iter_var: Arc<str>,
    pub(crate) iter_var2: Option<Arc<str>>,
    pub(crate) range: Node,
    pub(crate) accu_var: Arc<str>,
    pub(crate) init: Node,
    pub(crate) cond: Node,
    pub(crate) step: Node,
    pub(crate) result: Node,
}

pub(crate) struct Planner<'a> {
    pub(crate) env: &'a Env,
    pub(crate) locals: Vec<String>,
    pub(crate) memo: resolve::VariableMemo,
    /// Whether reads of the macro accumulator may move it (see [`Node::TakeLocal`]).
    pub(crate) take_accu: bool,
    /// The literal patterns of regex functions, compiled now.
    pub(crate) regexes: ProgramRegexes,
}

impl Planner<'_> {
    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|l| l == name)
    }

    pub(crate) fn plan(&mut self, e: &Expr) -> Node {
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
                    if self.take_accu && n == crate::macros::ACCU {
                        return Node::TakeLocal(Arc::from(n.as_str()));
                    }
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
                    cost: field.len() as u64 / crate::meter::READ_PER_UNIT,
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
                let outer_take = std::mem::replace(&mut self.take_accu, false);
                let range = self.plan(&c.iter_range);
                let init = self.plan(&c.accu_init);
                self.locals.push(c.accu_var.clone());
                let result = self.plan(&c.result);
                self.locals.push(c.iter_var.clone());
                if let Some(v2) = &c.iter_var2 {
                    self.locals.push(v2.clone());
                }
                let cond = self.plan(&c.loop_cond);
                // Macro steps read their accumulator once per evaluation path.
                self.take_accu = c.accu_var == crate::macros::ACCU;
                let step = self.plan(&c.loop_step);
                self.take_accu = outer_take;
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
            ("cel.@mapInsert", 2 | 3) => Some(Node::MapInsert(std::mem::take(&mut planned))),
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
        // A literal pattern of a regex function is compiled once, now.
        if matches!(name.as_str(), "matches" | "find" | "findAll")
            && let Some(Node::Const(Value::String(pattern))) = planned.get(1)
        {
            self.regexes.add_literal(pattern);
        }
        Node::Call {
            name: Arc::from(name),
            imp,
            args: planned,
        }
    }
}

pub(crate) fn type_value(t: crate::Type) -> Value {
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
