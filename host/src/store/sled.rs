//! The embedded default backend: one sled database, one tree per [`Table`].

use super::mirror::{self, Mirror, Write};
use super::sled_watch::{self, Progress};
use super::{Backend, Entries, StoreError, Table, Tx, TxBody, TxError};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// sled's page cache.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug)]
pub struct SledBackend {
    /// Shared with the watch (`sled_watch.rs`), which holds it only weakly.
    db: Arc<sled::Db>,
    /// Indexed by the table's position in [`Table::ALL`].
    trees: Vec<sled::Tree>,
    /// The quote path's point reads, off sled's transaction lock.
    mirror: Mirror,
    /// Plain reads (and scans) in flight: a transaction lets them through first.
    readers: AtomicUsize,
    /// Transactions and flushes in flight and finished, for the watch.
    progress: Arc<Progress>,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledBackend {
    pub fn open(dir: &Path) -> Result<SledBackend, StoreError> {
        let db = Arc::new(open_db(dir).map_err(backend)?);
        let trees = Table::ALL
            .iter()
            .map(|t| db.open_tree(t.name()).map_err(backend))
            .collect::<Result<_, _>>()?;
        let progress = Arc::new(Progress::default());
        sled_watch::watch(Arc::downgrade(&db), progress.clone())
            .map_err(|e| StoreError::Backend(format!("starting the store's watch: {e}")))?;
        Ok(SledBackend {
            db,
            trees,
            mirror: Mirror::new(mirror::CAPACITY),
            readers: AtomicUsize::new(0),
            progress,
        })
    }

    /// Count a plain read in flight for as long as the guard lives.
    fn reading(&self) -> Reading<'_> {
        self.readers.fetch_add(1, Ordering::AcqRel);
        Reading(&self.readers)
    }

    /// Before a transaction takes sled's lock: let the plain reads in flight finish, for
    /// at most [`READERS_FIRST`]. sled's lock lets a thread that commits transaction
    /// after transaction take it again before the readers it woke run, so without this a
    /// burst of transactions (expiring orders, a settlement run) held quotes back for
    /// many of them; with it, a read waits for at most the transaction in progress.
    fn let_readers_through(&self) {
        if self.readers.load(Ordering::Acquire) == 0 {
            return;
        }
        let since = Instant::now();
        while self.readers.load(Ordering::Acquire) > 0 && since.elapsed() < READERS_FIRST {
            std::thread::yield_now();
        }
    }

    fn tree(&self, table: Table) -> &sled::Tree {
        let index = Table::ALL
            .iter()
            .position(|t| *t == table)
            .expect("every table is in Table::ALL");
        &self.trees[index]
    }
}

/// Open the database, waiting a bounded time for its file lock. sled releases the lock
/// from its background threads a moment after the last handle in this process drops, so
/// reopening right after closing (a restart in place, a tool run after the server
/// stopped) can find it still held. Another live process holding it is still refused,
/// after [`LOCK_WAIT`].
fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// How long a transaction lets plain reads in flight go first.
const READERS_FIRST: Duration = Duration::from_millis(1);

/// A plain read in flight.
struct Reading<'a>(&'a AtomicUsize);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long [`open_db`] waits for a lock released by this process's closing handles.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The trees of one transaction, by table.
struct SledTx<'a> {
    tables: &'a [Table],
    trees: &'a [TransactionalTree],
    /// A sled error seen inside the body, returned as a storage error (sled's own
    /// conflict handling needs it as its error type).
    failed: Option<ConflictableTransactionError<()>>,
    /// Writes to mirrored tables, for the mirror once sled committed them.
    mirrored: Vec<Write>,
}

impl SledTx<'_> {
    fn tree(&self, table: Table) -> Result<&TransactionalTree, TxError> {
        self.tables
            .iter()
            .position(|t| *t == table)
            .map(|i| &self.trees[i])
            .ok_or_else(|| super::not_in_transaction(table))
    }

    fn check<T>(
        &mut self,
        result: Result<T, sled::transaction::UnabortableTransactionError>,
    ) -> Result<T, TxError> {
        result.map_err(|e| {
            let message = e.to_string();
            self.failed = Some(e.into());
            TxError::Store(StoreError::Backend(message))
        })
    }
}

impl Tx for SledTx<'_> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let result = self.tree(table)?.get(key);
        Ok(self.check(result)?.map(|v| v.to_vec()))
    }

    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        let result = self.tree(table)?.insert(key, value);
        self.check(result)?;
        if Mirror::mirrors(table) {
            self.mirrored
                .push((table, key.to_vec(), Some(value.to_vec())));
        }
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), TxError> {
        let result = self.tree(table)?.remove(key);
        self.check(result)?;
        if Mirror::mirrors(table) {
            self.mirrored.push((table, key.to_vec(), None));
        }
        Ok(())
    }
}

