//! The plugin's side of contract 0.2 (see [`crate::wire`]): what [`crate::export_rule!`]
//! exports calls these. Not for rule authors.
#![allow(unsafe_code)]

use crate::wire::{LOG_CAPACITY, pack};
use crate::{Input, Rule};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, Ordering::Relaxed};

#[repr(C)]
struct LogData {
    len: u32,
    truncated: u32,
    bytes: [u8; LOG_CAPACITY],
}

/// The log buffer the host reads after every call: `u32 len, u32 truncated, bytes`.
/// [`crate::export_rule!`] places one in the plugin and exports its address as
/// `plaza_log`.
#[derive(Debug)]
pub struct LogBuffer(UnsafeCell<LogData>);

// SAFETY: a wasm instance is single-threaded; the buffer is only touched through `append`,
// which holds no reference across calls.
unsafe impl Sync for LogBuffer {}

impl LogBuffer {
    /// An empty log.
    pub const fn new() -> Self {
        LogBuffer(UnsafeCell::new(LogData {
            len: 0,
            truncated: 0,
            bytes: [0; LOG_CAPACITY],
        }))
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new()
    }
}

static LOG: AtomicPtr<LogData> = AtomicPtr::new(core::ptr::null_mut());

/// Make `buffer` this instance's log and send panic messages to it. Every export calls
/// this first.
pub fn install(buffer: &'static LogBuffer) {
    if LOG.swap(buffer.0.get(), Relaxed).is_null() {
        std::panic::set_hook(Box::new(|info| append(&info.to_string())));
    }
}

/// Append `message` and a newline; past the buffer's capacity, keep what fits (cut at a
/// character boundary) and mark the log truncated.
pub fn append(message: &str) {
    let log = LOG.load(Relaxed);
    if log.is_null() {
        return;
    }
    // SAFETY: `LOG` only ever holds the address of a `'static` buffer (see `install`), and
    // nothing else borrows it while this runs (single thread, no re-entry).
    let log = unsafe { &mut *log };
    let len = log.len as usize;
    let room = LOG_CAPACITY.saturating_sub(len);
    let (text, newline) = if message.len() + 1 > room {
        log.truncated = 1;
        (
            &message[..message.floor_char_boundary(room.saturating_sub(1))],
            false,
        )
    } else {
        (message, true)
    };
    log.bytes[len..len + text.len()].copy_from_slice(text.as_bytes());
    let mut end = len + text.len();
    if newline {
        log.bytes[end] = b'\n';
        end += 1;
    }
    log.len = end as u32;
}

/// `plaza_alloc`: room for `len` bytes of input, 8-aligned.
pub fn alloc(len: i32) -> i32 {
    let len = len as u32 as usize;
    let Ok(layout) = std::alloc::Layout::from_size_align(len.max(1), 8) else {
        return 0;
    };
    // SAFETY: the layout has a non-zero size.
    (unsafe { std::alloc::alloc(layout) }) as usize as i32
}

fn respond<T: serde::Serialize>(answer: &T) -> i64 {
    let bytes = serde_json::to_vec(answer)
        .unwrap_or_else(|e| format!("{{\"Err\":\"serializing the answer: {e}\"}}").into_bytes());
    leak(bytes)
}

fn leak(bytes: Vec<u8>) -> i64 {
    let bytes = bytes.leak();
    pack(bytes.as_ptr() as usize as u32, bytes.len() as u32)
}

/// # Safety
/// `(ptr, len)` must be bytes the host wrote at an address `plaza_alloc` returned.
unsafe fn bytes<'a>(ptr: i32, len: i32) -> &'a [u8] {
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len as u32 as usize) }
}

/// `plaza_describe`.
pub fn describe<R: Rule>(log: &'static LogBuffer, package: crate::Package) -> i64 {
    install(log);
    respond(&crate::describe::<R>(package))
}

/// `plaza_validate`.
///
/// # Safety
/// Each `(ptr, len)` must be bytes the host wrote at an address `plaza_alloc` returned.
pub unsafe fn validate<R: Rule>(log: &'static LogBuffer, ptr: i32, len: i32) -> i64 {
    install(log);
    // SAFETY: the caller's contract.
    let config = unsafe { bytes(ptr, len) };
    let answer = match core::str::from_utf8(config) {
        Ok(config) => crate::validate_config::<R>(config),
        Err(_) => Err("the configuration is not UTF-8".to_owned()),
    };
    respond(&answer)
}

/// `plaza_evaluate`.
///
/// # Safety
/// Each `(ptr, len)` must be bytes the host wrote at an address `plaza_alloc` returned.
pub unsafe fn evaluate<R: Rule>(
    log: &'static LogBuffer,
    cart: (i32, i32),
    step: (i32, i32),
) -> i64 {
    install(log);
    // SAFETY: the caller's contract.
    let (cart, step) = unsafe { (bytes(cart.0, cart.1), bytes(step.0, step.1)) };
    let answer = match Input::read(cart, step) {
        Ok(input) => crate::evaluate::<R>(&input),
        Err(e) => Err(e.to_string()),
    };
    leak(crate::wire::encode_answer(&answer))
}
