//! Contract 0.2 plugins: one core module, no imports, bytes in and bytes out (see
//! `plaza_plugin_sdk::wire`). Every evaluation instantiates it afresh.

use super::{Failure, LoadError, StoreState};
use plaza_plugin_sdk::wire::{LOG_CAPACITY, LOG_HEADER, decode_answer, unpack};
use wasmtime::{
    Extern, ExternType, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store,
    TypedFunc, ValType,
};

/// The exports a 0.2 plugin must have, located once at load.
#[allow(missing_debug_implementations)]
pub struct ModulePlugin {
    pre: InstancePre<StoreState>,
    memory: ModuleExport,
    alloc: ModuleExport,
    describe: ModuleExport,
    validate: ModuleExport,
    evaluate: ModuleExport,
    log: ModuleExport,
}

/// The marker every 0.2 module exports.
pub const MARKER: &str = "plaza_rules_0_2";

impl ModulePlugin {
    /// Check `module` against the contract: no imports, every export present.
    pub fn new(linker: &Linker<StoreState>, module: &Module) -> Result<Self, LoadError> {
        if let Some(import) = module.imports().next() {
            return Err(LoadError::ForbiddenImport {
                import: format!("{}::{}", import.module(), import.name()),
            });
        }
        let export = |name: &str| {
            module
                .get_export_index(name)
                .ok_or_else(|| mismatch(format!("a 0.2 module must export `{name}`")))
        };
        export(MARKER)?;
        for (name, params, results) in SIGNATURES {
            check_function(module, name, params, results)?;
        }
        match module.get_export("memory") {
            Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
            _ => return Err(mismatch("`memory` must be a 32-bit memory".into())),
        }
        match module.get_export("plaza_log") {
            Some(ExternType::Global(g)) if g.content().is_i32() => {}
            _ => return Err(mismatch("`plaza_log` must be an i32 global".into())),
        }
        let pre = linker
            .instantiate_pre(module)
            .map_err(|e| mismatch(format!("{e:#}")))?;
        Ok(ModulePlugin {
            pre,
            memory: export("memory")?,
            alloc: export("plaza_alloc")?,
            describe: export("plaza_describe")?,
            validate: export("plaza_validate")?,
            evaluate: export("plaza_evaluate")?,
            log: export("plaza_log")?,
        })
    }

    /// Instantiate afresh and run `f`; the log is collected however `f` ends.
    pub fn run<R>(
        &self,
        store: &mut Store<StoreState>,
        f: impl FnOnce(&Running<'_>, &mut Store<StoreState>) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let instance = self
            .pre
            .instantiate(&mut *store)
            .map_err(Failure::Instantiate)?;
        let memory = match instance.get_module_export(&mut *store, &self.memory) {
            Some(Extern::Memory(m)) => m,
            _ => return Err(contract("`memory` is not a memory")),
        };
        let running = Running {
            plugin: self,
            instance,
            memory,
        };
        let result = f(&running, store);
        running.collect_log(store);
        result
    }
}

/// Each exported function: its name, parameters and results (all i32 but the answers).
const SIGNATURES: [(&str, &[ValType], &[ValType]); 4] = [
    ("plaza_alloc", &[ValType::I32], &[ValType::I32]),
    ("plaza_describe", &[], &[ValType::I64]),
    (
        "plaza_validate",
        &[ValType::I32, ValType::I32],
        &[ValType::I64],
    ),
    (
        "plaza_evaluate",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I64],
    ),
];

fn check_function(
    module: &Module,
    name: &str,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), LoadError> {
    let shape = |types: &mut dyn ExactSizeIterator<Item = ValType>, want: &[ValType]| {
        types.len() == want.len() && types.zip(want).all(|(got, want)| ValType::eq(&got, want))
    };
    match module.get_export(name) {
        Some(ExternType::Func(f))
            if shape(&mut f.params(), params) && shape(&mut f.results(), results) =>
        {
            Ok(())
        }
        Some(ExternType::Func(f)) => Err(mismatch(format!(
            "`{name}` has the type {f:?}, not the contract's"
        ))),
        _ => Err(mismatch(format!(
            "a 0.2 module must export the function `{name}`"
        ))),
    }
}

fn mismatch(message: String) -> LoadError {
    LoadError::ContractMismatch { message }
}

fn contract(message: &str) -> Failure {
    Failure::Contract(message.to_owned())
}

/// One live instance.
#[allow(missing_debug_implementations)]
pub struct Running<'p> {
    plugin: &'p ModulePlugin,
    instance: Instance,
    memory: Memory,
}

