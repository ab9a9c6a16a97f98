//! Bounds on the size of a value, as the estimate carries them through an
//! expression: the fewest and most bytes or elements at the top, the most
//! values and bytes of text deep inside, and what is known of its parts.

use std::sync::Arc;

use crate::openapi_types::{MAX_OBJECT_BYTES, MAX_OBJECT_VALUES, SchemaSize};
use crate::types::Type;

/// Bytes of JSON (`json.marshal`) one value may take besides its text: a
/// number of twenty digits, a quoted timestamp, the punctuation around an
/// element or an entry.
pub(crate) const JSON_BYTES_PER_VALUE: u64 = 32;

/// Bytes of JSON one byte of text may take: `<` is written `\u003c`.
pub(crate) const JSON_BYTES_PER_BYTE: u64 = 6;

/// Bytes of `%s` text one byte may take: an invalid UTF-8 byte of a bytes
/// value is written as U+FFFD.
pub(crate) const DISPLAY_BYTES_PER_BYTE: u64 = 3;

/// Steps a walk (equality, membership) may take per value: the visit, the
/// lookup of a map entry, the key index of a `set` or `map` list.
const WALK_STEPS_PER_VALUE: u64 = 6;

/// Bytes a walk reads per step (see `value/steps.rs`); a walk of a keyed
/// list reads its keys twice.
const WALK_BYTES_PER_STEP: u64 = crate::value::steps::BYTES_PER_STEP / 2;

/// Bounds on one value. For a string or bytes value, `len` counts bytes;
/// for a list, elements; for a map, entries; a scalar has none.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    /// The fewest bytes, elements or entries.
    pub(crate) min_len: u64,
    /// The most bytes, elements or entries.
    pub(crate) len: u64,
    /// The most values it holds, itself and map keys included.
    pub(crate) values: u64,
    /// The fewest bytes of text it holds, deep.
    pub(crate) min_bytes: u64,
    /// The most bytes of text it holds, deep: strings, bytes, map keys.
    pub(crate) bytes: u64,
    /// What is known of its elements, values and keys.
    pub(crate) parts: Parts,
    /// The input it was read from, when that input's size is not bounded
    /// by its schema.
    pub(crate) origin: Option<Origin>,
}

/// What is known of the parts of a value.
#[derive(Debug, Clone)]
pub(crate) enum Parts {
    /// A value of a schema: its parts' sizes are recorded under this type
    /// path and the path's children (`.field`, `.@idx`, `.@elem`).
    Schema(Arc<str>),
    /// Elements (of a list) or values (of a map), and keys, bounded apart.
    Known {
        element: Arc<Bound>,
        key: Arc<Bound>,
    },
    /// Nothing beyond the size of the whole.
    Unknown,
}

/// An input whose size its schema does not bound, as written in the
/// expression (`schema.spec.items`), and what would bound it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) path: Arc<str>,
    /// What would bound its length, when nothing does.
    pub(crate) len_missing: Option<&'static str>,
    /// What would bound what it holds, when nothing does.
    pub(crate) deep_missing: Option<&'static str>,
}

/// What would bound the length of a value of type `ty`.
fn length_keyword(ty: Option<&Type>) -> &'static str {
    match ty {
        Some(Type::List(_)) => "maxItems",
        Some(Type::Map(..)) => "maxProperties",
        Some(Type::String | Type::Bytes) => "maxLength",
        _ => "maxItems, maxLength or maxProperties",
    }
}

/// What would bound what a value of type `ty` holds.
fn contents_keyword(ty: Option<&Type>) -> &'static str {
    match ty {
        Some(Type::String | Type::Bytes) => "maxLength",
        _ => "maxItems, maxLength or maxProperties on what it holds",
    }
}

impl Bound {
    /// A number, boolean, null, timestamp, duration or type.
    pub(crate) fn scalar() -> Bound {
        Bound::sized(0, 0, 1, 0, 0)
    }

    /// Nothing at all: the element of an empty list.
    pub(crate) fn nothing() -> Bound {
        Bound::sized(0, 0, 0, 0, 0)
    }

    /// A string or bytes value of `min` to `max` bytes.
    pub(crate) fn text(min: u64, max: u64) -> Bound {
        Bound::sized(min, max, 1, min, max)
    }

    fn sized(min_len: u64, len: u64, values: u64, min_bytes: u64, bytes: u64) -> Bound {
        Bound {
            min_len,
            len,
            values,
            min_bytes,
            bytes,
            parts: Parts::Unknown,
            origin: None,
        }
    }

    /// A list of `min_len` to `len` elements, each within `element`.
    pub(crate) fn list(min_len: u64, len: u64, element: Bound) -> Bound {
        Bound::keyed(min_len, len, Bound::nothing(), element)
    }

    /// A map of `min_len` to `len` entries, keys within `key`, values
    /// within `value`.
    pub(crate) fn map(min_len: u64, len: u64, key: Bound, value: Bound) -> Bound {
        Bound::keyed(min_len, len, key, value)
    }

    fn keyed(min_len: u64, len: u64, key: Bound, element: Bound) -> Bound {
        let each = element.values.saturating_add(key.values);
        Bound {
            min_len,
            len,
            values: len.saturating_mul(each).saturating_add(1),
            min_bytes: min_len.saturating_mul(element.min_bytes.saturating_add(key.min_bytes)),
            bytes: len.saturating_mul(element.bytes.saturating_add(key.bytes)),
            origin: None,
            parts: Parts::Known {
                element: Arc::new(element),
                key: Arc::new(key),
            },
        }
    }

