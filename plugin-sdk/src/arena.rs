//! The plugin's allocator: an arena that only grows.
//!
//! Plaza gives every evaluation a fresh instance and throws its memory away afterwards, so
//! freeing is wasted work. A bump pointer makes each allocation a handful of instructions
//! (the host's lowering of a 20-line cart alone makes ~150 of them), and a general-purpose
//! allocator's set-up is paid on every evaluation. Freeing the most recent allocation, and
//! growing it in place, still work, which covers the usual `Vec`/`String` growth. A plugin
//! that allocates without end meets the host's memory limit, as it would anyway.
//!
//! The arena starts in the memory the module already has (from the linker's `__heap_base` to
//! the initial memory size, which Plaza's plugin build sets to 256 KiB) and only then grows:
//! growing is a host call, and the sandbox must shrink grown memory again after every
//! evaluation, so a typical evaluation should never grow.
//!
//! Enabled by the default feature `arena`; disable it to bring your own allocator.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const PAGE: usize = 65_536;
/// Grow at least this many pages at a time: each growth is a call into the host.
const MIN_GROW_PAGES: usize = 2;

/// The arena allocator. Wasm instances are single-threaded; the atomics are plain loads
/// and stores there.
#[derive(Debug)]
pub struct Arena {
    next: AtomicUsize,
    end: AtomicUsize,
}

impl Arena {
    /// An arena that takes its first page when first used.
    pub const fn new() -> Arena {
        Arena {
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

// SAFETY: `alloc` hands out disjoint, suitably aligned ranges of linear memory that the
// arena obtained from `memory.grow` and never hands out again, except the most recent
// allocation after it was freed or while it is resized, which is no longer in use.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        if self.next.load(Relaxed) == 0 {
            let (base, end) = initial_region();
            self.next.store(base, Relaxed);
            self.end.store(end, Relaxed);
        }
        let mut start = align_up(self.next.load(Relaxed), align);
        if start + size > self.end.load(Relaxed) {
            let pages = (size + align).div_ceil(PAGE).max(MIN_GROW_PAGES);
            let previous = grow(pages);
            if previous == usize::MAX {
                return core::ptr::null_mut();
            }
            let base = previous * PAGE;
            // New pages continue the current region when nothing else grew memory.
            if base != self.end.load(Relaxed) {
                self.next.store(base, Relaxed);
            }
            self.end.store(base + pages * PAGE, Relaxed);
            start = align_up(self.next.load(Relaxed), align);
        }
        self.next.store(start + size, Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.load(Relaxed) {
            self.next.store(ptr as usize, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        let is_last = start + layout.size() == self.next.load(Relaxed);
        if is_last && start + new_size <= self.end.load(Relaxed) {
            self.next.store(start + new_size, Relaxed);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `layout` describes `ptr`, and `new_size` is valid.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size());
            }
            new
        }
    }
}

/// The free memory the module starts with: from the end of its data to its current size.
#[cfg(target_arch = "wasm32")]
fn initial_region() -> (usize, usize) {
    unsafe extern "C" {
        // Defined by wasm-ld: the first byte after the stack and static data.
        static __heap_base: u8;
    }
    let base = &raw const __heap_base as usize;
    (base, core::arch::wasm32::memory_size(0) * PAGE)
}

#[cfg(not(target_arch = "wasm32"))]
fn initial_region() -> (usize, usize) {
    (0, 0)
}

#[cfg(target_arch = "wasm32")]
fn grow(pages: usize) -> usize {
    core::arch::wasm32::memory_grow(0, pages)
}

#[cfg(not(target_arch = "wasm32"))]
fn grow(_pages: usize) -> usize {
    usize::MAX
}

#[cfg(all(target_arch = "wasm32", feature = "arena"))]
#[global_allocator]
static ALLOCATOR: Arena = Arena::new();
