//! How large the values of a schema can be, for the static cost estimate.
//!
//! The bounds come from the schema where it gives them, as the API server
//! reads them for the cost of CRD validation rules: `maxItems`,
//! `maxLength` (in characters, so four bytes each), `maxProperties`, the
//! longest `enum` value, a fixed set of properties. Where it gives none,
//! a value is bounded by what can exist: it sits inside an object of at
//! most [`MAX_OBJECT_BYTES`] of JSON, so a list holds at most that many
//! bytes divided by the smallest encoding of one element, a string at most
//! that many bytes, and any value at most [`MAX_OBJECT_VALUES`] values.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;

/// Bytes of JSON of the largest object the API server accepts (its limit
/// on a request's body).
pub const MAX_OBJECT_BYTES: u64 = 3 << 20;

/// The most values an object of [`MAX_OBJECT_BYTES`] holds: the smallest
/// value (`0`) and its separator take two bytes.
pub const MAX_OBJECT_VALUES: u64 = MAX_OBJECT_BYTES / 2;

/// Bytes a character of a string may take in UTF-8.
const MAX_BYTES_PER_CHAR: u64 = 4;

/// What the schema (or, where it says nothing, the object size limit)
/// bounds about the values at one place of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaSize {
    /// The most bytes (a string or bytes), elements (a list) or entries
    /// (a map or an object) the value has.
    pub len: u64,
    /// The most values it holds, itself included, map keys included.
    pub values: u64,
    /// The most bytes of text it holds: strings, bytes, map keys.
    pub bytes: u64,
    /// Whether `len` comes from the schema rather than from the object
    /// size limit.
    pub len_bounded: bool,
    /// Whether `values` and `bytes` come from the schema: `len_bounded`
    /// here and in everything inside.
    pub deep_bounded: bool,
}

impl SchemaSize {
    /// A number, a boolean, a timestamp or a duration.
    pub(crate) const SCALAR: SchemaSize = SchemaSize {
        len: 0,
        values: 1,
        bytes: 0,
        len_bounded: true,
        deep_bounded: true,
    };

    /// A value the schema says nothing about (preserved unknown fields,
    /// int-or-string, past the depth the conversion follows).
    pub(crate) const UNKNOWN: SchemaSize = SchemaSize {
        len: MAX_OBJECT_BYTES,
        values: MAX_OBJECT_VALUES,
        bytes: MAX_OBJECT_BYTES,
        len_bounded: false,
        deep_bounded: false,
    };

    /// A string (or bytes, whose base64 text the schema bounds).
    pub(crate) fn string(schema: &JSONSchemaProps) -> SchemaSize {
        let longest_enum = schema.enum_.as_ref().and_then(|values| {
            values
                .iter()
                .map(|v| v.0.as_str().map(|s| s.len() as u64))
                .collect::<Option<Vec<u64>>>()
                .and_then(|lengths| lengths.into_iter().max())
        });
        let max_length = schema
            .max_length
            .map(|chars| count(chars).saturating_mul(MAX_BYTES_PER_CHAR));
        let bound = match (longest_enum, max_length) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let len = bound.unwrap_or(MAX_OBJECT_BYTES).min(MAX_OBJECT_BYTES);
        SchemaSize {
            len,
            values: 1,
            bytes: len,
            len_bounded: bound.is_some(),
            deep_bounded: bound.is_some(),
        }
    }

    /// A string the API server refuses beyond `bytes` bytes.
    pub(crate) fn validated_text(bytes: u64) -> SchemaSize {
        SchemaSize {
            len: bytes,
            values: 1,
            bytes,
            len_bounded: true,
            deep_bounded: true,
        }
    }

    /// A list of `items`, whose smallest JSON takes `item_json` bytes.
    pub(crate) fn list(schema: &JSONSchemaProps, items: SchemaSize, item_json: u64) -> SchemaSize {
        let most = MAX_OBJECT_BYTES / (item_json + 1);
        let len = schema.max_items.map_or(most, |n| count(n).min(most));
        SchemaSize::collection(len, schema.max_items.is_some(), 0, items)
    }

