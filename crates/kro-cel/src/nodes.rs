//! Making AST nodes, each with an id of its own: the parser and the macro
//! expander both build nodes, and share this one factory so that ids stay
//! unique across the tree without either depending on the other.

use crate::ast::{Expr, ExprId, ExprKind, Literal, Span};

/// Hands out node ids, from 1, in the order nodes are made.
pub(crate) struct Nodes {
    next_id: ExprId,
}

impl Nodes {
    /// A factory whose first node gets id 1.
    pub(crate) fn new() -> Self {
        Self { next_id: 1 }
    }

    /// A node of `kind` at `span`.
    pub(crate) fn new_expr(&mut self, span: Span, kind: ExprKind) -> Expr {
        let id = self.next_id;
        self.next_id += 1;
        Expr { id, span, kind }
    }

    /// A call of the global function `f`.
    pub(crate) fn call(&mut self, span: Span, f: &str, args: Vec<Expr>) -> Expr {
        self.new_expr(
            span,
            ExprKind::Call {
                target: None,
                function: f.to_string(),
                args,
            },
        )
    }

    /// A call of `f` on `target`.
    pub(crate) fn member_call(
        &mut self,
        span: Span,
        target: Expr,
        f: &str,
        args: Vec<Expr>,
    ) -> Expr {
        self.new_expr(
            span,
            ExprKind::Call {
                target: Some(Box::new(target)),
                function: f.to_string(),
                args,
            },
        )
    }

    /// A reference to the variable `name`.
    pub(crate) fn ident(&mut self, span: Span, name: &str) -> Expr {
        self.new_expr(span, ExprKind::Ident(name.to_string()))
    }

    /// A literal.
    pub(crate) fn lit(&mut self, span: Span, l: Literal) -> Expr {
        self.new_expr(span, ExprKind::Literal(l))
    }

    /// A deep copy of `e` with fresh ids, for macros that use an argument twice.
    pub(crate) fn renumber(&mut self, e: &Expr) -> Expr {
        let mut copy = e.clone();
        self.renumber_in_place(&mut copy);
        copy
    }

    fn renumber_in_place(&mut self, e: &mut Expr) {
        e.id = self.next_id;
        self.next_id += 1;
        match &mut e.kind {
            ExprKind::Literal(_) | ExprKind::Ident(_) => {}
            ExprKind::Select { operand, .. } => self.renumber_in_place(operand),
            ExprKind::Call { target, args, .. } => {
                if let Some(t) = target {
                    self.renumber_in_place(t);
                }
                args.iter_mut().for_each(|a| self.renumber_in_place(a));
            }
            ExprKind::List { elements, .. } => {
                elements.iter_mut().for_each(|a| self.renumber_in_place(a))
            }
            ExprKind::Map(entries) => entries.iter_mut().for_each(|en| {
                self.renumber_in_place(&mut en.key);
                self.renumber_in_place(&mut en.value);
            }),
            ExprKind::Struct { fields, .. } => fields
                .iter_mut()
                .for_each(|f| self.renumber_in_place(&mut f.value)),
            ExprKind::Comprehension(c) => {
                for x in [
                    &mut c.iter_range,
                    &mut c.accu_init,
                    &mut c.loop_cond,
                    &mut c.loop_step,
                    &mut c.result,
                ] {
                    self.renumber_in_place(x);
                }
            }
        }
    }
}
