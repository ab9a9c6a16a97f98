//! Kubernetes kinds, in the two shapes kro needs: a [`Gvk`] names a kind
//! (what a template's `apiVersion` and `kind` say), a [`ResourceType`] is a
//! kind as the API server serves it (its Gvk, plus the plural and scope
//! needed to address its objects without discovery).
//!
//! They live here, at the bottom of the workspace, so that the schema
//! resolver, the graph builder, the runtime and the operator all speak of
//! kinds with the same two types instead of converting between their own.

use std::fmt;

/// A group, version and kind. The core group is the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    /// API group; empty for the core group.
    pub group: String,
    /// API version within the group, such as `v1`.
    pub version: String,
    /// Kind, such as `Deployment`.
    pub kind: String,
}

impl Gvk {
    /// A GVK from its parts.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    /// A GVK from an object's `apiVersion` (`apps/v1`, or `v1` for the core
    /// group) and `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        match api_version.split_once('/') {
            Some((group, version)) => Self::new(group, version, kind),
            None => Self::new("", api_version, kind),
        }
    }

    /// The `apiVersion` an object of this kind carries.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Kind={}", self.api_version(), self.kind)
    }
}

/// A kind as the API server serves it: enough to build its URLs without
/// discovery (the graph knows plural and scope from the schema).
///
/// Ordered by group, version, kind, then plural and scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType {
    /// The kind.
    pub gvk: Gvk,
    /// Resource name in URLs, such as `deployments`.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
}

impl ResourceType {
    /// A served kind from its parts.
    pub fn new(gvk: Gvk, plural: impl Into<String>, namespaced: bool) -> Self {
        Self {
            gvk,
            plural: plural.into(),
            namespaced,
        }
    }

    /// The `apiVersion` of objects of this type.
    pub fn api_version(&self) -> String {
        self.gvk.api_version()
    }
}

/// `plural.group`, or `plural` for the core group, as `kubectl` names a
/// resource.
impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.gvk.group.is_empty() {
            write!(f, "{}", self.plural)
        } else {
            write!(f, "{}.{}", self.plural, self.gvk.group)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_and_display() {
        let deployments =
            ResourceType::new(Gvk::new("apps", "v1", "Deployment"), "deployments", true);
        assert_eq!(deployments.api_version(), "apps/v1");
        assert_eq!(deployments.to_string(), "deployments.apps");
        assert_eq!(deployments.gvk.to_string(), "apps/v1, Kind=Deployment");
        let config_maps =
            ResourceType::new(Gvk::from_api_version("v1", "ConfigMap"), "configmaps", true);
        assert_eq!(config_maps.api_version(), "v1");
        assert_eq!(config_maps.to_string(), "configmaps");
    }
}
