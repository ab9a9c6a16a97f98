//! SimpleSchema to OpenAPI v3, and the CRD of an instance kind.
//!
//! An RGD author writes the schema of the new API in kro's SimpleSchema
//! shorthand (`name: string | required=true`). This crate parses that
//! shorthand, including custom types and field markers, into an ordered
//! intermediate representation; converts it to OpenAPI v3
//! (`JSONSchemaProps`); synthesises the `CustomResourceDefinition` that
//! registers the instance kind; and compares two CRD schemas to tell
//! breaking changes from safe ones.
//!
//! It does no I/O and keeps no global state.
