//! The host's timers: work that time makes due (an unpaid order's payment timeout, the end
//! of an after-sale window, a gift not accepted in time, an event's close).
//!
//! A timer is a stored record, written in the same transaction as the state that needs it,
//! under a key that sorts by due time ([`Table::Timers`]). Firing one is a single
//! transaction that does its work (its kind's [`Handler`]) and removes it, so a timer's work
//! happens at most once; a timer that was due when the process died is still stored and
//! fires after the restart. Nothing here knows what an order is: each kind of work
//! registers a handler, and [`Timers::fire_due`] runs whatever the clock says is due.
//!
//! Time comes from the caller (the host's injectable clock): tests move a manual clock and
//! fire, they never wait for a deadline.

use super::foreground::Foreground;
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, key, time_part};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Timers read per scan of the table (each fires in its own transaction).
pub const BATCH: usize = 256;

/// One piece of due work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// When it is due (host time, ms since the epoch).
    pub due_ms: i64,
    /// Which [`Handler`] does the work.
    pub kind: String,
    /// Whose work it is.
    pub tenant: String,
    /// What it acts on (an order id, a gift id …), as the handler reads it.
    pub subject: String,
}

impl Timer {
    pub fn new(due_ms: i64, kind: &str, tenant: &str, subject: &str) -> Timer {
        Timer {
            due_ms,
            kind: kind.to_owned(),
            tenant: tenant.to_owned(),
            subject: subject.to_owned(),
        }
    }

    /// Its key: due time first, so a scan from the start meets timers in due order.
    pub fn key(&self) -> Vec<u8> {
        key(&[
            &time_part(self.due_ms),
            self.kind.as_bytes(),
            self.tenant.as_bytes(),
            self.subject.as_bytes(),
        ])
    }
}

/// Store `timer` as part of the caller's transaction (which must include
/// [`Table::Timers`]).
pub fn schedule(tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
    tx.put_json(Table::Timers, &timer.key(), timer)
}

/// Remove `timer` as part of the caller's transaction: the state that needed it moved on.
/// Removing a timer that already fired (or never was) does nothing.
pub fn cancel(tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
    tx.remove(Table::Timers, &timer.key())
}

/// The work of one kind of timer.
pub trait Handler: Send + Sync {
    /// The tables its work writes (besides [`Table::Timers`]).
    fn tables(&self) -> &[Table];
    /// Do the work inside `tx`. [`TxError::Abort`] leaves the timer in place to fire
    /// again on a later run (a handler aborts only when it cannot do its work now).
    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError>;
}

/// What one [`Timers::fire_due`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fired {
    /// Timers whose work was done.
    pub fired: u64,
    /// Timers left in place: no handler knows their kind, or the handler aborted.
    pub left: u64,
    /// It stopped at its limit: more may be due.
    pub more: bool,
}

/// The registered kinds of work, over the store.
#[derive(Clone, Default)]
pub struct Timers {
    handlers: HashMap<String, Arc<dyn Handler>>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Timers").field("kinds", &kinds).finish()
    }
}

impl Timers {
    /// Do `kind`'s work with `handler`.
    pub fn register(&mut self, kind: &str, handler: Arc<dyn Handler>) {
        self.handlers.insert(kind.to_owned(), handler);
    }

