//! Name resolution shared by the checker and the planner: which identifier
//! chains are (qualified) variables, and which member calls are really
//! namespaced global functions such as `strings.quote(s)`.

use crate::ast::{Expr, ExprKind};
use crate::decls::Env;

/// The select chain `a.b.c` below `e` as segments and the node of each prefix
/// (`a`, `a.b`, `a.b.c`), or `None` when `e` is not a plain chain.
fn chain(e: &Expr) -> Option<(Vec<&str>, Vec<&Expr>)> {
    let mut segs = Vec::new();
    let mut nodes = Vec::new();
    let mut cur = e;
    loop {
        match &cur.kind {
            ExprKind::Ident(n) => {
                segs.push(n.as_str());
                nodes.push(cur);
                segs.reverse();
                nodes.reverse();
                return Some((segs, nodes));
            }
            ExprKind::Select {
                operand,
                field,
                test_only: false,
                optional: false,
            } => {
                segs.push(field.as_str());
                nodes.push(cur);
                cur = operand;
            }
            _ => return None,
        }
    }
}

/// When `e` (an identifier or select chain) names a declared variable, possibly
/// qualified (`a.b.c`) and resolved in the container, returns the variable's
/// full name and the id of the node the variable stands for (the longest
/// matching prefix of the chain). `is_local` tells comprehension variables,
/// which shadow everything.
pub(crate) fn variable(
    env: &Env,
    e: &Expr,
    is_local: &dyn Fn(&str) -> bool,
) -> Option<(String, u32)> {
    let (segs, nodes) = chain(e)?;
    let first = segs.first()?;
    if !first.starts_with('.') && is_local(first) {
        return None;
    }
    for k in (1..=segs.len()).rev() {
        let q = segs[..k].join(".");
        for cand in env.candidates(&q) {
            if env.variables.contains_key(&cand) {
                return Some((cand, nodes[k - 1].id));
            }
        }
    }
    None
}

/// When the member call `target.function(...)` is a namespaced global
/// function (`target` a plain chain, `chain.function` declared), its full name.
pub(crate) fn namespaced_function(
    env: &Env,
    target: &Expr,
    function: &str,
    is_local: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let (segs, _) = chain(target)?;
    let first = segs.first()?;
    if !first.starts_with('.') && is_local(first) {
        return None;
    }
    let q = format!("{}.{function}", segs.join("."));
    // A variable of that name wins over the namespace reading.
    if variable(env, target, is_local).is_some() {
        return None;
    }
    env.candidates(&q)
        .into_iter()
        .find(|c| env.functions.contains_key(c))
}

/// The full name of a global function call, resolved in the container.
pub(crate) fn global_function(env: &Env, function: &str) -> Option<String> {
    env.candidates(function)
        .into_iter()
        .find(|c| env.functions.contains_key(c))
}

/// Names that evaluate to type values when no variable shadows them.
pub(crate) fn type_name(env: &Env, name: &str) -> Option<crate::Type> {
    use crate::Type;
    let bare = name.trim_start_matches('.');
    Some(match bare {
        "int" => Type::type_of(Type::Int),
        "uint" => Type::type_of(Type::Uint),
        "double" => Type::type_of(Type::Double),
        "bool" => Type::type_of(Type::Bool),
        "string" => Type::type_of(Type::String),
        "bytes" => Type::type_of(Type::Bytes),
        "null_type" => Type::type_of(Type::Null),
        "list" => Type::type_of(Type::list(Type::Dyn)),
        "map" => Type::type_of(Type::map(Type::Dyn, Type::Dyn)),
        "type" => Type::type_of(Type::Type(None)),
        "optional_type" => Type::type_of(Type::optional(Type::Dyn)),
        "google.protobuf.Timestamp" => Type::type_of(Type::Timestamp),
        "google.protobuf.Duration" => Type::type_of(Type::Duration),
        other => {
            let found = env
                .candidates(other)
                .into_iter()
                .find(|c| env.objects.contains_key(c))?;
            Type::type_of(Type::object(&found))
        }
    })
}
