//! A counting global allocator: [`System`] plus counters of live heap
//! bytes, allocations, and allocations by size. A binary (or a test)
//! installs it with
//!
//! ```
//! use ravel_bench::counting_alloc::{installed, live, Counting};
//!
//! #[global_allocator]
//! static GLOBAL: Counting = Counting;
//!
//! fn main() {
//!     assert!(installed());
//!     let before = live();
//!     let block = vec![0u8; 1000];
//!     assert_eq!(live() - before, 1000);
//!     drop(block);
//!     assert_eq!(live(), before);
//! }
//! ```
//!
//! Used by the memory-per-task probe (`bin/memory.rs`) and the soak
//! (`soak`), which checks the heap returns to its baseline.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

/// The allocator: [`System`], counted.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Allocation counts by size (sizes up to 4 KiB).
static BY_SIZE: [AtomicUsize; 4097] = [const { AtomicUsize::new(0) }; 4097];

fn count(size: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    if let Some(c) = BY_SIZE.get(size) {
        c.fetch_add(1, Relaxed);
    }
}

/// Live heap bytes: allocated and not yet freed (0 if [`Counting`] is not
/// the global allocator).
pub fn live() -> isize {
    LIVE.load(Relaxed)
}

/// Allocations made so far.
pub fn allocs() -> usize {
    ALLOCS.load(Relaxed)
}

/// Allocations made so far of each size up to 4 KiB (index = size).
pub fn by_size() -> Vec<usize> {
    BY_SIZE.iter().map(|c| c.load(Relaxed)).collect()
}

/// Whether [`Counting`] is this program's global allocator (an allocation
/// moves the counters).
pub fn installed() -> bool {
    let before = allocs();
    let probe = std::hint::black_box(vec![0u8; 64]);
    drop(probe);
    allocs() != before
}

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            count(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
            count(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
            count(new_size);
        }
        p
    }
}
