//! The store: Plaza's state behind a small interface, so that the domain never names the
//! database underneath.
//!
//! - [`Backend`] is what a database provides: point reads, ordered prefix scans, and
//!   transactions over named [`Table`]s that either commit whole or not at all. sled
//!   ([`sled::SledBackend`]) is the embedded default; it serves the quote path's point
//!   reads from a mirror kept in step with its commits (`mirror.rs`), off sled's
//!   process-wide transaction lock, and a watch (`sled_watch.rs`) frees a stall that
//!   sled's I/O pool can fall into by itself. [`postgres::PgBackend`] keeps the same
//!   tables in PostgreSQL (`--store postgres://…`), and serves tenants and keys from
//!   memory kept in step across hosts by an invalidation feed (`shared_mirror.rs`).
//! - [`Store`] is what the domain uses: the backend plus typed helpers (JSON records,
//!   counters, pages) and `flush`, which makes everything acknowledged so far durable,
//!   with concurrent flushes grouped into one fsync.
//!
//! Records are JSON values (the same serde types as the API) under keys made of
//! `\0`-separated parts, so one tenant's records are one prefix. Ids never contain control
//! characters (the domain checks), so the separator is safe. Counters (budgets) are 8-byte
//! big-endian integers; a counter of any other shape is corrupt and is reported as such,
//! never read as zero.

mod group;
mod mirror;
mod postgres;
mod shared_mirror;
mod sled;
mod sled_watch;

pub use self::postgres::{CONNECTIONS as PG_CONNECTIONS, PgBackend};
pub use self::sled::SledBackend;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;

