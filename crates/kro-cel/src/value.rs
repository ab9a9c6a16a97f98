//! Runtime values and their conversion from and to JSON.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use jiff::SignedDuration;

use crate::error::{EvalError, SizeKind};
use crate::types::Type;
use steps::{Exhausted, Steps};

/// The default limit on a value converted to JSON, in bytes: twice the
/// largest object the API server stores (1.5 MiB).
pub(crate) const DEFAULT_RESULT_SIZE: usize = 3 << 20;

mod list;
pub(crate) mod opaque;
pub(crate) mod ops;
pub(crate) mod steps;
pub(crate) mod time;

pub use list::{List, ListKind};
pub use opaque::{Opaque, OpaqueValue};

pub use time::Timestamp;

/// The library value of type `T` inside `v`, if `v` holds one.
pub fn downcast<T: Opaque>(v: &Value) -> Option<&T> {
    match v {
        Value::Opaque(o) => o.as_any().downcast_ref::<T>(),
        _ => None,
    }
}

/// Wraps a library value.
pub fn wrap<T: Opaque>(v: T) -> Value {
    Value::Opaque(Arc::new(v))
}

impl EvalError {
    /// A [`EvalError::NoMatchingOverload`] for `function` applied to `args`.
    pub fn no_overload(function: &str, args: &[Value]) -> Self {
        let types: Vec<String> = args.iter().map(|a| a.type_name()).collect();
        EvalError::NoMatchingOverload(format!("{function}({})", types.join(", ")))
    }
}

/// A map key: CEL allows only these four kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A bool key.
    Bool(bool),
    /// An int key.
    Int(i64),
    /// A uint key.
    Uint(u64),
    /// A string key.
    String(Arc<str>),
}

impl Key {
    /// The key as a value.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Uint(u) => Value::Uint(*u),
            Key::String(s) => Value::String(s.clone()),
        }
    }

    /// The key for a value, if the value can be a key.
    pub fn from_value(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Uint(u) => Key::Uint(*u),
            Value::String(s) => Key::String(s.clone()),
            _ => return None,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::String(s) => write!(f, "{s:?}"),
            other => write!(f, "{}", other.to_value()),
        }
    }
}

/// The entries of a map value, in insertion order.
pub type Map = IndexMap<Key, Value>;

/// A CEL value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`
    Null,
    /// A bool.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// An unsigned 64-bit integer.
    Uint(u64),
    /// A double.
    Double(f64),
    /// A string.
    String(Arc<str>),
    /// A byte sequence.
    Bytes(Arc<[u8]>),
    /// A list (see [`List`] for `set` and `map` lists).
    List(List),
    /// A map (also used for JSON objects and declared object types).
    Map(Arc<Map>),
    /// A point in time.
    Timestamp(Timestamp),
    /// A signed span of time.
    Duration(SignedDuration),
    /// A type value such as `int` or `list`.
    Type(Type),
    /// An optional: `optional.of(v)` or `optional.none()`.
    Optional(Option<Arc<Value>>),
    /// A value of a library-defined type (see [`Opaque`]).
    Opaque(OpaqueValue),
}

