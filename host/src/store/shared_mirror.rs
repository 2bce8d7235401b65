//! The quote path's point reads on a database that several hosts share, served from memory.
//!
//! A quote reads its merchant's record, (over HTTP) its API key, and for goods an agency
//! carries, the agency's record, pools, memberships, affiliations and the promoter it
//! credits. On PostgreSQL each read is a round trip; these records change rarely (settings,
//! keys, an agency's set-up), so each host keeps the values and the small, whole scan
//! results it read, and a transaction that writes one of these tables also appends the keys
//! it wrote to an invalidation feed, in the same transaction:
//!
//! - the writing host drops those keys from its memory once the commit went through;
//! - every host follows the feed ([`Backend::follow`](super::Backend::follow), with the
//!   change feed, ten times a second) and drops the keys the others wrote. A key written on
//!   one host is therefore read afresh by the others within about a tenth of a second
//!   (a revoked key, a changed setting); budgets are never kept here (they are read from
//!   the database, as commits need them exact), nor a buyer's own records (touches,
//!   claims), which change with every share and checkout.
//!
//! A value read from the database is kept only if no invalidation of its table ran while it
//! was read (each table's generation), so a read that raced a write never hides it. The
//! feed keeps its last [`KEEP`] entries; a host that finds the entries after the last one
//! it applied already pruned (it could not follow for a long while) forgets everything.

use super::{Entries, Table, counter, key};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// The tables kept in memory: a quote's merchant, its key, and the agency set-up a carried
/// line is priced through.
pub(super) const MIRRORED: [Table; 7] = [
    Table::Tenants,
    Table::Keys,
    Table::BeneficiaryKeys,
    Table::Promoters,
    Table::Pools,
    Table::Memberships,
    Table::Affiliations,
];

/// The feed's table (a name of the backend's, never one of the domain's tables).
pub(super) const FEED: &str = "invalidations";

/// Entries the feed keeps; each new entry removes the one this far behind it.
pub(super) const KEEP: i64 = 4096;

/// Keys kept per table.
const CAPACITY: usize = 1 << 18;
/// Scan results kept per table, and the most entries a kept result has.
const SCANS: usize = 1 << 14;
const SCAN_ENTRIES: usize = 256;

/// The counter that numbers the feed's entries (in the domain's counters table, under a
/// first part no tenant has).
pub(super) fn seq_key() -> Vec<u8> {
    key(&[b"", b"invalidations"])
}

/// One entry: the keys a transaction wrote, as (table, hex key).
pub(super) type Entry = Vec<(String, String)>;

#[derive(Debug, Default)]
struct Slot {
    /// Bumped by every invalidation of the table.
    generation: u64,
    /// `None`: absent in the database.
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Every entry under a prefix, by prefix.
    scans: HashMap<Vec<u8>, Arc<Entries>>,
}

#[derive(Debug)]
pub(super) struct SharedMirror {
    /// By position in [`MIRRORED`].
    slots: Vec<Mutex<Slot>>,
    /// The last feed entry applied.
    followed: AtomicI64,
}

impl SharedMirror {
    /// A mirror that follows the feed after entry `end`.
    pub fn new(end: i64) -> SharedMirror {
        SharedMirror {
            slots: MIRRORED.iter().map(|_| Mutex::default()).collect(),
            followed: AtomicI64::new(end),
        }
    }

    pub fn table(name: &str) -> Option<Table> {
        MIRRORED.iter().copied().find(|t| t.name() == name)
    }

