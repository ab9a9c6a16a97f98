//! The environments with libraries, composed here at the top of the crate:
//! [`Env::standard`] (the CEL standard library and the cel-go extensions)
//! and [`Env::kro`] (plus the Kubernetes libraries and kro's own).
//!
//! The core (`decls`, `check`, `eval`...) declares and evaluates but installs
//! no library; composing them here keeps every import pointing one way,
//! from the libraries to the core, as cel-go composes only in its `cel`
//! package.

use crate::decls::Env;
use crate::diagnostic::Diagnostics;
use crate::library;
use crate::{Compiled, parse};

/// Feature gates that change the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KroOptions {
    /// The `CELOmitFunction` gate: declares `omit()`.
    pub omit: bool,
}

impl Env {
    /// The standard library plus every extension kro enables: strings, lists,
    /// encoders, optionals, bindings and two-variable comprehensions.
    pub fn standard() -> Self {
        let mut env = Env::empty();
        library::std::install(&mut env);
        library::ext::install(&mut env);
        env
    }

    /// kro's environment with default feature gates (`omit()` off).
    pub fn kro() -> Env {
        Env::kro_with(KroOptions::default())
    }

    /// kro's environment with the given feature gates.
    pub fn kro_with(options: KroOptions) -> Env {
        let mut env = Env::standard();
        library::k8s::install(&mut env);
        library::kro::install(&mut env, options.omit);
        env
    }

    /// Like [`Env::compile`], plus kro's parse-time rewrite of
    /// `runtime.newCondition({type: ..., status: ...})` (bare identifier keys).
    /// Use it for every expression of an RGD.
    pub fn compile_kro(&self, src: &str) -> Result<Compiled, Diagnostics> {
        let mut ast = parse(src)?;
        library::kro::rewrite_new_condition(&mut ast)?;
        self.compile_parsed(ast)
    }
}

#[cfg(test)]
mod tests {
    use super::KroOptions;
    use crate::Env;

    /// Every function the Kubernetes and kro libraries add (overloads of
    /// existing names included) is documented with its signature.
    #[test]
    fn every_library_function_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/cel-kubernetes.md"
        ))
        .expect("docs/cel-kubernetes.md");
        let standard = Env::standard();
        let kro = Env::kro_with(KroOptions { omit: true });
        let mut missing = Vec::new();
        for (name, decl) in kro.functions.iter() {
            let before = standard
                .functions
                .get(name)
                .map_or(0, |f| f.overloads.len());
            if decl.overloads.len() > before && !doc.contains(&format!("{name}(")) {
                missing.push(name.clone());
            }
        }
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }

    #[test]
    fn omit_only_with_its_gate() {
        assert!(Env::kro().function("omit").is_none());
        assert!(
            Env::kro_with(KroOptions { omit: true })
                .function("omit")
                .is_some()
        );
    }
}
