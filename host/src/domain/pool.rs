//! The evaluation pool: where plugin code runs, off the async workers.
//!
//! A quote runs wasm for up to steps × the per-evaluation deadline. Run on tokio's workers,
//! one tenant's slow-but-legal plugin would stall every request, `/healthz` included. So
//! every wasm call (quotes, commits, configuration checks) runs here instead: a fixed set of
//! threads, sized to the cores, fed from a bounded queue that is fair between tenants.
//!
//! - Each tenant has its own queue; workers take from the tenants in turn (round robin),
//!   so a tenant with a thousand jobs waiting delays another tenant's job by at most one
//!   job per busy tenant, not by a thousand.
//! - A tenant may have at most `per_tenant` jobs queued or running, and the pool at most
//!   `queue` queued: past either, the job is refused at once with [`Busy`] (the API answers
//!   429 with `Retry-After`), while other tenants and the async workers keep going.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};

/// Jobs waiting in the whole pool, at most.
pub const DEFAULT_POOL_QUEUE: usize = 1024;
/// Jobs one tenant may have queued or running, at most.
pub const DEFAULT_POOL_PER_TENANT: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub queue: usize,
    pub per_tenant: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            threads: 0,
            queue: DEFAULT_POOL_QUEUE,
            per_tenant: DEFAULT_POOL_PER_TENANT,
        }
    }
}

/// The tenant's share of the pool (or the pool) is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queues {
    /// Waiting jobs per tenant.
    waiting: HashMap<String, VecDeque<Job>>,
    /// Tenants with waiting jobs, in the order they will be served.
    turn: VecDeque<String>,
    /// Jobs queued or running, per tenant.
    load: HashMap<String, usize>,
    queued: usize,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One of `tenant`'s jobs is done.
    fn release(&self, tenant: &str) {
        let mut q = self.lock();
        if let Some(load) = q.load.get_mut(tenant) {
            *load -= 1;
            if *load == 0 {
                q.load.remove(tenant);
            }
        }
    }
}

/// The pool. Dropping it lets its threads finish the queued jobs and exit.
pub struct Pool {
    shared: Arc<Shared>,
    config: PoolConfig,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.config)
            .finish()
    }
}

