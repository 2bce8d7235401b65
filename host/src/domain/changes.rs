//! The change feed: how a change one host makes to what every host keeps in memory (active
//! plans, the plugin registry, the plan steps coupon templates bind) reaches the others
//! when several hosts share one database.
//!
//! Each such change appends an entry to `Table::Changes` in the same transaction as the
//! change itself, under the next number of one counter, so the feed is in the store's
//! order and holds exactly the committed changes. Every host follows the feed
//! ([`Plaza::follow_changes`], a few times a second): it reads the entries after the last
//! it applied and reloads what each names from the store; its own entries it skips (it
//! changed its memory when it made them). A host starts following from the feed's end as
//! it was before it loaded its state, so nothing committed while it loaded is missed;
//! applying an entry twice is harmless, since each reloads the stored truth.
//!
//! On a single host (sled) the feed is written and followed like anywhere else; the host
//! skips its own entries, so following costs one empty range read per round.
//!
//! The feed keeps its last [`KEEP`] entries: each entry removes the one that far behind it.
//! A host that finds the entries after its last one pruned (it could not read the feed for
//! that long) reloads all of it from the store: every plugin, every plan's active version,
//! the templates. An entry that cannot be applied for a reason that will pass (the
//! database away, the tenant's pool share full) stops the round, to be tried again; one
//! that never can (say, a plan whose version no longer prepares here) is logged, counted
//! (`plaza_changes_skipped`) and passed over, so that one bad entry never blocks the
//! entries after it.

use super::{Error, Plaza};
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The tables a transaction that records a change writes besides its own.
pub(crate) const TABLES: [Table; 2] = [Table::Changes, Table::Counters];

/// How often a host reads the feed (ms).
pub const FOLLOW_MS: u64 = 100;

/// Entries the feed keeps.
pub const KEEP: i64 = 4096;

/// The counter that numbers the feed (its empty first part is no tenant's).
fn seq_key() -> Vec<u8> {
    key(&[b"", b"changes"])
}

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Change {
    /// A plan's active version (activated, rolled back, scheduled, fired).
    Plan { tenant: String, plan: String },
    /// A plugin version registered or deleted.
    Plugin {
        owner: String,
        name: String,
        version: String,
    },
    /// An owner's coupon templates (a step they bind).
    Templates { owner: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    /// The host that made the change.
    host: String,
    change: Change,
}

/// Append `change`, made by `host`, to the feed inside `tx` (over [`TABLES`] too).
pub(crate) fn record(tx: &mut dyn Tx, host: &str, change: Change) -> Result<(), TxError> {
    let seq = tx.counter(&seq_key())? + 1;
    tx.set_counter(&seq_key(), seq)?;
    let entry = Entry {
        host: host.to_owned(),
        change,
    };
    tx.put_json(Table::Changes, &seq.to_be_bytes(), &entry)?;
    if seq > KEEP {
        tx.remove(Table::Changes, &(seq - KEEP).to_be_bytes())?;
    }
    Ok(())
}

/// Whether applying an entry failed for a reason that passes (try it again next round).
fn passing(e: &Error) -> bool {
    matches!(
        e,
        Error::Busy(_)
            | Error::Unavailable(_)
            | Error::CompileTimeout { .. }
            | Error::CompileStopped { .. }
            | Error::Store(StoreError::Unavailable(_) | StoreError::Backend(_))
    )
}

/// The feed's last number now.
pub(crate) fn end(store: &Store) -> Result<i64, StoreError> {
    store.counter(&seq_key())
}

impl Plaza {
    /// Apply the feed's entries after the last one this host applied; how many it applied.
    /// First the store catches up with the tenants and keys other hosts wrote.
    pub async fn follow_changes(self: &Arc<Self>) -> Result<usize, Error> {
        self.store.follow()?;
        let seen = self.followed.load(Ordering::Acquire);
        let after = seen.to_be_bytes();
        let entries: Vec<(Vec<u8>, Entry)> = (self.store).scan_entries(
            Table::Changes,
            b"",
            (seen > 0).then_some(&after[..]),
            256,
        )?;
        let mut applied = 0;
        for (k, entry) in entries {
            let seq = i64::from_be_bytes(
                k.as_slice()
                    .try_into()
                    .map_err(|_| Error::Internal("a change feed key is not a number".into()))?,
            );
            if seq != self.followed.load(Ordering::Acquire) + 1 {
                tracing::warn!(
                    after = seen,
                    next = seq,
                    "the change feed was pruned past this host; reloading"
                );
                self.reload_all().await?;
            }
            if entry.host != self.host {
                match self.apply_change(entry.change).await {
                    Ok(()) => applied += 1,
                    Err(e) if passing(&e) => return Err(e),
                    Err(e) => {
                        tracing::error!(seq, error = %e, "passing over a change feed entry");
                        self.metrics.changes_skipped.inc();
                    }
                }
            }
            self.followed.store(seq, Ordering::Release);
        }
        Ok(applied)
    }

    /// Make memory say what the store says of everything the feed speaks of.
    async fn reload_all(self: &Arc<Self>) -> Result<(), Error> {
        self.reload_registry().await?;
        let heads: Vec<(Vec<u8>, super::plans::PlanHead)> =
            (self.store).scan_entries(Table::PlanHeads, b"", None, usize::MAX)?;
        self.activations()?.extend(
            heads
                .into_iter()
                .map(|(k, head)| (crate::store::first_part(&k), head.id)),
        );
        self.swap_activated().await?;
        *super::write(&self.coupon_steps) = super::coupons::redeem::load(&self.store)?;
        Ok(())
    }

    async fn apply_change(self: &Arc<Self>, change: Change) -> Result<(), Error> {
        match change {
            Change::Plan { tenant, plan } => {
                self.activations()?.push((tenant, plan));
                self.swap_activated().await
            }
            Change::Plugin {
                owner,
                name,
                version,
            } => self.reload_plugin(&owner, &name, &version).await,
            Change::Templates { .. } => {
                let bound = super::coupons::redeem::load(&self.store)?;
                *super::write(&self.coupon_steps) = bound;
                Ok(())
            }
        }
    }
}