    fn slot(&self, table: Table) -> Option<std::sync::MutexGuard<'_, Slot>> {
        let i = MIRRORED.iter().position(|t| *t == table)?;
        Some(self.slots[i].lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The kept value (`Some(None)`: kept as absent); `None` when not kept or not mirrored.
    pub fn get(&self, table: Table, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.slot(table)?.values.get(key).cloned()
    }

    /// The table's generation, to take before reading the database.
    pub fn generation(&self, table: Table) -> Option<u64> {
        Some(self.slot(table)?.generation)
    }

    /// Keep a value read from the database, unless an invalidation ran since `generation`.
    pub fn fill(&self, table: Table, key: &[u8], value: Option<&[u8]>, generation: u64) {
        let Some(mut slot) = self.slot(table) else {
            return;
        };
        if slot.generation == generation && slot.values.len() < CAPACITY {
            slot.values.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        }
    }

    /// Up to `limit` kept entries under `prefix` after `after`; `None` when not kept.
    pub fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Option<Entries> {
        let all = self.slot(table)?.scans.get(prefix).cloned()?;
        let from = after.map_or(0, |a| all.partition_point(|(k, _)| k.as_slice() <= a));
        Some(all[from..].iter().take(limit).cloned().collect())
    }

    /// Keep a scan's result when it is every entry under `prefix` (read from the start,
    /// fewer than asked for) and small, unless an invalidation ran since `generation`.
    pub fn fill_scan(
        &self,
        table: Table,
        (prefix, after, limit): (&[u8], Option<&[u8]>, usize),
        entries: &Entries,
        generation: u64,
    ) {
        let whole = after.is_none() && entries.len() < limit && entries.len() <= SCAN_ENTRIES;
        let Some(mut slot) = self.slot(table).filter(|_| whole) else {
            return;
        };
        if slot.generation == generation && slot.scans.len() < SCANS {
            slot.scans
                .insert(prefix.to_vec(), Arc::new(entries.clone()));
        }
    }

    /// Forget `keys` of mirrored tables, and the scans that held them.
    pub fn invalidate<'a>(&self, keys: impl IntoIterator<Item = (Table, &'a [u8])>) {
        for (table, key) in keys {
            if let Some(mut slot) = self.slot(table) {
                slot.generation += 1;
                slot.values.remove(key);
                slot.scans.retain(|prefix, _| !key.starts_with(prefix));
            }
        }
    }

    /// Forget everything (the feed was pruned past what this host applied).
    pub fn clear(&self) {
        for table in MIRRORED {
            if let Some(mut slot) = self.slot(table) {
                slot.generation += 1;
                slot.values.clear();
                slot.scans.clear();
            }
        }
    }

    /// Apply feed entries read after the last one applied, in order (`(seq bytes, entry)`).
    /// Returns how many it applied.
    pub fn apply(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<usize, String> {
        for (k, v) in entries {
            let seq = counter(k, Some(k)).map_err(|e| e.to_string())?;
            let followed = self.followed.load(Ordering::Acquire);
            if seq <= followed {
                continue;
            }
            if seq != followed + 1 {
                self.clear();
            }
            let entry: Entry = serde_json::from_slice(v)
                .map_err(|e| format!("an invalidation feed entry {seq}: {e}"))?;
            for (table, hex_key) in entry {
                let (Some(table), Ok(key)) = (Self::table(&table), hex::decode(&hex_key)) else {
                    return Err(format!("an invalidation feed entry {seq} names {table}"));
                };
                self.invalidate([(table, key.as_slice())]);
            }
            self.followed.store(seq, Ordering::Release);
        }
        Ok(entries.len())
    }

    /// The last entry applied.
    pub fn followed(&self) -> i64 {
        self.followed.load(Ordering::Acquire)
    }
}

