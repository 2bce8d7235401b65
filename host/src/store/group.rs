//! Group commit: concurrent callers of [`Store::flush`](super::Store::flush) share fsyncs.
//!
//! Each caller takes a ticket after its own writes. One caller at a time (the leader) runs
//! a flush, which covers every ticket taken before it started; the others wait for a
//! flush that covers theirs, then return. So every answer still follows a flush of its
//! writes, while under load one fsync serves many answers instead of one each.

use super::{Backend, StoreError};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out so far (the last one's number).
    taken: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A leader's flush is running.
    flushing: bool,
}

/// The flushes of one store.
#[derive(Debug, Default)]
pub struct GroupFlush {
    state: Mutex<State>,
    done: Notify,
}

/// Held by the leader while its flush runs.
struct Lead<'a>(&'a GroupFlush);

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.0.lock().flushing = false;
        self.0.done.notify_waiters();
    }
}

impl GroupFlush {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Return once a flush that started after this call has finished.
    pub async fn flush(&self, backend: &Arc<dyn Backend>) -> Result<(), StoreError> {
        let ticket = {
            let mut state = self.lock();
            state.taken += 1;
            state.taken
        };
        loop {
            let covers = {
                let mut state = self.lock();
                if state.durable >= ticket {
                    return Ok(());
                }
                if state.flushing {
                    None
                } else {
                    state.flushing = true;
                    Some(state.taken)
                }
            };
            let Some(covers) = covers else {
                // Register before looking again, so a flush ending in between still wakes us.
                let done = self.done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                let still_running = {
                    let state = self.lock();
                    state.flushing && state.durable < ticket
                };
                if still_running {
                    done.await;
                }
                continue;
            };
            // Whatever becomes of this future (its request may be dropped mid-flush), the
            // lead passes on: the guard clears `flushing` and wakes the waiters.
            let lead = Lead(self);
            let flushing = backend.clone();
            let result = tokio::task::spawn_blocking(move || flushing.flush())
                .await
                .map_err(|e| StoreError::Backend(format!("flush task: {e}")))
                .and_then(|r| r);
            if result.is_ok() {
                let mut state = self.lock();
                state.durable = state.durable.max(covers);
            }
            drop(lead);
            // A failed flush fails its leader; the waiters try again, each as a leader.
            result?;
        }
    }

    /// The last ticket known durable.
    #[cfg(test)]
    fn durable(&self) -> u64 {
        self.lock().durable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Entries, Table, TxBody, TxError};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A backend whose flush is slow and counted; it stores nothing.
    #[derive(Debug, Default)]
    struct SlowFlush {
        flushes: AtomicU64,
    }

    impl Backend for SlowFlush {
        fn get(&self, _: Table, _: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(None)
        }
        fn scan(
            &self,
            _: Table,
            _: &[u8],
            _: Option<&[u8]>,
            _: usize,
        ) -> Result<Entries, StoreError> {
            Ok(Vec::new())
        }
        fn transact(&self, _: &[Table], _: &mut TxBody<'_>) -> Result<(), TxError> {
            Ok(())
        }
        fn flush(&self) -> Result<(), StoreError> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_flushes_share_fsyncs_and_each_waits_for_one_that_covers_it() {
        let slow = Arc::new(SlowFlush::default());
        let backend: Arc<dyn Backend> = slow.clone();
        let group = Arc::new(GroupFlush::default());
        let callers: Vec<_> = (0..64)
            .map(|_| {
                let (group, backend) = (group.clone(), backend.clone());
                tokio::spawn(async move { group.flush(&backend).await })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap().unwrap();
        }
        let flushes = slow.flushes.load(Ordering::SeqCst);
        assert!(flushes >= 1, "every caller waited for a flush");
        assert!(flushes < 32, "64 callers shared {flushes} flushes");
        assert_eq!(group.durable(), 64, "every ticket is durable");

        // A lone caller after all that still gets a flush of its own.
        group.flush(&backend).await.unwrap();
        assert_eq!(slow.flushes.load(Ordering::SeqCst), flushes + 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_dropped_mid_flush_passes_the_lead_on() {
        let slow = Arc::new(SlowFlush::default());
        let backend: Arc<dyn Backend> = slow.clone();
        let group = Arc::new(GroupFlush::default());
        let leader = {
            let (group, backend) = (group.clone(), backend.clone());
            tokio::spawn(async move { group.flush(&backend).await })
        };
        while !group.lock().flushing {
            tokio::task::yield_now().await;
        }
        // The request that led the flush goes away (its client disconnected).
        leader.abort();
        assert!(leader.await.unwrap_err().is_cancelled());
        // Bounded only so that a lost lead fails the test instead of hanging it.
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), group.flush(&backend));
        next.await.expect("a later flush still runs").unwrap();
        assert_eq!(group.durable(), 2);
    }
}
