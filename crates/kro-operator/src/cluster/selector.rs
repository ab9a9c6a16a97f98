//! A `LabelSelector` written as the `labelSelector` query parameter.
//!
//! kube's own `Selector::try_from(LabelSelector)` exists, but it accepts
//! any key and value text. A value such as `a,b=c` would then smuggle a
//! second requirement into the query string. This module checks the
//! Kubernetes label syntax first and orders everything, so the same
//! selector always gives the same string.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use thiserror::Error;

/// A selector that has no valid query-string form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorStringError {
    /// A `matchExpressions` operator other than In, NotIn, Exists and
    /// DoesNotExist.
    #[error("label selector operator {operator:?} on key {key:?} is not supported")]
    UnknownOperator {
        /// The label key.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// `In` or `NotIn` without values (the API server rejects them too).
    #[error("label selector operator {operator} on key {key:?} needs at least one value")]
    NoValues {
        /// The label key.
        key: String,
        /// The operator.
        operator: String,
    },
    /// A key or value outside the label syntax.
    #[error("invalid label {what} {text:?} in selector")]
    Syntax {
        /// `key` or `value`.
        what: &'static str,
        /// The offending text.
        text: String,
    },
}

/// Label keys: an optional DNS-subdomain prefix and `/`, then a name of
/// alphanumerics, `-`, `_` and `.`. Only the character set is checked here;
/// the API server checks lengths and positions and answers 400.
fn check_key(key: &str) -> Result<&str, SelectorStringError> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(key)
    } else {
        Err(SelectorStringError::Syntax {
            what: "key",
            text: key.to_owned(),
        })
    }
}

/// Label values: empty, or alphanumerics, `-`, `_` and `.`.
fn check_value(value: &str) -> Result<&str, SelectorStringError> {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(value)
    } else {
        Err(SelectorStringError::Syntax {
            what: "value",
            text: value.to_owned(),
        })
    }
}

/// The `labelSelector` query string of `selector`: `matchLabels` as
/// `key=value` in key order, then each expression in the order written,
/// with its values sorted. An empty selector gives the empty string, which
/// selects everything.
pub fn selector_string(selector: &LabelSelector) -> Result<String, SelectorStringError> {
    let mut parts = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        parts.push(format!("{}={}", check_key(key)?, check_value(value)?));
    }
    for requirement in selector.match_expressions.iter().flatten() {
        let key = check_key(&requirement.key)?;
        let values = || -> Result<String, SelectorStringError> {
            let values = requirement
                .values
                .iter()
                .flatten()
                .map(|v| check_value(v))
                .collect::<Result<BTreeSet<_>, _>>()?;
            if values.is_empty() {
                return Err(SelectorStringError::NoValues {
                    key: key.to_owned(),
                    operator: requirement.operator.clone(),
                });
            }
            Ok(values.into_iter().collect::<Vec<_>>().join(","))
        };
        parts.push(match requirement.operator.as_str() {
            "In" => format!("{key} in ({})", values()?),
            "NotIn" => format!("{key} notin ({})", values()?),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => {
                return Err(SelectorStringError::UnknownOperator {
                    key: key.to_owned(),
                    operator: other.to_owned(),
                });
            }
        });
    }
    Ok(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(value: serde_json::Value) -> LabelSelector {
        serde_json::from_value(value).expect("test selector literal")
    }

    #[test]
    fn empty_selects_everything() {
        assert_eq!(
            selector_string(&LabelSelector::default()),
            Ok(String::new())
        );
    }

    #[test]
    fn labels_then_expressions_in_a_stable_order() {
        let s = selector(json!({
            "matchLabels": { "tier": "web", "app": "shop" },
            "matchExpressions": [
                { "key": "zone", "operator": "In", "values": ["b", "a"] },
                { "key": "env", "operator": "NotIn", "values": ["dev"] },
                { "key": "kro.run/owned", "operator": "Exists" },
                { "key": "legacy", "operator": "DoesNotExist" }
            ]
        }));
        assert_eq!(
            selector_string(&s),
            Ok("app=shop,tier=web,zone in (a,b),env notin (dev),kro.run/owned,!legacy".to_owned())
        );
    }

    #[test]
    fn rejects_what_the_query_string_cannot_say() {
        let injected = selector(json!({ "matchLabels": { "app": "a,b=c" } }));
        assert!(matches!(
            selector_string(&injected),
            Err(SelectorStringError::Syntax { what: "value", .. })
        ));
        let gt = selector(
            json!({ "matchExpressions": [{ "key": "a", "operator": "Gt", "values": ["1"] }] }),
        );
        assert!(matches!(
            selector_string(&gt),
            Err(SelectorStringError::UnknownOperator { .. })
        ));
        let empty_in = selector(
            json!({ "matchExpressions": [{ "key": "a", "operator": "In", "values": [] }] }),
        );
        assert!(matches!(
            selector_string(&empty_in),
            Err(SelectorStringError::NoValues { .. })
        ));
    }
}
