//! The compiled-artifact cache: the one place Plaza uses `unsafe`.
//!
//! Compiling a plugin with Cranelift takes tens of milliseconds; loading a precompiled
//! artifact takes microseconds. Artifacts are keyed by the plugin's sha256 *and* the
//! engine's compatibility hash, so a different wasmtime build or configuration never loads
//! an artifact it did not produce.
//!
//! Deserializing trusts its input, so nothing torn or foreign ever reaches it:
//! - a file is written to a unique temporary name, fsynced, renamed into place, and the
//!   directory fsynced, so a crash leaves either the whole file or none;
//! - every file starts with a header holding the payload's length and sha256, checked
//!   before the payload goes anywhere near `deserialize`. A file that fails the check is
//!   logged, removed and recompiled, never trusted.
#![allow(unsafe_code)]

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// What a plugin's bytes are, by their preamble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A contract 0.1 component.
    Component,
    /// A contract 0.2 core module.
    Module,
}

impl Kind {
    /// The kind of `bytes` by their preamble: magic, then version 1 for a core module or
    /// 0x0d + layer 1 for a component. `None`: not WebAssembly.
    pub fn of(bytes: &[u8]) -> Option<Kind> {
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Some(Kind::Module),
            Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => Some(Kind::Component),
            _ => None,
        }
    }
}

/// A compiled plugin.
#[allow(missing_debug_implementations)] // wasmtime's compiled types print nothing useful
pub enum Compiled {
    /// A contract 0.1 component.
    Component(Component),
    /// A contract 0.2 core module.
    Module(Module),
}

/// Opens every artifact file; the version of this layout.
const MAGIC: &[u8; 8] = b"PLZART01";
/// Magic, payload length (u64 LE), payload sha256.
const HEADER: usize = 8 + 8 + 32;

/// A directory of precompiled plugins.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

/// Why a cached artifact was not used.
#[derive(Debug, PartialEq, Eq)]
enum Bad {
    Short,
    Magic,
    Length { header: u64, actual: usize },
    Hash,
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

    /// The cached artifact for `sha256`, if present, whole and loadable, of the kind its
    /// bytes are (a 0.1 component or a 0.2 core module).
    pub fn load(&self, engine: &Engine, sha256: &str, kind: Kind) -> Option<Compiled> {
        let path = self.path(engine, sha256);
        let file = match std::fs::read(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "reading a cached artifact; recompiling");
                return None;
            }
        };
        let payload = match verify(&file) {
            Ok(payload) => payload,
            Err(bad) => {
                tracing::warn!(path = %path.display(), problem = ?bad, "a cached artifact failed its check; removing it and recompiling");
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        // SAFETY: `deserialize` trusts its input to be an artifact that Cranelift produced
        // for a compatible engine (it checks the compatibility metadata itself, and the
        // kind: a module's artifact does not load as a component). The payload passed the
        // header's length and sha256 check, so it is exactly what `store` wrote, and
        // `store` writes only what this engine serialized or what a compile worker (this
        // same binary, configured by `engine_config` for the same limits) produced from
        // the same bytes: the code Cranelift would have produced in this process. The
        // directory is Plaza's own data directory, not reachable by tenants.
        let loaded = match kind {
            Kind::Component => {
                unsafe { Component::deserialize(engine, payload) }.map(Compiled::Component)
            }
            Kind::Module => unsafe { Module::deserialize(engine, payload) }.map(Compiled::Module),
        };
        match loaded {
            Ok(compiled) => Some(compiled),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "a cached artifact did not load; recompiling");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a freshly compiled plugin's artifact, atomically and durably.
    pub fn store_compiled(
        &self,
        engine: &Engine,
        sha256: &str,
        compiled: &Compiled,
    ) -> std::io::Result<()> {
        let payload = match compiled {
            Compiled::Component(c) => c.serialize(),
            Compiled::Module(m) => m.serialize(),
        }
        .map_err(std::io::Error::other)?;
        self.store(engine, sha256, &payload)
    }

    /// Store a serialized artifact (from this engine, or a compile worker configured like
    /// it), atomically and durably. [`ArtifactCache::load`] checks it before use.
    pub fn store(&self, engine: &Engine, sha256: &str, payload: &[u8]) -> std::io::Result<()> {
        static UNIQUE: AtomicU64 = AtomicU64::new(0);
        let path = self.path(engine, sha256);
        let tmp = path.with_extension(format!(
            "{}.{}.tmp",
            std::process::id(),
            UNIQUE.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_synced(&tmp, payload).and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

fn write_synced(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(MAGIC)?;
    file.write_all(&(payload.len() as u64).to_le_bytes())?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)?;
    file.sync_all()
}

/// The payload of an artifact file, if its header vouches for it.
fn verify(file: &[u8]) -> Result<&[u8], Bad> {
    if file.len() < HEADER {
        return Err(Bad::Short);
    }
    let (header, payload) = file.split_at(HEADER);
    if &header[..8] != MAGIC {
        return Err(Bad::Magic);
    }
    let length = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if u64::try_from(payload.len()).ok() != Some(length) {
        return Err(Bad::Length {
            header: length,
            actual: payload.len(),
        });
    }
    if header[16..] != Sha256::digest(payload)[..] {
        return Err(Bad::Hash);
    }
    Ok(payload)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(payload: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        write_synced(&path, payload).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_whole_file_passes_its_check() {
        assert_eq!(verify(&file(b"artifact")), Ok(&b"artifact"[..]));
    }

    #[test]
    fn a_torn_or_altered_file_never_reaches_deserialize() {
        let whole = file(b"some compiled artifact");
        assert_eq!(
            verify(&whole[..whole.len() - 3]),
            Err(Bad::Length {
                header: 22,
                actual: 19
            })
        );
        assert_eq!(verify(&whole[..10]), Err(Bad::Short));
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(verify(&flipped), Err(Bad::Hash));
        let mut foreign = whole;
        foreign[0] = b'X';
        assert_eq!(verify(&foreign), Err(Bad::Magic));
    }
}