/// The kinds of record, one table (sled tree) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// tenant id → `Tenant`.
    Tenants,
    /// sha256(api key) → `KeyRecord`.
    Keys,
    /// owner \0 name \0 version → `PluginRecord`.
    Plugins,
    /// sha256 → component bytes (content-addressed; shared by equal uploads).
    Blobs,
    /// tenant \0 plan \0 version (u32 BE) → `Plan` as saved (plugins pinned).
    PlanVersions,
    /// tenant \0 plan → `PlanHead` (latest and active version, activation history).
    PlanHeads,
    /// tenant \0 order → `Order`.
    Orders,
    /// tenant \0 created_ms (u64 BE, offset from i64::MIN) \0 order → nothing: orders in
    /// the order they were placed, for listing.
    OrderTimes,
    /// tenant \0 plan \0 step \0 limit [\0 subject] → i64 BE.
    Counters,
    /// tenant \0 order \0 seq (u32 BE) → `LedgerEntry`.
    Ledger,
    /// seq (i64 BE) → a change to what hosts keep in memory (`domain::changes`).
    Changes,
    /// tenant \0 scope \0 idempotency key → the stored answer to replay.
    Idempotency,
    /// due_ms ([`time_part`]) \0 kind \0 tenant \0 subject → `Timer`: the host's due work.
    Timers,
    /// tenant \0 order \0 share (u32 BE) → `OrderCommission`: an order's commission shares.
    Commissions,
    /// beneficiary \0 tenant \0 order \0 share \0 side → nothing: the shares on a
    /// beneficiary's balance that are not yet settled.
    OpenShares,
    /// tenant \0 settleable_ms ([`time_part`]) \0 order \0 share → nothing: what a
    /// settlement run gathers.
    Settleable,
    /// tenant \0 settlement → `Settlement`.
    Settlements,
    /// tenant → the id of its settlement run in progress.
    RunningSettlements,
    /// tenant \0 settlement \0 beneficiary \0 line (u32 BE) → `StatementLine`.
    StatementLines,
    /// tenant \0 settlement \0 beneficiary → `Statement`.
    Statements,
    /// beneficiary \0 tenant \0 created_ms \0 settlement → nothing: a beneficiary's
    /// statements across merchants.
    BeneficiaryStatements,
    /// beneficiary \0 tenant → what it carries with that merchant and was paid.
    Balances,
    /// tenant \0 beneficiary → nothing: the balances that carry something.
    Carried,
    /// sha256(api key) → `BeneficiaryKey`.
    BeneficiaryKeys,
    /// promoter → its record (platform-wide ids).
    Promoters,
    /// agency \0 promoter → `Promoter`: an agency's promoters, for listing.
    AgencyPromoters,
    /// tenant \0 touch → `Touch`.
    Touches,
    /// tenant \0 buyer \0 at_ms ([`time_part`]) \0 touch → `Touch`: a buyer's touches in
    /// time order, for attribution.
    BuyerTouches,
    /// merchant \0 offer → `Offer`: products opened to agencies.
    Offers,
    /// carrier \0 pool → `Pool`.
    Pools,
    /// helper \0 carrier \0 pool → `Membership`: the pools an agency joined.
    Memberships,
    /// carrier \0 pool \0 helper → `Membership`: a pool's helper agencies.
    PoolMembers,
    /// agency \0 created_ms ([`time_part`]) \0 merchant \0 order \0 role → the order
    /// filed under an agency of its layers, for the agency's plaza report.
    PlazaOrders,
    /// client \0 provider → `Grant`: the providers a tenant granted access.
    Grants,
    /// provider \0 client → `Grant`: a provider's clients, for listing.
    ProviderClients,
    /// beneficiary \0 ledger \0 merchant \0 order \0 share → nothing: the open shares a
    /// beneficiary is paid out of another tenant's ledger (a plaza layer's) on a merchant's
    /// order.
    LayerOpenShares,
    /// ledger \0 settleable_ms ([`time_part`]) \0 merchant \0 order \0 share → nothing:
    /// what a layer tenant's settlement run gathers from merchants' orders.
    LayerSettleable,
    /// upstream \0 agency → `Affiliation`: the promoter agencies an agency invited.
    Affiliates,
    /// agency \0 upstream → `Affiliation`: the agencies whose goods a promoter agency's
    /// promoters sell.
    Affiliations,
    /// Coupon templates: owner \0 template.
    CouponTemplates,
    /// Claims held per buyer of a template: owner \0 template \0 buyer.
    CouponHolders,
    /// Coupon claims: owner \0 claim.
    CouponClaims,
    /// A buyer's wallet: owner \0 buyer \0 claim.
    CouponWallets,
    /// Offline codes: owner \0 code.
    CouponCodes,
    /// Batches of codes: owner \0 template \0 batch.
    CouponBatches,
    /// Stock moved between a 主播券's live rooms: owner \0 template \0 move.
    CouponMoves,
    /// Help campaigns (助力): owner \0 campaign.
    HelpCampaigns,
    /// Their initiations: owner \0 campaign \0 initiator.
    HelpInitiations,
    /// Who helped whom: owner \0 campaign \0 helper → the initiator.
    HelpHelpers,
    /// Points accounts: merchant \0 buyer → `Account`.
    PointsAccounts,
    /// The points ledger: merchant \0 buyer \0 seq (u64 BE) → `Entry`.
    PointsLedger,
    /// Points grants: merchant \0 buyer \0 grant → `Grant`.
    PointsGrants,
    /// GMV incentive events: event → `Incentive`.
    Incentives,
    /// Their registrations: event \0 participant → `Entrant`.
    IncentiveEntrants,
    /// Each participant's GMV and rewards held: event \0 participant → `Standing`.
    IncentiveStandings,
    /// Its rewards ledger: event \0 participant \0 seq (u32 BE) → `RewardEntry`.
    IncentiveLedger,
    /// Sampled quote inputs, a ring per tenant: tenant \0 slot (u32 BE) → `Recorded`.
    Recordings,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 57] = [
        Table::Tenants,
        Table::Keys,
        Table::Plugins,
        Table::Blobs,
        Table::PlanVersions,
        Table::PlanHeads,
        Table::Orders,
        Table::OrderTimes,
        Table::Counters,
        Table::Ledger,
        Table::Changes,
        Table::Idempotency,
        Table::Timers,
        Table::Commissions,
        Table::OpenShares,
        Table::Settleable,
        Table::Settlements,
        Table::RunningSettlements,
        Table::StatementLines,
        Table::Statements,
        Table::BeneficiaryStatements,
        Table::Balances,
        Table::Carried,
        Table::BeneficiaryKeys,
        Table::Promoters,
        Table::AgencyPromoters,
        Table::Touches,
        Table::BuyerTouches,
        Table::Offers,
        Table::Pools,
        Table::Memberships,
        Table::PoolMembers,
        Table::PlazaOrders,
        Table::Grants,
        Table::ProviderClients,
        Table::LayerOpenShares,
        Table::LayerSettleable,
        Table::Affiliates,
        Table::Affiliations,
        Table::CouponTemplates,
        Table::CouponHolders,
        Table::CouponClaims,
        Table::CouponWallets,
        Table::CouponCodes,
        Table::CouponBatches,
        Table::CouponMoves,
        Table::HelpCampaigns,
        Table::HelpInitiations,
        Table::HelpHelpers,
        Table::PointsAccounts,
        Table::PointsLedger,
        Table::PointsGrants,
        Table::Incentives,
        Table::IncentiveEntrants,
        Table::IncentiveStandings,
        Table::IncentiveLedger,
        Table::Recordings,
    ];

    /// The table's name in the database.
    pub fn name(self) -> &'static str {
        match self {
            Table::Tenants => "tenants",
            Table::Keys => "keys",
            Table::Plugins => "plugins",
            Table::Blobs => "blobs",
            Table::PlanVersions => "plan_versions",
            Table::PlanHeads => "plan_heads",
            Table::Orders => "orders",
            Table::OrderTimes => "order_times",
            Table::Counters => "counters",
            Table::Ledger => "ledger",
            Table::Changes => "changes",
            Table::Idempotency => "idempotency",
            Table::Timers => "timers",
            Table::Commissions => "commissions",
            Table::OpenShares => "open_shares",
            Table::Settleable => "settleable",
            Table::Settlements => "settlements",
            Table::RunningSettlements => "running_settlements",
            Table::StatementLines => "statement_lines",
            Table::Statements => "statements",
            Table::BeneficiaryStatements => "beneficiary_statements",
            Table::Balances => "balances",
            Table::Carried => "carried",
            Table::BeneficiaryKeys => "beneficiary_keys",
            Table::Promoters => "promoters",
            Table::AgencyPromoters => "agency_promoters",
            Table::Touches => "touches",
            Table::BuyerTouches => "buyer_touches",
            Table::Offers => "offers",
            Table::Pools => "pools",
            Table::Memberships => "memberships",
            Table::PoolMembers => "pool_members",
            Table::PlazaOrders => "plaza_orders",
            Table::Grants => "grants",
            Table::ProviderClients => "provider_clients",
            Table::LayerOpenShares => "layer_open_shares",
            Table::LayerSettleable => "layer_settleable",
            Table::Affiliates => "affiliates",
            Table::Affiliations => "affiliations",
            Table::CouponTemplates => "coupon_templates",
            Table::CouponHolders => "coupon_holders",
            Table::CouponClaims => "coupon_claims",
            Table::CouponWallets => "coupon_wallets",
            Table::CouponCodes => "coupon_codes",
            Table::CouponBatches => "coupon_batches",
            Table::CouponMoves => "coupon_moves",
            Table::HelpCampaigns => "help_campaigns",
            Table::HelpInitiations => "help_initiations",
            Table::HelpHelpers => "help_helpers",
            Table::PointsAccounts => "points_accounts",
            Table::PointsLedger => "points_ledger",
            Table::PointsGrants => "points_grants",
            Table::Incentives => "incentives",
            Table::IncentiveEntrants => "incentive_entrants",
            Table::IncentiveStandings => "incentive_standings",
            Table::IncentiveLedger => "incentive_ledger",
            Table::Recordings => "recordings",
        }
    }
}