    /// A map of `values`, whose smallest JSON takes `value_json` bytes;
    /// its keys' length no schema bounds.
    pub(crate) fn map(schema: &JSONSchemaProps, values: SchemaSize, value_json: u64) -> SchemaSize {
        // `"":` before the value and a separator after it.
        let most = MAX_OBJECT_BYTES / (value_json + 4);
        let len = schema.max_properties.map_or(most, |n| count(n).min(most));
        let mut size = SchemaSize::collection(len, schema.max_properties.is_some(), 1, values);
        size.bytes = MAX_OBJECT_BYTES;
        size.deep_bounded = false;
        size
    }

    /// An object with the given properties (name and size).
    pub(crate) fn object<'a>(fields: impl Iterator<Item = (&'a str, SchemaSize)>) -> SchemaSize {
        let mut size = SchemaSize {
            len: 0,
            values: 1,
            bytes: 0,
            len_bounded: true,
            deep_bounded: true,
        };
        for (name, field) in fields {
            size.len += 1;
            size.values = size.values.saturating_add(field.values).saturating_add(1);
            size.bytes = size
                .bytes
                .saturating_add(name.len() as u64)
                .saturating_add(field.bytes);
            size.deep_bounded &= field.deep_bounded;
        }
        size.capped()
    }

    /// `len` elements of `element`, each with `keys` keys.
    fn collection(len: u64, len_bounded: bool, keys: u64, element: SchemaSize) -> SchemaSize {
        SchemaSize {
            len,
            values: len
                .saturating_mul(element.values.saturating_add(keys))
                .saturating_add(1),
            bytes: len.saturating_mul(element.bytes),
            len_bounded,
            deep_bounded: len_bounded && element.deep_bounded,
        }
        .capped()
    }

    /// Nothing inside one object is larger than the object.
    fn capped(mut self) -> SchemaSize {
        if self.values > MAX_OBJECT_VALUES || self.bytes > MAX_OBJECT_BYTES {
            self.deep_bounded = false;
        }
        self.values = self.values.min(MAX_OBJECT_VALUES);
        self.bytes = self.bytes.min(MAX_OBJECT_BYTES);
        self
    }
}

/// A schema's count (`maxItems`...) as an unsigned number.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(v: serde_json::Value) -> JSONSchemaProps {
        serde_json::from_value(v).expect("schema")
    }

    #[test]
    fn strings_are_bounded_by_max_length_or_enum() {
        let s = SchemaSize::string(&schema(json!({"type": "string", "maxLength": 10})));
        assert_eq!((s.len, s.len_bounded), (40, true));
        let e = SchemaSize::string(&schema(json!({"type": "string", "enum": ["a", "bcd"]})));
        assert_eq!((e.len, e.len_bounded), (3, true));
        let free = SchemaSize::string(&schema(json!({"type": "string"})));
        assert_eq!((free.len, free.len_bounded), (MAX_OBJECT_BYTES, false));
    }

    #[test]
    fn unbounded_lists_hold_what_fits_in_an_object() {
        let items = SchemaSize::string(&schema(json!({"type": "string", "maxLength": 1})));
        let list = SchemaSize::list(&schema(json!({"type": "array"})), items, 2);
        assert_eq!(list.len, MAX_OBJECT_BYTES / 3);
        assert!(!list.len_bounded && !list.deep_bounded);
        assert_eq!(list.bytes, MAX_OBJECT_BYTES);
        let bounded = SchemaSize::list(&schema(json!({"type": "array", "maxItems": 5})), items, 2);
        assert_eq!((bounded.len, bounded.values, bounded.bytes), (5, 6, 20));
        assert!(bounded.deep_bounded);
    }
}
