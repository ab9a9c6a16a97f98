//! The memory oracle: a global allocator that counts the bytes live, keeps
//! their peak, and refuses to go past a hard cap.
//!
//! The worker resets the peak before each input and reads how far it rose.
//! The hard cap keeps a runaway input from taking the machine: the
//! allocation that would pass it fails, the process aborts ("memory
//! allocation of N bytes failed"), and the supervisor reports the input.
//! The counters are process-wide; the worker runs one input at a time.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// [`System`], counted.
pub struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
static REFUSED: AtomicBool = AtomicBool::new(false);

/// Counts `bytes` more, unless that passes the cap.
fn reserve(bytes: usize) -> bool {
    let live = LIVE
        .fetch_add(bytes, Ordering::Relaxed)
        .saturating_add(bytes);
    if live > CAP.load(Ordering::Relaxed) {
        LIVE.fetch_sub(bytes, Ordering::Relaxed);
        REFUSED.store(true, Ordering::Relaxed);
        return false;
    }
    PEAK.fetch_max(live, Ordering::Relaxed);
    true
}

fn release(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting around it touches only atomics.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            release(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            release(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_size = layout.size();
        if new_size > old_size && !reserve(new_size - old_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` was allocated by `System` with `layout`, and the
        // caller guarantees `new_size` is valid for it.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old_size {
                release(new_size - old_size);
            }
        } else if new_size < old_size {
            release(old_size - new_size);
        }
        new
    }
}

/// Refuses allocations that would bring the live bytes past `bytes`.
pub fn set_hard_cap(bytes: usize) {
    CAP.store(bytes, Ordering::Relaxed);
}

/// The memory an input used, measured from [`Measure::start`].
pub struct Measure {
    baseline: usize,
}

impl Measure {
    /// Starts measuring: the peak restarts from the bytes live now.
    pub fn start() -> Self {
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        REFUSED.store(false, Ordering::Relaxed);
        Self { baseline }
    }

    /// How far the live bytes rose above the start, at most.
    pub fn peak_growth(&self) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(self.baseline)
    }

    /// Whether an allocation was refused for passing the hard cap.
    pub fn refused(&self) -> bool {
        REFUSED.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::Measure;

    // The test binary is built from `main.rs`, so it counts with the
    // allocator too; other tests running at the same time only add to the
    // peak.
    #[test]
    fn a_block_allocated_and_freed_is_in_the_peak() {
        let measure = Measure::start();
        let block = vec![7u8; 3 << 20];
        std::hint::black_box(&block);
        drop(block);
        assert!(measure.peak_growth() >= 3 << 20);
        assert!(!measure.refused());
    }
}
