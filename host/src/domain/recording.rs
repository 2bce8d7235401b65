//! Recorded traffic: a bounded sample of each tenant's quotes (the cart as its plan saw it,
//! the plan version, the time), kept so that a candidate version can be run over real carts
//! before it goes live (`shadow.rs`).
//!
//! - **What**: one quote in `every` of an active plan version (not replays of stored
//!   versions), after the host resolved its claims and attribution: the cart the plan ran.
//! - **Bounded**: a ring of `keep` slots per tenant, the oldest overwritten; carts older
//!   than `keep_ms` are ignored by replays. `enabled: false` stops recording (what was
//!   kept stays until overwritten or too old).
//! - **Off the answer's path**: a sampled cart is written after the quote answered, on the
//!   blocking pool; when [`IN_FLIGHT`] writes are already waiting, the sample is dropped.
//!   A sample is not an acknowledged write: it is made durable with the next flush.

use super::shadow::outcome;
use super::tenants::{ANY_ROLE, Tenant};
use super::{Error, Plaza, Principal, Role};
use crate::executor::{Cart, PreparedPlan};
use crate::store::{Store, StoreError, Table, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use utoipa::ToSchema;

const HOUR_MS: i64 = 60 * 60 * 1000;

/// Sampled writes waiting at once, at most; past that a sample is dropped.
pub const IN_FLIGHT: usize = 64;
/// How much of the traffic is recorded, by default: one quote in 100.
pub const DEFAULT_EVERY: u32 = 100;
/// Carts kept per tenant, by default, and at most.
pub const DEFAULT_KEEP: u32 = 1_000;
pub const MAX_KEEP: u32 = 10_000;
/// How long a recorded cart is kept, by default (7 days), and the range a tenant may choose.
pub const DEFAULT_KEEP_MS: i64 = 7 * 24 * HOUR_MS;
pub const KEEP_MS: (i64, i64) = (HOUR_MS, 30 * 24 * HOUR_MS);

/// A tenant's recording settings (`/v1/settings/recording`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingSettings {
    /// Keep a sample of quotes for shadow runs.
    pub enabled: bool,
    /// Record one quote in this many (1: every quote).
    #[schema(minimum = 1, maximum = 10_000)]
    pub every: u32,
    /// Carts kept; the oldest is overwritten.
    #[schema(minimum = 1, maximum = 10_000)]
    pub keep: u32,
    /// A recorded cart older than this (ms, an hour to 30 days) is no longer replayed.
    #[schema(minimum = 3_600_000, maximum = 2_592_000_000i64)]
    pub keep_ms: i64,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings {
            enabled: true,
            every: DEFAULT_EVERY,
            keep: DEFAULT_KEEP,
            keep_ms: DEFAULT_KEEP_MS,
        }
    }
}

impl RecordingSettings {
    fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, message: &str| {
            Err(Error::Invalid {
                field: field.into(),
                message: message.into(),
            })
        };
        if !(1..=10_000).contains(&self.every) {
            return bad("every", "must be 1 to 10000");
        }
        if !(1..=MAX_KEEP).contains(&self.keep) {
            return bad("keep", "must be 1 to 10000");
        }
        if !(KEEP_MS.0..=KEEP_MS.1).contains(&self.keep_ms) {
            return bad(
                "keep_ms",
                "must be an hour to 30 days (3600000 to 2592000000)",
            );
        }
        Ok(())
    }
}

/// One recorded quote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    /// The tenant's recording number (from 1), in the order samples were written: quotes
    /// answered close together may be numbered in another order.
    pub seq: u64,
    pub plan: String,
    /// The version that answered.
    pub version: u32,
    /// When it was quoted (host clock, ms since the epoch).
    pub at_ms: i64,
    /// The cart the plan ran: claims and attribution as the host resolved them.
    pub cart: Cart,
    /// When the plan ran a candidate in shadow: what it and the active version made of
    /// this cart (`live_shadow.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<super::live_shadow::LiveShadow>,
}

/// Which quotes get sampled, and the writes waiting.
#[derive(Debug, Default)]
pub(super) struct Recorder {
    seen: AtomicU64,
    in_flight: Arc<AtomicUsize>,
}

/// The counter numbering a tenant's recordings (an empty middle part: no plan's).
fn seq_key(tenant: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), b"", b"recordings"])
}

pub(super) fn settings_of(store: &Store, tenant: &str) -> Result<RecordingSettings, StoreError> {
    Ok(store
        .get::<Tenant>(Table::Tenants, tenant.as_bytes())?
        .map(|t| t.recording)
        .unwrap_or_default())
}

