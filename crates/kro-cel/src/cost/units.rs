//! The meter's charges as functions of sizes, so that the estimate charges
//! exactly what `meter.rs` does for the same work.

use crate::meter::{
    ALLOCATED_BYTES_PER_UNIT, LIST_ELEMENT_BYTES, MAP_ENTRY_BYTES, READ_PER_UNIT, VISITS_PER_UNIT,
};

/// Reading `n` bytes or elements ([`crate::Meter::read`]).
pub(crate) fn read(n: u64) -> u64 {
    n / READ_PER_UNIT
}

/// Visiting `n` values ([`crate::Meter::visit`]).
pub(crate) fn visits(n: u64) -> u64 {
    n / VISITS_PER_UNIT
}

/// Producing `n` bytes ([`crate::Meter::reserve_string`]).
pub(crate) fn bytes(n: u64) -> u64 {
    n.div_ceil(ALLOCATED_BYTES_PER_UNIT)
}

/// Producing `n` list elements ([`crate::Meter::reserve_list`]).
pub(crate) fn list_elements(n: u64) -> u64 {
    bytes(n.saturating_mul(LIST_ELEMENT_BYTES))
}

/// Producing `n` map entries ([`crate::Meter::reserve_map`]).
pub(crate) fn map_entries(n: u64) -> u64 {
    bytes(n.saturating_mul(MAP_ENTRY_BYTES))
}
