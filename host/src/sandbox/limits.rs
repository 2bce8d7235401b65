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

/// Limits for plugins larger than [`Limits::max_module_bytes`]: a JavaScript rule carries
/// its engine (about 12 MiB) and its heap, so it gets room of its own. Fuel, output, log and
/// effect limits are the same for every plugin; these replace the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LargeLimits {
    /// Largest accepted module or component, in bytes.
    pub max_module_bytes: usize,
    /// Instructions (fuel) per evaluation.
    pub fuel: u64,
    /// Linear memory per evaluation, in bytes.
    pub max_memory_bytes: usize,
    /// Wall-clock backstop per evaluation, in milliseconds.
    pub timeout_ms: u64,
    /// Large plugin instances alive at once.
    pub instance_slots: u32,
    /// How long compiling one may take, in milliseconds.
    pub compile_timeout_ms: u64,
}

impl Default for LargeLimits {
    fn default() -> Self {
        LargeLimits {
            max_module_bytes: 32 << 20,
            fuel: 400_000_000,
            max_memory_bytes: 128 << 20,
            timeout_ms: 2_000,
            instance_slots: 64,
            compile_timeout_ms: 300_000,
        }
    }
}

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
    /// Plugins over `max_module_bytes` run in a lane of their own with these.
    pub large: LargeLimits,
}

impl Limits {
    /// The limits of the large plugins' lane: these limits with [`LargeLimits`] in force.
    pub fn for_large(&self) -> Limits {
        let l = &self.large;
        Limits {
            max_module_bytes: l.max_module_bytes,
            fuel: l.fuel,
            max_memory_bytes: l.max_memory_bytes,
            timeout_ms: l.timeout_ms,
            instance_slots: l.instance_slots,
            ..self.clone()
        }
    }

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
            large: LargeLimits::default(),
        }
    }
}
