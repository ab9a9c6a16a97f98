//! Splitting the marker part of a field string (everything after the first
//! `|`) into `key=value` markers.
//!
//! Values follow upstream kro's quoting rules, so that existing RGDs mean the
//! same thing here:
//!
//! * a bare value ends at the first whitespace: `default=3`;
//! * a value wholly wrapped in double quotes may hold spaces; inside it
//!   `\"` is a quote and `\\` a backslash, and any other backslash sequence
//!   is kept as written, so regular expressions read naturally
//!   (`pattern="^\d+$"`);
//! * brackets and braces must balance, and may hold spaces:
//!   `default=["a", "b"]`, `pattern=^[a-z ]+$`.
//!
//! This module only tokenises; applying the markers to a field decides
//! whether each value makes sense for the field it is on.

use std::fmt;
use std::str::FromStr;

/// The markers a SimpleSchema field may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkerKey {
    /// `required=<bool>`: the field must be present.
    Required,
    /// `default=<value>`: the value the API server fills in when absent.
    Default,
    /// `description=<text>`.
    Description,
    /// `minimum=<number>`: bounds numbers; accepted on any type, as
    /// upstream.
    Minimum,
    /// `maximum=<number>`: bounds numbers; accepted on any type, as
    /// upstream.
    Maximum,
    /// `enum="a,b,c"`, strings and integers only.
    Enum,
    /// `pattern=<regex>`, strings only.
    Pattern,
    /// `minLength=<n>`, strings only.
    MinLength,
    /// `maxLength=<n>`, strings only.
    MaxLength,
    /// `minItems=<n>`, lists only.
    MinItems,
    /// `maxItems=<n>`, lists only.
    MaxItems,
    /// `uniqueItems=<bool>`, lists only: `true` makes the list a set.
    UniqueItems,
    /// `listType=atomic|set|map`, lists only.
    ListType,
    /// `listMapKey=<field>`, lists with `listType=map`; may repeat.
    ListMapKey,
    /// `immutable=<bool>`: the field cannot change once set.
    Immutable,
    /// `validation=<CEL>`: an `x-kubernetes-validations` rule.
    Validation,
}

impl MarkerKey {
    /// Every marker, in the order the documentation lists them.
    pub const ALL: [MarkerKey; 16] = [
        MarkerKey::Required,
        MarkerKey::Default,
        MarkerKey::Description,
        MarkerKey::Minimum,
        MarkerKey::Maximum,
        MarkerKey::Enum,
        MarkerKey::Pattern,
        MarkerKey::MinLength,
        MarkerKey::MaxLength,
        MarkerKey::MinItems,
        MarkerKey::MaxItems,
        MarkerKey::UniqueItems,
        MarkerKey::ListType,
        MarkerKey::ListMapKey,
        MarkerKey::Immutable,
        MarkerKey::Validation,
    ];

    /// The names of [`MarkerKey::ALL`], for error messages.
    pub const ALL_NAMES: &'static str = "required, default, description, minimum, maximum, enum, \
        pattern, minLength, maxLength, minItems, maxItems, uniqueItems, listType, listMapKey, \
        immutable, validation";

    /// The key as authors write it.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKey::Required => "required",
            MarkerKey::Default => "default",
            MarkerKey::Description => "description",
            MarkerKey::Minimum => "minimum",
            MarkerKey::Maximum => "maximum",
            MarkerKey::Enum => "enum",
            MarkerKey::Pattern => "pattern",
            MarkerKey::MinLength => "minLength",
            MarkerKey::MaxLength => "maxLength",
            MarkerKey::MinItems => "minItems",
            MarkerKey::MaxItems => "maxItems",
            MarkerKey::UniqueItems => "uniqueItems",
            MarkerKey::ListType => "listType",
            MarkerKey::ListMapKey => "listMapKey",
            MarkerKey::Immutable => "immutable",
            MarkerKey::Validation => "validation",
        }
    }
}

impl fmt::Display for MarkerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MarkerKey {
    type Err = MarkerSyntaxError;

    /// Keys are case-sensitive, as upstream: `minlength` is not `minLength`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MarkerKey::ALL
            .into_iter()
            .find(|key| key.as_str() == s)
            .ok_or_else(|| MarkerSyntaxError::UnknownKey(s.to_owned()))
    }
}

