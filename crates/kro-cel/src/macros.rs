//! Macro expansion: calls with a macro's name and shape become
//! comprehensions or other plain AST while parsing.

use crate::ast::{Comprehension, Expr, ExprKind, Literal, Span};
use crate::diagnostic::Diagnostic;
use crate::nodes::Nodes;

/// Name of the hidden accumulator of macro loops. `@` cannot appear in a user
/// identifier, so no user variable can clash with it.
pub const ACCU: &str = "@result";

type PResult<T> = Result<T, Diagnostic>;

/// Expands a global call `name(args)` if it is a macro, else builds the call.
pub(crate) fn expand_global(
    p: &mut Nodes,
    span: Span,
    name: &str,
    mut args: Vec<Expr>,
) -> PResult<Expr> {
    if name == "has" && args.len() == 1 {
        let arg = args.remove(0);
        return match arg.kind {
            ExprKind::Select {
                operand,
                field,
                test_only: false,
                optional: false,
            } => Ok(p.new_expr(
                span,
                ExprKind::Select {
                    operand,
                    field,
                    test_only: true,
                    optional: false,
                },
            )),
            _ => Err(Diagnostic::new("invalid argument to has() macro", arg.span)),
        };
    }
    Ok(p.call(span, name, args))
}

/// Expands a member call `target.name(args)` if it is a macro, else builds the call.
pub(crate) fn expand_member(
    p: &mut Nodes,
    span: Span,
    target: Expr,
    name: &str,
    mut args: Vec<Expr>,
) -> PResult<Expr> {
    let n = args.len();
    if matches!(&target.kind, ExprKind::Ident(t) if t == "cel") && name == "bind" && n == 3 {
        let var = var_name(&args[0])?;
        let body = args.remove(2);
        let init = args.remove(1);
        let range = p.new_expr(
            span,
            ExprKind::List {
                elements: vec![],
                optional_indices: vec![],
            },
        );
        let cond = p.lit(span, Literal::Bool(false));
        let step = p.ident(span, &var);
        return Ok(comprehension(
            p,
            span,
            "#unused".into(),
            None,
            range,
            var,
            init,
            cond,
            step,
            body,
        ));
    }
    if name == "sortBy" && n == 2 {
        let target2 = p.renumber(&target);
        let keys = expand_member(p, span, target2, "map", args)?;
        return Ok(p.call(span, "@sortByAssociatedKeys", vec![target, keys]));
    }
    match (name, n) {
        ("all" | "exists" | "exists_one" | "existsOne" | "map" | "filter", 2)
        | ("map", 3)
        | ("all" | "exists" | "exists_one" | "existsOne", 3)
        | ("transformList" | "transformMap" | "transformMapEntry", 3 | 4)
        | ("optMap" | "optFlatMap", 2) => {}
        _ => return Ok(p.member_call(span, target, name, args)),
    }
    if name == "existsOne" && n == 2 {
        return Ok(p.member_call(span, target, name, args));
    }
    if name == "optMap" || name == "optFlatMap" {
        return optional_macro(p, span, target, name, args);
    }
    let two_var = matches!(
        (name, n),
        ("all" | "exists" | "exists_one" | "existsOne", 3)
            | ("transformList" | "transformMap" | "transformMapEntry", _)
    );
    let v1 = var_name(&args[0])?;
    let v2 = if two_var {
        let v2 = var_name(&args[1])?;
        if v1 == v2 {
            return Err(Diagnostic::new(
                format!("duplicate variable name: {v1}"),
                args[1].span,
            ));
        }
        Some(v2)
    } else {
        None
    };
    for (i, v) in std::iter::once(&v1).chain(v2.iter()).enumerate() {
        if v == ACCU {
            return Err(Diagnostic::new(
                "iteration variable overwrites accumulator variable",
                args[i].span,
            ));
        }
    }
    let first = if two_var { 2 } else { 1 };
    let mut rest: Vec<Expr> = args.drain(first..).collect();
    let accu = |p: &mut Nodes| p.ident(span, ACCU);
    let t = |p: &mut Nodes| p.lit(span, Literal::Bool(true));
    let (init, cond, step, result) = match name {
        "all" => {
            let pred = rest.remove(0);
            let init = t(p);
            let a = accu(p);
            let c = p.call(span, "@not_strictly_false", vec![a]);
            let a = accu(p);
            let step = p.call(span, "_&&_", vec![a, pred]);
            let r = accu(p);
            (init, c, step, r)
        }
        "exists" => {
            let pred = rest.remove(0);
            let init = p.lit(span, Literal::Bool(false));
            let a = accu(p);
            let not = p.call(span, "!_", vec![a]);
            let c = p.call(span, "@not_strictly_false", vec![not]);
            let a = accu(p);
            let step = p.call(span, "_||_", vec![a, pred]);
            let r = accu(p);
            (init, c, step, r)
        }
        "exists_one" | "existsOne" => {
            let pred = rest.remove(0);
            let init = p.lit(span, Literal::Int(0));
            let c = t(p);
            let a = accu(p);
            let one = p.lit(span, Literal::Int(1));
            let plus = p.call(span, "_+_", vec![a, one]);
            let a = accu(p);
            let step = p.call(span, "_?_:_", vec![pred, plus, a]);
            let a = accu(p);
            let one = p.lit(span, Literal::Int(1));
            let r = p.call(span, "_==_", vec![a, one]);
            (init, c, step, r)
        }
        "map" | "filter" | "transformList" => {
            let (pred, value) = if name == "filter" {
                let pred = rest.remove(0);
                let v = p.ident(span, &v1);
                (Some(pred), v)
            } else if rest.len() == 2 {
                let pred = rest.remove(0);
                (Some(pred), rest.remove(0))
            } else {
                (None, rest.remove(0))
            };
            let init = p.new_expr(
                span,
                ExprKind::List {
                    elements: vec![],
                    optional_indices: vec![],
                },
            );
            let c = t(p);
            let a = accu(p);
            let single = p.new_expr(
                span,
                ExprKind::List {
                    elements: vec![value],
                    optional_indices: vec![],
                },
            );
            let append = p.call(span, "_+_", vec![a, single]);
            let step = conditional_step(p, span, pred, append);
            let r = accu(p);
            (init, c, step, r)
        }
        _ => {
            // transformMap / transformMapEntry
            let (pred, value) = if rest.len() == 2 {
                let pred = rest.remove(0);
                (Some(pred), rest.remove(0))
            } else {
                (None, rest.remove(0))
            };
            let init = p.new_expr(span, ExprKind::Map(vec![]));
            let c = t(p);
            let a = accu(p);
            let args = if name == "transformMap" {
                let k = p.ident(span, &v1);
                vec![a, k, value]
            } else {
                vec![a, value]
            };
            let insert = p.call(span, "cel.@mapInsert", args);
            let step = conditional_step(p, span, pred, insert);
            let r = accu(p);
            (init, c, step, r)
        }
    };
    Ok(comprehension(
        p,
        span,
        v1,
        v2,
        target,
        ACCU.into(),
        init,
        cond,
        step,
        result,
    ))
}

