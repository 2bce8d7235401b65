//! A loaded plugin version, and running it: a contract 0.2 module, or a 0.1 component
//! through the adapter.

use super::descriptor::check_descriptor;
use super::v0_1::{self, RulePre};
use super::v0_2::ModulePlugin;
use super::v0_2_component as component02;
use super::{Compiled, Failure, Kind, LoadError, Sandbox, StepError, StoreState};
use plaza_plugin_sdk::{Descriptor, Effect, Input, Stage};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wasmtime::component::Component;
use wasmtime::{Module, Store, Trap};

/// Longest plugin-supplied message (an error, a configuration refusal) shown anywhere.
pub const MAX_PLUGIN_MESSAGE_BYTES: usize = 256;

impl Plugin {
    fn large(mut self) -> Plugin {
        self.large = true;
        self
    }
}

/// A validated, compiled plugin version, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    /// sha256 of the uploaded bytes, hex: the plugin version's identity.
    pub sha256: String,
    /// What the plugin says about itself (name, version, stage, configuration schema).
    pub descriptor: Descriptor,
    /// Size of the uploaded bytes.
    pub size: usize,
    /// True when the compiled artifact came from the cache rather than Cranelift.
    pub from_cache: bool,
    /// True when the plugin runs with the large plugins' limits (see [`super::LargeLimits`]).
    pub large: bool,
    contract: Contract,
}

/// Which contract a plugin implements, ready to instantiate.
#[derive(Clone)]
enum Contract {
    V01(RulePre<StoreState>),
    V02(Arc<ModulePlugin>),
    /// Contract 0.2 in its component form (a JavaScript rule).
    V02Component(component02::RulePre<StoreState>),
}

impl Plugin {
    /// The contract version the plugin implements: `"0.2"` or `"0.1"`.
    pub fn contract(&self) -> &'static str {
        match self.contract {
            Contract::V01(_) => "0.1",
            Contract::V02(_) | Contract::V02Component(_) => "0.2",
        }
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.descriptor.name)
            .field("version", &self.descriptor.version)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The result of one evaluation.
#[derive(Debug)]
pub struct Evaluation {
    pub result: Result<Vec<Effect>, StepError>,
    /// Instructions used (fuel consumed).
    pub fuel: u64,
    pub log: String,
    pub log_truncated: bool,
}

impl Sandbox {
    /// Validate and compile a plugin. Compiling is CPU-heavy (tens of milliseconds):
    /// callers serving requests run this off the request path.
    pub fn load(&self, bytes: &[u8]) -> Result<Plugin, LoadError> {
        if let Some(large) = self.lane_for(bytes.len()) {
            return large.load(bytes).map(Plugin::large);
        }
        let (sha256, kind) = self.preamble(bytes)?;
        if let Some(plugin) = self.cached(&sha256, kind, bytes.len())? {
            return Ok(plugin);
        }
        let engine = &self.inner.engine;
        let invalid = |e: wasmtime::Error| LoadError::Invalid {
            message: format!("{e:#}"),
        };
        let compiled = match kind {
            Kind::Component => Compiled::Component(Component::new(engine, bytes).map_err(invalid)?),
            Kind::Module => Compiled::Module(Module::new(engine, bytes).map_err(invalid)?),
        };
        let plugin = self.finish(&compiled, sha256, bytes.len(), false)?;
        if let Some(cache) = &self.inner.cache
            && let Err(e) = cache.store_compiled(engine, &plugin.sha256, &compiled)
        {
            // A failed cache write only costs a recompile after restart.
            tracing::warn!(sha256 = %plugin.sha256, error = %e, "caching a compiled artifact");
        }
        Ok(plugin)
    }

    /// The plugin, when the artifact cache already holds its compiled form; `None` when it
    /// would have to be compiled.
    pub fn load_if_cached(&self, bytes: &[u8]) -> Result<Option<Plugin>, LoadError> {
        if let Some(large) = self.lane_for(bytes.len()) {
            return large.load_if_cached(bytes).map(|p| p.map(Plugin::large));
        }
        let (sha256, kind) = self.preamble(bytes)?;
        self.cached(&sha256, kind, bytes.len())
    }

