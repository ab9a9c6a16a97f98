//! The states kro reports: per resource (node) inside one reconcile, and
//! the instance's `status.state`.

use std::fmt;

/// What happened to one resource in a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Its data or dependencies are not ready yet.
    InProgress,
    /// Being deleted.
    Deleting,
    /// Left out: an `includeWhen` is false, or a dependency was left out.
    Skipped,
    /// Rendering or applying it failed.
    Error,
    /// Applied and ready.
    Synced,
    /// Deleted.
    Deleted,
    /// Applied; its `readyWhen` does not hold yet.
    WaitingForReadiness,
}

impl NodeState {
    /// The upstream spelling, such as `WAITING_FOR_READINESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::InProgress => "IN_PROGRESS",
            NodeState::Deleting => "DELETING",
            NodeState::Skipped => "SKIPPED",
            NodeState::Error => "ERROR",
            NodeState::Synced => "SYNCED",
            NodeState::Deleted => "DELETED",
            NodeState::WaitingForReadiness => "WAITING_FOR_READINESS",
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's `status.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Resources are being created or are not ready yet.
    InProgress,
    /// Every resource is applied and ready.
    Active,
    /// The instance is being deleted.
    Deleting,
    /// A resource failed.
    Error,
}

impl InstanceState {
    /// The spelling written to `status.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::InProgress => "IN_PROGRESS",
            InstanceState::Active => "ACTIVE",
            InstanceState::Deleting => "DELETING",
            InstanceState::Error => "ERROR",
        }
    }

    /// The state of an instance that is not being deleted: `ACTIVE` when its
    /// Ready condition is True; otherwise `ERROR` if any resource failed,
    /// `ACTIVE` if every resource is done (synced, skipped or deleted), and
    /// `IN_PROGRESS` while any is still on its way.
    pub fn from_nodes(ready: bool, nodes: impl IntoIterator<Item = NodeState>) -> InstanceState {
        if ready {
            return InstanceState::Active;
        }
        let mut all_done = true;
        for node in nodes {
            match node {
                NodeState::Error => return InstanceState::Error,
                NodeState::Synced | NodeState::Skipped | NodeState::Deleted => {}
                NodeState::InProgress | NodeState::Deleting | NodeState::WaitingForReadiness => {
                    all_done = false
                }
            }
        }
        if all_done {
            InstanceState::Active
        } else {
            InstanceState::InProgress
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_state_from_nodes() {
        use NodeState::*;
        assert_eq!(
            InstanceState::from_nodes(true, [InProgress]),
            InstanceState::Active
        );
        assert_eq!(
            InstanceState::from_nodes(false, [Synced, Error, InProgress]),
            InstanceState::Error
        );
        assert_eq!(
            InstanceState::from_nodes(false, [Synced, Skipped, Deleted]),
            InstanceState::Active
        );
        assert_eq!(
            InstanceState::from_nodes(false, [Synced, WaitingForReadiness]),
            InstanceState::InProgress
        );
        assert_eq!(InstanceState::from_nodes(false, []), InstanceState::Active);
        assert_eq!(InstanceState::Deleting.to_string(), "DELETING");
        assert_eq!(WaitingForReadiness.to_string(), "WAITING_FOR_READINESS");
    }
}
