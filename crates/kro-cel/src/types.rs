//! CEL types as the checker sees them.

use std::fmt;
use std::sync::Arc;

/// A CEL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// Any type, checked at run time.
    Dyn,
    /// The type of `null`.
    Null,
    /// `bool`
    Bool,
    /// `int` (64-bit signed)
    Int,
    /// `uint` (64-bit unsigned)
    Uint,
    /// `double`
    Double,
    /// `string`
    String,
    /// `bytes`
    Bytes,
    /// `google.protobuf.Timestamp`
    Timestamp,
    /// `google.protobuf.Duration`
    Duration,
    /// `list(T)`
    List(Arc<Type>),
    /// `map(K, V)`
    Map(Arc<Type>, Arc<Type>),
    /// `type`, or `type(T)` when the described type is known.
    Type(Option<Arc<Type>>),
    /// A parameterised abstract type such as `optional_type(T)`.
    Opaque(Arc<str>, Arc<[Type]>),
    /// A declared object type, by name.
    Object(Arc<str>),
    /// A type parameter of a generic overload, or a checker type variable.
    Param(Arc<str>),
    /// The type of an expression that failed to check.
    Error,
}

impl Type {
    /// `list(elem)`
    pub fn list(elem: Type) -> Type {
        Type::List(Arc::new(elem))
    }

    /// `map(key, value)`
    pub fn map(key: Type, value: Type) -> Type {
        Type::Map(Arc::new(key), Arc::new(value))
    }

    /// `optional_type(inner)`
    pub fn optional(inner: Type) -> Type {
        Type::Opaque(Arc::from("optional_type"), Arc::from(vec![inner]))
    }

    /// `type(t)`
    pub fn type_of(t: Type) -> Type {
        Type::Type(Some(Arc::new(t)))
    }

    /// A type parameter.
    pub fn param(name: &str) -> Type {
        Type::Param(Arc::from(name))
    }

    /// A declared object type.
    pub fn object(name: &str) -> Type {
        Type::Object(Arc::from(name))
    }

    /// The inner type when this is `optional_type(T)`.
    pub fn optional_inner(&self) -> Option<&Type> {
        match self {
            Type::Opaque(n, p) if &**n == "optional_type" && p.len() == 1 => p.first(),
            _ => None,
        }
    }

    /// `dyn` or the error type: both accept anything.
    pub fn is_dyn_or_error(&self) -> bool {
        matches!(self, Type::Dyn | Type::Error)
    }

    /// Parses the notation of [`fmt::Display`] (`list(int)`, `map(string, A)`...).
    /// Single upper-case letters (and names starting with `_`) are type parameters.
    pub fn parse(s: &str) -> Option<Type> {
        let mut p = TypeParser {
            s: s.as_bytes(),
            i: 0,
        };
        let t = p.ty()?;
        p.ws();
        (p.i == p.s.len()).then_some(t)
    }

    /// The name a runtime `type` value of this type prints as.
    pub fn runtime_name(&self) -> String {
        match self {
            Type::List(_) => "list".into(),
            Type::Map(..) => "map".into(),
            Type::Type(_) => "type".into(),
            Type::Opaque(n, _) => n.to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dyn => write!(f, "dyn"),
            Type::Null => write!(f, "null_type"),
            Type::Bool => write!(f, "bool"),
            Type::Int => write!(f, "int"),
            Type::Uint => write!(f, "uint"),
            Type::Double => write!(f, "double"),
            Type::String => write!(f, "string"),
            Type::Bytes => write!(f, "bytes"),
            Type::Timestamp => write!(f, "google.protobuf.Timestamp"),
            Type::Duration => write!(f, "google.protobuf.Duration"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Map(k, v) => write!(f, "map({k}, {v})"),
            Type::Type(None) => write!(f, "type"),
            Type::Type(Some(t)) => write!(f, "type({t})"),
            Type::Opaque(n, ps) => {
                write!(f, "{n}")?;
                if !ps.is_empty() {
                    let parts: Vec<String> = ps.iter().map(ToString::to_string).collect();
                    write!(f, "({})", parts.join(", "))?;
                }
                Ok(())
            }
            Type::Object(n) => write!(f, "{n}"),
            Type::Param(n) => write!(f, "{n}"),
            Type::Error => write!(f, "*error*"),
        }
    }
}

struct TypeParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl TypeParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == b' ' {
            self.i += 1;
        }
    }

    fn name(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || matches!(self.s[self.i], b'_' | b'.'))
        {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn ty(&mut self) -> Option<Type> {
        let name = self.name()?;
        self.ws();
        let mut params = Vec::new();
        if self.s.get(self.i) == Some(&b'(') {
            self.i += 1;
            loop {
                params.push(self.ty()?);
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let simple = |t: Type| params.is_empty().then_some(t);
        match name.as_str() {
            "dyn" => simple(Type::Dyn),
            "null_type" => simple(Type::Null),
            "bool" => simple(Type::Bool),
            "int" => simple(Type::Int),
            "uint" => simple(Type::Uint),
            "double" => simple(Type::Double),
            "string" => simple(Type::String),
            "bytes" => simple(Type::Bytes),
            "timestamp" | "google.protobuf.Timestamp" => simple(Type::Timestamp),
            "duration" | "google.protobuf.Duration" => simple(Type::Duration),
            "list" if params.len() == 1 => Some(Type::list(params.remove(0))),
            "map" if params.len() == 2 => {
                let v = params.remove(1);
                Some(Type::map(params.remove(0), v))
            }
            "type" if params.is_empty() => Some(Type::Type(None)),
            "type" if params.len() == 1 => Some(Type::type_of(params.remove(0))),
            n if params.is_empty()
                && (n.starts_with('_')
                    || (n.len() == 1 && n.as_bytes()[0].is_ascii_uppercase())) =>
            {
                Some(Type::param(n))
            }
            n if params.is_empty() => Some(Type::object(n)),
            n => Some(Type::Opaque(Arc::from(n), Arc::from(params))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_round_trips() {
        for s in [
            "int",
            "list(string)",
            "map(string, list(A))",
            "optional_type(map(int, dyn))",
            "type(uint)",
            "google.protobuf.Timestamp",
            "io.k8s.api.apps.v1.Deployment",
        ] {
            let t = Type::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(Type::parse("A"), Some(Type::param("A")));
        assert_eq!(Type::parse("list(int"), None);
    }
}
