//! The CEL compiler of kro.
//!
//! Resource templates carry CEL expressions inside `${...}`. This crate finds
//! those expressions in template strings, parses them, type-checks them
//! against types derived from OpenAPI schemas, and evaluates them against
//! JSON values, with the function libraries kro offers to RGD authors.
//!
//! It does no I/O and keeps no global state.
