//! The settings of a pass that come from the operator's configuration.

use std::time::Duration;

/// Settings of a pass that come from the operator's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The UID of the RGD, written into the instance's labels.
    pub rgd_uid: String,
    /// How long to wait before the next pass when data is pending or the
    /// cluster was changed.
    pub requeue_interval: Duration,
    /// The largest `forEach` collection a resource may expand to.
    pub max_collection_size: usize,
    /// The time written into condition transitions (RFC 3339); `None`
    /// means the system clock. Tests and `kro render` fix it.
    pub now: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rgd_uid: String::new(),
            requeue_interval: Duration::from_secs(3),
            max_collection_size: 1000,
            now: None,
        }
    }
}