/// The marker part of a field string could not be split into `key=value`
/// markers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerSyntaxError {
    /// `=value` with no key in front.
    #[error("empty marker key before `=`")]
    EmptyKey,
    /// A key that is not one of the markers.
    #[error("unknown marker `{0}` (expected one of {known})", known = MarkerKey::ALL_NAMES)]
    UnknownKey(String),
    /// A word without `=value`, or a `|` followed by nothing.
    #[error("marker `{0}` has no value (expected key=value)")]
    MissingValue(String),
    /// A `"` that is never closed.
    #[error("marker `{0}`: unclosed quote")]
    UnclosedQuote(MarkerKey),
    /// A `[` or `{` that is never closed.
    #[error("marker `{0}`: unclosed bracket or brace")]
    UnclosedBracket(MarkerKey),
    /// A `]` or `}` without its opening partner.
    #[error("marker `{key}`: unmatched closing `{found}`")]
    UnmatchedClosing {
        /// The marker whose value holds it.
        key: MarkerKey,
        /// The closing character.
        found: char,
    },
    /// A `|` with no marker after it.
    #[error("`|` must be followed by at least one key=value marker")]
    Empty,
}

/// One `key=value` marker, its value unquoted but not yet interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Which marker.
    pub key: MarkerKey,
    /// Its value, with surrounding quotes and escapes removed.
    pub value: String,
}

/// Splits `required=true default="a b" enum="x,y"` into markers, in the
/// order written (later markers may overwrite earlier ones).
///
/// The input is whatever follows the first `|` of a field string. Never
/// panics, whatever the input.
pub fn parse_markers(input: &str) -> Result<Vec<Marker>, MarkerSyntaxError> {
    let mut markers = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }

        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        // Upstream tolerates blanks between a key and its `=`.
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            return Err(MarkerSyntaxError::MissingValue(key));
        }
        if key.is_empty() {
            return Err(MarkerSyntaxError::EmptyKey);
        }
        let key: MarkerKey = key.parse()?;

        let raw = scan_value(&mut chars, key)?;
        markers.push(Marker {
            key,
            value: unquote(&raw),
        });
    }
    if markers.is_empty() {
        return Err(MarkerSyntaxError::Empty);
    }
    Ok(markers)
}

/// Reads one raw value: up to whitespace that is outside quotes and
/// brackets.
fn scan_value(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    key: MarkerKey,
) -> Result<String, MarkerSyntaxError> {
    let mut raw = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    // A stack rather than a counter, so that `[}` is caught here instead of
    // producing a value nobody meant.
    let mut open: Vec<char> = Vec::new();
    while let Some(&c) = chars.peek() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else {
            match c {
                '"' => in_quotes = true,
                '[' | '{' => open.push(c),
                ']' | '}' => {
                    let expected = if c == ']' { '[' } else { '{' };
                    if open.pop() != Some(expected) {
                        return Err(MarkerSyntaxError::UnmatchedClosing { key, found: c });
                    }
                }
                c if c.is_whitespace() && open.is_empty() => break,
                _ => {}
            }
        }
        raw.push(c);
        chars.next();
    }
    if in_quotes {
        return Err(MarkerSyntaxError::UnclosedQuote(key));
    }
    if !open.is_empty() {
        return Err(MarkerSyntaxError::UnclosedBracket(key));
    }
    Ok(raw)
}

