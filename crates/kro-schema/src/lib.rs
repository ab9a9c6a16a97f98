//! SimpleSchema to OpenAPI v3, and the CRD of an instance kind.
//!
//! An RGD author writes the schema of the new API in kro's SimpleSchema
//! shorthand (`name: string | required=true`). This crate parses that
//! shorthand, including custom types and field markers, into an ordered
//! intermediate representation ([`ir`]); converts it to OpenAPI v3
//! (`JSONSchemaProps`, [`openapi`]); synthesises the
//! `CustomResourceDefinition` that registers the instance kind ([`crd`]);
//! and compares two CRD schemas to tell breaking changes from safe ones
//! ([`evolution`]).
//!
//! It does no I/O and keeps no global state.
//!
//! ```
//! use serde_json::json;
//!
//! let spec = json!({
//!     "name": "string | required=true",
//!     "replicas": "integer | default=1 minimum=0",
//! });
//! let field = kro_schema::parse_spec(Some(&spec), None).unwrap();
//! let schema = kro_schema::openapi::to_json_schema(&field);
//! assert_eq!(schema.required, Some(vec!["name".to_owned()]));
//! ```

pub mod defaulting;
pub mod empty_ranges;
pub mod error;
pub mod evolution;
pub mod instance_crd;
pub mod ir;
pub mod kinds;
pub mod openapi;
pub mod openapi_document;
pub mod pluralize;
pub mod sample;
pub mod simple_schema;
pub mod validation;

#[cfg(test)]
mod proptests;

pub use error::{SchemaError, SchemaErrorKind};
pub use ir::{Field, FieldType};
pub use simple_schema::types::MAX_TYPE_NESTING;
pub use simple_schema::{CustomTypes, parse_field, parse_spec, parse_spec_with};
