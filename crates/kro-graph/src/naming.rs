//! Naming rules for resource ids and `forEach` iterators. (The instance
//! kind's name is checked by `kro-schema`, with the rest of the CRD names.)
//!
//! Ids and iterator names become CEL variables, so they must be valid CEL
//! identifiers, must not shadow the variables kro itself declares (`schema`,
//! `each`, ...), and must not be CEL keywords.

use thiserror::Error;

/// Words kro reserves for its own variables and future use.
const RESERVED_BY_KRO: &[&str] = &[
    "apiVersion",
    "context",
    "dependency",
    "dependencies",
    "each",
    "externalRef",
    "externalReference",
    "externalRefs",
    "externalReferences",
    "graph",
    "instance",
    "item",
    "items",
    "kind",
    "kro",
    "metadata",
    "namespace",
    "object",
    "resource",
    "resourcegraphdefinition",
    "resourceGraphDefinition",
    "resources",
    "root",
    "runtime",
    "schema",
    "self",
    "serviceAccountName",
    "spec",
    "status",
    "this",
    "variables",
    "vars",
    "version",
];

/// A name that breaks a naming rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NamingError {
    /// A resource id is not lowerCamelCase.
    #[error(
        "naming convention violation: id {id} is not a valid KRO resource id: must be lower camelCase"
    )]
    ResourceId {
        /// The id as written.
        id: String,
    },
    /// A resource id is reserved.
    #[error("naming convention violation: id {id} is a reserved keyword in KRO")]
    ReservedResourceId {
        /// The id as written.
        id: String,
    },
    /// A `forEach` iterator name is not lowerCamelCase.
    #[error("forEach iterator name \"{name}\" is not valid: must be lower camelCase")]
    Iterator {
        /// The iterator name.
        name: String,
    },
    /// A `forEach` iterator name is reserved.
    #[error("forEach iterator name \"{name}\" is a reserved keyword")]
    ReservedIterator {
        /// The iterator name.
        name: String,
    },
}

/// `^[a-z][a-zA-Z0-9]*$`
fn is_lower_camel_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Whether `name` is reserved by kro, or by CEL (a CEL keyword cannot be
/// referenced as a variable).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_BY_KRO.contains(&name) || kro_cel::openapi_types::is_reserved(name)
}

/// Checks a resource id.
pub fn check_resource_id(id: &str) -> Result<(), NamingError> {
    if !is_lower_camel_case(id) {
        return Err(NamingError::ResourceId { id: id.to_owned() });
    }
    if is_reserved(id) {
        return Err(NamingError::ReservedResourceId { id: id.to_owned() });
    }
    Ok(())
}

/// Checks a `forEach` iterator name.
pub fn check_iterator(name: &str) -> Result<(), NamingError> {
    if !is_lower_camel_case(name) {
        return Err(NamingError::Iterator {
            name: name.to_owned(),
        });
    }
    if is_reserved(name) {
        return Err(NamingError::ReservedIterator {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_must_be_lower_camel_case() {
        for good in ["deployment", "myService2", "a"] {
            assert_eq!(check_resource_id(good), Ok(()), "{good}");
        }
        for bad in ["Deployment", "my-service", "my_service", "", "1a"] {
            assert_eq!(
                check_resource_id(bad).unwrap_err().to_string(),
                format!(
                    "naming convention violation: id {bad} is not a valid KRO resource id: must be lower camelCase"
                )
            );
        }
    }

    #[test]
    fn reserved_words_are_refused_as_ids_and_iterators() {
        for reserved in [
            "schema",
            "each",
            "item",
            "self",
            "runtime",
            "namespace",
            "in",
            "while",
            "null",
        ] {
            assert_eq!(
                check_resource_id(reserved).unwrap_err().to_string(),
                format!("naming convention violation: id {reserved} is a reserved keyword in KRO")
            );
            assert_eq!(
                check_iterator(reserved).unwrap_err().to_string(),
                format!("forEach iterator name \"{reserved}\" is a reserved keyword")
            );
        }
        assert_eq!(check_iterator("zone"), Ok(()));
        assert_eq!(
            check_iterator("Zone").unwrap_err().to_string(),
            "forEach iterator name \"Zone\" is not valid: must be lower camelCase"
        );
    }
}