/// The writes that record `touched` in the feed as entry `seq` (the counter, the entry,
/// and the removal of the entry [`KEEP`] behind).
pub(super) fn feed_writes(seq: i64, touched: &[(Table, Vec<u8>)]) -> Vec<super::postgres::Write> {
    let entry: Entry = touched
        .iter()
        .map(|(t, k)| (t.name().to_owned(), hex::encode(k)))
        .collect();
    let mut writes = vec![
        (
            Table::Counters.name(),
            seq_key(),
            Some(seq.to_be_bytes().to_vec()),
        ),
        (
            FEED,
            seq.to_be_bytes().to_vec(),
            Some(serde_json::to_vec(&entry).expect("pairs of strings serialize")),
        ),
    ];
    if seq > KEEP {
        writes.push((FEED, (seq - KEEP).to_be_bytes().to_vec(), None));
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, keys: &[(&str, &[u8])]) -> (Vec<u8>, Vec<u8>) {
        let e: Entry = keys
            .iter()
            .map(|(t, k)| ((*t).to_owned(), hex::encode(k)))
            .collect();
        (seq.to_be_bytes().to_vec(), serde_json::to_vec(&e).unwrap())
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_kept() {
        let m = SharedMirror::new(0);
        let g = m.generation(Table::Keys).unwrap();
        m.invalidate([(Table::Keys, &b"k"[..])]);
        m.fill(Table::Keys, b"k", Some(b"old"), g);
        assert_eq!(m.get(Table::Keys, b"k"), None);
        let g = m.generation(Table::Keys).unwrap();
        m.fill(Table::Keys, b"k", None, g);
        assert_eq!(m.get(Table::Keys, b"k"), Some(None), "absent is kept too");
        assert_eq!(m.generation(Table::Orders), None, "orders are not mirrored");
    }

    #[test]
    fn the_feed_drops_what_it_names_and_a_gap_drops_everything() {
        let m = SharedMirror::new(3);
        for k in [&b"a"[..], b"b"] {
            let g = m.generation(Table::Tenants).unwrap();
            m.fill(Table::Tenants, k, Some(b"v"), g);
        }
        m.apply(&[
            entry(3, &[("tenants", b"b")]),
            entry(4, &[("tenants", b"a")]),
        ])
        .unwrap();
        assert_eq!(m.get(Table::Tenants, b"a"), None);
        assert_eq!(
            m.get(Table::Tenants, b"b"),
            Some(Some(b"v".to_vec())),
            "3 was applied"
        );
        assert_eq!(m.followed(), 4);
        m.apply(&[entry(9, &[("keys", b"x")])]).unwrap();
        assert_eq!(m.get(Table::Tenants, b"b"), None, "5 to 8 were pruned");
        assert!(m.apply(&[entry(10, &[("orders", b"x")])]).is_err());
    }

    #[test]
    fn a_whole_scan_is_kept_until_a_key_under_its_prefix_is_written() {
        let m = SharedMirror::new(0);
        let entries: Entries = vec![(b"a/1".to_vec(), vec![1]), (b"a/2".to_vec(), vec![2])];
        let g = m.generation(Table::Pools).unwrap();
        m.fill_scan(Table::Pools, (b"a/", None, 2), &entries, g);
        assert_eq!(
            m.scan(Table::Pools, b"a/", None, 10),
            None,
            "maybe not all of it"
        );
        m.fill_scan(Table::Pools, (b"a/", Some(b"a/0"), 10), &entries, g);
        assert_eq!(
            m.scan(Table::Pools, b"a/", None, 10),
            None,
            "not from the start"
        );
        m.fill_scan(Table::Pools, (b"a/", None, 10), &entries, g);
        assert_eq!(m.scan(Table::Pools, b"a/", None, 10).unwrap(), entries);
        let page = m.scan(Table::Pools, b"a/", Some(b"a/1"), 1).unwrap();
        assert_eq!(page, entries[1..].to_vec());
        m.invalidate([(Table::Pools, &b"b/1"[..])]);
        assert!(
            m.scan(Table::Pools, b"a/", None, 10).is_some(),
            "another prefix"
        );
        m.invalidate([(Table::Pools, &b"a/3"[..])]);
        assert_eq!(m.scan(Table::Pools, b"a/", None, 10), None);
        m.fill_scan(Table::Pools, (b"a/", None, 10), &entries, g);
        assert_eq!(
            m.scan(Table::Pools, b"a/", None, 10),
            None,
            "read before the write"
        );
    }

    #[test]
    fn each_entry_removes_the_one_keep_behind() {
        let w = feed_writes(KEEP + 5, &[(Table::Keys, b"k".to_vec())]);
        assert_eq!(w.len(), 3);
        assert_eq!(w[2], (FEED, 5i64.to_be_bytes().to_vec(), None));
        assert_eq!(feed_writes(KEEP, &[]).len(), 2);
    }
}