impl Backend for SledBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.mirror.get(table, key) {
            return Ok(value);
        }
        let _reading = self.reading();
        let value = self.tree(table).get(key).map_err(backend)?;
        self.mirror.fill(table, key, value.as_deref());
        Ok(value.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let _reading = self.reading();
        let tree = self.tree(table);
        let iter = tree.range(super::scan_start(prefix, after)..);
        let mut out = Vec::new();
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(backend)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn transact(&self, tables: &[Table], body: &mut TxBody<'_>) -> Result<(), TxError> {
        self.let_readers_through();
        let _op = self.progress.begin();
        let trees: Vec<&sled::Tree> = tables.iter().map(|t| self.tree(*t)).collect();
        let body = RefCell::new(body);
        // The last attempt's stamp and mirrored writes.
        let committing: RefCell<Option<(u64, Vec<Write>)>> = RefCell::new(None);
        let outcome: Result<(), TransactionError<TxErrorBox>> =
            trees.as_slice().transaction(|view| {
                let mut tx = SledTx {
                    tables,
                    trees: view,
                    failed: None,
                    mirrored: Vec::new(),
                };
                let result = (body.borrow_mut())(&mut tx);
                if let Some(failed) = tx.failed.take() {
                    // Conflicts are retried by sled; storage errors end the transaction.
                    return Err(match failed {
                        ConflictableTransactionError::Conflict => {
                            ConflictableTransactionError::Conflict
                        }
                        ConflictableTransactionError::Storage(e) => {
                            ConflictableTransactionError::Storage(e)
                        }
                        ConflictableTransactionError::Abort(()) => {
                            ConflictableTransactionError::Abort(TxErrorBox(TxError::Abort))
                        }
                    });
                }
                result.map_err(|e| ConflictableTransactionError::Abort(TxErrorBox(e)))?;
                // Still under sled's transaction lock: stamps follow commit order.
                *committing.borrow_mut() =
                    (!tx.mirrored.is_empty()).then(|| (self.mirror.stamp(), tx.mirrored));
                Ok(())
            });
        match outcome {
            Ok(()) => {
                if let Some((stamp, writes)) = committing.into_inner() {
                    self.mirror.apply(stamp, writes);
                }
                Ok(())
            }
            Err(TransactionError::Abort(TxErrorBox(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(TxError::Store(backend(e))),
        }
    }

    /// Not sled's `flush_async`: in sled 0.34.7 concurrent `flush_async` calls can
    /// deadlock (spacejam/sled#1308, fixed on sled's main branch, never released); the
    /// commit benchmark hit it. Concurrent blocking flushes are safe.
    fn flush(&self) -> Result<(), StoreError> {
        let _op = self.progress.begin();
        self.db.flush().map(|_| ()).map_err(backend)
    }
}

/// Carries a [`TxError`] through sled's transaction (which wants its error by value).
struct TxErrorBox(TxError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, TxExt};
    use std::sync::Arc;

    /// Read past the mirror.
    fn in_sled(b: &SledBackend, key: &[u8]) -> Option<Vec<u8>> {
        b.tree(Table::Counters)
            .get(key)
            .unwrap()
            .map(|v| v.to_vec())
    }

    #[test]
    fn mirrored_reads_follow_concurrent_commits_and_ignore_aborted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(SledBackend::open(dir.path()).unwrap());
        let store = Store::with_backend(backend.clone());
        assert_eq!(store.counter(b"c").unwrap(), 0, "absent, and now mirrored");
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..250 {
                        store
                            .transact(&[Table::Counters], |tx| {
                                let now = tx.counter(b"c")?;
                                tx.set_counter(b"c", now + 1)?;
                                if i % 10 == 0 {
                                    return Err(TxError::Abort);
                                }
                                Ok(())
                            })
                            .ok();
                    }
                });
            }
            s.spawn(|| {
                let mut last = 0;
                for _ in 0..2_000 {
                    let now = store.counter(b"c").unwrap();
                    assert!(now >= last, "a reader never goes back: {now} after {last}");
                    last = now;
                }
            });
        });
        assert_eq!(store.counter(b"c").unwrap(), 900);
        assert_eq!(in_sled(&backend, b"c"), Some(900i64.to_be_bytes().to_vec()));
        store.remove(Table::Counters, b"c").unwrap();
        assert_eq!(store.counter(b"c").unwrap(), 0);
        assert_eq!(in_sled(&backend, b"c"), None);
    }
}
