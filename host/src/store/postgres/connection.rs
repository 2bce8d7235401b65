//! One connection to PostgreSQL on a thread of its own, and the requests it answers.

use super::super::{Entries, StoreError};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Statement};
use std::sync::mpsc::{Receiver, Sender, channel};

/// A write of a transaction: the value, or `None` to remove the key.
pub(crate) type Write = (&'static str, Vec<u8>, Option<Vec<u8>>);

pub(super) enum Request {
    Get(&'static str, Vec<u8>),
    /// Keys from `from` (inclusive), below `below` (when bounded), in order.
    Scan {
        table: &'static str,
        from: Vec<u8>,
        below: Option<Vec<u8>>,
        limit: i64,
    },
    Begin,
    Commit(Vec<Write>),
    Rollback,
}

pub(super) enum Reply {
    Value(Option<Vec<u8>>),
    Entries(Entries),
    Done,
}

pub(super) type Answer = Result<Reply, postgres::Error>;

/// One connection's thread, as its callers see it.
pub(super) struct Connection {
    requests: Sender<Request>,
    replies: Receiver<Answer>,
}

impl Connection {
    /// A connection on a thread of its own named `name`; it connects on its first request.
    pub(super) fn start(name: &str, url: &str) -> std::io::Result<Connection> {
        let (requests, inbox) = channel();
        let (outbox, replies) = channel();
        let url = url.to_owned();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || serve(&url, inbox, &outbox))?;
        Ok(Connection { requests, replies })
    }

    pub(super) fn ask(&self, request: Request) -> Result<Reply, Failure> {
        self.requests.send(request).map_err(|_| Failure::Gone)?;
        match self.replies.recv() {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(Failure::Database(e)),
            Err(_) => Err(Failure::Gone),
        }
    }
}

/// Why a request failed.
pub(super) enum Failure {
    Database(postgres::Error),
    /// The connection's thread ended (it cannot: it outlives its channels).
    Gone,
    /// A reply that is not what was asked for, or a stored value of the wrong shape.
    Corrupt(String),
}

impl Failure {
    /// A conflict with another transaction: run the body again.
    pub(super) fn retry(&self) -> bool {
        matches!(self, Failure::Database(e) if e.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        }))
    }
}

impl From<&Failure> for StoreError {
    /// An error without a SQL state is the connection's (refused, broken, closed), and so
    /// are the states of a server going away or not there yet (class 08, connection
    /// exceptions; class 57, operator intervention: shutting down, starting up; 53300,
    /// too many connections): the database is unavailable until it is back, and the next
    /// request connects again.
    fn from(f: &Failure) -> StoreError {
        let away = |e: &postgres::Error| {
            e.code().is_none_or(|c| {
                let code = c.code();
                code.starts_with("08") || code.starts_with("57") || code == "53300"
            })
        };
        match f {
            Failure::Database(e) if away(e) => StoreError::Unavailable(format!("postgres: {e}")),
            Failure::Database(e) => StoreError::Backend(format!("postgres: {e}")),
            Failure::Gone => StoreError::Backend("postgres: a connection thread ended".into()),
            Failure::Corrupt(what) => StoreError::Backend(format!("postgres: {what}")),
        }
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> StoreError {
        StoreError::from(&f)
    }
}

/// The statements a connection prepares once.
struct Prepared {
    get: Statement,
    scan: Statement,
    scan_bounded: Statement,
    put: Statement,
    remove: Statement,
}

impl Prepared {
    fn on(client: &mut Client) -> Result<Prepared, postgres::Error> {
        Ok(Prepared {
            get: client.prepare("SELECT v FROM plaza_records WHERE tbl = $1 AND k = $2")?,
            scan: client.prepare(
                "SELECT k, v FROM plaza_records WHERE tbl = $1 AND k >= $2 ORDER BY k LIMIT $3",
            )?,
            scan_bounded: client.prepare(
                "SELECT k, v FROM plaza_records WHERE tbl = $1 AND k >= $2 AND k < $3 \
                 ORDER BY k LIMIT $4",
            )?,
            put: client.prepare(
                "INSERT INTO plaza_records (tbl, k, v) VALUES ($1, $2, $3) \
                 ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v",
            )?,
            remove: client.prepare("DELETE FROM plaza_records WHERE tbl = $1 AND k = $2")?,
        })
    }
}

/// A connection's thread: answers requests in order until its callers are gone, opening
/// the connection again when it broke.
fn serve(url: &str, requests: Receiver<Request>, replies: &Sender<Answer>) {
    let mut open: Option<(Client, Prepared)> = None;
    for request in requests {
        if open.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            open = match connect(url) {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = replies.send(Err(e));
                    continue;
                }
            };
        }
        let (client, s) = open.as_mut().expect("connected");
        let answer = match request {
            Request::Get(table, key) => client
                .query_opt(&s.get, &[&table, &key])
                .map(|row| Reply::Value(row.map(|r| r.get(0)))),
            Request::Scan {
                table,
                from,
                below,
                limit,
            } => {
                let rows = match &below {
                    Some(below) => client.query(&s.scan_bounded, &[&table, &from, below, &limit]),
                    None => client.query(&s.scan, &[&table, &from, &limit]),
                };
                rows.map(|rows| Reply::Entries(rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
            }
            Request::Begin => client
                .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                .map(|()| Reply::Done),
            Request::Commit(writes) => commit(client, s, &writes),
            Request::Rollback => client.batch_execute("ROLLBACK").map(|()| Reply::Done),
        };
        if replies.send(answer).is_err() {
            return;
        }
    }
}

fn commit(client: &mut Client, s: &Prepared, writes: &[Write]) -> Answer {
    let written = writes.iter().try_for_each(|(table, key, value)| {
        match value {
            Some(v) => client.execute(&s.put, &[table, key, v]),
            None => client.execute(&s.remove, &[table, key]),
        }
        .map(|_| ())
    });
    match written.and_then(|()| client.batch_execute("COMMIT")) {
        Ok(()) => Ok(Reply::Done),
        Err(e) => {
            // Failed before the COMMIT went through: end the transaction here.
            let _ = client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

fn connect(url: &str) -> Result<(Client, Prepared), postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let prepared = Prepared::on(&mut client)?;
    Ok((client, prepared))
}
