//! The domain: tenants and their keys, the plugin registry, plans and their versions,
//! quotes, orders with their budgets, and the ledger. [`Plaza`] holds it all; the HTTP API
//! is a thin layer over its methods.
//!
//! Every method takes the caller's [`Principal`] and checks it first: a tenant only ever
//! reaches its own records and what others shared on the plaza.
//!
//! Two rules hold for every write: it is durable (flushed) before the method returns, and
//! in-memory state (the registry, the active plans) changes only after the store accepted
//! it. Plugin code never runs on the caller's thread: it runs on the [`pool`], fair between
//! tenants, and never under a lock other requests wait on.

pub mod attribution;
mod beneficiary;
mod breaker;
mod budget;
pub mod budget_day;
mod cart_facts;
mod changes;
pub mod commission;
pub use changes::{FOLLOW_MS, KEEP as CHANGES_KEPT};
mod commit;
mod compile;
pub mod coupons;
mod error;
pub mod foreground;
mod gate;
pub mod gift_orders;
pub mod grants;
mod idempotency;
pub mod incentives;
mod layers;
mod ledger;
pub mod lifecycle;
mod live_shadow;
pub mod market;
pub mod merchant_view;
mod order;
mod order_list;
pub mod order_settings;
pub mod page;
mod parties;
mod plan_schedule;
mod plans;
pub mod plugin_stats;
pub mod points;
pub mod pool;
pub mod promoters;
mod quota;
mod quote;
pub mod recording;
mod refund;
mod refund_lines;
mod registry;
mod report;
pub mod settlement;
mod shadow;
mod tenants;
pub mod timers;

pub use attribution::{AttributionSettings, LockScope, NewTouch, Touch, TouchModel};
pub use beneficiary::{BeneficiaryKey, IssuedBeneficiaryKey, NewBeneficiaryKey};
pub use breaker::{Admission, Breaker, BreakerConfig};
pub use commission::{CommissionState, Side};
pub use coupons::{
    Bindings, Campaign, Claim, ClaimState, CodeBatch, Initiation, InitiationState, LiveRoom,
    NewCampaign, NewClaim, NewCodeBatch, NewHelp, NewInitiation, NewLiveRoom, NewStockMove,
    NewTemplate, OnRefund, Progress, StockMove, Template, UsableCoupons, Validity, WalletEntry,
};
pub use error::Error;
pub use grants::{Grant, NewGrant};
pub use idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY};
pub use ledger::{LedgerEntry, LedgerKind};
pub use lifecycle::{EventRequest, EventType, OrderEvent, OrderState};
pub use live_shadow::{LiveShadow, LiveShadowReport, LiveShadowRequest};
pub use market::affiliations::{Affiliation, AffiliationState};
pub use market::offers::{NewOffer, Offer, OfferTerms};
pub use market::orders::AgencyOrder;
pub use market::pools::{JoinPool, Membership, NewPool, PoolItem, PoolQuery, ProductPool};
pub use market::report::{PlazaReport, PoolFigures};
pub use order::{
    CommitRequest, LayerBudget, Order, OrderCommission, OrderLine, OrderStatus, Refund, RefundLine,
    RefundLineRequest, RefundRequest, Reservation,
};
pub use order_list::{OrderQuery, OrderSummary};
pub use order_settings::OrderSettings;
pub use page::{Page, PageQuery, Position};
pub use parties::PartyNet;
pub use plan_schedule::ScheduledActivation;
pub use plans::{Activation, PlanDiff, PlanHead, PlanSummary, PlanVersionInfo};
pub use points::{NewPointsGrant, PointsAccount, PointsGrant, PointsSettings, orders::OrderPoints};
pub use pool::{Pool, PoolConfig};
pub use promoters::{
    AcceptInvite, Acceptance, BindingState, Invitation, NewPromoter, PartyKind, Promoter,
};
pub use quote::StepUsage;
pub use recording::{Recorded, RecordingSettings};
pub use registry::{PluginRecord, Visibility};
pub use report::{CommissionFigures, FunderCost, Report, ReportQuery, StepCost};
pub use settlement::{
    BalanceFigures, BeneficiaryBalance, MerchantBalance, Settlement, SettlementRequest, Statement,
    StatementLine,
};
pub use shadow::{Outcome, ShadowCart, ShadowDifference, ShadowReport, ShadowRequest, Totals};
pub use tenants::{
    IssuedKey, KeyRecord, NewKey, NewTenant, Principal, Role, Tenant, TenantKind, Whoami, key_hash,
};

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::sandbox::Sandbox;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Plugin versions one tenant may register.
pub const DEFAULT_MAX_PLUGINS: usize = 200;
/// Plan versions one tenant may save, over all its plans.
pub const DEFAULT_MAX_PLAN_VERSIONS: u64 = 10_000;
/// Bytes one tenant may store in plugin components and plan versions.
pub const DEFAULT_MAX_STORED_BYTES: u64 = 64 * 1024 * 1024;

