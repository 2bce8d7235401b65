//! The store: Plaza's state in an embedded sled database, one tree per kind of record.
//!
//! Records are JSON values (readable with any sled tool, and the same serde types as the
//! API) under keys made of `\0`-separated parts, so one tenant's records are one prefix.
//! Ids never contain control characters (the domain checks), so the separator is safe.
//!
//! Counters (budgets) are 8-byte big-endian integers, updated inside sled transactions
//! together with the orders that reserve them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::{Db, Tree};
use std::path::Path;

/// Why the store failed. Internal to the service: the HTTP edge reports a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record under {key}: {message}")]
    Corrupt { key: String, message: String },
}

/// The open database and its trees.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// tenant id → `Tenant`.
    pub tenants: Tree,
    /// sha256(api key) → `KeyRecord`.
    pub keys: Tree,
    /// owner \0 name \0 version → `PluginRecord`.
    pub plugins: Tree,
    /// sha256 → component bytes (content-addressed; shared by equal uploads).
    pub blobs: Tree,
    /// tenant \0 plan \0 version (u32 BE) → `Plan` as authored.
    pub plan_versions: Tree,
    /// tenant \0 plan → `PlanHead` (latest and active version, activation history).
    pub plan_heads: Tree,
    /// tenant \0 order → `Order`.
    pub orders: Tree,
    /// tenant \0 plan \0 step \0 limit [\0 subject] → i64 BE.
    pub counters: Tree,
    /// tenant \0 order \0 seq (u32 BE) → `LedgerEntry`.
    pub ledger: Tree,
}

impl Store {
    /// Open (or create) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(256 * 1024 * 1024)
            .open()?;
        Ok(Store {
            tenants: db.open_tree("tenants")?,
            keys: db.open_tree("keys")?,
            plugins: db.open_tree("plugins")?,
            blobs: db.open_tree("blobs")?,
            plan_versions: db.open_tree("plan_versions")?,
            plan_heads: db.open_tree("plan_heads")?,
            orders: db.open_tree("orders")?,
            counters: db.open_tree("counters")?,
            ledger: db.open_tree("ledger")?,
            db,
        })
    }

    /// Make everything written so far durable (fsync), on the blocking pool.
    ///
    /// Not sled's `flush_async`: in sled 0.34.7 concurrent `flush_async` calls can
    /// deadlock (spacejam/sled#1308, fixed on sled's main branch, never released); the
    /// commit benchmark hit it. Concurrent blocking flushes are safe.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))??;
        Ok(())
    }
}

/// A key from its parts.
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

/// The prefix of every key that starts with `parts`.
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = key(parts);
    out.push(0);
    out
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records serialize")
}

pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).replace('\0', "/"),
        message: e.to_string(),
    })
}

/// Read one record.
pub fn get<T: DeserializeOwned>(tree: &Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|v| decode(key, &v)).transpose()
}

/// Every record under `prefix`, in key order.
pub fn scan<T: DeserializeOwned>(tree: &Tree, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
    tree.scan_prefix(prefix)
        .map(|item| {
            let (k, v) = item?;
            decode(&k, &v)
        })
        .collect()
}

/// A counter's value (0 when absent).
pub fn counter(bytes: Option<&[u8]>) -> i64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, i64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_owner_share_a_prefix_that_no_other_owner_matches() {
        let a = key(&[b"shop", b"plan"]);
        assert!(a.starts_with(&prefix(&[b"shop"])));
        assert!(!a.starts_with(&prefix(&[b"sho"])));
    }

    #[test]
    fn a_missing_or_malformed_counter_reads_as_zero() {
        assert_eq!(counter(None), 0);
        assert_eq!(counter(Some(&[1, 2])), 0);
        assert_eq!(counter(Some(&7i64.to_be_bytes())), 7);
    }
}
