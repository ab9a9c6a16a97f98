//! A countdown for walks over values.
//!
//! A value can hold one list or map many times over without copying it,
//! so walking it (comparing, rendering, converting) can be far more work
//! than building it was. Walks take one step per value visited and stop
//! with [`Exhausted`] when their allowance runs out; the evaluator gives
//! them what its budget still pays for (see `meter.rs`).

/// Bytes read that count as one step (the meter makes reading a byte cost
/// the same inside a walk as outside).
pub(crate) const BYTES_PER_STEP: u64 = 25;

/// The steps a walk may still take, and those it took.
#[derive(Debug)]
pub(crate) struct Steps {
    left: u64,
    taken: u64,
}

/// A walk ran out of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl Steps {
    /// An allowance of `n` steps.
    pub(crate) fn new(n: u64) -> Steps {
        Steps { left: n, taken: 0 }
    }

    /// No limit, for the plain (unmetered) APIs.
    pub(crate) fn unlimited() -> Steps {
        Steps::new(u64::MAX)
    }

    /// Takes `n` steps; when fewer are left, takes none and fails.
    #[inline]
    pub(crate) fn take(&mut self, n: u64) -> Result<(), Exhausted> {
        if n > self.left {
            return Err(Exhausted);
        }
        self.left -= n;
        self.taken += n;
        Ok(())
    }

    /// Takes the steps of reading `bytes` bytes.
    #[inline]
    pub(crate) fn read(&mut self, bytes: usize) -> Result<(), Exhausted> {
        self.take(bytes as u64 / BYTES_PER_STEP)
    }

    /// The steps taken so far.
    pub(crate) fn taken(&self) -> u64 {
        self.taken
    }

    /// The steps left.
    pub(crate) fn left(&self) -> u64 {
        self.left
    }
}