/// What one tenant may keep on the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    pub plugins: usize,
    pub plan_versions: u64,
    pub stored_bytes: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            plugins: DEFAULT_MAX_PLUGINS,
            plan_versions: DEFAULT_MAX_PLAN_VERSIONS,
            stored_bytes: DEFAULT_MAX_STORED_BYTES,
        }
    }
}

/// Settings the domain needs from the service configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// sha256 of the operator key, if one is configured.
    pub operator_key_sha256: Option<[u8; 32]>,
    /// Longest a plugin upload may take to validate and compile.
    pub compile_timeout: Duration,
    /// Uploads compiling at once; more are refused with 429.
    pub compile_concurrency: usize,
    /// The `plaza` binary that runs compile workers.
    pub compile_worker: std::path::PathBuf,
    /// Address space each compile worker may use.
    pub compile_memory_bytes: u64,
    /// fsync before acknowledging a commit, cancel or refund.
    pub sync_writes: bool,
    pub breaker: BreakerConfig,
    pub pool: PoolConfig,
    pub quotas: Quotas,
}

/// The running service's state. Shared by every request (`Arc<Plaza>`).
pub struct Plaza {
    pub store: Store,
    pub sandbox: Sandbox,
    pub metrics: Arc<Metrics>,
    pub clock: SharedClock,
    settings: Settings,
    /// Every registered plugin version, compiled and ready: owner \0 name \0 version →.
    plugins: RwLock<HashMap<String, Arc<registry::Registered>>>,
    /// The active version of every plan, prepared: tenant \0 plan →. Activation replaces
    /// one `Arc`, so a quote sees the old plan or the new one, never a mix.
    active: RwLock<HashMap<String, Arc<plans::Active>>>,
    /// The version each plan runs in shadow on recorded quotes, prepared: tenant \0 plan →.
    shadows: RwLock<HashMap<String, (u32, Arc<crate::executor::PreparedPlan>)>>,
    /// Serializes changes to plans and the registry, from the store write through the
    /// flush to the in-memory swap, so memory follows the store in the store's order.
    /// Never held across plugin code; quotes and orders never take it.
    admin: tokio::sync::Mutex<()>,
    breaker: Breaker,
    /// Each tenant's runs of each plugin on this host (`/v1/plugin-stats`).
    pub plugin_stats: plugin_stats::PluginStats,
    pool: Pool,
    compiling: Arc<tokio::sync::Semaphore>,
    /// The kinds of due work and their handlers.
    timers: timers::Timers,
    /// Held through a settlement run: one at a time (a run is several transactions).
    settling: tokio::sync::Mutex<()>,
    /// The plan steps coupon templates name (they redeem claimed coupons only).
    coupon_steps: RwLock<coupons::redeem::BoundSteps>,
    /// Plans a fired schedule activated, to swap in memory.
    activated: plan_schedule::Activated,
    /// This host's id in the change feed (random at each start).
    host: String,
    /// The last change feed entry this host applied.
    followed: std::sync::atomic::AtomicI64,
    /// Which quotes are sampled for shadow runs, and their writes.
    recorder: recording::Recorder,
    /// Quotes and commits running now, which background work (the timers' runs, a
    /// settlement run's chunks) gives way to.
    foreground: Arc<foreground::Foreground>,
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
        clock: SharedClock,
    ) -> Result<(Arc<Plaza>, Startup), Error> {
        let started = std::time::Instant::now();
        // Before anything is loaded: what changes after this, the feed brings.
        let followed = changes::end(&store)?;
        let mut host = [0u8; 8];
        getrandom::fill(&mut host).map_err(|e| Error::Internal(e.to_string()))?;
        let host = hex::encode(host);
        let store_for_coupons = store.clone();
        let activated = plan_schedule::Activated::default();
        let plaza = Plaza {
            compiling: Arc::new(tokio::sync::Semaphore::new(
                settings.compile_concurrency.max(1),
            )),
            breaker: Breaker::new(settings.breaker.clone(), clock.clone()),
            plugin_stats: plugin_stats::PluginStats::default(),
            pool: Pool::new(settings.pool.clone())
                .map_err(|e| Error::Internal(format!("starting the evaluation pool: {e}")))?,
            store,
            sandbox,
            metrics,
            clock,
            settings,
            plugins: RwLock::default(),
            active: RwLock::default(),
            shadows: RwLock::default(),
            admin: tokio::sync::Mutex::default(),
            settling: tokio::sync::Mutex::default(),
            coupon_steps: RwLock::new(coupons::redeem::load(&store_for_coupons)?),
            timers: {
                let mut timers = timers::Timers::default();
                lifecycle::register(&mut timers);
                gift_orders::register(&mut timers);
                points::orders::register(&mut timers);
                timers.register(
                    incentives::INCENTIVE_CLOSE,
                    std::sync::Arc::new(incentives::accrual::Close),
                );
                plan_schedule::register(&mut timers, activated.clone(), host.clone());
                timers
            },
            activated,
            host,
            followed: std::sync::atomic::AtomicI64::new(followed),
            recorder: recording::Recorder::default(),
            foreground: Arc::default(),
        };
        let (plugins, compiled) = plaza.load_registry()?;
        let active_plans = plaza.load_active_plans()?;
        let startup = Startup {
            plugins,
            compiled,
            active_plans,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        Ok((Arc::new(plaza), startup))
    }

    /// The host's time now (record timestamps; never pricing, which uses the cart's time).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Run plugin code for `tenant` on the evaluation pool.
    async fn on_pool<R: Send + 'static>(
        &self,
        tenant: &str,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Error> {
        match self.pool.run(tenant, job).await {
            Ok(Some(result)) => Ok(result),
            Ok(None) => Err(Error::Internal("a plugin evaluation panicked".into())),
            Err(pool::Busy) => {
                self.metrics.busy_refusal();
                Err(Error::Busy(
                    "this tenant's share of the evaluation pool is full; retry shortly",
                ))
            }
        }
    }

    /// Make the writes so far durable (always: registry, plans, tenants and keys).
    async fn flush(&self) -> Result<(), Error> {
        Ok(self.store.flush().await?)
    }

    /// Fire every timer the host clock says is due, a batch at a time, each batch made
    /// durable before the next: a crash loses at most one batch's work, which fires again
    /// after the restart. `Ok` means everything due is done and durable (found by
    /// simulation seed 177: a run after a failed one fired nothing, answered without a
    /// flush, and a crash then undid the failed run's expiry).
    pub async fn fire_due_timers(self: &Arc<Self>) -> Result<timers::Fired, Error> {
        let now = self.clock.now_ms();
        let mut total = timers::Fired::default();
        loop {
            // A batch is hundreds of transactions: on the blocking pool, never on a worker
            // that requests wait for.
            let (timers, store) = (self.timers.clone(), self.store.clone());
            let foreground = Arc::clone(&self.foreground);
            let batch = tokio::task::spawn_blocking(move || {
                timers.fire_due(&store, now, timers::BATCH, &foreground)
            })
            .await
            .map_err(|e| Error::Internal(format!("a timer batch panicked: {e}")))??;
            total.fired += batch.fired;
            // Every batch passes over the same timers left in place.
            total.left = batch.left;
            // Flushed even when this batch fired nothing: an earlier run that failed may
            // have left its work written but not yet durable, and this answer says
            // everything due is done.
            self.flush().await?;
            // Durable: the plans a schedule activated take effect in memory.
            self.swap_activated().await?;
            if !batch.more {
                return Ok(total);
            }
        }
    }

    /// Flush when the settings ask every acknowledged order change to be durable.
    async fn flush_if_sync(&self) -> Result<(), Error> {
        if self.settings.sync_writes {
            self.flush().await?;
        }
        Ok(())
    }
}

/// A lock that a panicking writer poisoned still holds consistent data here: every
/// writer replaces whole entries.
pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// Ids of tenants, plans, steps, orders and refunds ([`crate::shape::is_id`]).
pub fn check_id(field: &str, id: &str) -> Result<(), Error> {
    if crate::shape::is_id(id) {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: field.to_owned(),
            message: "must be 1-128 characters without spaces, control characters or '/'"
                .to_owned(),
        })
    }
}
