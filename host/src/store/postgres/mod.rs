//! The PostgreSQL backend (`plaza serve --store postgres://…`): every table's records in one
//! relation, so that a table Plaza adds needs no migration:
//!
//! ```sql
//! plaza_records (tbl TEXT, k BYTEA, v BYTEA NOT NULL, PRIMARY KEY (tbl, k))
//! ```
//!
//! - **Transactions** run at `SERIALIZABLE`: of two that read and write the same budget
//!   counter, one commits and PostgreSQL fails the other (serialization failure `40001`,
//!   or deadlock `40P01`); its body then runs again from the start, as on sled's
//!   conflicts, at most [`MAX_ATTEMPTS`] times. The guard is the database's, never a lock
//!   in this process, so it holds across hosts.
//! - A transaction's **writes** stay with the body until it ends and go in one request with
//!   the `COMMIT`: a body costs one round trip per read (its own writes are read back from
//!   memory) and one for the commit.
//! - **Durability**: a committed transaction is durable (`synchronous_commit`, on by
//!   default), so [`Backend::flush`] has nothing left to do.
//! - **Threads**: the `postgres` client blocks on a runtime of its own, which it may not do
//!   on one of tokio's threads; so each connection lives on a thread of its own, and a
//!   call checks one out and talks to it over channels. A connection that broke is opened
//!   again on its next request.
//! - **Schema**: versioned migrations (refinery, `host/migrations/`), applied at open
//!   under an advisory lock (hosts starting together take turns); a database a newer Plaza
//!   migrated is refused.
//! - **Memory**: tenants, keys and agencies' set-up are read from memory, kept in step
//!   across hosts by an invalidation feed the writing transaction appends to
//!   (`shared_mirror.rs`; [`Backend::follow`] applies the others').
//!
//! The SQL is kept to what PostgreSQL-wire distributed databases accept: `BYTEA` keys in a
//! composite primary key, `INSERT … ON CONFLICT … DO UPDATE`, range predicates on the key
//! (the README lists what would need care on CockroachDB or YugabyteDB).

mod connection;

pub(crate) use self::connection::Write;
use self::connection::{Connection, Failure, Reply, Request};
use super::shared_mirror::{self, SharedMirror};
use super::{Backend, Entries, StoreError, Table, Tx, TxBody, TxError};
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connections to the database, each on a thread of its own.
pub const CONNECTIONS: usize = 8;
/// Most runs of one transaction's body before the store gives up on conflicts (then the
/// request is answered 503, to be sent again).
pub const MAX_ATTEMPTS: u32 = 200;
/// The longest wait between two runs of a conflicted body (ms); the wait doubles from 1 ms,
/// jittered, so that racing transactions stop meeting.
const MAX_BACKOFF_MS: u64 = 32;

/// The database at a connection string, through `CONNECTIONS` (8) connections.
pub struct PgBackend {
    free: Mutex<Vec<Connection>>,
    returned: Condvar,
    /// Tenants and keys, read from memory (`shared_mirror.rs`).
    mirror: SharedMirror,
    /// Where, without the password.
    shown: String,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("at", &self.shown)
            .finish()
    }
}

/// `url` without its password.
fn redact(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => format!(
            "host {:?} port {:?} database {:?} user {:?}",
            c.get_hosts(),
            c.get_ports(),
            c.get_dbname(),
            c.get_user()
        ),
        Err(_) => "an unreadable connection string".into(),
    }
}

