//! Name resolution shared by the checker and the planner: which identifier
//! chains are (qualified) variables, and which member calls are really
//! namespaced global functions such as `strings.quote(s)`.
//!
//! This runs for every identifier and select node of every compiled
//! expression, so the common case (no container, short chains) avoids
//! allocating more than the one qualified name.

use crate::ast::{Expr, ExprKind};
use crate::decls::Env;
use crate::types::Type;

/// A plain select chain `a.b.c` below a node: the qualified name, the byte
/// length of each prefix (`a`, `a.b`, `a.b.c`) and the node id of each prefix.
struct Chain {
    name: String,
    ends: Vec<usize>,
    ids: Vec<u32>,
}

fn chain(e: &Expr) -> Option<Chain> {
    // Walk down once to find the root and the number of segments.
    let mut fields: Vec<(&str, u32)> = Vec::new();
    let mut cur = e;
    let root = loop {
        match &cur.kind {
            ExprKind::Ident(n) => break (n.as_str(), cur.id),
            ExprKind::Select {
                operand,
                field,
                test_only: false,
                optional: false,
            } => {
                fields.push((field.as_str(), cur.id));
                cur = operand;
            }
            _ => return None,
        }
    };
    let mut name =
        String::with_capacity(root.0.len() + fields.iter().map(|f| f.0.len() + 1).sum::<usize>());
    let mut ends = Vec::with_capacity(fields.len() + 1);
    let mut ids = Vec::with_capacity(fields.len() + 1);
    name.push_str(root.0);
    ends.push(name.len());
    ids.push(root.1);
    for (f, id) in fields.iter().rev() {
        name.push('.');
        name.push_str(f);
        ends.push(name.len());
        ids.push(*id);
    }
    Some(Chain { name, ends, ids })
}

/// The root identifier of a chain, without allocating.
fn root_ident(e: &Expr) -> Option<&str> {
    let mut cur = e;
    loop {
        match &cur.kind {
            ExprKind::Ident(n) => return Some(n),
            ExprKind::Select {
                operand,
                test_only: false,
                optional: false,
                ..
            } => cur = operand,
            _ => return None,
        }
    }
}

/// Finds `name` (resolved in the container) in a table via `has`.
fn find_in_container(env: &Env, name: &str, has: &dyn Fn(&str) -> bool) -> Option<String> {
    if let Some(abs) = name.strip_prefix('.') {
        return has(abs).then(|| abs.to_string());
    }
    if env.container.is_none() {
        return has(name).then(|| name.to_string());
    }
    env.candidates(name).into_iter().find(|c| has(c))
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
    let root = root_ident(e)?;
    if !root.starts_with('.') && is_local(root) {
        return None;
    }
    if env.variables.is_empty() {
        return None;
    }
    if let ExprKind::Ident(n) = &e.kind {
        let has = |c: &str| env.variables.contains_key(c);
        return find_in_container(env, n, &has).map(|found| (found, e.id));
    }
    let ch = chain(e)?;
    let has = |c: &str| env.variables.contains_key(c);
    for k in (0..ch.ends.len()).rev() {
        if let Some(found) = find_in_container(env, &ch.name[..ch.ends[k]], &has) {
            return Some((found, ch.ids[k]));
        }
    }
    None
}

/// Remembers, per node id, whether an identifier/select node is a variable, so
/// that a chain `a.b.c` is resolved once rather than once per node.
pub(crate) struct VariableMemo {
    /// `None`: not computed; `Some(None)`: not a variable; `Some(Some(n))`: variable `n`.
    slots: Vec<Option<Option<String>>>,
}

impl VariableMemo {
    pub(crate) fn new(max_id: u32) -> Self {
        VariableMemo {
            slots: vec![None; max_id as usize + 1],
        }
    }

    /// The variable `e` stands for, if any (see [`variable`]).
    pub(crate) fn lookup(
        &mut self,
        env: &Env,
        e: &Expr,
        is_local: &dyn Fn(&str) -> bool,
    ) -> Option<String> {
        if let Some(known) = self.slots.get_mut(e.id as usize).and_then(Option::take) {
            return known;
        }
        let found = variable(env, e, is_local);
        // Mark the outer nodes of the chain, which would find the same answer.
        let (var_id, name) = match &found {
            Some((n, id)) => (Some(*id), Some(n.clone())),
            None => (None, None),
        };
        let mut cur = e;
        loop {
            if Some(cur.id) == var_id {
                if let Some(slot) = self.slots.get_mut(cur.id as usize) {
                    *slot = Some(name);
                }
                break;
            }
            if let Some(slot) = self.slots.get_mut(cur.id as usize) {
                *slot = Some(None);
            }
            match &cur.kind {
                ExprKind::Select {
                    operand,
                    test_only: false,
                    optional: false,
                    ..
                } => cur = operand,
                _ => break,
            }
        }
        match found {
            Some((n, id)) if id == e.id => Some(n),
            _ => None,
        }
    }
}

/// When the member call `target.function(...)` is a namespaced global
/// function (`target` a plain chain, `chain.function` declared), its full name.
pub(crate) fn namespaced_function(
    env: &Env,
    target: &Expr,
    function: &str,
    is_local: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let root = root_ident(target)?;
    if !root.starts_with('.') && is_local(root) {
        return None;
    }
    let ch = chain(target)?;
    let q = format!("{}.{function}", ch.name);
    let has = |c: &str| env.functions.contains_key(c);
    // The function wins over a variable of the same prefix, as in cel-go:
    // a resource named `strings` must not hide `strings.quote`.
    find_in_container(env, &q, &has)
}

/// The full name of a global function call, resolved in the container.
pub(crate) fn global_function(env: &Env, function: &str) -> Option<String> {
    let has = |c: &str| env.functions.contains_key(c);
    find_in_container(env, function, &has)
}

/// The type of a type name written as a select chain (`google.protobuf.Duration`,
/// a declared object type), when `e` is one and its root is not a local.
pub(crate) fn qualified_type(env: &Env, e: &Expr, is_local: &dyn Fn(&str) -> bool) -> Option<Type> {
    let root = root_ident(e)?;
    // Cheap exits: only `google.protobuf.*` and declared objects qualify.
    if env.objects.is_empty() && root.trim_start_matches('.') != "google" {
        return None;
    }
    if is_local(root) {
        return None;
    }
    type_name(env, &chain(e)?.name)
}

/// Names that evaluate to type values when no variable shadows them.
pub(crate) fn type_name(env: &Env, name: &str) -> Option<Type> {
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
            if env.objects.is_empty() {
                return None;
            }
            let has = |c: &str| env.objects.contains_key(c);
            let found = find_in_container(env, other, &has)?;
            Type::type_of(Type::object(&found))
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::{Env, Type};

    #[test]
    fn a_namespaced_function_wins_over_a_variable_of_its_prefix() {
        let env = Env::standard().with_variable("strings", Type::Dyn);
        let compiled = env
            .compile("strings.quote('x')")
            .expect("the function is found");
        assert_eq!(compiled.result_type(), &Type::String);
        // The variable is still a variable where no function matches.
        assert!(env.compile("strings.nope").is_ok());
    }
}
