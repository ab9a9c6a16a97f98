//! The field managers kro's server-side applies write as, all in one
//! place: they show in every object's `managedFields`, so they are part of
//! kro's interface (upstream uses the same names, and a rename would leave
//! fields owned by a manager that no longer applies them).

/// The operator's own objects: the RGD CRD and each RGD's instance CRD.
pub const OPERATOR: &str = "kro.run/operator";

/// The leader-election Lease.
pub const LEADER_ELECTION: &str = "kro.run/leader-election";

/// kro's writes to metadata: an instance's finalizer, labels and ApplySet
/// inventory annotations, and the removal of kro's labels from a child it
/// releases (its deletion policy is `orphan`, or an `externalRef` now
/// reads it).
pub const INSTANCE_METADATA: &str = "kro.run/labeller";

/// The children an instance's graph renders, applied as members of the
/// instance's ApplySet.
pub const CHILDREN: &str = "kro.run/applyset";
