//! The compile worker: Cranelift run in a process of its own, so that compiling an upload
//! can be stopped for real.
//!
//! A crafted module of a few dozen kilobytes can make Cranelift run for minutes and
//! allocate gigabytes; a compile thread cannot be stopped, and its memory is the server's.
//! So the server runs `plaza compile-worker`: it limits its own address space and CPU time
//! (`setrlimit`) before it reads anything, reads the component on stdin, compiles it with
//! the serving engine's configuration and writes the artifact to stdout. The server kills
//! it at the compile timeout; the kernel ends it at its memory or CPU limit. Either way
//! the server's memory is untouched, and nothing is cached from a compile that did not
//! finish.

use super::{Limits, engine_config};
use serde::{Deserialize, Serialize};
use std::io::{Read as _, Write as _};
use wasmtime::Engine;

/// Address space a compile worker may use.
pub const DEFAULT_COMPILE_MEMORY_BYTES: u64 = 2 << 30;

/// The exit status with which the worker reports that it refused the module (the reason
/// on stdout), as opposed to being stopped.
pub const REFUSED: i32 = 3;

/// What the server tells a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerArgs {
    pub limits: Limits,
    /// Address space limit (RLIMIT_AS), bytes.
    pub memory_bytes: u64,
    /// CPU-time limit (RLIMIT_CPU), seconds: a backstop behind the server's kill.
    pub cpu_seconds: u64,
}

/// Compile `plugin` (a 0.2 core module or a 0.1 component) as the serving engine for
/// `limits` would: the serialized artifact.
pub fn compile(limits: &Limits, plugin: &[u8]) -> Result<Vec<u8>, String> {
    let engine = Engine::new(&engine_config(limits, false)).map_err(|e| format!("{e:#}"))?;
    if super::Kind::of(plugin) == Some(super::Kind::Module) {
        engine.precompile_module(plugin)
    } else {
        engine.precompile_component(plugin)
    }
    .map_err(|e| format!("{e:#}"))
}

/// The worker process: limit itself, read the component from stdin, write the artifact to
/// stdout. Returns the process exit code.
pub fn run(args: &WorkerArgs) -> i32 {
    if let Err(e) = limit_self(args) {
        eprintln!("compile worker: setting its limits: {e}");
        return 1;
    }
    let mut component = Vec::new();
    let most = u64::try_from(args.limits.max_module_bytes).unwrap_or(u64::MAX) + 1;
    if let Err(e) = std::io::stdin().take(most).read_to_end(&mut component) {
        eprintln!("compile worker: reading the component: {e}");
        return 1;
    }
    let (code, out) = match compile(&args.limits, &component) {
        Ok(artifact) => (0, artifact),
        Err(message) => (REFUSED, message.into_bytes()),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    code
}

fn limit_self(args: &WorkerArgs) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use rlimit::Resource;
        Resource::AS.set(args.memory_bytes, args.memory_bytes)?;
        Resource::CPU.set(args.cpu_seconds, args.cpu_seconds)?;
        // A worker that dies of its limits must not leave a core file the size of them.
        Resource::CORE.set(0, 0)?;
    }
    #[cfg(not(unix))]
    let _ = args;
    Ok(())
}
