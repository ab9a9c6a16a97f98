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

pub mod activation;
pub mod assignability;
pub mod ast;
pub mod check;
pub mod cost;
pub mod decls;
pub mod diagnostic;
pub mod error;
pub mod eval;
mod ext;
pub mod k8s_lib;
mod kro_env;
pub mod kro_lib;
mod lexer;
pub mod lib_std;
mod macros;
pub mod opaque;
pub mod openapi_types;
pub mod parse;
mod plan;
pub mod references;
mod resolve;
pub mod result_json;
pub mod template;
pub mod types;
pub mod value;

pub use activation::{Activation, JsonActivation};
pub use ast::{Expr, Span};
pub use check::{CheckedExpr, check};
pub use decls::{Env, FunctionDecl, FunctionImpl, Limits, ObjectType, Overload};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use error::EvalError;
pub use eval::Program;
pub use kro_env::KroOptions;
pub use parse::parse;
pub use types::Type;
pub use value::{Key, List, ListKind, Map, Value};

/// A parsed, checked and planned expression.
#[derive(Debug, Clone)]
pub struct Compiled {
    checked: CheckedExpr,
    program: Program,
    limits: Limits,
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

    /// Static bounds on the evaluation cost (see [`cost`]).
    pub fn cost_estimate(&self) -> cost::CostEstimate {
        cost::estimate(&self.checked, &self.limits)
    }

    /// Evaluates against the variables in `activation`.
    pub fn eval(&self, activation: &dyn Activation) -> Result<Value, EvalError> {
        self.program.eval(activation)
    }
}

impl Env {
    /// Parses, checks and plans `src`.
    pub fn compile(&self, src: &str) -> Result<Compiled, Diagnostics> {
        let ast = parse(src)?;
        let checked = check::check_owned(self, ast)?;
        let program = Program::plan(self, &checked.expr);
        Ok(Compiled {
            checked,
            program,
            limits: self.limits,
        })
    }

    /// Parses and plans `src` without type checking (dynamic evaluation only).
    pub fn compile_unchecked(&self, src: &str) -> Result<Program, Diagnostics> {
        let ast = parse(src)?;
        Ok(Program::plan(self, &ast))
    }
}
