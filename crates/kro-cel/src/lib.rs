//! The CEL compiler of kro.
//!
//! Resource templates carry CEL expressions inside `${...}`. This crate parses
//! those expressions, type-checks them against declared variables, functions
//! and object types, and evaluates them against JSON values, with the
//! function libraries kro offers to RGD authors.
//!
//! ```
//! use kro_cel::{Env, Type, Value};
//!
//! let env = Env::standard().with_variable("x", Type::Int);
//! let program = env.compile("x * 2 == 84").unwrap();
//! assert_eq!(program.result_type(), &Type::Bool);
//! let out = program.eval(&[("x", Value::Int(42))]).unwrap();
//! assert!(out.equals(&Value::Bool(true)));
//! ```
//!
//! It does no I/O and keeps no global state.
//!
//! The core (`ast`, `parse`, `check`, `decls`, `value`, `eval`, `meter`,
//! `regexes`, `cost`) declares, checks and evaluates but installs no
//! function; the libraries
//! under `library/` install themselves into an [`Env`], and `env.rs`
//! composes them into [`Env::standard`] and [`Env::kro`]. The modules other
//! crates use by path are public; everything else is reached through the
//! re-exports below.

mod activation;
pub mod assignability;
mod ast;
mod check;
mod cost;
mod decls;
mod diagnostic;
mod env;
mod error;
mod eval;
mod lexer;
pub mod library;
mod macros;
mod meter;
mod nodes;
pub mod openapi_types;
mod parse;
mod plan;
pub mod references;
mod regexes;
mod resolve;
pub mod result_json;
pub mod template;
mod types;
mod value;

pub use activation::{Activation, JsonActivation};
pub use ast::{Comprehension, Expr, ExprId, ExprKind, FieldInit, Literal, MapEntry, Span};
pub use check::{CheckedExpr, check};
pub use cost::{
    CostEstimate, ResultUse, StaticCostError, TooLarge, UnboundedInput, ValueSize,
    estimate as estimate_cost,
};
pub use decls::{Env, FunctionDecl, FunctionImpl, ObjectType, Overload};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use env::KroOptions;
pub use error::{EvalError, SizeKind};
pub use eval::Program;
pub use meter::allowance::Allowance;
pub use meter::{
    ALLOCATED_BYTES_PER_UNIT, CLOCK_CHECK_UNITS, DEFAULT_STATIC_COST_LIMIT,
    DEFAULT_STATIC_TOTAL_COST_LIMIT, Limits, Meter, READ_PER_UNIT, Text, VISITS_PER_UNIT,
};
pub use parse::parse;
pub use regexes::{REGEX_DFA_SIZE_LIMIT, REGEX_MAX_PATTERN, REGEX_SIZE_LIMIT};
pub use types::Type;
pub use value::{Key, List, ListKind, Map, Opaque, OpaqueValue, Timestamp, Value};

/// A parsed, checked and planned expression.
#[derive(Debug, Clone)]
pub struct Compiled {
    checked: CheckedExpr,
    program: Program,
    /// The environment it was compiled in, for the static cost estimate
    /// (its functions' cost rules and its inputs' sizes).
    env: Env,
}

impl Compiled {
    /// The type the checker deduced for the whole expression.
    pub fn result_type(&self) -> &Type {
        &self.checked.result_type
    }

    /// The checked tree, with a type for every node.
    pub fn checked(&self) -> &CheckedExpr {
        &self.checked
    }

    /// The evaluable program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Static bounds on the evaluation cost (see [`estimate_cost`]).
    pub fn cost_estimate(&self) -> CostEstimate {
        cost::estimate(&self.checked, &self.env)
    }

    /// The static estimate, or why the environment's limits refuse the
    /// expression, whose result is used as `result`: its worst case is above
    /// [`Limits::static_cost_limit`], or it can never succeed (see
    /// [`StaticCostError`]).
    pub fn check_static_cost(&self, result: ResultUse) -> Result<CostEstimate, StaticCostError> {
        let estimate = self.cost_estimate();
        cost::check(&estimate, &self.env.limits, result)?;
        Ok(estimate)
    }

    /// Evaluates against the variables in `activation`.
    pub fn eval(&self, activation: &dyn Activation) -> Result<Value, EvalError> {
        self.program.eval(activation)
    }

    /// Evaluates under `allowance` (see [`Program::eval_within`]).
    pub fn eval_within(
        &self,
        activation: &dyn Activation,
        allowance: &mut Allowance,
    ) -> Result<Value, EvalError> {
        self.program.eval_within(activation, allowance)
    }
}

impl Env {
    /// Parses, checks and plans `src`.
    pub fn compile(&self, src: &str) -> Result<Compiled, Diagnostics> {
        self.compile_parsed(parse(src)?)
    }

    /// Checks and plans a parsed expression: the steps every compile path
    /// shares after its own parse-time rewrites.
    pub(crate) fn compile_parsed(&self, ast: Expr) -> Result<Compiled, Diagnostics> {
        let checked = check::check_owned(self, ast)?;
        let program = Program::plan(self, &checked.expr);
        Ok(Compiled {
            checked,
            program,
            env: self.clone(),
        })
    }

    /// Parses and plans `src` without type checking (dynamic evaluation only).
    pub fn compile_unchecked(&self, src: &str) -> Result<Program, Diagnostics> {
        let ast = parse(src)?;
        Ok(Program::plan(self, &ast))
    }
}
