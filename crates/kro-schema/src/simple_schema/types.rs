//! The type part of a field string: `string`, `[]Port`, `map[string][]int`...

use crate::error::TypeError;

/// How many `[]` and `map[string]` may wrap each other, as upstream. Deeper
/// nesting is refused rather than risking deep recursion on hostile input.
pub const MAX_TYPE_NESTING: usize = 16;

/// A parsed type expression, before custom names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// `string`
    String,
    /// `integer`
    Integer,
    /// `boolean`
    Boolean,
    /// `float`, or its synonym `number`
    Number,
    /// `object`: any JSON object, kept as is.
    Object,
    /// `[]T`
    Array(Box<TypeExpr>),
    /// `map[string]V`
    Map(Box<TypeExpr>),
    /// A name declared under `types:`.
    Custom(String),
}

impl TypeExpr {
    /// Parses a type expression. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<TypeExpr, TypeError> {
        parse_nested(text.trim(), text, 0)
    }

    /// The custom type names this expression refers to, in order.
    pub fn custom_names(&self) -> Vec<&str> {
        let mut expr = self;
        loop {
            match expr {
                TypeExpr::Array(inner) | TypeExpr::Map(inner) => expr = inner,
                TypeExpr::Custom(name) => return vec![name.as_str()],
                _ => return Vec::new(),
            }
        }
    }

    /// Whether `name` is one of the built-in type names, which custom types
    /// may not shadow.
    pub fn is_builtin_name(name: &str) -> bool {
        builtin(name).is_some()
    }
}

fn builtin(name: &str) -> Option<TypeExpr> {
    Some(match name {
        "string" => TypeExpr::String,
        "integer" => TypeExpr::Integer,
        "boolean" => TypeExpr::Boolean,
        // Upstream knows only `float`; `number` is what OpenAPI calls it and
        // what authors reach for, so it is accepted too.
        "float" | "number" => TypeExpr::Number,
        "object" => TypeExpr::Object,
        _ => return None,
    })
}

fn parse_nested(text: &str, whole: &str, depth: usize) -> Result<TypeExpr, TypeError> {
    if text.is_empty() {
        return Err(TypeError::Empty);
    }
    if depth > MAX_TYPE_NESTING {
        return Err(TypeError::NestingTooDeep {
            max: MAX_TYPE_NESTING,
            ty: whole.trim().to_owned(),
        });
    }
    if let Some(expr) = builtin(text) {
        return Ok(expr);
    }
    if let Some(element) = text.strip_prefix("[]") {
        let element = element.trim();
        if element.is_empty() {
            return Err(TypeError::EmptyElementType);
        }
        let inner = parse_nested(element, whole, depth + 1)?;
        return Ok(TypeExpr::Array(Box::new(inner)));
    }
    if let Some(rest) = text.strip_prefix("map[") {
        let Some((key, value)) = rest.split_once(']') else {
            return Err(TypeError::MapKeyNotString(rest.to_owned()));
        };
        if key.trim() != "string" {
            return Err(TypeError::MapKeyNotString(key.to_owned()));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(TypeError::EmptyMapValue);
        }
        let inner = parse_nested(value, whole, depth + 1)?;
        return Ok(TypeExpr::Map(Box::new(inner)));
    }
    Ok(TypeExpr::Custom(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TypeExpr {
        TypeExpr::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        match TypeExpr::parse(text) {
            Ok(expr) => panic!("{text:?} should fail, got {expr:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn builtins() {
        assert_eq!(parse("string"), TypeExpr::String);
        assert_eq!(parse(" integer "), TypeExpr::Integer);
        assert_eq!(parse("boolean"), TypeExpr::Boolean);
        assert_eq!(parse("float"), TypeExpr::Number);
        assert_eq!(parse("number"), TypeExpr::Number);
        assert_eq!(parse("object"), TypeExpr::Object);
    }

    #[test]
    fn lists_and_maps_nest() {
        assert_eq!(
            parse("[]map[string][]Port"),
            TypeExpr::Array(Box::new(TypeExpr::Map(Box::new(TypeExpr::Array(
                Box::new(TypeExpr::Custom("Port".to_owned()))
            )))))
        );
        assert_eq!(
            parse("map[ string ] integer"),
            TypeExpr::Map(Box::new(TypeExpr::Integer))
        );
        assert_eq!(parse("[]Port").custom_names(), ["Port"]);
        assert!(parse("[]string").custom_names().is_empty());
    }

    #[test]
    fn nesting_limit() {
        let ok = format!("{}string", "[]".repeat(MAX_TYPE_NESTING));
        assert!(TypeExpr::parse(&ok).is_ok());
        let deep = format!("{}string", "[]".repeat(MAX_TYPE_NESTING + 1));
        assert_eq!(
            err(&deep),
            format!(
                "type nesting too deep (at most 16 levels of `[]` and `map[string]`): `{deep}`"
            )
        );
        let deep_maps = format!("{}string", "map[string]".repeat(MAX_TYPE_NESTING + 1));
        assert!(err(&deep_maps).starts_with("type nesting too deep"));
    }

    #[test]
    fn malformed_types() {
        assert_eq!(err("  "), "empty type");
        assert_eq!(err("[]"), "`[]` needs an element type, as in `[]string`");
        assert_eq!(
            err("map[int]string"),
            "map keys must be `string`, as in `map[string]integer`; found `int`"
        );
        assert_eq!(
            err("map[string"),
            "map keys must be `string`, as in `map[string]integer`; found `string`"
        );
        assert_eq!(
            err("map[string]"),
            "`map[string]` needs a value type, as in `map[string]string`"
        );
        assert_eq!(err("[]map[string]"), err("map[string]"));
    }

    #[test]
    fn anything_else_is_a_custom_name() {
        assert_eq!(parse("Port"), TypeExpr::Custom("Port".to_owned()));
        assert!(TypeExpr::is_builtin_name("number"));
        assert!(!TypeExpr::is_builtin_name("Port"));
    }
}