/// Why the store failed. Internal to the service: the HTTP edge reports a generic 500,
/// except where the domain turns a corrupt record into its own typed refusal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Backend(String),
    #[error("corrupt record under {key}: {message}")]
    Corrupt { key: String, message: String },
    /// The database cannot be reached now (a PostgreSQL server away or restarting): the
    /// request may be sent again shortly (the HTTP edge answers 503 `unavailable`).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// Why a transaction did not commit.
#[derive(Debug)]
pub enum TxError {
    /// The closure gave up; it keeps its own reason (nothing was written).
    Abort,
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

/// Reads and writes inside one transaction. Writes are seen by later reads of the same
/// transaction and by nobody else until it commits.
pub trait Tx {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), TxError>;
    fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), TxError>;
}

/// A transaction body: may run more than once (a backend retries on conflicts), so it
/// must only act through its `Tx`.
pub type TxBody<'a> = dyn FnMut(&mut dyn Tx) -> Result<(), TxError> + 'a;

/// Entries of a scan: (key, value) in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What a database offers Plaza.
pub trait Backend: Send + Sync + std::fmt::Debug {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` entries whose key starts with `prefix` and sorts after `after` (when
    /// given), in key order.
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError>;
    /// Run `body` over `tables` atomically and in isolation from other transactions.
    fn transact(&self, tables: &[Table], body: &mut TxBody<'_>) -> Result<(), TxError>;
    /// Make every committed write durable (blocking).
    fn flush(&self) -> Result<(), StoreError>;
    /// Catch up with what other hosts on the same database wrote that this backend keeps
    /// in memory (blocking). Nothing to do for a database only one host opens.
    fn follow(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The open store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// Concurrent flushes share fsyncs (group commit).
    group: Arc<group::GroupFlush>,
}

impl Store {
    /// Open (or create) the embedded sled store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store::with_backend(Arc::new(SledBackend::open(dir)?)))
    }

    /// Open the store a server is configured for: PostgreSQL at `url` when given (a
    /// `postgres://` or `postgresql://` connection string), else sled in `dir`.
    pub fn open_configured(url: Option<&str>, dir: &Path) -> Result<Store, StoreError> {
        match url {
            None => Store::open(dir),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Store::with_backend(Arc::new(PgBackend::open(url)?)))
            }
            Some(_) => Err(StoreError::Backend(
                "--store takes a postgres:// connection string (leave it out for sled)".into(),
            )),
        }
    }

    pub fn with_backend(backend: Arc<dyn Backend>) -> Store {
        Store {
            backend,
            group: Arc::default(),
        }
    }

    /// Make everything written so far durable (fsync, on the blocking pool). Concurrent
    /// callers share a flush that started after their call (group commit).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.group.flush(&self.backend).await
    }

    /// Catch up with what other hosts wrote that this store keeps in memory (tenants and
    /// keys on PostgreSQL: `shared_mirror.rs`).
    pub fn follow(&self) -> Result<(), StoreError> {
        self.backend.follow()
    }

    pub fn get_raw(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.backend.get(table, key)
    }

    /// Read one record.
    pub fn get<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.backend
            .get(table, key)?
            .map(|v| decode(key, &v))
            .transpose()
    }

    /// Whether a record exists under `key`.
    pub fn contains(&self, table: Table, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.backend.get(table, key)?.is_some())
    }

    /// Every record under `prefix`, in key order.
    pub fn scan<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &[u8],
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .scan_entries(table, prefix, None, usize::MAX)?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Up to `limit` records under `prefix` after key `after`, with their keys.
    pub fn scan_entries<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        self.backend
            .scan(table, prefix, after, limit)?
            .into_iter()
            .map(|(k, v)| {
                let value = decode(&k, &v)?;
                Ok((k, value))
            })
            .collect()
    }

    /// Up to `limit` keys under `prefix` after key `after` (an index's entries).
    pub fn scan_keys(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .backend
            .scan(table, prefix, after, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// Run `body` as one transaction over `tables`.
    pub fn transact(
        &self,
        tables: &[Table],
        mut body: impl FnMut(&mut dyn Tx) -> Result<(), TxError>,
    ) -> Result<(), TxError> {
        self.backend.transact(tables, &mut body)
    }

    /// Write one record (not yet durable: call [`Store::flush`] before acknowledging).
    pub fn put<T: Serialize>(&self, table: Table, key: &[u8], value: &T) -> Result<(), StoreError> {
        let bytes = encode(value);
        self.write_one(table, |tx| tx.put(table, key, &bytes))
    }

    pub fn put_raw(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.write_one(table, |tx| tx.put(table, key, value))
    }

    /// Write a record unless one exists; true when this call wrote it.
    pub fn insert_new<T: Serialize>(
        &self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<bool, StoreError> {
        let bytes = encode(value);
        let mut inserted = false;
        self.write_one(table, |tx| {
            inserted = tx.get(table, key)?.is_none();
            if inserted {
                tx.put(table, key, &bytes)?;
            }
            Ok(())
        })?;
        Ok(inserted)
    }

    pub fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.write_one(table, |tx| tx.remove(table, key))
    }

    fn write_one(
        &self,
        table: Table,
        mut body: impl FnMut(&mut dyn Tx) -> Result<(), TxError>,
    ) -> Result<(), StoreError> {
        match self.backend.transact(&[table], &mut body) {
            Ok(()) => Ok(()),
            Err(TxError::Store(e)) => Err(e),
            Err(TxError::Abort) => Err(StoreError::Backend("single write aborted".into())),
        }
    }
}

/// Typed reads and writes inside a transaction.
pub trait TxExt: Tx {
    fn get_json<T: DeserializeOwned>(
        &mut self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<T>, TxError> {
        match self.get(table, key)? {
            Some(bytes) => Ok(Some(decode(key, &bytes)?)),
            None => Ok(None),
        }
    }

    fn put_json<T: Serialize>(
        &mut self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<(), TxError> {
        self.put(table, key, &encode(value))
    }

    /// A counter's value: 0 when absent, an error when the stored bytes are not a counter.
    fn counter(&mut self, key: &[u8]) -> Result<i64, TxError> {
        Ok(counter(key, self.get(Table::Counters, key)?.as_deref())?)
    }

    fn set_counter(&mut self, key: &[u8], value: i64) -> Result<(), TxError> {
        self.put(Table::Counters, key, &value.to_be_bytes())
    }
}

impl<T: Tx + ?Sized> TxExt for T {}

impl Store {
    /// A counter's value outside a transaction (for quotes): 0 when absent, an error when
    /// corrupt.
    pub fn counter(&self, key: &[u8]) -> Result<i64, StoreError> {
        counter(key, self.backend.get(Table::Counters, key)?.as_deref())
    }
}

/// The error of a transaction body that touched a table it did not name.
pub fn not_in_transaction(table: Table) -> TxError {
    TxError::Store(StoreError::Backend(format!(
        "table {} is not part of this transaction",
        table.name()
    )))
}

/// Where a scan of `prefix` after key `after` starts: the smallest key after `after`, or
/// the prefix itself.
pub(crate) fn scan_start(prefix: &[u8], after: Option<&[u8]>) -> Vec<u8> {
    match after {
        Some(after) if after >= prefix => [after, &[0]].concat(),
        _ => prefix.to_vec(),
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

/// A time as a key part that sorts like the time (signed, big-endian, fixed width).
pub fn time_part(ms: i64) -> [u8; 8] {
    let shifted = i128::from(ms) - i128::from(i64::MIN);
    u64::try_from(shifted)
        .expect("an i64 shifted by i64::MIN fits in u64")
        .to_be_bytes()
}

/// A key's first part (the tenant, for every per-tenant table), as text.
pub fn first_part(key: &[u8]) -> String {
    let first = key.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(first).into_owned()
}

/// A key as people read it (parts joined with `/`).
pub fn show_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key).replace('\0', "/")
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records serialize")
}

pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: show_key(key),
        message: e.to_string(),
    })
}

