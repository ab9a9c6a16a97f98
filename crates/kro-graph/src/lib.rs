//! From a `ResourceGraphDefinition` to a resource graph.
//!
//! This crate validates an RGD (its schema, resource ids and templates),
//! type-checks every `${...}` expression with `kro-cel` against the schemas of
//! the resources it reads, infers the dependencies between resources from
//! those expressions, rejects cycles, and produces a typed graph in a
//! deterministic topological order.
//!
//! It does no I/O: the OpenAPI schemas of the resource kinds it checks
//! against are handed to it.

pub mod api;
pub mod builder;
pub mod dag;
pub mod error;
pub mod feature_gates;
pub mod naming;
pub mod resolver;
pub mod source_map;
pub mod spec_hash;
