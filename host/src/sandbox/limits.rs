//! Sandbox limits: what one evaluation of one plugin may use.

use serde::{Deserialize, Serialize};

/// Largest accepted module or component, in bytes. A Rust rule with a derived configuration
/// schema is 190–260 KiB (the schema generator, run once at upload, is about 100 KiB of it).
pub const DEFAULT_MAX_MODULE_BYTES: usize = 512 * 1024;
/// Instructions (fuel) per evaluation.
pub const DEFAULT_FUEL: u64 = 11_000_000;
/// Linear memory per evaluation, in bytes.
pub const DEFAULT_MAX_MEMORY_BYTES: usize = 10 * 1024 * 1024;
/// Serialized input size, in bytes.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 128 * 1024;
/// Output size (strings plus a fixed cost per effect), in bytes.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 20 * 1024;
/// Effects per evaluation.
pub const DEFAULT_MAX_EFFECTS: usize = 512;
/// Log bytes kept per evaluation.
pub const DEFAULT_MAX_LOG_BYTES: usize = 1024;
/// Wall-clock backstop per evaluation, in milliseconds (fuel is the real budget).
pub const DEFAULT_TIMEOUT_MS: u64 = 100;
/// Native stack the wasm code may use, in bytes.
pub const DEFAULT_MAX_WASM_STACK: usize = 512 * 1024;
/// Plugin instances alive at once across all threads (pooling allocator slots).
pub const DEFAULT_INSTANCE_SLOTS: u32 = 1000;

/// Limits for the sandbox. Every field has a documented default (see the constants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_module_bytes: usize,
    pub fuel: u64,
    pub max_memory_bytes: usize,
    pub max_input_bytes: usize,
    pub max_output_bytes: usize,
    pub max_effects: usize,
    pub max_log_bytes: usize,
    pub timeout_ms: u64,
    pub max_wasm_stack: usize,
    pub instance_slots: u32,
}

impl Limits {
    /// The most the host copies out of a guest in one call: room for the largest output
    /// the limits allow (every effect at its canonical size plus all output strings)
    /// with margin, and far below what a guest's memory could point at.
    pub fn max_lift_bytes(&self) -> usize {
        self.max_effects
            .saturating_mul(256)
            .saturating_add(self.max_output_bytes.saturating_mul(2))
            .saturating_add(64 * 1024)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            fuel: DEFAULT_FUEL,
            max_memory_bytes: DEFAULT_MAX_MEMORY_BYTES,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_effects: DEFAULT_MAX_EFFECTS,
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            instance_slots: DEFAULT_INSTANCE_SLOTS,
        }
    }
}
