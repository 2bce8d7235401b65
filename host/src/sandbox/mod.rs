//! The sandbox: loads untrusted rule plugins and runs them, one fresh instance per
//! evaluation, within fuel, time, memory, output and log limits.
//!
//! - [`Sandbox::load`] validates a plugin (size, wasm, imports restricted to the contract,
//!   exports present), compiles it once (or loads the cached artifact), and keeps an
//!   `InstancePre` for it. A core module is a contract 0.2 plugin (`v0_2`); a component
//!   is a 0.1 plugin, run through the adapter (`v0_1`).
//! - [`Sandbox::evaluate`] runs `evaluate` in a fresh `Store` from the pooling allocator,
//!   and reports the fuel used, the log, and a typed [`StepError`] when it fails.

mod artifact;
mod descriptor;
mod limits;
mod plugin;
mod v0_1;
mod v0_2;
mod v0_2_component;
pub mod worker;

pub use artifact::{ArtifactCache, Compiled, Kind};
pub use limits::*;
pub use plugin::{Evaluation, Plugin, output_size, truncate};

use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

/// How often the epoch advances; the wall-clock deadline counts in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Why a component was refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LoadError {
    #[error("module is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("not a WebAssembly binary")]
    NotWasm,
    #[error("invalid component: {message}")]
    Invalid { message: String },
    #[error(
        "imports `{import}`, which is outside the rule contract (a 0.2 module imports nothing; a 0.1 component only plaza:rules/host@0.1.0)"
    )]
    ForbiddenImport { import: String },
    #[error("does not implement the rule contract (plaza:rules 0.2 or 0.1): {message}")]
    ContractMismatch { message: String },
    #[error("describe failed: {error}")]
    Describe { error: StepError },
    #[error("invalid descriptor: {message}")]
    BadDescriptor { message: String },
}

/// Why one evaluation of one plugin failed. Shown in the quote's explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepError {
    #[error("ran out of instructions (limit {limit})")]
    OutOfFuel { limit: u64 },
    #[error("exceeded the {limit_ms} ms time limit")]
    Timeout { limit_ms: u64 },
    #[error("tried to grow memory beyond {limit} bytes")]
    MemoryLimit { limit: usize },
    #[error("call stack exhausted (runaway recursion)")]
    StackOverflow,
    #[error("trapped: {message}")]
    Trap { message: String },
    #[error("output is {size} bytes; the limit is {limit}")]
    OutputTooLarge { size: usize, limit: usize },
    /// The output points at more data than the host copies out of one call: refused before
    /// anything is copied.
    #[error("output needs more than the {limit} bytes the host copies out of one call")]
    OutputOverCopyLimit { limit: usize },
    #[error("{count} effects; the limit is {limit}")]
    TooManyEffects { count: usize, limit: usize },
    #[error("input is {size} bytes; the limit is {limit}")]
    InputTooLarge { size: usize, limit: usize },
    #[error("invalid output: {message}")]
    InvalidOutput { message: String },
    #[error("plugin returned an error: {message}")]
    PluginError { message: String },
    #[error("proposals break the host's invariants: {}", violations.join("; "))]
    InvariantBroken { violations: Vec<String> },
    #[error("could not instantiate: {message}")]
    Instantiate { message: String },
    #[error(
        "the plugin failed {failures} times in a row on this host and is switched off here for now"
    )]
    CircuitOpen { failures: u32 },
}

/// Per-evaluation state inside a `Store`: the limits and what the plugin logged.
struct StoreState {
    max_memory_bytes: usize,
    memory_denied: bool,
    max_log_bytes: usize,
    max_lift_bytes: usize,
    log: String,
    log_truncated: bool,
}

impl StoreState {
    /// Append one message and a newline (contract 0.1's `log` import).
    fn append_log(&mut self, message: &str) {
        let room = self.max_log_bytes.saturating_sub(self.log.len());
        if message.len() + 1 > room {
            self.log_truncated = true;
            let cut = message.floor_char_boundary(room.saturating_sub(1));
            self.log.push_str(&message[..cut]);
            return;
        }
        self.log.push_str(message);
        self.log.push('\n');
    }

