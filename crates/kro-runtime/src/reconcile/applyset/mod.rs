//! The instance's ApplySet (KEP-3659): everything kro records and looks up
//! to find the children of an instance again, and pruning.
//!
//! The inventory is a set of annotations on the instance listing the
//! group-kinds and namespaces of its children, so that pruning and deletion
//! know where to look; the children carry the ApplySet id in a label and are
//! found by it. The annotation and label names are kro's API vocabulary
//! ([`kro_graph::api::metadata`]); computing their values is the runtime's.
//!
//! An apply pass widens the inventory before it applies (a crash after the
//! apply must not hide the new children), deletes the members it no longer
//! renders, then shrinks the inventory to what it rendered. Deletion reads
//! the members from the recorded inventory alone.
//!
//! `inventory` reads and writes the inventory; `members` finds, deletes,
//! releases and prunes the children.

mod inventory;
mod members;

pub(super) use inventory::{ensure_managed, recorded_inventory, widen};
pub(super) use members::{delete, members, prune, release};
