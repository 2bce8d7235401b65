//! The service configuration: a typed struct with documented defaults, read from an
//! optional TOML file and then overridden by environment variables and flags (see `main`).

use crate::api::limit::RateLimitConfig;
use crate::domain::{BreakerConfig, PoolConfig, Quotas};
use crate::sandbox::Limits;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the server listens.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The sled database and the compiled-artifact cache live here.
pub const DEFAULT_DATA_DIR: &str = "plaza-data";
/// Largest request body, plugin uploads aside (they may be as large as the large plugins'
/// module limit: `Limits::large`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a plugin upload may spend validating and compiling.
pub const DEFAULT_COMPILE_TIMEOUT_MS: u64 = 10_000;
/// Uploads compiling at once (each is CPU-heavy; more get 429).
pub const DEFAULT_COMPILE_CONCURRENCY: usize = 1;
/// How long shutdown waits for in-flight requests.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// How often the server looks for due timers (payment timeouts, after-sale windows …).
pub const DEFAULT_TIMER_TICK_MS: u64 = 1_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where the state lives: unset for sled in `data_dir`; a `postgres://…` connection
    /// string for PostgreSQL (the compiled-artifact cache stays in `data_dir`).
    pub store: Option<String>,
    /// The operator's bootstrap key (manages tenants). Without one, no tenant can be
    /// created except by `--demo`.
    pub operator_key: Option<String>,
    pub max_body_bytes: usize,
    pub compile_timeout_ms: u64,
    pub compile_concurrency: usize,
    /// The `plaza` binary that runs compile workers (`plaza compile-worker`); this
    /// executable when unset.
    pub compile_worker: Option<PathBuf>,
    /// Address space each compile worker may use (the kernel ends it past this).
    pub compile_memory_bytes: u64,
    /// fsync before acknowledging a write (turn off only for throwaway data).
    pub sync_writes: bool,
    pub shutdown_grace_ms: u64,
    /// How often due timers are looked for, in real time; what is due is the host
    /// clock's call.
    pub timer_tick_ms: u64,
    /// Set up a demo tenant with the example plugins and an active demo plan.
    pub demo: bool,
    pub limits: Limits,
    pub breaker: BreakerConfig,
    /// Where plugin code runs: threads, queue, each tenant's share.
    pub pool: PoolConfig,
    /// What each tenant may keep (plugins, plan versions, bytes).
    pub quotas: Quotas,
    /// Requests per tenant.
    pub rate_limit: RateLimitConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store: None,
            operator_key: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            compile_timeout_ms: DEFAULT_COMPILE_TIMEOUT_MS,
            compile_concurrency: DEFAULT_COMPILE_CONCURRENCY,
            compile_worker: None,
            compile_memory_bytes: crate::sandbox::worker::DEFAULT_COMPILE_MEMORY_BYTES,
            sync_writes: true,
            shutdown_grace_ms: DEFAULT_SHUTDOWN_GRACE_MS,
            timer_tick_ms: DEFAULT_TIMER_TICK_MS,
            demo: false,
            limits: Limits::default(),
            breaker: BreakerConfig::default(),
            pool: PoolConfig::default(),
            quotas: Quotas::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl Config {
    /// Read a TOML configuration file; absent keys keep their defaults.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        use anyhow::Context as _;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_only_what_it_names_and_refuses_unknown_keys() {
        let config: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[limits]\nfuel = 5000\n").unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.limits.fuel, 5000);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }
}
