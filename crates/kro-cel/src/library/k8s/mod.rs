//! The Kubernetes API server's CEL libraries, with its semantics: `lists`,
//! `regex`, `url`, `quantity`, `ip`, `cidr` and `semver`.
//!
//! Installed by [`install`] through the public declaration API; values of
//! the library types (quantity, URL, IP, CIDR, semver) are
//! [`crate::Opaque`] values.

mod chain;
mod cidr;
mod ip;
mod lists;
mod quantity;
mod regex;
mod semver;
mod url;

use crate::decls::Env;

/// Installs every Kubernetes library.
pub fn install(env: &mut Env) {
    lists::install(env);
    regex::install(env);
    url::install(env);
    quantity::install(env);
    ip::install(env);
    cidr::install(env);
    semver::install(env);
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::{Env, Value};

    /// kro's full environment (a superset of the Kubernetes libraries, so
    /// that tests also see how libraries sharing function names coexist).
    pub(crate) fn env() -> Env {
        Env::kro_with(crate::KroOptions { omit: true })
    }

    /// Compiles (with type checking) and evaluates `src`.
    pub(crate) fn eval(src: &str) -> Result<Value, String> {
        let compiled = env().compile_kro(src).map_err(|d| d.to_string())?;
        compiled.eval(&[]).map_err(|e| e.to_string())
    }

    /// Asserts that `src` evaluates to `true`.
    #[track_caller]
    pub(crate) fn truthy(src: &str) {
        match eval(src) {
            Ok(Value::Bool(true)) => {}
            other => panic!("{src}: expected true, got {other:?}"),
        }
    }

    /// Asserts that `src` fails to evaluate (or check) with a message containing `needle`.
    #[track_caller]
    pub(crate) fn fails(src: &str, needle: &str) {
        match eval(src) {
            Err(e) => assert!(e.contains(needle), "{src}: error {e:?} lacks {needle:?}"),
            Ok(v) => panic!("{src}: expected an error, got {v}"),
        }
    }
}

#[cfg(test)]
mod no_panics {
    use proptest::prelude::*;

    use super::cidr::Cidr;
    use super::ip::Ip;
    use super::quantity::Quantity;
    use super::semver::Semver;
    use super::url::Url;

    proptest! {
        /// The parsers see user input: whatever it is, they answer.
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = Quantity::parse(&s);
            let _ = Url::parse(&s);
            let _ = Semver::parse(&s);
            let _ = Semver::parse_normalized(&s);
            let _ = Ip::parse(&s);
            let _ = Cidr::parse(&s);
        }

        #[test]
        fn quantity_like_input_never_panics(s in "[+-]?[0-9.]{0,30}([eE][+-]?[0-9]{0,5}|[numkMGTPE]|[KMGTPE]i)?") {
            if let Ok(q) = Quantity::parse(&s) {
                let _ = q.canonical();
                let _ = q.as_i64();
            }
        }

        #[test]
        fn url_like_input_never_panics(s in "[a-z]{0,5}:?/{0,2}[a-z0-9:@\\[\\]%.]{0,20}(/[a-z%0-9 ]{0,10})?(\\?[a-z=&%+;0-9]{0,20})?") {
            let _ = Url::parse(&s);
        }
    }
}