fn conditional_step(p: &mut Nodes, span: Span, pred: Option<Expr>, step: Expr) -> Expr {
    match pred {
        Some(pred) => {
            let a = p.ident(span, ACCU);
            p.call(span, "_?_:_", vec![pred, step, a])
        }
        None => step,
    }
}

/// `o.optMap(x, f)` is `o.hasValue() ? optional.of(cel.bind(x, o.value(), f)) : optional.none()`;
/// `optFlatMap` leaves out the `optional.of`.
fn optional_macro(
    p: &mut Nodes,
    span: Span,
    target: Expr,
    name: &str,
    mut args: Vec<Expr>,
) -> PResult<Expr> {
    let var = var_name(&args[0])?;
    let body = args.remove(1);
    let target2 = p.renumber(&target);
    let has = p.member_call(span, target, "hasValue", vec![]);
    let value = p.member_call(span, target2, "value", vec![]);
    let range = p.new_expr(
        span,
        ExprKind::List {
            elements: vec![],
            optional_indices: vec![],
        },
    );
    let cond = p.lit(span, Literal::Bool(false));
    let step = p.ident(span, &var);
    let bound = comprehension(
        p,
        span,
        "#unused".into(),
        None,
        range,
        var,
        value,
        cond,
        step,
        body,
    );
    let some = if name == "optMap" {
        let optional = p.ident(span, "optional");
        p.member_call(span, optional, "of", vec![bound])
    } else {
        bound
    };
    let optional = p.ident(span, "optional");
    let none = p.member_call(span, optional, "none", vec![]);
    Ok(p.call(span, "_?_:_", vec![has, some, none]))
}

#[allow(clippy::too_many_arguments)]
fn comprehension(
    p: &mut Nodes,
    span: Span,
    iter_var: String,
    iter_var2: Option<String>,
    iter_range: Expr,
    accu_var: String,
    accu_init: Expr,
    loop_cond: Expr,
    loop_step: Expr,
    result: Expr,
) -> Expr {
    p.new_expr(
        span,
        ExprKind::Comprehension(Box::new(Comprehension {
            iter_var,
            iter_var2,
            iter_range,
            accu_var,
            accu_init,
            loop_cond,
            loop_step,
            result,
        })),
    )
}

fn var_name(e: &Expr) -> PResult<String> {
    match &e.kind {
        ExprKind::Ident(n) if !n.starts_with('.') => Ok(n.clone()),
        _ => Err(Diagnostic::new("argument must be a simple name", e.span)),
    }
}
