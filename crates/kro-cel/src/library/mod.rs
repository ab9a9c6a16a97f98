//! The function libraries, each installed into an [`crate::Env`] through the
//! public declaration API: the CEL standard library (`std`), the cel-go
//! extensions kro enables (`ext`), the Kubernetes API server's libraries
//! (`k8s`) and kro's own (`kro`).
//!
//! Libraries depend on the core (values, declarations); the core never
//! depends on them. `env.rs` composes them into kro's environments. Only
//! `kro` is public: other crates need its runtime variable, its hash and its
//! `omit()` placement rules.
//!
//! (No `use` of the standard library here: the `std` module would shadow it.)

pub(crate) mod ext;
pub(crate) mod k8s;
pub mod kro;
pub(crate) mod std;
