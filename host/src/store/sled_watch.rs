//! A watch over sled's progress that breaks a stall sled 0.34.7 can fall into by itself.
//!
//! sled's segment accountant, holding its lock, can wait for a file truncation that it
//! queued on sled's I/O pool (`bump_tip` in its `pagecache/segment.rs`) while every thread
//! of that pool waits for the same lock to write a log buffer (`sa_stabilize`). The pool
//! adds a thread only when work is sent to it while its queue is deep, and nothing is sent
//! once every writer waits, so the host stops: no transaction or flush ever returns. The
//! timers benchmark (10,000 expiries back to back, each batch flushed) met it in three of
//! four runs on 2026-12-07, with nothing else changed; sled's own tracker has the report
//! (spacejam/sled#1412, open) and a fix on a branch that was never released.
//!
//! The watch counts the store operations in flight and the ones finished. When some are
//! in flight and none has finished for [`STALL`], it sends work to sled's pool (a flush,
//! started and left to run) every [`NUDGE_EVERY`], at most [`MAX_NUDGES`] times a stall:
//! each send to a deep queue adds a thread, which takes the oldest queued work, until the
//! truncation runs and the lock is released. Outside such a stall it does nothing; in a
//! merely slow moment (a long fsync) the extra flushes are harmless.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long operations may be in flight with none finishing before the watch acts.
pub const STALL: Duration = Duration::from_secs(1);

/// How often the watch looks.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// How often it sends work to sled's pool during a stall.
const NUDGE_EVERY: Duration = Duration::from_millis(10);

/// The most sends in one stall (sled's pool stops growing at 128 threads).
pub const MAX_NUDGES: u32 = 100;

/// Store operations in flight, and how many have finished.
#[derive(Debug, Default)]
pub struct Progress {
    in_flight: AtomicUsize,
    finished: AtomicU64,
}

/// One operation in flight; it counts as finished when dropped.
pub struct Op<'a>(&'a Progress);

impl Progress {
    pub fn begin(&self) -> Op<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Op(self)
    }
}

impl Drop for Op<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the watch decides at one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Moving, or idle.
    Fine,
    /// Stalled, not yet for long enough.
    Waiting,
    /// Stalled for [`STALL`]: send work to the pool.
    Nudge,
    /// Stalled, and every send of this stall made.
    GaveUp,
}

/// The watch's memory between looks.
#[derive(Debug)]
struct Watch {
    finished: u64,
    since: Instant,
    nudges: u32,
}

impl Watch {
    fn new(now: Instant) -> Self {
        Watch {
            finished: 0,
            since: now,
            nudges: 0,
        }
    }

    fn look(&mut self, progress: &Progress, now: Instant) -> Look {
        let finished = progress.finished.load(Ordering::SeqCst);
        if progress.in_flight.load(Ordering::SeqCst) == 0 || finished != self.finished {
            *self = Watch {
                finished,
                since: now,
                nudges: 0,
            };
            return Look::Fine;
        }
        if now.saturating_duration_since(self.since) < STALL {
            return Look::Waiting;
        }
        if self.nudges >= MAX_NUDGES {
            return Look::GaveUp;
        }
        self.nudges += 1;
        Look::Nudge
    }
}

/// Watch `db` on a thread of its own until the last handle to it is dropped.
pub fn watch(db: Weak<sled::Db>, progress: Arc<Progress>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("plaza-sled-watch".into())
        .spawn(move || {
            let mut watch = Watch::new(Instant::now());
            loop {
                let Some(db) = db.upgrade() else { return };
                let pause = match watch.look(&progress, Instant::now()) {
                    Look::Fine | Look::GaveUp => CHECK_EVERY,
                    Look::Waiting => NUDGE_EVERY,
                    Look::Nudge => {
                        // Said once a stall: on its first send.
                        if watch.nudges == 1 {
                            tracing::warn!(
                                "the store made no progress for {STALL:?} with operations in \
                                 flight; sending work to sled's I/O pool to free it"
                            );
                        }
                        nudge(&db);
                        NUDGE_EVERY
                    }
                };
                drop(db);
                std::thread::sleep(pause);
            }
        })
        .map(|_| ())
}

/// Send one flush to sled's I/O pool and leave it to run (sled sends it when the future is
/// first polled; dropping the future does not cancel the work).
fn nudge(db: &sled::Db) {
    let flush = db.flush_async();
    let mut flush = std::pin::pin!(flush);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let _ = flush.as_mut().poll(&mut cx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_acts_only_when_operations_in_flight_stop_finishing() {
        let progress = Progress::default();
        let t0 = Instant::now();
        let mut watch = Watch::new(t0);
        assert_eq!(watch.look(&progress, t0 + STALL * 5), Look::Fine, "idle");
        let op = progress.begin();
        assert_eq!(watch.look(&progress, t0 + STALL * 5), Look::Waiting);
        assert_eq!(watch.look(&progress, t0 + STALL * 6), Look::Nudge);
        drop(op);
        assert_eq!(
            watch.look(&progress, t0 + STALL * 6),
            Look::Fine,
            "moving again"
        );
        let _op = progress.begin();
        assert_eq!(
            watch.look(&progress, t0 + STALL * 6 + STALL / 2),
            Look::Waiting
        );
        let later = t0 + STALL * 7;
        for _ in 0..MAX_NUDGES {
            assert_eq!(watch.look(&progress, later), Look::Nudge);
        }
        assert_eq!(watch.look(&progress, later), Look::GaveUp);
    }

    #[test]
    fn a_nudge_runs_a_flush_and_the_watch_ends_with_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(sled::open(dir.path()).unwrap());
        db.insert(b"k", b"v").unwrap();
        nudge(&db);
        let progress = Arc::new(Progress::default());
        watch(Arc::downgrade(&db), progress.clone()).unwrap();
        drop(db);
        // The watch held no handle across its sleep, so the database closes and the
        // directory can be opened again (sled holds a file lock while open).
        let reopened = (0..200).find_map(|_| {
            std::thread::sleep(CHECK_EVERY / 10);
            sled::open(dir.path()).ok()
        });
        let reopened = reopened.expect("the database closed");
        assert_eq!(reopened.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    }
}
