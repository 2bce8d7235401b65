//! The compiled-artifact cache: the one place Plaza uses `unsafe`.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; loading a precompiled
//! artifact takes microseconds. Artifacts are keyed by the component's sha256 *and* the
//! engine's compatibility hash, so a different wasmtime build or configuration never loads
//! an artifact it did not produce.
#![allow(unsafe_code)]

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of precompiled components.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Use (and create) `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(ArtifactCache { dir })
    }

    fn path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = hex::encode(&hasher.0.finalize()[..8]);
        self.dir.join(format!("{sha256}-{engine_hash}.cwasm"))
    }

    /// The cached artifact for `sha256`, if present and loadable.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(engine, sha256);
        if !path.is_file() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts its input to be an artifact this engine
        // configuration produced. Only `store` writes into this directory, naming each file
        // by the source's hash and the engine's compatibility hash, so a file at this path
        // was produced by a compatible engine from exactly these bytes. The directory is
        // Plaza's own data directory, not reachable by tenants.
        unsafe { Component::deserialize_file(engine, &path) }.ok()
    }

    /// Store a freshly compiled component's artifact (atomically: write, then rename).
    pub fn store(
        &self,
        engine: &Engine,
        sha256: &str,
        component: &Component,
    ) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let path = self.path(engine, sha256);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }
}

/// Feeds `Hash` output into sha256, so the key is stable across processes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
