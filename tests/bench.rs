//! What the benchmarks share: copying a prepared store, reading the process's memory, and
//! timing quotes while something else runs on the same host.

use plaza::domain::{Principal, Role};
use std::path::Path;
use std::time::{Duration, Instant};

/// Copy a data directory (a store prepared once, opened fresh by each sample).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from).expect("a directory") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}

/// A copy of a prepared store opened with the clock at `now_ms`, and one run of its due
/// timers: how long the run took, what fired, and the host (for checks after the timing).
/// The copy lives as long as the returned directory.
pub struct TimerRun {
    pub took: Duration,
    pub fired: plaza::domain::timers::Fired,
    pub state: std::sync::Arc<plaza::api::App>,
    pub dir: tempfile::TempDir,
}

impl std::fmt::Debug for TimerRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (f.debug_struct("TimerRun").field("took", &self.took))
            .field("fired", &self.fired)
            .finish_non_exhaustive()
    }
}

/// Open a copy of `template` (writes synced) at `now_ms` and time one run of its timers.
pub fn run_timers_of(template: &Path, now_ms: i64) -> TimerRun {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_dir(template, dir.path());
    let mut config = crate::server::config(dir.path());
    config.sync_writes = true;
    let clock = plaza::clock::ManualClock::at(now_ms);
    let state =
        plaza::server::open_with_clock(&config, std::sync::Arc::new(clock)).expect("opening");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let fired = runtime
        .block_on(state.plaza.fire_due_timers())
        .expect("the timers run");
    let took = started.elapsed();
    TimerRun {
        took,
        fired,
        state,
        dir,
    }
}

/// A figure of `/proc/self/status`, in KiB (`VmRSS:`, `VmHWM:` …).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Quote `cart` through `tenant`'s plan `plan` one request after another on another thread
/// for as long as `during` runs, and return the latencies, sorted.
pub fn quotes_during(
    state: &plaza::api::App,
    tenant: &str,
    plan: &str,
    cart: serde_json::Value,
    during: impl FnOnce(),
) -> Vec<Duration> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let who = Principal::Member {
        tenant: tenant.into(),
        role: Role::Checkout,
    };
    let cart: plaza::executor::Cart = serde_json::from_value(cart).expect("a cart");
    let mut latencies = std::thread::scope(|s| {
        let quoting = s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            let mut latencies = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                runtime
                    .block_on(state.plaza.quote(&who, plan, None, cart.clone()))
                    .expect("a quote");
                latencies.push(started.elapsed());
            }
            latencies
        });
        during();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        quoting.join().expect("the quoting thread")
    });
    latencies.sort();
    latencies
}

/// One line on quote latencies (sorted) taken over `took`.
pub fn latency_line(what: &str, sorted: &[Duration], took: Duration) -> String {
    let at = |p: usize| sorted[(sorted.len() * p / 100).min(sorted.len() - 1)];
    format!(
        "quotes {what}: {} in {took:?}, p50 {:?}, p99 {:?}, max {:?}",
        sorted.len(),
        at(50),
        at(99),
        sorted[sorted.len() - 1]
    )
}

/// Quote `cart` through `tenant`'s plan `plan` at a fixed `per_second` (open loop: each
/// quote is sent at its scheduled instant whether or not the ones before it have
/// answered) for as long as `during` runs. Returns the answered quotes' latencies, sorted,
/// each counted from the instant the quote was due to be sent (so a sender held up does
/// not hide the wait it caused), and how many were refused as busy (the host sheds load
/// when a tenant's share of the evaluation pool is full; a checkout would retry).
pub fn quotes_at_rate(
    state: &std::sync::Arc<plaza::api::App>,
    tenant: &str,
    plan: &str,
    cart: serde_json::Value,
    per_second: u32,
    during: impl FnOnce(),
) -> (Vec<Duration>, usize) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let who = Principal::Member {
        tenant: tenant.into(),
        role: Role::Checkout,
    };
    let cart: plaza::executor::Cart = serde_json::from_value(cart).expect("a cart");
    let every = Duration::from_secs(1) / per_second;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut latencies = std::thread::scope(|s| {
        // The quotes run on this thread's runtime while the sender, sleeping on its own
        // thread to each quote's instant (finer than tokio's millisecond timer), hands
        // them over.
        let running = s.spawn(|| {
            runtime.block_on(async {
                let (mut latencies, mut refused) = (Vec::new(), 0);
                while let Some(quote) = answered.recv().await {
                    let quote: tokio::task::JoinHandle<Option<Duration>> = quote;
                    match quote.await.expect("a quote task") {
                        Some(took) => latencies.push(took),
                        None => refused += 1,
                    }
                }
                (latencies, refused)
            })
        });
        let sending = s.spawn(|| {
            let mut due = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let (state, who, cart) = (state.clone(), who.clone(), cart.clone());
                let (plan, sent_at) = (plan.to_owned(), due);
                let quote = runtime.spawn(async move {
                    match state.plaza.quote(&who, &plan, None, cart).await {
                        Ok(_) => Some(sent_at.elapsed()),
                        Err(plaza::domain::Error::Busy(_)) => None,
                        Err(e) => panic!("a quote: {e}"),
                    }
                });
                answers.send(quote).expect("the runtime's thread");
                due += every;
            }
            drop(answers);
        });
        during();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sending.join().expect("the sending thread");
        running.join().expect("the quoting thread")
    });
    latencies.0.sort();
    latencies
}
