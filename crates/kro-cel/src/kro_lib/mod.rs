//! kro's own CEL libraries: `random`, `hash`, `json`, map merging, list
//! index mutation, `omit()` and the `runtime` condition helpers.

pub mod hash;
mod json;
mod lists;
mod maps;
pub mod omit;
mod random;
pub mod runtime;

use crate::decls::Env;

pub use omit::{OMIT_TYPE, Omit, OmitError, Placement, check_omit_placement, uses_omit};
pub use random::{seeded_int, seeded_string};
pub use runtime::{
    CONDITION_TYPE, RUNTIME_TYPE, RUNTIME_VARIABLE, rewrite_new_condition, runtime_value,
};

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
    pub(crate) use crate::k8s_lib::test_support::{eval, fails, truthy};
}