impl PgBackend {
    /// Connect, apply the migrations this Plaza knows, and refuse a database that a newer
    /// Plaza migrated. Connections open on their own threads (the caller may be one of
    /// tokio's), the pool's on first use.
    pub fn open(url: &str) -> Result<PgBackend, StoreError> {
        let shown = redact(url);
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Backend(format!("{what} PostgreSQL ({shown}): {e}"))
        };
        let feed_end = std::thread::scope(|s| {
            s.spawn(|| {
                let mut client =
                    Client::connect(url, NoTls).map_err(|e| fail("connecting to", &e))?;
                migrate(&mut client).map_err(|e| fail("migrating", &e))?;
                let end = client
                    .query_opt(
                        "SELECT v FROM plaza_records WHERE tbl = $1 AND k = $2",
                        &[&Table::Counters.name(), &shared_mirror::seq_key()],
                    )
                    .map_err(|e| fail("reading", &e))?;
                let end: Option<Vec<u8>> = end.map(|r| r.get(0));
                super::counter(&shared_mirror::seq_key(), end.as_deref())
            })
            .join()
            .unwrap_or_else(|_| Err(fail("migrating", &"the migration panicked")))
        })?;
        let mut free = Vec::with_capacity(CONNECTIONS);
        for i in 0..CONNECTIONS {
            let connection = Connection::start(&format!("plaza-pg-{i}"), url)
                .map_err(|e| fail("starting a connection thread for", &e))?;
            free.push(connection);
        }
        Ok(PgBackend {
            free: Mutex::new(free),
            returned: Condvar::new(),
            mirror: SharedMirror::new(feed_end),
            shown,
        })
    }

    fn checkout(&self) -> Checkout<'_> {
        let mut free = self.lock();
        loop {
            if let Some(connection) = free.pop() {
                return Checkout {
                    backend: self,
                    connection: Some(connection),
                };
            }
            free = self.returned.wait(free).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The advisory lock hosts starting at once take around the migrations ("plaza" in ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6c61_7a61;

/// Apply the embedded migrations; refuse a schema with migrations this Plaza lacks. One
/// host at a time: several starting together on a fresh database would otherwise race to
/// create the same tables; the others wait, then find nothing left to apply.
fn migrate(client: &mut Client) -> Result<(), String> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| e.to_string())?;
    let applied = embedded::migrations::runner()
        .set_abort_missing(true)
        .set_abort_divergent(true)
        .run(client)
        .map(|_| ())
        .map_err(|e| e.to_string());
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    applied?;
    unlocked.map(|_| ()).map_err(|e| e.to_string())
}

/// A connection checked out; back in the pool when dropped.
struct Checkout<'a> {
    backend: &'a PgBackend,
    connection: Option<Connection>,
}

impl std::ops::Deref for Checkout<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.connection.as_ref().expect("held until dropped")
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.connection.take() {
            self.backend.lock().push(c);
            self.backend.returned.notify_one();
        }
    }
}

/// The smallest key above every key that starts with `prefix`, if there is one.
fn past(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A transaction begun on a connection: rolled back when dropped before it ended (a body
/// that gave up, failed or panicked), so the connection's next user starts clean.
struct Open<'a> {
    connection: &'a Connection,
    ended: bool,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.connection.ask(Request::Rollback);
        }
    }
}

/// Wait before run `attempt` (from 1) of a conflicted body: up to 2^attempt ms, at most
/// [`MAX_BACKOFF_MS`], a random part of it.
fn backoff(attempt: u32) {
    let ceiling = (1u64 << attempt.min(16)).min(MAX_BACKOFF_MS);
    let mut jitter = [0u8; 2];
    let _ = getrandom::fill(&mut jitter);
    let micros = ceiling * 1000 * u64::from(u16::from_le_bytes(jitter)) / u64::from(u16::MAX);
    std::thread::sleep(std::time::Duration::from_micros(micros.max(100)));
}

/// One run of a transaction's body.
struct PgTx<'a> {
    connection: &'a Connection,
    tables: &'a [Table],
    writes: BTreeMap<(&'static str, Vec<u8>), Option<Vec<u8>>>,
    /// A database error seen inside the body: it decides whether the body runs again.
    failed: Option<Failure>,
}

impl PgTx<'_> {
    fn table(&self, table: Table) -> Result<&'static str, TxError> {
        if self.tables.contains(&table) {
            Ok(table.name())
        } else {
            Err(super::not_in_transaction(table))
        }
    }
}

impl Tx for PgTx<'_> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let name = self.table(table)?;
        if let Some(written) = self.writes.get(&(name, key.to_vec())) {
            return Ok(written.clone());
        }
        match self.connection.ask(Request::Get(name, key.to_vec())) {
            Ok(Reply::Value(v)) => Ok(v),
            Ok(_) => Err(TxError::Store(StoreError::Backend(
                "postgres: a mismatched reply".into(),
            ))),
            Err(f) => {
                let error = StoreError::from(&f);
                self.failed = Some(f);
                Err(TxError::Store(error))
            }
        }
    }

    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        let name = self.table(table)?;
        self.writes
            .insert((name, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), TxError> {
        let name = self.table(table)?;
        self.writes.insert((name, key.to_vec()), None);
        Ok(())
    }
}

