//! Escaping of property names into CEL identifiers, as the Kubernetes API
//! server does it, so expressions written for the API server's validation
//! rules read fields the same way in kro.

/// Whether `name` is a word the CEL grammar reserves (a property with one
/// of these names is reachable as `__name__`).
pub fn is_reserved(name: &str) -> bool {
    matches!(name, "true" | "false" | "null" | "in") || crate::parse::RESERVED.contains(&name)
}

/// The CEL field name of an OpenAPI property, or `None` when the property
/// cannot be named in CEL (it starts with a digit or holds a character other
/// than letters, digits, `_`, `.`, `-` and `/`): such properties are not
/// visible to expressions, as in the API server.
///
/// `__` becomes `__underscores__`, `.` `__dot__`, `-` `__dash__`, `/`
/// `__slash__`, and a reserved word `w` becomes `__w__`.
pub fn escape_field_name(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if is_reserved(name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// The property name behind an escaped field name: the inverse of
/// [`escape_field_name`] for `__underscores__`, `__dot__`, `__dash__` and
/// `__slash__`, and of `__w__` for a reserved word `w`. `None` when there
/// is nothing to undo.
pub fn unescape_field_name(name: &str) -> Option<String> {
    if !name.contains("__") {
        return None;
    }
    if let Some(word) = name
        .strip_prefix("__")
        .and_then(|n| n.strip_suffix("__"))
        .filter(|w| is_reserved(w))
    {
        return Some(word.to_string());
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    let mut changed = false;
    while let Some(i) = rest.find("__") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let (replacement, len) = [
            ("__underscores__", "__"),
            ("__dot__", "."),
            ("__dash__", "-"),
            ("__slash__", "/"),
        ]
        .iter()
        .find(|(escaped, _)| after.starts_with(escaped))
        .map_or(("_", 1), |(escaped, plain)| (*plain, escaped.len()));
        changed |= len > 1;
        out.push_str(replacement);
        rest = &after[len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::{escape_field_name, unescape_field_name};

    #[test]
    fn unescaping_undoes_escaping() {
        for name in [
            "app.kubernetes.io/name",
            "a-b",
            "a__b",
            "a___b",
            "x_y",
            "plain",
            "__dot__",
        ] {
            let escaped = escape_field_name(name).expect("nameable");
            let back = unescape_field_name(&escaped).unwrap_or_else(|| escaped.clone());
            assert_eq!(back, name, "{escaped}");
        }
        assert_eq!(
            unescape_field_name("__namespace__").as_deref(),
            Some("namespace")
        );
        assert_eq!(unescape_field_name("plain"), None);
        assert_eq!(unescape_field_name("a__b"), None);
    }

    #[test]
    fn plain_names_are_unchanged() {
        assert_eq!(escape_field_name("replicas").as_deref(), Some("replicas"));
        assert_eq!(escape_field_name("_x").as_deref(), Some("_x"));
    }

    #[test]
    fn reserved_words_are_wrapped() {
        assert_eq!(
            escape_field_name("namespace").as_deref(),
            Some("__namespace__")
        );
        assert_eq!(escape_field_name("if").as_deref(), Some("__if__"));
        // Only exact matches are reserved.
        assert_eq!(
            escape_field_name("namespaces").as_deref(),
            Some("namespaces")
        );
    }

    #[test]
    fn separators_are_spelled_out() {
        assert_eq!(
            escape_field_name("app.kubernetes.io/name").as_deref(),
            Some("app__dot__kubernetes__dot__io__slash__name")
        );
        assert_eq!(escape_field_name("a-b").as_deref(), Some("a__dash__b"));
        assert_eq!(
            escape_field_name("a__b").as_deref(),
            Some("a__underscores__b")
        );
        assert_eq!(
            escape_field_name("a___b").as_deref(),
            Some("a__underscores___b")
        );
    }

    #[test]
    fn unnamable_properties_are_refused() {
        assert_eq!(escape_field_name(""), None);
        assert_eq!(escape_field_name("1st"), None);
        assert_eq!(escape_field_name("a b"), None);
        assert_eq!(escape_field_name("ünicode"), None);
    }
}
