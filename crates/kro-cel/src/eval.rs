//! Evaluation of a planned program with the spec's error semantics and the
//! cost model of `meter.rs`: every node, iteration, comparison and
//! produced value is charged before it is evaluated or allocated.

use std::sync::Arc;

use crate::activation::Activation;
use crate::ast::Expr;
use crate::decls::{Env, FunctionImpl};
use crate::error::EvalError;
use crate::meter::allowance::Allowance;
use crate::meter::{Limits, Meter, text_len};
use crate::plan::{BinOp, Comp, Node, Planner};
use crate::regexes::ProgramRegexes;
use crate::resolve;
use crate::value::ops;
use crate::value::{Key, Map, Value};

/// A compiled expression, ready to evaluate any number of times.
#[derive(Clone)]
pub struct Program {
    root: Node,
    limits: Limits,
    regexes: Arc<ProgramRegexes>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("limits", &self.limits)
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
            take_accu: false,
            regexes: ProgramRegexes::default(),
        };
        let root = p.plan(expr);
        Program {
            root,
            limits: env.limits,
            regexes: Arc::new(p.regexes),
        }
    }

    /// Replaces the runtime cost budget (`None`: unlimited).
    pub fn with_cost_budget(mut self, budget: Option<u64>) -> Program {
        self.limits.cost_budget = budget;
        self
    }

    /// Replaces all the limits.
    pub fn with_limits(mut self, limits: Limits) -> Program {
        self.limits = limits;
        self
    }

    /// The limits evaluation runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Evaluates with the variables in `activation`.
    pub fn eval(&self, activation: &dyn Activation) -> Result<Value, EvalError> {
        self.eval_with_cost(activation).0
    }

    /// Evaluates under `allowance`: its limits (rather than the
    /// program's), its deadline, and what is left of its shared budget,
    /// which is charged what the evaluation spent, failed or not.
    pub fn eval_within(&self, activation: &dyn Activation, allowance: &mut Allowance) -> R {
        let mut ctx = Ctx {
            act: activation,
            locals: Vec::new(),
            meter: allowance.meter(Some(&self.regexes)),
        };
        let r = ctx.eval(&self.root);
        allowance.settle_evaluation(ctx.meter.spent());
        r
    }

    /// Evaluates and also returns the cost spent.
    pub fn eval_with_cost(&self, activation: &dyn Activation) -> (Result<Value, EvalError>, u64) {
        let mut ctx = Ctx {
            act: activation,
            locals: Vec::new(),
            meter: Meter::with_regexes(&self.limits, Some(&self.regexes)),
        };
        let r = ctx.eval(&self.root);
        (r, ctx.meter.spent())
    }
}

type R = Result<Value, EvalError>;

struct Ctx<'a> {
    act: &'a dyn Activation,
    /// Comprehension variables, innermost last. Accumulators may hold errors:
    /// `exists` must be able to absorb an error from an earlier iteration.
    locals: Vec<(Arc<str>, R)>,
    meter: Meter<'a>,
}