/// Decode a counter: absent is 0; anything but 8 bytes is corrupt.
pub fn counter(key: &[u8], bytes: Option<&[u8]>) -> Result<i64, StoreError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes)
            .map(i64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt {
                key: show_key(key),
                message: format!("a counter is 8 bytes, found {}", bytes.len()),
            }),
    }
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
    fn a_missing_counter_reads_as_zero_and_a_malformed_one_is_corrupt() {
        assert_eq!(counter(b"k", None).unwrap(), 0);
        assert_eq!(counter(b"k", Some(&7i64.to_be_bytes())).unwrap(), 7);
        assert!(matches!(
            counter(b"k", Some(&[1, 2])),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            counter(b"k", Some(&[0; 9])),
            Err(StoreError::Corrupt { .. })
        ));
    }

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn an_aborted_transaction_writes_nothing() {
        let (_dir, store) = temp_store();
        let result = store.transact(&[Table::Orders, Table::Counters], |tx| {
            tx.put_json(Table::Orders, b"o", &1)?;
            tx.set_counter(b"c", 5)?;
            Err(TxError::Abort)
        });
        assert!(matches!(result, Err(TxError::Abort)));
        assert_eq!(store.get::<i32>(Table::Orders, b"o").unwrap(), None);
        assert_eq!(store.counter(b"c").unwrap(), 0);
    }

    #[test]
    fn a_transaction_reads_its_own_writes_and_commits_them_together() {
        let (_dir, store) = temp_store();
        store
            .transact(&[Table::Orders, Table::Counters], |tx| {
                tx.set_counter(b"c", 5)?;
                let now = tx.counter(b"c")?;
                tx.set_counter(b"c", now + 1)?;
                tx.put_json(Table::Orders, b"o", &now)
            })
            .unwrap();
        assert_eq!(store.counter(b"c").unwrap(), 6);
        assert_eq!(store.get::<i64>(Table::Orders, b"o").unwrap(), Some(5));
    }

    #[test]
    fn scans_page_in_key_order_within_a_prefix() {
        let (_dir, store) = temp_store();
        for (t, n) in [("a", 3), ("b", 2), ("c", 1)] {
            for i in 0..n {
                store
                    .put(Table::Orders, &key(&[t.as_bytes(), &[i]]), &i)
                    .unwrap();
            }
        }
        let p = prefix(&[b"a"]);
        let first: Vec<(Vec<u8>, u8)> = store.scan_entries(Table::Orders, &p, None, 2).unwrap();
        assert_eq!(first.iter().map(|e| e.1).collect::<Vec<_>>(), [0, 1]);
        let rest: Vec<(Vec<u8>, u8)> = store
            .scan_entries(Table::Orders, &p, Some(&first[1].0), 10)
            .unwrap();
        assert_eq!(rest.iter().map(|e| e.1).collect::<Vec<_>>(), [2]);
        assert!(store.insert_new(Table::Tenants, b"t", &1).unwrap());
        assert!(!store.insert_new(Table::Tenants, b"t", &2).unwrap());
        assert_eq!(store.get::<i32>(Table::Tenants, b"t").unwrap(), Some(1));
    }
}