impl Pool {
    pub fn new(mut config: PoolConfig) -> std::io::Result<Pool> {
        if config.threads == 0 {
            config.threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        }
        config.per_tenant = config.per_tenant.max(1);
        config.queue = config.queue.max(1);
        let shared = Arc::new(Shared {
            queues: Mutex::default(),
            ready: Condvar::new(),
        });
        for i in 0..config.threads {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("plaza-eval-{i}"))
                .spawn(move || work(&shared))?;
        }
        Ok(Pool { shared, config })
    }

    /// Run `job` for `tenant` on a pool thread; its result, or [`Busy`] at once when the
    /// tenant's share or the queue is full. A job that panics is reported as `Ok(None)`.
    pub async fn run<R: Send + 'static>(
        &self,
        tenant: &str,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<Option<R>, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (shared, owner) = (self.shared.clone(), tenant.to_owned());
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            // The share is free before the caller hears back, so its next job is admitted.
            shared.release(&owner);
            let _ = tx.send(result.ok());
        });
        {
            let mut q = self.shared.lock();
            let load = q.load.get(tenant).copied().unwrap_or(0);
            if load >= self.config.per_tenant || q.queued >= self.config.queue {
                return Err(Busy);
            }
            q.load.insert(tenant.to_owned(), load + 1);
            q.queued += 1;
            let waiting = q.waiting.entry(tenant.to_owned()).or_default();
            waiting.push_back(job);
            if waiting.len() == 1 {
                q.turn.push_back(tenant.to_owned());
            }
        }
        self.shared.ready.notify_one();
        Ok(rx.await.ok().flatten())
    }

    /// Jobs queued or running for `tenant`.
    pub fn load(&self, tenant: &str) -> usize {
        self.shared.lock().load.get(tenant).copied().unwrap_or(0)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(shared: &Shared) {
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if let Some(tenant) = q.turn.pop_front() {
                    let waiting = q.waiting.get_mut(&tenant).expect("a tenant in turn waits");
                    let job = waiting.pop_front().expect("a tenant in turn has a job");
                    if waiting.is_empty() {
                        q.waiting.remove(&tenant);
                    } else {
                        q.turn.push_back(tenant.clone());
                    }
                    q.queued -= 1;
                    break job;
                }
                if q.closed {
                    return;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_tenant_past_its_share_is_refused_while_others_still_run() {
        let pool = Arc::new(
            Pool::new(PoolConfig {
                threads: 1,
                queue: 100,
                per_tenant: 2,
            })
            .unwrap(),
        );
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let rt = runtime();
        rt.block_on(async {
            // The greedy tenant fills its share: one job running (blocked), one queued.
            let mut held = Vec::new();
            for _ in 0..2 {
                let pool = pool.clone();
                let rx = release_rx.clone();
                held.push(tokio::spawn(async move {
                    pool.run("greedy", move || rx.lock().unwrap().recv().ok())
                        .await
                }));
            }
            while pool.load("greedy") < 2 {
                tokio::task::yield_now().await;
            }
            assert_eq!(pool.run("greedy", || 1).await, Err(Busy));
            // Another tenant is still admitted, and runs once the greedy jobs let go. (It is
            // queued before anything is released: released first, the one worker could take
            // the second greedy job before the polite one, and that job waits for a release
            // that only follows the polite answer.)
            let polite = {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run("polite", || 7).await })
            };
            while pool.load("polite") < 1 {
                tokio::task::yield_now().await;
            }
            release_tx.send(()).unwrap();
            release_tx.send(()).unwrap();
            assert_eq!(polite.await.unwrap(), Ok(Some(7)));
            for h in held {
                assert_eq!(h.await.unwrap(), Ok(Some(Some(()))));
            }
            assert_eq!(pool.load("greedy"), 0);
        });
    }

    #[test]
    fn tenants_are_served_in_turn_not_in_arrival_order() {
        let pool = Pool::new(PoolConfig {
            threads: 1,
            queue: 100,
            per_tenant: 100,
        })
        .unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let rt = runtime();
        rt.block_on(async {
            type Waiting<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;
            let pool = &pool;
            let push = |tenant: &'static str, n: usize| -> Waiting<'_> {
                let order = order.clone();
                Box::pin(async move {
                    pool.run(tenant, move || order.lock().unwrap().push((tenant, n)))
                        .await
                        .unwrap();
                })
            };
            // The first job holds the one worker until everything below is queued.
            let mut waiting: Vec<Waiting<'_>> = vec![Box::pin(async move {
                pool.run("gate", move || gate_rx.recv().unwrap())
                    .await
                    .unwrap();
            })];
            for n in 0..3 {
                waiting.push(push("a", n));
            }
            waiting.push(push("b", 0));
            for f in &mut waiting {
                let waker = std::task::Waker::noop();
                let _ = f.as_mut().poll(&mut std::task::Context::from_waker(waker));
            }
            gate_tx.send(()).unwrap();
            for f in waiting {
                f.await;
            }
        });
        let order = order.lock().unwrap().clone();
        assert_eq!(order, [("a", 0), ("b", 0), ("a", 1), ("a", 2)]);
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_worker_lives_on() {
        let pool = Pool::new(PoolConfig {
            threads: 1,
            ..PoolConfig::default()
        })
        .unwrap();
        let rt = runtime();
        rt.block_on(async {
            assert_eq!(pool.run("t", || -> u8 { panic!("boom") }).await, Ok(None));
            assert_eq!(pool.run("t", || 2).await, Ok(Some(2)));
        });
    }
}
