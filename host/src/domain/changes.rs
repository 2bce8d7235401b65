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

use super::{Error, Plaza};
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The tables a transaction that records a change writes besides its own.
pub(crate) const TABLES: [Table; 2] = [Table::Changes, Table::Counters];

/// How often a host reads the feed (ms).
pub const FOLLOW_MS: u64 = 100;

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
    tx.put_json(Table::Changes, &seq.to_be_bytes(), &entry)
}

/// The feed's last number now.
pub(crate) fn end(store: &Store) -> Result<i64, StoreError> {
    store.counter(&seq_key())
}

impl Plaza {
    /// Apply the feed's entries after the last one this host applied; how many it applied.
    pub async fn follow_changes(self: &Arc<Self>) -> Result<usize, Error> {
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
            if entry.host != self.host {
                self.apply_change(entry.change).await?;
                applied += 1;
            }
            self.followed.store(seq, Ordering::Release);
        }
        Ok(applied)
    }

    async fn apply_change(self: &Arc<Self>, change: Change) -> Result<(), Error> {
        match change {
            Change::Plan { tenant, plan } => {
                self.activated
                    .lock()
                    .map_err(|_| Error::Internal("the activation list is poisoned".into()))?
                    .push((tenant, plan));
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