    /// The values of type `ty` at a schema place, read through `path`
    /// (as written).
    pub(crate) fn of_schema(
        type_path: &Arc<str>,
        size: &SchemaSize,
        path: Option<&Arc<str>>,
        ty: Option<&Type>,
    ) -> Bound {
        let mut bound = Bound::sized(0, size.len, size.values, 0, size.bytes);
        bound.parts = Parts::Schema(type_path.clone());
        bound.origin = path.filter(|_| !size.deep_bounded).map(|path| Origin {
            path: path.clone(),
            len_missing: (!size.len_bounded).then(|| length_keyword(ty)),
            deep_missing: Some(contents_keyword(ty)),
        });
        bound
    }

    /// Any value of type `ty` in an object, read through `path`: only the
    /// size of the largest object bounds it.
    pub(crate) fn any_input(path: &Arc<str>, ty: Option<&Type>) -> Bound {
        // The smallest element of a list (`0,`) and entry of a map
        // (`"":0,`) in JSON.
        let len = match ty {
            Some(Type::List(_)) => MAX_OBJECT_BYTES / 2,
            Some(Type::Map(..)) => MAX_OBJECT_BYTES / 5,
            _ => MAX_OBJECT_BYTES,
        };
        let mut bound = Bound::sized(0, len, MAX_OBJECT_VALUES, 0, MAX_OBJECT_BYTES);
        bound.origin = Some(Origin {
            path: path.clone(),
            len_missing: Some(length_keyword(ty)),
            deep_missing: Some(contents_keyword(ty)),
        });
        bound
    }

    /// Up to `most` values of the input `element`, read through `path`
    /// (a collection of resources: its length is the most elements a
    /// list may have).
    pub(crate) fn collection(path: &Arc<str>, most: u64, element: Bound) -> Bound {
        let mut bound = Bound::list(0, most, element);
        bound.origin = Some(Origin {
            path: path.clone(),
            len_missing: Some("bound on how many objects it holds"),
            deep_missing: Some(contents_keyword(None)),
        });
        bound
    }

    /// A value inside this one, of which nothing else is known.
    pub(crate) fn inside(&self) -> Bound {
        Bound {
            min_len: 0,
            len: self.values.max(self.bytes),
            values: self.values.saturating_sub(1).max(1),
            min_bytes: 0,
            bytes: self.bytes,
            parts: Parts::Unknown,
            origin: self.origin.clone(),
        }
    }

    /// Bounds one of the two values may have (the branches of `?:`).
    pub(crate) fn join(&self, other: &Bound) -> Bound {
        let parts = match (&self.parts, &other.parts) {
            (Parts::Schema(a), Parts::Schema(b)) if a == b => Parts::Schema(a.clone()),
            (
                Parts::Known { element, key },
                Parts::Known {
                    element: e2,
                    key: k2,
                },
            ) => Parts::Known {
                element: Arc::new(element.join(e2)),
                key: Arc::new(key.join(k2)),
            },
            _ => Parts::Unknown,
        };
        Bound {
            min_len: self.min_len.min(other.min_len),
            len: self.len.max(other.len),
            values: self.values.max(other.values),
            min_bytes: self.min_bytes.min(other.min_bytes),
            bytes: self.bytes.max(other.bytes),
            parts,
            origin: self.origin.clone().or_else(|| other.origin.clone()),
        }
    }

    /// At most `max` bytes, elements or entries (a size limit): a larger
    /// value is refused before it is made.
    pub(crate) fn at_most(mut self, max: u64) -> Bound {
        self.len = self.len.min(max);
        self.min_len = self.min_len.min(max);
        self
    }

    /// Bytes of its JSON (`json.marshal`), at most.
    pub(crate) fn json_bytes(&self) -> u64 {
        self.bytes
            .saturating_mul(JSON_BYTES_PER_BYTE)
            .saturating_add(self.values.saturating_mul(JSON_BYTES_PER_VALUE))
    }

    /// Bytes of its `%s` text, at most.
    pub(crate) fn display_bytes(&self) -> u64 {
        self.bytes
            .saturating_mul(DISPLAY_BYTES_PER_BYTE)
            .saturating_add(self.values.saturating_mul(JSON_BYTES_PER_VALUE))
    }

    /// Steps a walk over it takes, at most.
    pub(crate) fn walk_steps(&self) -> u64 {
        self.values
            .saturating_mul(WALK_STEPS_PER_VALUE)
            .saturating_add(self.bytes / WALK_BYTES_PER_STEP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_add_up_their_parts() {
        let list = Bound::list(2, 3, Bound::text(1, 10));
        assert_eq!((list.values, list.bytes, list.min_bytes), (4, 30, 2));
        let map = Bound::map(0, 2, Bound::text(0, 5), Bound::scalar());
        assert_eq!((map.values, map.bytes), (5, 10));
    }

    #[test]
    fn a_join_covers_both() {
        let a = Bound::text(1, 5);
        let b = Bound::list(3, 3, Bound::scalar());
        let j = a.join(&b);
        assert_eq!((j.min_len, j.len, j.values), (1, 5, 4));
    }
}
