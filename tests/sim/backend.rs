//! A store backend for the simulation: in memory, deterministic, and faulty on purpose.
//!
//! It keeps what a real database keeps apart: what is written (visible to every later
//! read) and what is durable (survives a crash). Writes since the last successful flush
//! are remembered as an undo log; a crash applies it, so a restart sees exactly what was
//! flushed. Faults are drawn from the seed, one draw per call, so a seed replays the
//! same faults at the same calls:
//! - a transaction fails (nothing written), or the process dies before it writes;
//! - a flush fails (nothing more made durable), or the process dies just before it, or
//!   just after it (durable, but the caller never hears so);
//! - a read fails.
//!
//! Once dead, every call fails until [`SimBackend::restart`].

use plaza::store::{Backend, Entries, StoreError, Table, Tx, TxBody, TxError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// How often each fault strikes, in calls per million.
#[derive(Clone, Copy, Debug)]
pub struct FaultRates {
    pub write_fails: u32,
    pub crash_before_write: u32,
    pub flush_fails: u32,
    pub crash_before_flush: u32,
    pub crash_after_flush: u32,
    pub read_fails: u32,
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        write_fails: 0,
        crash_before_write: 0,
        flush_fails: 0,
        crash_before_flush: 0,
        crash_after_flush: 0,
        read_fails: 0,
    };

    /// The simulation's default: some fault every few dozen operations.
    pub const DEFAULT: FaultRates = FaultRates {
        write_fails: 10_000,
        crash_before_write: 3_000,
        flush_fails: 10_000,
        crash_before_flush: 3_000,
        crash_after_flush: 3_000,
        read_fails: 1_000,
    };
}

/// Faults injected so far, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub write_fails: u64,
    pub flush_fails: u64,
    pub read_fails: u64,
    pub crashes: u64,
}

type Tables = Vec<BTreeMap<Vec<u8>, Vec<u8>>>;

#[derive(Debug)]
struct State {
    tables: Tables,
    /// (table, key, value before) of every write since the last successful flush, oldest
    /// first.
    undo: Vec<(usize, Vec<u8>, Option<Vec<u8>>)>,
    rng: fastrand::Rng,
    rates: FaultRates,
    dead: bool,
    counts: FaultCounts,
    /// Order keys written or lost since [`SimBackend::take_dirty`].
    dirty: BTreeSet<Vec<u8>>,
}

impl State {
    fn strikes(&mut self, per_million: u32) -> bool {
        per_million > 0 && self.rng.u32(0..1_000_000) < per_million
    }

    fn die(&mut self) -> StoreError {
        self.dead = true;
        self.counts.crashes += 1;
        StoreError::Backend("injected: the process died".into())
    }