impl Value {
    /// A string value.
    pub fn string(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::new(items))
    }

    /// The CEL type name of this value's runtime type.
    pub fn type_name(&self) -> String {
        self.runtime_type().runtime_name()
    }

    /// The runtime type of the value (collections report `dyn` elements).
    pub fn runtime_type(&self) -> Type {
        match self {
            Value::Null => Type::Null,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Uint(_) => Type::Uint,
            Value::Double(_) => Type::Double,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::List(_) => Type::list(Type::Dyn),
            Value::Map(_) => Type::map(Type::Dyn, Type::Dyn),
            Value::Timestamp(_) => Type::Timestamp,
            Value::Duration(_) => Type::Duration,
            Value::Type(_) => Type::Type(None),
            Value::Optional(_) => Type::optional(Type::Dyn),
            Value::Opaque(o) => Type::object(o.type_name()),
        }
    }

    /// Converts JSON the way cel-go does: integers are `int`, integers above
    /// `i64::MAX` are `uint`, other numbers `double`, objects string-keyed maps.
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Double(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::string(s),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(Arc::new(
                o.iter()
                    .map(|(k, v)| (Key::String(Arc::from(k.as_str())), Value::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Converts to JSON: bytes become base64, timestamps RFC 3339 strings,
    /// durations `"1.5s"` strings, `optional.none()` null. Non-finite doubles,
    /// and type values have no JSON form. A result above
    /// [`DEFAULT_RESULT_SIZE`] bytes (counted as compact JSON, strings
    /// without escapes, other values at least 8 bytes) is refused before it
    /// is built.
    pub fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        let mut size = Steps::new(DEFAULT_RESULT_SIZE as u64);
        self.to_json_within(&mut size)
    }

    fn to_json_within(&self, size: &mut Steps) -> Result<serde_json::Value, EvalError> {
        use base64::Engine;
        let scalar = match self {
            Value::String(s) => s.len() + 2,
            Value::Bytes(b) => b.len().div_ceil(3) * 4 + 2,
            _ => 8,
        };
        size.take(scalar as u64)
            .map_err(|Exhausted| EvalError::TooLarge {
                kind: SizeKind::Result,
                size: size.taken() + scalar as u64,
                limit: size.taken() + size.left(),
            })?;
        Ok(match self {
            Value::Null | Value::Optional(None) => serde_json::Value::Null,
            Value::Optional(Some(v)) => v.to_json_within(size)?,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Uint(u) => (*u).into(),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map(serde_json::Value::Number)
                .ok_or_else(|| EvalError::Conversion(format!("{d} has no JSON form")))?,
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Bytes(b) => {
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::List(l) => serde_json::Value::Array(
                l.iter()
                    .map(|v| v.to_json_within(size))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(m) => {
                let mut o = serde_json::Map::new();
                for (k, v) in m.iter() {
                    let key = match k {
                        Key::String(s) => s.to_string(),
                        other => other.to_value().to_string(),
                    };
                    o.insert(key, v.to_json_within(size)?);
                }
                serde_json::Value::Object(o)
            }
            Value::Timestamp(t) => serde_json::Value::String(time::format_timestamp(*t)),
            Value::Duration(d) => serde_json::Value::String(time::format_duration(*d)),
            Value::Type(t) => {
                return Err(EvalError::Conversion(format!(
                    "type value {} has no JSON form",
                    t.runtime_name()
                )));
            }
            Value::Opaque(o) => o.to_json()?,
        })
    }

    /// Looks `key` up in a map, matching numeric keys across int, uint and double.
    pub fn map_get<'a>(m: &'a Map, key: &Value) -> Option<&'a Value> {
        match key {
            Value::String(s) => m.get(&Key::String(s.clone())),
            Value::Bool(b) => m.get(&Key::Bool(*b)),
            Value::Int(i) => m
                .get(&Key::Int(*i))
                .or_else(|| u64::try_from(*i).ok().and_then(|u| m.get(&Key::Uint(u)))),
            Value::Uint(u) => m
                .get(&Key::Uint(*u))
                .or_else(|| i64::try_from(*u).ok().and_then(|i| m.get(&Key::Int(i)))),
            Value::Double(d) => {
                if d.fract() != 0.0 || !d.is_finite() {
                    return None;
                }
                let as_int = (*d >= -9.223_372_036_854_776e18 && *d < 9.223_372_036_854_776e18)
                    .then_some(*d as i64)
                    .and_then(|i| m.get(&Key::Int(i)));
                as_int.or_else(|| {
                    (*d >= 0.0 && *d < 1.844_674_407_370_955_2e19)
                        .then_some(*d as u64)
                        .and_then(|u| m.get(&Key::Uint(u)))
                })
            }
            _ => None,
        }
    }

    /// CEL equality: numbers compare across types, collections deeply
    /// (`set` and `map` lists regardless of order, see [`List::equals`]),
    /// values of different types are unequal (never an error).
    pub fn equals(&self, other: &Value) -> bool {
        self.equals_within(other, &mut Steps::unlimited())
            .unwrap_or(false)
    }

    /// [`Value::equals`], one step per value visited (and per ten bytes of
    /// strings compared), stopping when `steps` runs out.
    pub(crate) fn equals_within(
        &self,
        other: &Value,
        steps: &mut Steps,
    ) -> Result<bool, Exhausted> {
        use Value::*;
        steps.take(1)?;
        Ok(match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(_) | Uint(_) | Double(_), Int(_) | Uint(_) | Double(_)) => {
                numeric_cmp(self, other) == Some(Ordering::Equal)
            }
            (String(a), String(b)) => {
                steps.read(a.len().min(b.len()))?;
                a == b
            }
            (Bytes(a), Bytes(b)) => {
                steps.read(a.len().min(b.len()))?;
                a == b
            }
            (List(a), List(b)) => a.equals_within(b, steps)?,
            (Map(a), Map(b)) => maps_equal(a, b, steps)?,
            (Timestamp(a), Timestamp(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (Type(a), Type(b)) => a.runtime_name() == b.runtime_name(),
            (Optional(a), Optional(b)) => match (a, b) {
                (None, None) => true,
                (Some(x), Some(y)) => x.equals_within(y, steps)?,
                _ => false,
            },
            (Opaque(a), Opaque(b)) => a.equals(&**b),
            _ => false,
        })
    }

    /// CEL ordering for `<`, `<=`, `>`, `>=`. `Ok(None)` means unordered
    /// (a NaN is involved); an error means the types cannot be compared.
    pub fn compare(&self, other: &Value) -> Result<Option<Ordering>, EvalError> {
        use Value::*;
        Ok(match (self, other) {
            (Int(_) | Uint(_) | Double(_), Int(_) | Uint(_) | Double(_)) => {
                numeric_cmp(self, other)
            }
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (String(a), String(b)) => Some(a.cmp(b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) => Some(a.cmp(b)),
            (Duration(a), Duration(b)) => Some(a.cmp(b)),
            _ => {
                return Err(EvalError::no_overload(
                    "_<_",
                    &[self.clone(), other.clone()],
                ));
            }
        })
    }

    /// True for the zero value of the type (`0`, `""`, `[]`, `false`, `null`...),
    /// as `optional.ofNonZeroValue` needs.
    pub fn is_zero(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Int(i) => *i == 0,
            Value::Uint(u) => *u == 0,
            Value::Double(d) => *d == 0.0,
            Value::String(s) => s.is_empty(),
            Value::Bytes(b) => b.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
            Value::Timestamp(t) => *t == Timestamp::UNIX_EPOCH,
            Value::Duration(d) => d.is_zero(),
            Value::Type(_) => false,
            Value::Optional(o) => o.is_none(),
            Value::Opaque(_) => false,
        }
    }
}

/// Map equality: the same keys (numeric keys matching across types), and
/// equal values under each.
fn maps_equal(a: &Map, b: &Map, steps: &mut Steps) -> Result<bool, Exhausted> {
    if a.len() != b.len() {
        return Ok(false);
    }
    for (k, v) in a.iter() {
        // A visit, and a lookup in `b`.
        steps.take(2)?;
        if let Key::String(s) = k {
            steps.read(s.len())?;
        }
        match Value::map_get(b, &k.to_value()) {
            Some(w) if v.equals_within(w, steps)? => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Compares numbers of any of the three numeric types exactly (no rounding
/// through `f64` for int/uint pairs).
pub fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Uint(x), Uint(y)) => Some(x.cmp(y)),
        (Int(x), Uint(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Uint(x), Int(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Double(x), Double(y)) => x.partial_cmp(y),
        // Like cel-go, integers are compared with doubles as doubles (lossy
        // above 2^53), which keeps ordering consistent with double arithmetic.
        (Double(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (Double(x), Uint(y)) => x.partial_cmp(&(*y as f64)),
        (Int(x), Double(y)) => (*x as f64).partial_cmp(y),
        (Uint(x), Double(y)) => (*x as f64).partial_cmp(y),
        _ => None,
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Uint(u) => write!(f, "{u}u"),
            Value::Double(d) => write!(f, "{d:?}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Value::List(l) => {
                write!(f, "[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
            Value::Timestamp(t) => write!(f, "timestamp({:?})", time::format_timestamp(*t)),
            Value::Duration(d) => write!(f, "duration({:?})", time::format_duration(*d)),
            Value::Type(t) => write!(f, "{}", t.runtime_name()),
            Value::Optional(None) => write!(f, "optional.none()"),
            Value::Optional(Some(v)) => write!(f, "optional.of({v})"),
            Value::Opaque(o) => write!(f, "{}", o.render()),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Uint(u)
    }
}
impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::string(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}
impl From<&serde_json::Value> for Value {
    fn from(j: &serde_json::Value) -> Self {
        Value::from_json(j)
    }
}