/// Removes the quotes around a wholly quoted value and resolves `\"` and
/// `\\`; other values are returned as written.
fn unquote(raw: &str) -> String {
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return raw.trim().to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(next @ ('"' | '\\')) => out.push(next),
            // Kept verbatim so that `\d`, `\s` and friends reach the regex.
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Vec<(MarkerKey, String)> {
        parse_markers(input)
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect()
    }

    fn parse_err(input: &str) -> String {
        match parse_markers(input) {
            Ok(markers) => panic!("{input:?} should fail, got {markers:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bare_values_end_at_whitespace() {
        assert_eq!(
            parse(" required=true   default=5\tminimum=1 "),
            [
                (MarkerKey::Required, "true".to_owned()),
                (MarkerKey::Default, "5".to_owned()),
                (MarkerKey::Minimum, "1".to_owned()),
            ]
        );
    }

    #[test]
    fn every_key_is_recognised() {
        for key in MarkerKey::ALL {
            let markers = parse(&format!("{key}=x"));
            assert_eq!(markers, [(key, "x".to_owned())]);
            assert!(MarkerKey::ALL_NAMES.contains(key.as_str()));
        }
    }

    #[test]
    fn quoted_values_keep_spaces_and_unescape() {
        assert_eq!(
            parse(r#"description="a \"quoted\" word, a \\ backslash""#),
            [(
                MarkerKey::Description,
                r#"a "quoted" word, a \ backslash"#.to_owned()
            )]
        );
    }

    #[test]
    fn other_escapes_are_kept_verbatim_for_regexes() {
        assert_eq!(
            parse(r#"pattern="^\d+\.\d+$""#),
            [(MarkerKey::Pattern, r"^\d+\.\d+$".to_owned())]
        );
    }

    #[test]
    fn empty_quotes_give_an_empty_value() {
        assert_eq!(
            parse(r#"default="""#),
            [(MarkerKey::Default, String::new())]
        );
        assert_eq!(parse("default="), [(MarkerKey::Default, String::new())]);
    }

    #[test]
    fn brackets_and_braces_may_hold_spaces() {
        assert_eq!(
            parse(r#"default=["a b", "c"] description=x"#),
            [
                (MarkerKey::Default, r#"["a b", "c"]"#.to_owned()),
                (MarkerKey::Description, "x".to_owned()),
            ]
        );
        assert_eq!(
            parse(r#"default={"k": {"n": [1, 2]}}"#),
            [(MarkerKey::Default, r#"{"k": {"n": [1, 2]}}"#.to_owned())]
        );
        assert_eq!(
            parse("pattern=^[a-z ]+$"),
            [(MarkerKey::Pattern, "^[a-z ]+$".to_owned())]
        );
    }

    #[test]
    fn brackets_inside_quotes_do_not_count() {
        assert_eq!(
            parse(r#"default=["]", "{"]"#),
            [(MarkerKey::Default, r#"["]", "{"]"#.to_owned())]
        );
        assert_eq!(
            parse(r#"pattern="[""#),
            [(MarkerKey::Pattern, "[".to_owned())]
        );
    }

    #[test]
    fn partly_quoted_values_are_kept_as_written() {
        assert_eq!(
            parse(r#"description=say"hi there""#),
            [(MarkerKey::Description, r#"say"hi there""#.to_owned())]
        );
    }

    #[test]
    fn blanks_before_the_equals_sign_are_tolerated() {
        assert_eq!(
            parse("required =true default\t=1"),
            [
                (MarkerKey::Required, "true".to_owned()),
                (MarkerKey::Default, "1".to_owned()),
            ]
        );
        // A blank after `=` ends an empty value, as upstream.
        assert_eq!(
            parse_err("default= 1"),
            "marker `1` has no value (expected key=value)"
        );
    }

    #[test]
    fn later_markers_follow_earlier_ones_in_order() {
        assert_eq!(
            parse("listMapKey=a listMapKey=b"),
            [
                (MarkerKey::ListMapKey, "a".to_owned()),
                (MarkerKey::ListMapKey, "b".to_owned()),
            ]
        );
    }

    #[test]
    fn syntax_errors_are_named() {
        assert_eq!(parse_err("=true"), "empty marker key before `=`");
        assert_eq!(
            parse_err("requird=true"),
            format!(
                "unknown marker `requird` (expected one of {})",
                MarkerKey::ALL_NAMES
            )
        );
        assert_eq!(
            parse_err("minlength=1"),
            format!(
                "unknown marker `minlength` (expected one of {})",
                MarkerKey::ALL_NAMES
            )
        );
        assert_eq!(
            parse_err("required"),
            "marker `required` has no value (expected key=value)"
        );
        assert_eq!(
            parse_err("required=true optional default=1"),
            "marker `optional` has no value (expected key=value)"
        );
        assert_eq!(
            parse_err(r#"description="open"#),
            "marker `description`: unclosed quote"
        );
        assert_eq!(
            parse_err("default=[1, 2"),
            "marker `default`: unclosed bracket or brace"
        );
        assert_eq!(
            parse_err("default=1]"),
            "marker `default`: unmatched closing `]`"
        );
        assert_eq!(
            parse_err("default=[1}"),
            "marker `default`: unmatched closing `}`"
        );
        assert_eq!(
            parse_err("   "),
            "`|` must be followed by at least one key=value marker"
        );
        assert_eq!(
            parse_err(""),
            "`|` must be followed by at least one key=value marker"
        );
    }

    #[test]
    fn a_trailing_backslash_in_quotes_is_an_unclosed_quote() {
        assert_eq!(
            parse_err(r#"description="abc\""#),
            "marker `description`: unclosed quote"
        );
    }
}