impl Ctx<'_> {
    #[inline(always)]
    fn charge(&mut self, n: u64) -> Result<(), EvalError> {
        self.meter.charge(n)
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
            Node::TakeLocal(name) => match self.locals.iter_mut().rev().find(|(n, _)| n == name) {
                Some((_, v)) => std::mem::replace(v, Ok(Value::Null)),
                None => Err(EvalError::UnknownVariable(name.to_string())),
            },
            Node::MapInsert(args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                ops::map_insert_owned(vals, &mut self.meter)
            }
            Node::Select {
                operand,
                field,
                test_only,
                optional,
                cost,
            } => {
                if *cost > 0 {
                    self.charge(*cost)?;
                }
                let v = self.eval(operand)?;
                ops::select(&v, field, *test_only, *optional)
            }
            Node::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                if let (BinOp::Add, Value::List(_), Value::List(_)) = (op, &a, &b) {
                    return self.append(a, b);
                }
                self.binary(*op, &a, &b)
            }
            Node::Call { name, imp, args } => self.call(name, imp.as_ref(), args),
            Node::And(a, b) => self.logical(a, b, false, "_&&_"),
            Node::Or(a, b) => self.logical(a, b, true, "_||_"),
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
                Err(e) if e.is_limit() => Err(e),
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

    /// List concatenation, in place when the left list is not shared (the
    /// accumulator of `map`/`filter`), which makes those macros linear.
    #[inline(never)]
    fn append(&mut self, a: Value, b: Value) -> R {
        let (Value::List(mut x), Value::List(y)) = (a, b) else {
            return Err(EvalError::NoMatchingOverload("_+_".into()));
        };
        // A `set` or `map` list merges (see `List::concat`), which copies.
        let copied = if x.is_shared() || x.kind().is_some() {
            x.len()
        } else {
            0
        };
        self.meter
            .grow_list(x.len().saturating_add(y.len()), copied + y.len())?;
        if x.kind().is_some() {
            return self
                .meter
                .walk(|steps| x.concat_within(&y, steps))
                .map(Value::List);
        }
        x.make_mut().extend(y.iter().cloned());
        Ok(Value::List(x))
    }

    #[inline(never)]
    fn binary_slow(&mut self, op: BinOp, a: &Value, b: &Value) -> R {
        match op {
            BinOp::Eq => self.equals(a, b).map(Value::Bool),
            BinOp::Ne => self.equals(a, b).map(|e| Value::Bool(!e)),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                // Strings and bytes compare byte by byte.
                self.meter.read(text_len(a).min(text_len(b)))?;
                let test: fn(std::cmp::Ordering) -> bool = match op {
                    BinOp::Lt => |o| o.is_lt(),
                    BinOp::Le => |o| o.is_le(),
                    BinOp::Gt => |o| o.is_gt(),
                    _ => |o| o.is_ge(),
                };
                ops::relation(a, b, test)
            }
            BinOp::Add => ops::add(a, b, &mut self.meter),
            BinOp::Sub => ops::sub(a, b),
            BinOp::Mul => ops::mul(a, b),
            BinOp::Div => ops::div(a, b),
            BinOp::Mod => ops::rem(a, b),
            BinOp::In => ops::contains(b, a, &mut self.meter),
            BinOp::Index => {
                // A map key is hashed.
                self.meter.read_text(b)?;
                ops::index(a, b, false)
            }
        }
    }

    /// `a == b`: scalars directly (strings charged for their bytes),
    /// collections through the meter's counted walk.
    fn equals(&mut self, a: &Value, b: &Value) -> Result<bool, EvalError> {
        let composite =
            |v: &Value| matches!(v, Value::List(_) | Value::Map(_) | Value::Optional(Some(_)));
        if composite(a) || composite(b) {
            return self.meter.equals(a, b);
        }
        self.meter.read(text_len(a).min(text_len(b)))?;
        Ok(a.equals(b))
    }

    #[inline(never)]
    fn call(&mut self, name: &str, imp: Option<&FunctionImpl>, args: &[Node]) -> R {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        self.meter.read_arguments(&vals)?;
        match imp {
            Some(f) => f(&vals, &mut self.meter),
            None => Err(EvalError::UnknownFunction(name.to_string())),
        }
    }

    /// `&&` (`absorbing` false) and `||` (`absorbing` true), with CEL's
    /// commutative error handling: the absorbing value on either side wins
    /// over an error on the other; cost overruns always propagate.
    #[inline(never)]
    fn logical(&mut self, a: &Node, b: &Node, absorbing: bool, function: &str) -> R {
        let l = self.eval(a);
        if matches!(l, Ok(Value::Bool(v)) if v == absorbing) {
            return Ok(Value::Bool(absorbing));
        }
        if matches!(&l, Err(e) if e.is_limit()) {
            return l;
        }
        let r = self.eval(b);
        match (l, r) {
            (_, Ok(Value::Bool(v))) if v == absorbing => Ok(Value::Bool(absorbing)),
            (_, Err(e)) if e.is_limit() => Err(e),
            (Ok(Value::Bool(_)), Ok(Value::Bool(_))) => Ok(Value::Bool(!absorbing)),
            (Err(e), _) => Err(e),
            (Ok(Value::Bool(_)), Err(e)) => Err(e),
            (Ok(x), Ok(y)) => Err(EvalError::no_overload(function, &[x, y])),
            (Ok(x), Err(_)) => Err(EvalError::no_overload(function, &[x])),
        }
    }

    #[inline(never)]
    fn list(&mut self, elements: &[Node], optional: &[bool]) -> R {
        self.meter.reserve_list(elements.len())?;
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
        self.meter.reserve_map(entries.len())?;
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
            // The key is hashed twice: looked up, then inserted.
            self.meter.read(2 * text_len(&kv))?;
            if Value::map_get(&m, &kv).is_some() {
                return Err(EvalError::RepeatedKey(key.to_string()));
            }
            m.insert(key, val);
        }
        Ok(Value::Map(Arc::new(m)))
    }

    #[inline(never)]
    fn object(&mut self, fields: &[(Arc<str>, Node, bool)]) -> R {
        self.meter.reserve_map(fields.len())?;
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
                if let Err(e) = step.as_ref()
                    && e.is_limit()
                {
                    outcome = Err(e.clone());
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
