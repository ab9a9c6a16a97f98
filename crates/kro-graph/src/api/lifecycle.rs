//! The lifecycle policies an RGD author gives a resource with annotations
//! on its template ([`metadata::ADOPTION_POLICY`],
//! [`metadata::DELETION_POLICY`]): whether kro may take over an existing
//! object, and what becomes of the object when the resource is pruned or
//! the instance deleted.
//!
//! The builder reads them from templates (and refuses anything else); the
//! runtime reads the deletion policy back from the live object, since
//! pruning and deletion work from the members alone.

use std::fmt;

use super::metadata;

/// Whether kro may take over an object that exists before it creates it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdoptionPolicy {
    /// Only objects of this instance's ApplySet are written; any other
    /// existing object fails the resource, untouched.
    #[default]
    Never,
    /// An existing object that belongs to no ApplySet is taken over
    /// (one of another ApplySet is still refused).
    Adopt,
}

/// What pruning and instance deletion do with an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeletionPolicy {
    /// It is deleted.
    #[default]
    Delete,
    /// It is left in place without kro's labels: no longer a member, no
    /// kro instance will delete it.
    Orphan,
    /// It is left in place as it is, labels included.
    Retain,
}

impl AdoptionPolicy {
    /// Every value, as written in the annotation.
    pub const VALUES: [&'static str; 2] = ["never", "adopt"];

    /// The policy an annotation value names.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "never" => Some(Self::Never),
            "adopt" => Some(Self::Adopt),
            _ => None,
        }
    }

    /// The annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Adopt => "adopt",
        }
    }
}

impl DeletionPolicy {
    /// Every value, as written in the annotation.
    pub const VALUES: [&'static str; 3] = ["delete", "orphan", "retain"];

    /// The policy an annotation value names.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "delete" => Some(Self::Delete),
            "orphan" => Some(Self::Orphan),
            "retain" => Some(Self::Retain),
            _ => None,
        }
    }

    /// The annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Orphan => "orphan",
            Self::Retain => "retain",
        }
    }
}

impl fmt::Display for AdoptionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DeletionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifecycle policies of a resource made from a template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Whether an existing object may be taken over.
    pub adoption: AdoptionPolicy,
    /// What pruning and instance deletion do with the object.
    pub deletion: DeletionPolicy,
}

/// Why a lifecycle annotation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// A value that is not one of the policy's.
    #[error("{key}: unknown value {value:?}; expected one of {}", allowed.join(", "))]
    UnknownValue {
        /// The annotation.
        key: &'static str,
        /// Its value.
        value: String,
        /// The values it takes.
        allowed: &'static [&'static str],
    },
    /// A value that is not a plain string.
    #[error(
        "{key} must be a literal string, without expressions: the policy is the RGD author's, the same for every instance"
    )]
    NotLiteral {
        /// The annotation.
        key: &'static str,
    },
    /// A key under the lifecycle prefix that kro does not know: a typo
    /// would otherwise silently fall back to the default policy.
    #[error(
        "unknown lifecycle annotation {key:?}; kro knows {} and {}",
        metadata::ADOPTION_POLICY,
        metadata::DELETION_POLICY
    )]
    UnknownKey {
        /// The annotation.
        key: String,
    },
    /// A lifecycle annotation on an `externalRef`.
    #[error(
        "{key} is meaningless on an externalRef: kro only reads the object, it never adopts, orphans or deletes it"
    )]
    OnExternalRef {
        /// The annotation.
        key: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_back() {
        for value in AdoptionPolicy::VALUES {
            assert_eq!(
                AdoptionPolicy::parse(value).map(|p| p.as_str()),
                Some(value)
            );
        }
        for value in DeletionPolicy::VALUES {
            assert_eq!(
                DeletionPolicy::parse(value).map(|p| p.as_str()),
                Some(value)
            );
        }
        assert_eq!(AdoptionPolicy::parse("Adopt"), None, "case matters");
        assert_eq!(DeletionPolicy::parse(""), None);
    }

    #[test]
    fn defaults_are_the_cautious_ones() {
        assert_eq!(Lifecycle::default().adoption, AdoptionPolicy::Never);
        assert_eq!(Lifecycle::default().deletion, DeletionPolicy::Delete);
    }
}
