//! Locking a mutex that another thread may have poisoned by panicking.
//!
//! Every mutex in the operator guards a record that each update leaves
//! consistent (one insert, remove or replacement at a time), so a panic
//! elsewhere does not corrupt it: the data is used as it is rather than
//! spreading the panic to every later caller.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// `mutex`'s guard, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
