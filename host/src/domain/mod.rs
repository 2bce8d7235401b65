//! The domain: tenants and their keys, the plugin registry, plans and their versions,
//! quotes, orders with their budgets, and the ledger. [`Plaza`] holds it all; the HTTP API
//! is a thin layer over its methods.
//!
//! Every method takes the caller's [`Principal`] and checks it first: a tenant only ever
//! reaches its own records and what others shared on the plaza.

mod breaker;
mod budget;
mod error;
mod ledger;
mod orders;
mod plans;
mod registry;
mod tenants;

pub use breaker::{Breaker, BreakerConfig};
pub use error::Error;
pub use ledger::{LedgerEntry, LedgerKind};
pub use orders::{
    CommitRequest, Order, OrderLine, OrderStatus, Refund, RefundLine, RefundRequest, Reservation,
};
pub use plans::{Activation, PlanDiff, PlanHead, PlanSummary, PlanVersionInfo, StepUsage};
pub use registry::{PluginRecord, Visibility};
pub use tenants::{
    IssuedKey, KeyRecord, NewKey, NewTenant, Principal, Role, Tenant, TenantKind, key_hash,
};

use crate::metrics::Metrics;
use crate::sandbox::Sandbox;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Settings the domain needs from the service configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// sha256 of the operator key, if one is configured.
    pub operator_key_sha256: Option<[u8; 32]>,
    /// Longest a plugin upload may take to validate and compile.
    pub compile_timeout: Duration,
    /// Uploads compiling at once; more are refused with 429.
    pub compile_concurrency: usize,
    /// fsync before acknowledging a commit, cancel or refund.
    pub sync_writes: bool,
    pub breaker: BreakerConfig,
}

/// The running service's state. Shared by every request (`Arc<Plaza>`).
pub struct Plaza {
    pub store: Store,
    pub sandbox: Sandbox,
    pub metrics: Arc<Metrics>,
    settings: Settings,
    /// Every registered plugin version, compiled and ready: owner \0 name \0 version →.
    plugins: RwLock<HashMap<String, Arc<registry::Registered>>>,
    /// The active version of every plan, prepared: tenant \0 plan →. Activation replaces
    /// one `Arc`, so a quote sees the old plan or the new one, never a mix.
    active: RwLock<HashMap<String, Arc<plans::Active>>>,
    /// Serializes changes to plans and the registry (rare; quotes and orders never take it).
    admin: Mutex<()>,
    breaker: Breaker,
    compiling: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Plaza {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plaza")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What [`Plaza::open`] found and loaded.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Startup {
    pub plugins: usize,
    /// Plugins compiled at startup because no cached artifact fit (0 after a clean restart).
    pub compiled: usize,
    pub active_plans: usize,
    pub millis: u64,
}

impl Plaza {
    /// Load every plugin (from the artifact cache) and every active plan from `store`.
    pub fn open(
        store: Store,
        sandbox: Sandbox,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Result<(Plaza, Startup), Error> {
        let started = std::time::Instant::now();
        let plaza = Plaza {
            compiling: tokio::sync::Semaphore::new(settings.compile_concurrency.max(1)),
            breaker: Breaker::new(settings.breaker.clone()),
            store,
            sandbox,
            metrics,
            settings,
            plugins: RwLock::default(),
            active: RwLock::default(),
            admin: Mutex::default(),
        };
        let (plugins, compiled) = plaza.load_registry()?;
        let active_plans = plaza.load_active_plans()?;
        let startup = Startup {
            plugins,
            compiled,
            active_plans,
            millis: started.elapsed().as_millis() as u64,
        };
        Ok((plaza, startup))
    }
}

/// Milliseconds since the Unix epoch, for record timestamps (never for pricing: a quote
/// uses the cart's `now_ms`).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A lock that a panicking writer poisoned still holds consistent data here: every
/// writer replaces whole entries.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// Ids of tenants, plans, orders, keys and refunds: 1–128 printable characters, no `/`
/// (they appear in paths) and no control characters (they are key parts in the store).
pub fn check_id(field: &str, id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '/');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: field.to_owned(),
            message: "must be 1-128 characters without spaces, control characters or '/'"
                .to_owned(),
        })
    }
}
