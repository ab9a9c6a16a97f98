//! kro's SimpleSchema: the shorthand RGD authors write their API in.
//!
//! ```text
//! spec:
//!   name: string | required=true
//!   replicas: integer | default=1 minimum=0
//!   ingress:
//!     enabled: boolean | default=false
//! ```
//!
//! Each field is either a string, `type` optionally followed by `|` and
//! markers, or a nested map of fields. See `docs/simple-schema.md` for the
//! full reference.

mod apply;
pub mod markers;
mod parse;
pub mod types;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use apply::{IMMUTABLE_MESSAGE, VALIDATION_MESSAGE};
pub use parse::{CustomTypes, MAX_OBJECT_NESTING, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES};

use crate::error::{SchemaError, SchemaErrorKind, json_kind};
use crate::ir::Field;

/// Parses an RGD's `spec.schema.spec` with the custom types of
/// `spec.schema.types` (either may be absent: `None` or JSON null).
///
/// The result is a struct [`Field`] whose children are the instance's spec
/// fields, in declaration order, with error paths starting at `spec`.
pub fn parse_spec(spec: Option<&Value>, types: Option<&Value>) -> Result<Field, SchemaError> {
    let custom = match types {
        None | Some(Value::Null) => CustomTypes::default(),
        Some(types) => CustomTypes::parse(types)?,
    };
    parse_spec_with(spec, &custom)
}

/// Like [`parse_spec`], with custom types already parsed.
pub fn parse_spec_with(spec: Option<&Value>, types: &CustomTypes) -> Result<Field, SchemaError> {
    match spec {
        None | Some(Value::Null) => types.struct_field(&serde_json::Map::new(), "spec"),
        Some(Value::Object(fields)) => types.struct_field(fields, "spec"),
        Some(other) => Err(SchemaError::new(
            "spec",
            SchemaErrorKind::NotAMap {
                found: json_kind(other),
            },
        )),
    }
}

/// Parses a single field string, `type | markers`, with no custom types;
/// `path` names it in errors.
pub fn parse_field(text: &str, path: &str) -> Result<Field, SchemaError> {
    CustomTypes::default().field_from_string(text, path)
}
