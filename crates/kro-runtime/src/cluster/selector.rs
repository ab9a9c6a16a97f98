//! Matching labels against a Kubernetes label selector.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use thiserror::Error;

/// A selector that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    /// A `matchExpressions` operator other than In, NotIn, Exists and
    /// DoesNotExist.
    #[error("label selector operator {operator:?} on key {key:?} is not supported")]
    UnknownOperator {
        /// The label key.
        key: String,
        /// The operator as written.
        operator: String,
    },
}

/// Whether `labels` satisfy `selector`. An empty selector matches every
/// object, as in Kubernetes.
pub fn matches_selector(
    labels: &BTreeMap<String, String>,
    selector: &LabelSelector,
) -> Result<bool, SelectorError> {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    if !labels_match {
        return Ok(false);
    }
    for requirement in selector.match_expressions.iter().flatten() {
        let actual = labels.get(&requirement.key);
        let values = requirement.values.as_deref().unwrap_or_default();
        let holds = match requirement.operator.as_str() {
            "In" => actual.is_some_and(|v| values.contains(v)),
            "NotIn" => actual.is_none_or(|v| !values.contains(v)),
            "Exists" => actual.is_some(),
            "DoesNotExist" => actual.is_none(),
            other => {
                return Err(SelectorError::UnknownOperator {
                    key: requirement.key.clone(),
                    operator: other.to_owned(),
                });
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(value: serde_json::Value) -> LabelSelector {
        serde_json::from_value(value).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert_eq!(
            matches_selector(&labels(&[]), &LabelSelector::default()),
            Ok(true)
        );
    }

    #[test]
    fn match_labels_and_expressions() {
        let s = selector(json!({
            "matchLabels": { "app": "web" },
            "matchExpressions": [
                { "key": "tier", "operator": "In", "values": ["front", "edge"] },
                { "key": "legacy", "operator": "DoesNotExist" },
                { "key": "zone", "operator": "NotIn", "values": ["b"] },
                { "key": "team", "operator": "Exists" }
            ]
        }));
        assert_eq!(
            matches_selector(
                &labels(&[("app", "web"), ("tier", "edge"), ("team", "x")]),
                &s
            ),
            Ok(true)
        );
        assert_eq!(
            matches_selector(
                &labels(&[("app", "db"), ("tier", "edge"), ("team", "x")]),
                &s
            ),
            Ok(false)
        );
        assert_eq!(
            matches_selector(
                &labels(&[
                    ("app", "web"),
                    ("tier", "edge"),
                    ("team", "x"),
                    ("zone", "b")
                ]),
                &s
            ),
            Ok(false)
        );
        assert_eq!(
            matches_selector(&labels(&[("app", "web"), ("tier", "edge")]), &s),
            Ok(false)
        );
    }

    #[test]
    fn unknown_operator_is_an_error() {
        let s = selector(
            json!({ "matchExpressions": [{ "key": "a", "operator": "Gt", "values": ["1"] }] }),
        );
        assert_eq!(
            matches_selector(&labels(&[]), &s).unwrap_err().to_string(),
            "label selector operator \"Gt\" on key \"a\" is not supported"
        );
    }
}