    /// The whole log at once (contract 0.2's log buffer), cut to the host's limit.
    fn set_log(&mut self, mut log: String, truncated: bool) {
        self.log_truncated = truncated || log.len() > self.max_log_bytes;
        log.truncate(log.floor_char_boundary(self.max_log_bytes));
        self.log = log;
    }
}

/// How a call into a plugin went wrong, before it is classified as a [`StepError`].
enum Failure {
    /// Instantiating failed.
    Instantiate(wasmtime::Error),
    /// The call trapped or was refused by wasmtime.
    Call(wasmtime::Error),
    /// The module does not have the contract's exports.
    Contract(String),
    /// The answer pointed past the copy limit.
    OverCopyLimit,
    /// The answer could not be read.
    Output(String),
}

impl wasmtime::ResourceLimiter for StoreState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.memory_denied = true;
            return Err(wasmtime::format_err!("memory limit"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

/// The engine, linker and limits shared by every plugin. Cheap to share across threads.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
    /// The lane for plugins over `max_module_bytes`, with [`LargeLimits`]; `None` inside it.
    large: Option<Box<Sandbox>>,
}

struct Inner {
    engine: Engine,
    linker: Linker<StoreState>,
    module_linker: wasmtime::Linker<StoreState>,
    limits: Limits,
    cache: Option<ArtifactCache>,
    ticker_stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The engine configuration for `limits`. The serving engine pools instances; a compile
/// worker's engine (`pooling: false`) only compiles, and produces artifacts the serving
/// engine loads (the pooling allocator is not part of an artifact's compatibility).
pub fn engine_config(limits: &Limits, pooling: bool) -> Config {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(limits.max_wasm_stack)
        .wasm_backtrace_max_frames(None)
        .cranelift_opt_level(OptLevel::Speed);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(limits.instance_slots)
            .total_core_instances(limits.instance_slots * 4)
            .total_memories(limits.instance_slots)
            .total_tables(limits.instance_slots * 2)
            .max_memory_size(limits.max_memory_bytes)
            // Keep the pages a typical rule touches resident: resetting them is a memset,
            // not a page fault on the next evaluation.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 * 1024)
            .pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

impl Sandbox {
    /// A sandbox with `limits`, caching compiled artifacts in `cache` if given.
    pub fn new(limits: Limits, cache: Option<ArtifactCache>) -> anyhow::Result<Self> {
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let large = Sandbox::lane(limits.for_large(), cache.clone(), None, &ticker_stop)?;
        let large_engine = large.inner.engine.clone();
        let sandbox = Sandbox::lane(limits, cache, Some(Box::new(large)), &ticker_stop)?;
        // One ticker advances both lanes' epochs; it stops when either lane's `Inner` drops
        // (they drop together: the large lane lives inside the ordinary one).
        let engines = [sandbox.inner.engine.clone(), large_engine];
        let stop = ticker_stop;
        std::thread::Builder::new()
            .name("plaza-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for engine in &engines {
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(sandbox)
    }

    fn lane(
        limits: Limits,
        cache: Option<ArtifactCache>,
        large: Option<Box<Sandbox>>,
        ticker_stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(&limits, true))?;
        let mut linker = Linker::new(&engine);
        v0_1::Rule::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let module_linker = wasmtime::Linker::new(&engine);
        let ticker_stop = ticker_stop.clone();
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                linker,
                module_linker,
                limits,
                cache,
                ticker_stop,
            }),
            large,
        })
    }

    /// The limits in force (for plugins up to `max_module_bytes`).
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The limits a plugin of `size` bytes is compiled and run with.
    pub fn limits_for(&self, size: usize) -> &Limits {
        self.lane_for(size)
            .map_or(&self.inner.limits, |large| &large.inner.limits)
    }

    /// The large lane, when a plugin of `size` bytes belongs there.
    fn lane_for(&self, size: usize) -> Option<&Sandbox> {
        self.large
            .as_deref()
            .filter(|_| size > self.inner.limits.max_module_bytes)
    }

    /// The large lane, when `plugin` was loaded there and this is not it.
    fn lane_of(&self, plugin: &Plugin) -> Option<&Sandbox> {
        self.large.as_deref().filter(|_| plugin.large)
    }

    fn deadline_ticks(&self) -> u64 {
        let tick_ms = EPOCH_TICK.as_millis().max(1) as u64;
        self.inner.limits.timeout_ms.div_ceil(tick_ms).max(1)
    }
}
