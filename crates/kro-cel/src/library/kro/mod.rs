//! kro's own CEL libraries: `random`, `hash`, `json`, map merging, list
//! index mutation, `omit()` and the `runtime` condition helpers.
//!
//! Other crates use the few items re-exported here: the `runtime` variable
//! every expression may read, the status condition type, the hash kro-graph
//! takes of specs, and the rules for where `omit()` may appear.

mod hash;
mod json;
mod lists;
mod maps;
mod omit;
mod random;
mod runtime;

use crate::decls::Env;

pub use hash::fnv64a;
pub use omit::{OmitError, Placement, check_omit_placement, uses_omit};
pub(crate) use runtime::rewrite_new_condition;
pub use runtime::{CONDITION_TYPE, RUNTIME_VARIABLE, runtime_value};

/// Installs kro's libraries; `omit()` only when `omit` is set (the
/// `CELOmitFunction` feature gate).
pub(crate) fn install(env: &mut Env, omit: bool) {
    random::install(env);
    hash::install(env);
    json::install(env);
    maps::install(env);
    lists::install(env);
    runtime::install(env);
    if omit {
        omit::install(env);
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) use crate::library::k8s::test_support::{eval, fails, truthy};
}
