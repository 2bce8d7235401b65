//! The embedded default backend: one sled database, one tree per [`Table`].

use super::{Backend, Entries, StoreError, Table, Tx, TxBody, TxError};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::cell::RefCell;
use std::path::Path;

/// sled's page cache.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug)]
pub struct SledBackend {
    db: sled::Db,
    /// Indexed by the table's position in [`Table::ALL`].
    trees: Vec<sled::Tree>,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledBackend {
    pub fn open(dir: &Path) -> Result<SledBackend, StoreError> {
        let db = open_db(dir).map_err(backend)?;
        let trees = Table::ALL
            .iter()
            .map(|t| db.open_tree(t.name()).map_err(backend))
            .collect::<Result<_, _>>()?;
        Ok(SledBackend { db, trees })
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
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// How long [`open_db`] waits for a lock released by this process's closing handles.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The trees of one transaction, by table.
struct SledTx<'a> {
    tables: &'a [Table],
    trees: &'a [TransactionalTree],
    /// A sled error seen inside the body, returned as a storage error (sled's own
    /// conflict handling needs it as its error type).
    failed: Option<ConflictableTransactionError<()>>,
}

impl SledTx<'_> {
    fn tree(&self, table: Table) -> Result<&TransactionalTree, TxError> {
        self.tables
            .iter()
            .position(|t| *t == table)
            .map(|i| &self.trees[i])
            .ok_or_else(|| {
                TxError::Store(StoreError::Backend(format!(
                    "table {} is not part of this transaction",
                    table.name()
                )))
            })
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
        self.check(result).map(|_| ())
    }

    fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), TxError> {
        let result = self.tree(table)?.remove(key);
        self.check(result).map(|_| ())
    }
}

impl Backend for SledBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree(table)
            .get(key)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let tree = self.tree(table);
        let iter = match after {
            Some(after) if after >= prefix => {
                let mut from = after.to_vec();
                // The smallest key after `after`.
                from.push(0);
                tree.range(from..)
            }
            _ => tree.range(prefix.to_vec()..),
        };
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
        let trees: Vec<&sled::Tree> = tables.iter().map(|t| self.tree(*t)).collect();
        let body = RefCell::new(body);
        let outcome: Result<(), TransactionError<TxErrorBox>> =
            trees.as_slice().transaction(|view| {
                let mut tx = SledTx {
                    tables,
                    trees: view,
                    failed: None,
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
                result.map_err(|e| ConflictableTransactionError::Abort(TxErrorBox(e)))
            });
        match outcome {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(TxErrorBox(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(TxError::Store(backend(e))),
        }
    }

    /// Not sled's `flush_async`: in sled 0.34.7 concurrent `flush_async` calls can
    /// deadlock (spacejam/sled#1308, fixed on sled's main branch, never released); the
    /// commit benchmark hit it. Concurrent blocking flushes are safe.
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(backend)
    }
}

/// Carries a [`TxError`] through sled's transaction (which wants its error by value).
struct TxErrorBox(TxError);
