//! The hot point reads of the quote path, served from memory on sled.
//!
//! sled 0.34 runs every transaction's body and commit under one process-wide write lock,
//! and once any transaction has run, every plain read takes the read side of that lock.
//! A quote reads its merchant's record, its budget counters and (over HTTP) its key, so a
//! burst of transactions (expiring orders, a settlement run) stretched the quote tail
//! from ~0.1 ms to ~3 ms. The mirror keeps the values of a few small tables that quotes
//! read by key, so those reads never take sled's lock after the first.
//!
//! Kept in step with sled, never ahead of it: a transaction's writes to a mirrored table
//! reach the mirror only after sled committed them. Each transaction takes a stamp while
//! it still holds sled's lock, so stamps follow commit order, and an entry only takes a
//! write with a later stamp than its own: two transactions that finish out of order leave
//! the later commit's value. A value read from sled on a miss is only filled into an
//! empty slot (stamp 0), so it never hides a write that landed meanwhile. Entries are
//! never evicted: each table's mirror holds at most [`CAPACITY`] keys, and a key beyond
//! that is read from sled as before.

use super::Table;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The tables a quote reads by key: its merchant (attribution settings), its budget
/// counters, and the API key it came with.
pub(super) const MIRRORED: [Table; 4] = [
    Table::Tenants,
    Table::Counters,
    Table::Keys,
    Table::BeneficiaryKeys,
];

/// Keys kept per table (~40 MiB of counters at most).
pub(super) const CAPACITY: usize = 1 << 18;

/// A value as the mirror holds it: `None` is "absent in sled".
type Value = Option<Arc<[u8]>>;

#[derive(Debug)]
struct Entry {
    /// The stamp of the transaction that wrote it; 0 for a value filled from a read.
    stamp: u64,
    value: Value,
}

/// One write of a committed transaction: `None` removes.
pub(super) type Write = (Table, Vec<u8>, Option<Vec<u8>>);

#[derive(Debug)]
pub(super) struct Mirror {
    stamps: AtomicU64,
    capacity: usize,
    /// By position in [`MIRRORED`].
    maps: Vec<RwLock<HashMap<Vec<u8>, Entry>>>,
}

impl Mirror {
    pub fn new(capacity: usize) -> Mirror {
        Mirror {
            stamps: AtomicU64::new(0),
            capacity,
            maps: MIRRORED.iter().map(|_| RwLock::default()).collect(),
        }
    }

    fn map(&self, table: Table) -> Option<&RwLock<HashMap<Vec<u8>, Entry>>> {
        let i = MIRRORED.iter().position(|t| *t == table)?;
        Some(&self.maps[i])
    }

    pub fn mirrors(table: Table) -> bool {
        MIRRORED.contains(&table)
    }

    /// The mirrored value: `None` when the mirror does not hold the key.
    pub fn get(&self, table: Table, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let map = self.map(table)?.read().unwrap_or_else(|p| p.into_inner());
        map.get(key).map(|e| e.value.as_deref().map(<[u8]>::to_vec))
    }

    /// Keep a value just read from sled, unless the slot is taken or the table is full.
    pub fn fill(&self, table: Table, key: &[u8], value: Option<&[u8]>) {
        let Some(map) = self.map(table) else {
            return;
        };
        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() < self.capacity && !map.contains_key(key) {
            let value = value.map(Arc::from);
            map.insert(key.to_vec(), Entry { stamp: 0, value });
        }
    }

    /// A stamp for a transaction about to commit; take it under sled's transaction lock.
    pub fn stamp(&self) -> u64 {
        self.stamps.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Apply a committed transaction's writes to mirrored tables, in their order.
    pub fn apply(&self, stamp: u64, writes: Vec<Write>) {
        for (table, key, value) in writes {
            let Some(map) = self.map(table) else {
                continue;
            };
            let mut map = map.write().unwrap_or_else(|p| p.into_inner());
            let value: Value = value.map(Arc::from);
            let room = map.len() < self.capacity;
            match map.get_mut(&key) {
                Some(e) if e.stamp <= stamp => *e = Entry { stamp, value },
                Some(_) => {}
                None if room => {
                    map.insert(key, Entry { stamp, value });
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(m: &Mirror, key: &[u8]) -> Option<Option<Vec<u8>>> {
        m.get(Table::Counters, key)
    }

    #[test]
    fn a_later_commit_wins_whichever_order_the_writes_arrive_in() {
        let m = Mirror::new(8);
        let (first, second) = (m.stamp(), m.stamp());
        m.apply(
            second,
            vec![(Table::Counters, b"c".to_vec(), Some(vec![2]))],
        );
        m.apply(first, vec![(Table::Counters, b"c".to_vec(), Some(vec![1]))]);
        assert_eq!(value(&m, b"c"), Some(Some(vec![2])));
        let third = m.stamp();
        m.apply(third, vec![(Table::Counters, b"c".to_vec(), None)]);
        assert_eq!(value(&m, b"c"), Some(None));
    }

    #[test]
    fn a_value_read_before_a_commit_never_hides_it() {
        let m = Mirror::new(8);
        let s = m.stamp();
        m.apply(s, vec![(Table::Counters, b"c".to_vec(), Some(vec![2]))]);
        // A reader that saw sled before that commit fills late: ignored.
        m.fill(Table::Counters, b"c", Some(&[1]));
        assert_eq!(value(&m, b"c"), Some(Some(vec![2])));
        // A fill then a commit: the commit wins.
        m.fill(Table::Counters, b"d", None);
        let s = m.stamp();
        m.apply(s, vec![(Table::Counters, b"d".to_vec(), Some(vec![3]))]);
        assert_eq!(value(&m, b"d"), Some(Some(vec![3])));
    }

    #[test]
    fn a_full_table_keeps_what_it_holds_and_takes_no_new_keys() {
        let m = Mirror::new(1);
        m.fill(Table::Counters, b"a", Some(&[1]));
        m.fill(Table::Counters, b"b", Some(&[1]));
        let s = m.stamp();
        m.apply(
            s,
            vec![
                (Table::Counters, b"a".to_vec(), Some(vec![5])),
                (Table::Counters, b"b".to_vec(), Some(vec![5])),
            ],
        );
        assert_eq!(value(&m, b"a"), Some(Some(vec![5])));
        assert_eq!(value(&m, b"b"), None);
        assert_eq!(m.get(Table::Orders, b"a"), None, "orders are not mirrored");
    }
}