/// Write `recorded` into `tenant`'s ring of `keep` slots.
fn write(store: &Store, tenant: &str, keep: u32, mut recorded: Recorded) -> Result<(), Error> {
    let outcome = store.transact(&[Table::Recordings, Table::Counters], |tx| {
        let counter = seq_key(tenant);
        let seq = tx.counter(&counter)? + 1;
        tx.set_counter(&counter, seq)?;
        recorded.seq = u64::try_from(seq).unwrap_or(0);
        let slot = u32::try_from((seq - 1) % i64::from(keep.max(1))).unwrap_or(0);
        tx.put_json(
            Table::Recordings,
            &key(&[tenant.as_bytes(), &slot.to_be_bytes()]),
            &recorded,
        )
    });
    outcome.map_err(Error::from_tx)
}

/// Every kept recording of `tenant`'s `plan`, in the order they were recorded.
pub(super) fn of_plan(store: &Store, tenant: &str, plan: &str) -> Result<Vec<Recorded>, Error> {
    let mut all: Vec<Recorded> = store.scan(Table::Recordings, &prefix(&[tenant.as_bytes()]))?;
    all.retain(|r| r.plan == plan);
    all.sort_by_key(|r| r.seq);
    Ok(all)
}

/// `tenant`'s recorded quotes of `plan` quoted in `[from_ms, to_ms)`, no older than its
/// retention at `now_ms`, in the order they were recorded.
pub(super) fn recorded(
    store: &Store,
    tenant: &str,
    plan: &str,
    (from_ms, to_ms): (i64, i64),
    now_ms: i64,
) -> Result<Vec<Recorded>, Error> {
    let settings = settings_of(store, tenant)?;
    let oldest = now_ms.saturating_sub(settings.keep_ms);
    let mut all = of_plan(store, tenant, plan)?;
    all.retain(|r| r.at_ms >= from_ms.max(oldest) && r.at_ms < to_ms);
    Ok(all)
}

impl Plaza {
    pub fn recording_settings(&self, who: &Principal) -> Result<RecordingSettings, Error> {
        let tenant = who.tenant(ANY_ROLE, "read recording settings")?;
        Ok(settings_of(&self.store, tenant)?)
    }

    /// Save the caller's recording settings (its admin's), whole.
    pub async fn set_recording_settings(
        &self,
        who: &Principal,
        settings: RecordingSettings,
    ) -> Result<RecordingSettings, Error> {
        let tenant = who.tenant(&[Role::Admin], "change recording settings")?;
        settings.check()?;
        self.update_tenant(tenant, |t| t.recording = settings)
            .await?;
        Ok(settings)
    }

    /// Whether this quote is one to record under its tenant's `settings`: they allow it
    /// and it is the one in `every`.
    pub(super) fn sample(&self, settings: RecordingSettings) -> Option<RecordingSettings> {
        let n = self.recorder.seen.fetch_add(1, Ordering::Relaxed);
        (settings.enabled && n.is_multiple_of(u64::from(settings.every.max(1)))).then_some(settings)
    }

    /// Record a sampled quote after it answered (dropped when too many wait); with
    /// `shadow` (the active version and a candidate), run both on its cart first.
    pub(super) fn record(
        self: &Arc<Self>,
        tenant: &str,
        settings: RecordingSettings,
        mut recorded: Recorded,
        shadow: Option<(Arc<PreparedPlan>, Arc<PreparedPlan>, u32)>,
    ) {
        let in_flight = self.recorder.in_flight.clone();
        if in_flight.fetch_add(1, Ordering::AcqRel) >= IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let (me, tenant) = (self.clone(), tenant.to_owned());
        tokio::spawn(async move {
            if let Some((live, candidate, version)) = shadow {
                let cart = &recorded.cart;
                let baseline = outcome(me.shadow_quote(&tenant, live, cart).await);
                let candidate = outcome(me.shadow_quote(&tenant, candidate, cart).await);
                recorded.shadow = Some(super::live_shadow::LiveShadow {
                    version,
                    baseline,
                    candidate,
                });
            }
            let store = me.store.clone();
            let written = tokio::task::spawn_blocking(move || {
                write(&store, &tenant, settings.keep, recorded)
                    .map_err(|e| tracing::warn!(tenant, error = %e, "recording a quote"))
            })
            .await;
            drop(written);
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
}