    fn cached(&self, sha256: &str, kind: Kind, size: usize) -> Result<Option<Plugin>, LoadError> {
        let cached = self
            .inner
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.inner.engine, sha256, kind));
        cached
            .map(|compiled| self.finish(&compiled, sha256.to_owned(), size, true))
            .transpose()
    }

    /// Load a plugin from the artifact a compile worker made of it (see [`super::worker`]):
    /// the artifact goes through the cache's checks, and nothing is compiled here.
    pub fn load_precompiled(&self, bytes: &[u8], artifact: &[u8]) -> Result<Plugin, LoadError> {
        if let Some(large) = self.lane_for(bytes.len()) {
            return large.load_precompiled(bytes, artifact).map(Plugin::large);
        }
        let (sha256, kind) = self.preamble(bytes)?;
        let engine = &self.inner.engine;
        let unusable = |message: String| LoadError::Invalid { message };
        let cache = self.inner.cache.as_ref().ok_or_else(|| {
            unusable("a worker-compiled artifact needs the artifact cache".into())
        })?;
        cache
            .store(engine, &sha256, artifact)
            .map_err(|e| unusable(format!("storing the compiled artifact: {e}")))?;
        let compiled = cache
            .load(engine, &sha256, kind)
            .ok_or_else(|| unusable("the compiled artifact did not load".into()))?;
        self.finish(&compiled, sha256, bytes.len(), false)
    }

    /// Size and preamble checks; the plugin's sha256 and kind.
    fn preamble(&self, bytes: &[u8]) -> Result<(String, Kind), LoadError> {
        let limits = &self.inner.limits;
        if bytes.len() > limits.max_module_bytes {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                limit: limits.max_module_bytes,
            });
        }
        let kind = Kind::of(bytes).ok_or(LoadError::NotWasm)?;
        Ok((hex::encode(Sha256::digest(bytes)), kind))
    }

    /// Check a compiled plugin against its contract and ask it to describe itself.
    fn finish(
        &self,
        compiled: &Compiled,
        sha256: String,
        size: usize,
        from_cache: bool,
    ) -> Result<Plugin, LoadError> {
        let contract = match compiled {
            Compiled::Module(module) => Contract::V02(Arc::new(ModulePlugin::new(
                &self.inner.module_linker,
                module,
            )?)),
            Compiled::Component(component) => self.component_contract(component)?,
        };
        let mut plugin = Plugin {
            sha256,
            descriptor: Descriptor {
                name: String::new(),
                version: String::new(),
                stage: Stage::ItemPrice,
                description: String::new(),
                config_schema: String::new(),
            },
            size,
            from_cache,
            large: false,
            contract,
        };
        let describe = self.call(|store| match &plugin.contract {
            Contract::V02(m) => m.run(store, |running, store| running.describe(store)),
            Contract::V01(pre) => {
                let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
                let d = rule.call_describe(&mut *store).map_err(Failure::Call)?;
                Ok(v0_1::descriptor(d))
            }
            Contract::V02Component(pre) => component02::describe(pre, store),
        });
        plugin.descriptor = describe.result.map_err(|error| match error {
            StepError::InvalidOutput { message } if message.starts_with(CONTRACT) => {
                LoadError::ContractMismatch {
                    message: message[CONTRACT.len()..].to_owned(),
                }
            }
            error => LoadError::Describe { error },
        })?;
        check_descriptor(&plugin.descriptor)?;
        Ok(plugin)
    }

    /// A component is contract 0.2's component form when it imports nothing and has its
    /// exports; otherwise it must be a 0.1 component.
    fn component_contract(&self, component: &Component) -> Result<Contract, LoadError> {
        let engine = &self.inner.engine;
        if component.component_type().imports(engine).next().is_none()
            && let Ok(pre) =
                (self.inner.linker.instantiate_pre(component)).and_then(component02::RulePre::new)
        {
            return Ok(Contract::V02Component(pre));
        }
        self.component_pre(component).map(Contract::V01)
    }

    fn component_pre(&self, component: &Component) -> Result<RulePre<StoreState>, LoadError> {
        let engine = &self.inner.engine;
        for (name, _) in component.component_type().imports(engine) {
            if !v0_1::ALLOWED_IMPORTS.contains(&name) {
                return Err(LoadError::ForbiddenImport {
                    import: name.to_owned(),
                });
            }
        }
        self.inner
            .linker
            .instantiate_pre(component)
            .and_then(RulePre::new)
            .map_err(|e| LoadError::ContractMismatch {
                message: format!("{e:#}"),
            })
    }

    /// Ask the plugin whether `config` is acceptable.
    pub fn validate_config(
        &self,
        plugin: &Plugin,
        config: &str,
    ) -> Result<Result<(), String>, StepError> {
        if let Some(large) = self.lane_of(plugin) {
            return large.validate_config(plugin, config);
        }
        self.call(|store| match &plugin.contract {
            Contract::V02(m) => m.run(store, |running, store| running.validate(store, config)),
            Contract::V01(pre) => {
                let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
                rule.call_validate_config(&mut *store, config)
                    .map_err(Failure::Call)
            }
            Contract::V02Component(pre) => component02::validate(pre, store, config),
        })
        .result
        .map(|checked| checked.map_err(|message| truncate(message, MAX_PLUGIN_MESSAGE_BYTES)))
    }

    /// Run `evaluate` once in a fresh instance, on an encoded cart and step (see
    /// `plaza_plugin_sdk::wire`).
    pub fn evaluate(&self, plugin: &Plugin, cart: &[u8], step: &[u8]) -> Evaluation {
        if let Some(large) = self.lane_of(plugin) {
            return large.evaluate(plugin, cart, step);
        }
        let size = cart.len() + step.len();
        let limit = self.inner.limits.max_input_bytes;
        if size > limit {
            return Evaluation {
                result: Err(StepError::InputTooLarge { size, limit }),
                fuel: 0,
                log: String::new(),
                log_truncated: false,
            };
        }
        let call = self.call(|store| match &plugin.contract {
            Contract::V02(m) => m.run(store, |running, store| running.evaluate(store, cart, step)),
            Contract::V01(pre) => {
                let view = Input::read(cart, step).map_err(|e| Failure::Output(e.to_string()))?;
                let input = v0_1::input(&view);
                let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
                let answer = rule
                    .call_evaluate(&mut *store, &input)
                    .map_err(Failure::Call)?;
                Ok(answer.map(|effects| effects.into_iter().map(v0_1::effect).collect()))
            }
            Contract::V02Component(pre) => component02::evaluate(pre, store, cart, step),
        });
        let result = match call.result {
            Ok(Ok(effects)) => self.check_output(effects),
            Ok(Err(message)) => Err(StepError::PluginError {
                message: truncate(message, MAX_PLUGIN_MESSAGE_BYTES),
            }),
            Err(e) => Err(e),
        };
        Evaluation {
            result,
            fuel: call.fuel,
            log: call.log,
            log_truncated: call.log_truncated,
        }
    }

    fn check_output(&self, effects: Vec<Effect>) -> Result<Vec<Effect>, StepError> {
        let limits = &self.inner.limits;
        if effects.len() > limits.max_effects {
            return Err(StepError::TooManyEffects {
                count: effects.len(),
                limit: limits.max_effects,
            });
        }
        let size = output_size(&effects);
        if size > limits.max_output_bytes {
            return Err(StepError::OutputTooLarge {
                size,
                limit: limits.max_output_bytes,
            });
        }
        Ok(effects)
    }

    /// Run `f` in a fresh store within the limits, classifying any failure.
    fn call<R>(&self, f: impl FnOnce(&mut Store<StoreState>) -> Result<R, Failure>) -> Call<R> {
        let limits = &self.inner.limits;
        let mut store = Store::new(
            &self.inner.engine,
            StoreState {
                max_memory_bytes: limits.max_memory_bytes,
                memory_denied: false,
                max_log_bytes: limits.max_log_bytes,
                max_lift_bytes: limits.max_lift_bytes(),
                log: String::new(),
                log_truncated: false,
            },
        );
        store.limiter(|s| s);
        // Everything the host lifts out of a 0.1 guest in one call (the output, a log
        // line, a descriptor) is charged against this before it is copied, so a guest
        // cannot make the host allocate more than this whatever its output points at. A
        // 0.2 answer is checked against the same figure before it is read.
        store.set_hostcall_fuel(limits.max_lift_bytes());
        // Fuel is the deterministic budget; the epoch deadline is the wall-clock backstop.
        store.set_fuel(limits.fuel).expect("fuel is enabled");
        store.set_epoch_deadline(self.deadline_ticks());
        store.epoch_deadline_trap();
        let result = f(&mut store).map_err(|failure| self.classify(&store, failure));
        let fuel = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        Call {
            result,
            fuel,
            log: state.log,
            log_truncated: state.log_truncated,
        }
    }

    fn classify(&self, store: &Store<StoreState>, failure: Failure) -> StepError {
        let limits = &self.inner.limits;
        let error = match failure {
            Failure::Instantiate(e) => {
                return match self.classify_error(store, e) {
                    StepError::Trap { message } => StepError::Instantiate { message },
                    other => other,
                };
            }
            Failure::Call(e) => e,
            Failure::Contract(message) => {
                return StepError::InvalidOutput {
                    message: format!("{CONTRACT}{message}"),
                };
            }
            Failure::OverCopyLimit => {
                return StepError::OutputOverCopyLimit {
                    limit: limits.max_lift_bytes(),
                };
            }
            Failure::Output(message) => {
                return StepError::InvalidOutput {
                    message: truncate(message, MAX_PLUGIN_MESSAGE_BYTES),
                };
            }
        };
        self.classify_error(store, error)
    }

    fn classify_error(&self, store: &Store<StoreState>, error: wasmtime::Error) -> StepError {
        let limits = &self.inner.limits;
        if store.data().memory_denied {
            return StepError::MemoryLimit {
                limit: limits.max_memory_bytes,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => StepError::OutOfFuel { limit: limits.fuel },
            Some(Trap::Interrupt) => StepError::Timeout {
                limit_ms: limits.timeout_ms,
            },
            Some(Trap::StackOverflow) => StepError::StackOverflow,
            Some(Trap::UnreachableCodeReached) => StepError::Trap {
                message: "unreachable executed (a panic or abort in the plugin; see its log)"
                    .into(),
            },
            // Plaza's own words for the traps authors meet, so explanations do not change
            // with wasmtime's wording; anything rarer keeps wasmtime's.
            Some(Trap::MemoryOutOfBounds) => StepError::Trap {
                message: "out-of-bounds memory access (in a Rust plugin, often runaway recursion overflowing its stack)".into(),
            },
            Some(Trap::IntegerDivisionByZero) => StepError::Trap {
                message: "integer division by zero".into(),
            },
            Some(trap) => StepError::Trap {
                message: trap.to_string(),
            },
            // wasmtime refused to copy past the store's hostcall fuel (its error type is
            // private, so it is known by its message; a test pins the classification).
            None if format!("{error:#}").contains("fuel allocated for hostcalls has been exhausted") => {
                StepError::OutputOverCopyLimit {
                    limit: limits.max_lift_bytes(),
                }
            }
            // Not a trap: the guest's output could not be lifted (bad UTF-8, discriminant …).
            None => StepError::InvalidOutput {
                message: truncate(format!("{error:#}"), MAX_PLUGIN_MESSAGE_BYTES),
            },
        }
    }
}