impl Backend for PgBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(kept) = self.mirror.get(table, key) {
            return Ok(kept);
        }
        let generation = self.mirror.generation(table);
        match self
            .checkout()
            .ask(Request::Get(table.name(), key.to_vec()))?
        {
            Reply::Value(v) => {
                if let Some(g) = generation {
                    self.mirror.fill(table, key, v.as_deref(), g);
                }
                Ok(v)
            }
            _ => Err(StoreError::Backend("postgres: a mismatched reply".into())),
        }
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        if let Some(kept) = self.mirror.scan(table, prefix, after, limit) {
            return Ok(kept);
        }
        let generation = self.mirror.generation(table);
        let request = Request::Scan {
            table: table.name(),
            from: super::scan_start(prefix, after),
            below: past(prefix),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
        };
        match self.checkout().ask(request)? {
            Reply::Entries(entries) => {
                if let Some(g) = generation {
                    (self.mirror).fill_scan(table, (prefix, after, limit), &entries, g);
                }
                Ok(entries)
            }
            _ => Err(StoreError::Backend("postgres: a mismatched reply".into())),
        }
    }

    fn transact(&self, tables: &[Table], body: &mut TxBody<'_>) -> Result<(), TxError> {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            let connection = self.checkout();
            connection.ask(Request::Begin).map_err(StoreError::from)?;
            let mut open = Open {
                connection: &connection,
                ended: false,
            };
            let mut tx = PgTx {
                connection: &connection,
                tables,
                writes: BTreeMap::new(),
                failed: None,
            };
            let result = body(&mut tx);
            let (writes, failed) = (tx.writes, tx.failed);
            if let Some(f) = failed {
                if f.retry() {
                    continue;
                }
                return Err(TxError::Store(f.into()));
            }
            result?;
            let mut writes: Vec<Write> = writes.into_iter().map(|((t, k), v)| (t, k, v)).collect();
            let touched: Vec<(Table, Vec<u8>)> = (writes.iter())
                .filter_map(|(t, k, _)| Some((SharedMirror::table(t)?, k.clone())))
                .collect();
            if !touched.is_empty() {
                match feed_end(&connection) {
                    Ok(end) => writes.extend(shared_mirror::feed_writes(end + 1, &touched)),
                    Err(f) if f.retry() => continue,
                    Err(f) => return Err(TxError::Store(f.into())),
                }
            }
            // Committed, or rolled back by the connection's thread when the commit failed.
            let committed = connection.ask(Request::Commit(writes));
            open.ended = true;
            match committed {
                Ok(_) => {
                    (self.mirror).invalidate(touched.iter().map(|(t, k)| (*t, k.as_slice())));
                    return Ok(());
                }
                Err(f) if f.retry() => continue,
                Err(f) => return Err(TxError::Store(f.into())),
            }
        }
        Err(TxError::Store(StoreError::Unavailable(format!(
            "postgres: the transaction conflicted {MAX_ATTEMPTS} times"
        ))))
    }

    /// Every acknowledged transaction committed, and a commit is durable.
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Forget the tenants and keys other hosts wrote since the last call.
    fn follow(&self) -> Result<(), StoreError> {
        loop {
            let after = self.mirror.followed().to_be_bytes();
            let request = Request::Scan {
                table: shared_mirror::FEED,
                from: super::scan_start(b"", Some(&after)),
                below: None,
                limit: FOLLOW_BATCH,
            };
            let Reply::Entries(entries) = self.checkout().ask(request)? else {
                return Err(StoreError::Backend("postgres: a mismatched reply".into()));
            };
            (self.mirror.apply(&entries)).map_err(StoreError::Backend)?;
            if entries.len() < FOLLOW_BATCH as usize {
                return Ok(());
            }
        }
    }
}

/// Invalidation feed entries read per request.
const FOLLOW_BATCH: i64 = 256;

/// The invalidation feed's last number, read inside the transaction on `connection`
/// (so that two transactions numbering an entry conflict, and one runs again).
fn feed_end(connection: &Connection) -> Result<i64, Failure> {
    let key = shared_mirror::seq_key();
    match connection.ask(Request::Get(Table::Counters.name(), key.clone()))? {
        Reply::Value(v) => {
            super::counter(&key, v.as_deref()).map_err(|e| Failure::Corrupt(e.to_string()))
        }
        _ => Err(Failure::Corrupt("a mismatched reply".into())),
    }
}