impl Running<'_> {
    fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &self,
        store: &mut Store<StoreState>,
        export: &ModuleExport,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Failure> {
        match self.instance.get_module_export(&mut *store, export) {
            Some(Extern::Func(f)) => f
                .typed::<P, R>(&*store)
                .map_err(|e| Failure::Contract(format!("`{name}`: {e:#}"))),
            _ => Err(Failure::Contract(format!("`{name}` is not a function"))),
        }
    }

    /// Copy `bytes` into the plugin at an address its allocator gives.
    fn write(&self, store: &mut Store<StoreState>, bytes: &[u8]) -> Result<(i32, i32), Failure> {
        let alloc = self.func::<i32, i32>(store, &self.plugin.alloc, "plaza_alloc")?;
        let len = i32::try_from(bytes.len()).map_err(|_| contract("input over 2 GiB"))?;
        let ptr = alloc.call(&mut *store, len).map_err(Failure::Call)?;
        self.memory
            .write(&mut *store, ptr as u32 as usize, bytes)
            .map_err(|_| Failure::Output("plaza_alloc returned room outside memory".into()))?;
        Ok((ptr, len))
    }

    /// The bytes of the answer an export returned; refused unread past the copy limit.
    fn answer_bytes<'s>(
        &self,
        store: &'s Store<StoreState>,
        packed: i64,
    ) -> Result<&'s [u8], Failure> {
        let (ptr, len) = unpack(packed);
        if len as usize > store.data().max_lift_bytes {
            return Err(Failure::OverCopyLimit);
        }
        let start = ptr as usize;
        self.memory
            .data(store)
            .get(start..start + len as usize)
            .ok_or_else(|| Failure::Output("the answer lies outside memory".into()))
    }

    /// A JSON answer (describe, validate).
    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        store: &Store<StoreState>,
        packed: i64,
    ) -> Result<T, Failure> {
        let bytes = self.answer_bytes(store, packed)?;
        serde_json::from_slice(bytes).map_err(|e| Failure::Output(format!("{e}")))
    }

    /// `plaza_describe`.
    pub fn describe(
        &self,
        store: &mut Store<StoreState>,
    ) -> Result<plaza_plugin_sdk::Descriptor, Failure> {
        let f = self.func::<(), i64>(store, &self.plugin.describe, "plaza_describe")?;
        let packed = f.call(&mut *store, ()).map_err(Failure::Call)?;
        self.answer(store, packed)
    }

    /// `plaza_validate`.
    pub fn validate(
        &self,
        store: &mut Store<StoreState>,
        config: &str,
    ) -> Result<Result<(), String>, Failure> {
        let f = self.func::<(i32, i32), i64>(store, &self.plugin.validate, "plaza_validate")?;
        let input = self.write(store, config.as_bytes())?;
        let packed = f.call(&mut *store, input).map_err(Failure::Call)?;
        self.answer(store, packed)
    }

    /// `plaza_evaluate`.
    pub fn evaluate(
        &self,
        store: &mut Store<StoreState>,
        cart: &[u8],
        step: &[u8],
    ) -> Result<Result<Vec<plaza_plugin_sdk::Effect>, String>, Failure> {
        let f =
            self.func::<(i32, i32, i32, i32), i64>(store, &self.plugin.evaluate, "plaza_evaluate")?;
        let (c, c_len) = self.write(store, cart)?;
        let (s, s_len) = self.write(store, step)?;
        let packed = f
            .call(&mut *store, (c, c_len, s, s_len))
            .map_err(Failure::Call)?;
        let bytes = self.answer_bytes(store, packed)?;
        decode_answer(bytes).map_err(|e| Failure::Output(e.to_string()))
    }

    /// Read the plugin's log buffer into the store's log, bounded by the buffer's
    /// capacity and the host's limit. A buffer that is not where it says is no log.
    fn collect_log(&self, store: &mut Store<StoreState>) {
        let Some(Extern::Global(global)) = self
            .instance
            .get_module_export(&mut *store, &self.plugin.log)
        else {
            return;
        };
        let Some(at) = global.get(&mut *store).i32() else {
            return;
        };
        let data = self.memory.data(&*store);
        let at = at as u32 as usize;
        let Some(header) = data.get(at..at + LOG_HEADER) else {
            return;
        };
        let len = u32::from_le_bytes(header[..4].try_into().unwrap_or_default()) as usize;
        let truncated = header[4..8] != [0; 4];
        let len = len.min(LOG_CAPACITY);
        let Some(bytes) = data.get(at + LOG_HEADER..at + LOG_HEADER + len) else {
            return;
        };
        let text = String::from_utf8_lossy(bytes).into_owned();
        store.data_mut().set_log(text, truncated);
    }
}