    /// Fire up to `limit` timers due at `now_ms`, earliest first, each in its own
    /// transaction; `more` says whether due timers may remain. Timers left in place are
    /// passed over (and counted) on every call. Each transaction gives way to the requests
    /// of `foreground` ([`Foreground::background`]). Not durable by itself: the caller
    /// flushes (a crash before the flush undoes the work and its removal together, and the
    /// timer fires again after the restart).
    pub fn fire_due(
        &self,
        store: &Store,
        now_ms: i64,
        limit: usize,
        foreground: &Foreground,
    ) -> Result<Fired, StoreError> {
        let mut done = Fired::default();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let batch: Vec<(Vec<u8>, Timer)> =
                store.scan_entries(Table::Timers, &[], after.as_deref(), BATCH)?;
            let full = batch.len() == BATCH;
            for (key, timer) in batch {
                if timer.due_ms > now_ms {
                    return Ok(done);
                }
                if done.fired >= limit as u64 {
                    done.more = true;
                    return Ok(done);
                }
                if foreground.background(|| self.fire_one(store, &key, &timer))? {
                    done.fired += 1;
                } else {
                    done.left += 1;
                    tracing::warn!(kind = %timer.kind, tenant = %timer.tenant,
                        subject = %timer.subject, "a due timer was left in place");
                }
                after = Some(key);
            }
            if !full {
                return Ok(done);
            }
        }
    }

    /// True when the work was done (by this call or, concurrently, by another).
    fn fire_one(&self, store: &Store, key: &[u8], timer: &Timer) -> Result<bool, StoreError> {
        let Some(handler) = self.handlers.get(&timer.kind) else {
            return Ok(false);
        };
        let mut tables = handler.tables().to_vec();
        tables.push(Table::Timers);
        let outcome = store.transact(&tables, |tx| {
            // Gone: another run fired it first.
            if tx.get(Table::Timers, key)?.is_none() {
                return Ok(());
            }
            handler.fire(tx, timer)?;
            tx.remove(Table::Timers, key)
        });
        match outcome {
            Ok(()) => Ok(true),
            Err(TxError::Abort) => Ok(false),
            Err(TxError::Store(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Counts each subject's firing in the `Tenants` table and records the order.
    #[derive(Default)]
    struct Count {
        order: Mutex<Vec<String>>,
        abort: Option<&'static str>,
    }

    impl Handler for Count {
        fn tables(&self) -> &[Table] {
            &[Table::Tenants]
        }

        fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
            if self.abort == Some(timer.subject.as_str()) {
                return Err(TxError::Abort);
            }
            let key = timer.subject.as_bytes();
            let n: u32 = tx.get_json(Table::Tenants, key)?.unwrap_or(0);
            tx.put_json(Table::Tenants, key, &(n + 1))?;
            self.order.lock().unwrap().push(timer.subject.clone());
            Ok(())
        }
    }

    /// The earliest stored timer's due time.
    fn next_due(store: &Store) -> Option<i64> {
        let first: Vec<(Vec<u8>, Timer)> = store.scan_entries(Table::Timers, &[], None, 1).unwrap();
        first.first().map(|(_, t)| t.due_ms)
    }

    impl Timers {
        /// With no request running.
        fn fire_due_now(
            &self,
            store: &Store,
            now_ms: i64,
            limit: usize,
        ) -> Result<Fired, StoreError> {
            self.fire_due(store, now_ms, limit, &Foreground::default())
        }
    }

    fn timers(handler: Arc<Count>) -> Timers {
        let mut timers = Timers::default();
        timers.register("count", handler);
        timers
    }

    fn add(store: &Store, timer: &Timer) {
        store
            .transact(&[Table::Timers], |tx| schedule(tx, timer))
            .unwrap();
    }

    fn fired(store: &Store, subject: &str) -> u32 {
        store
            .get(Table::Tenants, subject.as_bytes())
            .unwrap()
            .unwrap_or(0)
    }

    #[test]
    fn due_timers_fire_once_each_in_due_order_and_later_ones_wait() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let count = Arc::new(Count::default());
        let timers = timers(count.clone());
        // Negative times sort before positive ones.
        for (due, subject) in [(30, "c"), (-5, "a"), (10, "b"), (100, "later")] {
            add(&store, &Timer::new(due, "count", "shop", subject));
        }
        assert_eq!(next_due(&store), Some(-5));
        assert_eq!(
            timers.fire_due_now(&store, 30, usize::MAX).unwrap().fired,
            3
        );
        assert_eq!(*count.order.lock().unwrap(), ["a", "b", "c"]);
        assert_eq!(
            timers.fire_due_now(&store, 30, usize::MAX).unwrap(),
            Fired::default()
        );
        assert_eq!(fired(&store, "later"), 0);
        assert_eq!(next_due(&store), Some(100));
        assert_eq!(
            timers.fire_due_now(&store, 100, usize::MAX).unwrap().fired,
            1
        );
        for subject in ["a", "b", "c", "later"] {
            assert_eq!(fired(&store, subject), 1, "{subject}");
        }
        assert_eq!(next_due(&store), None);
    }

    #[test]
    fn a_stored_timer_fires_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            add(&store, &Timer::new(5, "count", "shop", "a"));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(store.flush()).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let timers = timers(Arc::default());
        assert_eq!(timers.fire_due_now(&store, 5, usize::MAX).unwrap().fired, 1);
        assert_eq!(fired(&store, "a"), 1);
    }

    #[test]
    fn a_cancelled_timer_never_fires() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let timer = Timer::new(5, "count", "shop", "a");
        add(&store, &timer);
        store
            .transact(&[Table::Timers], |tx| cancel(tx, &timer))
            .unwrap();
        assert_eq!(
            timers(Arc::default())
                .fire_due_now(&store, 5, usize::MAX)
                .unwrap()
                .fired,
            0
        );
        assert_eq!(fired(&store, "a"), 0);
    }

    #[test]
    fn an_unknown_kind_or_an_aborting_handler_is_left_in_place_and_blocks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let count = Arc::new(Count {
            abort: Some("stuck"),
            ..Count::default()
        });
        let timers = timers(count);
        add(&store, &Timer::new(1, "unknown", "shop", "x"));
        add(&store, &Timer::new(2, "count", "shop", "stuck"));
        add(&store, &Timer::new(3, "count", "shop", "ok"));
        let done = timers.fire_due_now(&store, 10, usize::MAX).unwrap();
        assert_eq!(
            done,
            Fired {
                fired: 1,
                left: 2,
                more: false
            }
        );
        assert_eq!((fired(&store, "ok"), fired(&store, "stuck")), (1, 0));
        // Both are still there for a later run (or a later version that knows the kind).
        assert_eq!(next_due(&store), Some(1));
    }

    #[test]
    fn more_due_timers_than_a_batch_all_fire() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let n = BATCH * 2 + 7;
        store
            .transact(&[Table::Timers], |tx| {
                for i in 0..n {
                    schedule(tx, &Timer::new(7, "count", "shop", &format!("o{i:04}")))?;
                }
                Ok(())
            })
            .unwrap();
        let timers = timers(Arc::default());
        let first = timers.fire_due_now(&store, 7, BATCH + 1).unwrap();
        assert_eq!((first.fired, first.more), (BATCH as u64 + 1, true));
        let rest = timers.fire_due_now(&store, 7, usize::MAX).unwrap();
        assert_eq!((rest.fired, rest.more), ((n - BATCH - 1) as u64, false));
        assert_eq!(next_due(&store), None);
    }

    #[test]
    fn more_timers_left_in_place_than_a_batch_neither_hide_nor_repeat_due_work() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .transact(&[Table::Timers], |tx| {
                for i in 0..BATCH + 44 {
                    schedule(tx, &Timer::new(1, "unknown", "shop", &format!("x{i:04}")))?;
                }
                schedule(tx, &Timer::new(2, "count", "shop", "late"))
            })
            .unwrap();
        let timers = timers(Arc::default());
        let done = timers.fire_due_now(&store, 2, BATCH).unwrap();
        assert_eq!(
            done,
            Fired {
                fired: 1,
                left: BATCH as u64 + 44,
                more: false
            }
        );
        assert_eq!(fired(&store, "late"), 1);
    }
}