    fn scan(&self, table: Table, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Entries {
        self.tables[index(table)]
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.dead {
            Err(StoreError::Backend("injected: the process is dead".into()))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug)]
pub struct SimBackend {
    state: Mutex<State>,
}

/// The order key a write to table `t` under `key` changes: an order's own, or one of its
/// commission shares (order key \0 share number).
fn order_of(t: usize, key: &[u8]) -> Option<Vec<u8>> {
    if t == index(Table::Orders) {
        Some(key.to_vec())
    } else if t == index(Table::Commissions) {
        key.get(..key.len().checked_sub(5)?).map(<[u8]>::to_vec)
    } else {
        None
    }
}

fn index(table: Table) -> usize {
    Table::ALL
        .iter()
        .position(|t| *t == table)
        .expect("every table is in Table::ALL")
}

impl SimBackend {
    /// An empty database whose faults follow `seed`; none until [`SimBackend::set_rates`].
    pub fn new(seed: u64) -> SimBackend {
        SimBackend {
            state: Mutex::new(State {
                tables: vec![BTreeMap::new(); Table::ALL.len()],
                undo: Vec::new(),
                rng: fastrand::Rng::with_seed(seed),
                rates: FaultRates::NONE,
                dead: false,
                counts: FaultCounts::default(),
                dirty: BTreeSet::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_rates(&self, rates: FaultRates) {
        self.lock().rates = rates;
    }

    /// The process died (a fault struck) and has not been restarted.
    pub fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// Kill the process now, whatever the faults say.
    pub fn kill(&self) {
        let mut state = self.lock();
        if !state.dead {
            state.die();
        }
    }

    /// Come back from a crash (or a kill): everything not flushed is gone.
    pub fn restart(&self) {
        let mut state = self.lock();
        let undo = std::mem::take(&mut state.undo);
        for (table, key, before) in undo.into_iter().rev() {
            if let Some(order) = order_of(table, &key) {
                state.dirty.insert(order);
            }
            match before {
                Some(value) => state.tables[table].insert(key, value),
                None => state.tables[table].remove(&key),
            };
        }
        state.dead = false;
    }

    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// The keys of the orders written (or lost in a crash) since the last call.
    pub fn take_dirty(&self) -> BTreeSet<Vec<u8>> {
        std::mem::take(&mut self.lock().dirty)
    }

    /// One value as written (flushed or not), without faults: for the checks.
    pub fn read(&self, table: Table, key: &[u8]) -> Option<Vec<u8>> {
        self.lock().tables[index(table)].get(key).cloned()
    }

    /// Every entry under `prefix`, without faults: for the checks.
    pub fn scan_all(&self, table: Table, prefix: &[u8]) -> Entries {
        self.lock().scan(table, prefix, None, usize::MAX)
    }

    /// Every entry of `table`, as written (flushed or not), for the invariant checks.
    pub fn entries(&self, table: Table) -> Entries {
        self.lock().tables[index(table)]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// One transaction's view: its own writes over the committed tables.
struct SimTx<'a> {
    tables: &'a Tables,
    allowed: &'a [Table],
    writes: BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>>,
}

impl SimTx<'_> {
    fn table(&self, table: Table) -> Result<usize, TxError> {
        if self.allowed.contains(&table) {
            Ok(index(table))
        } else {
            Err(plaza::store::not_in_transaction(table))
        }
    }
}

impl Tx for SimTx<'_> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let t = self.table(table)?;
        if let Some(written) = self.writes.get(&(t, key.to_vec())) {
            return Ok(written.clone());
        }
        Ok(self.tables[t].get(key).cloned())
    }

    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        let t = self.table(table)?;
        self.writes.insert((t, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), TxError> {
        let t = self.table(table)?;
        self.writes.insert((t, key.to_vec()), None);
        Ok(())
    }
}

impl Backend for SimBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut state = self.lock();
        state.alive()?;
        let rate = state.rates.read_fails;
        if state.strikes(rate) {
            state.counts.read_fails += 1;
            return Err(StoreError::Backend("injected: read failed".into()));
        }
        Ok(state.tables[index(table)].get(key).cloned())
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let state = self.lock();
        state.alive()?;
        Ok(state.scan(table, prefix, after, limit))
    }

    /// Serial: the lock is held for the whole body, so transactions never conflict.
    fn transact(&self, tables: &[Table], body: &mut TxBody<'_>) -> Result<(), TxError> {
        let mut state = self.lock();
        state.alive()?;
        let rates = state.rates;
        if state.strikes(rates.crash_before_write) {
            return Err(TxError::Store(state.die()));
        }
        if state.strikes(rates.write_fails) {
            state.counts.write_fails += 1;
            return Err(TxError::Store(StoreError::Backend(
                "injected: write failed".into(),
            )));
        }
        let mut tx = SimTx {
            tables: &state.tables,
            allowed: tables,
            writes: BTreeMap::new(),
        };
        body(&mut tx)?;
        let writes = tx.writes;
        for ((t, key), value) in writes {
            if let Some(order) = order_of(t, &key) {
                state.dirty.insert(order);
            }
            let before = match value {
                Some(value) => state.tables[t].insert(key.clone(), value),
                None => state.tables[t].remove(&key),
            };
            state.undo.push((t, key, before));
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.alive()?;
        let rates = state.rates;
        if state.strikes(rates.crash_before_flush) {
            return Err(state.die());
        }
        if state.strikes(rates.flush_fails) {
            state.counts.flush_fails += 1;
            return Err(StoreError::Backend("injected: flush failed".into()));
        }
        state.undo.clear();
        if state.strikes(rates.crash_after_flush) {
            return Err(state.die());
        }
        Ok(())
    }
}