/// Marks an [`StepError::InvalidOutput`] that is really a missing or mistyped export, so
/// that a load reports it as a contract mismatch.
const CONTRACT: &str = "contract: ";

/// One raw call: the export's result before output checks, with what it used.
struct Call<R> {
    result: Result<R, StepError>,
    fuel: u64,
    log: String,
    log_truncated: bool,
}

/// The size the output limit counts: the effects' strings plus a fixed cost per effect.
pub fn output_size(effects: &[Effect]) -> usize {
    effects.iter().map(effect_size).sum()
}

/// Approximate serialized size of an effect: its strings plus a fixed 32 bytes.
fn effect_size(effect: &Effect) -> usize {
    32 + match effect {
        Effect::LineAdjustment(a) => a.label.len() + a.coupon.as_ref().map_or(0, String::len),
        Effect::OrderAdjustment(a) => {
            a.label.len() + a.coupon.as_ref().map_or(0, String::len) + 4 * a.lines.len()
        }
        Effect::ShippingAdjustment(a) => a.label.len(),
        Effect::Commission(c) => c.beneficiary.len() + c.label.len(),
        Effect::Gift(g) => g.sku.len() + g.label.len(),
        Effect::PointsDeduction(p) => p.label.len(),
        Effect::Note(n) => n.len(),
    }
}

/// `s` cut to at most `max` bytes at a char boundary, marked with `…` when cut.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        s.truncate(s.floor_char_boundary(max));
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_message_is_cut_at_a_char_boundary() {
        let cut = truncate("优惠".repeat(200), MAX_PLUGIN_MESSAGE_BYTES);
        assert!(cut.len() <= MAX_PLUGIN_MESSAGE_BYTES + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
