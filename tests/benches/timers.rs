//! The host's timers under a burst: 10,000 placed orders whose payment deadlines fall at
//! the same instant, all expired by one run of the timers (each order's budgets released
//! and ledger reversed in its own transaction, every batch of 256 flushed to disk) on
//! sled. Each sample starts from a copy of the same store.
//!
//! Also (printed, once): the latency of quotes sent one after another while the 10,000
//! expire, and of quotes sent at a fixed rate (open loop), each against the same quotes on
//! the same store while nothing fires.
//!
//! Run: `cargo bench -p plaza-tests --bench timers`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::clock::ManualClock;
use plaza_tests::bench::{copy_dir, latency_line, quotes_at_rate, quotes_during, run_timers_of};
use plaza_tests::server::{Server, budget_plan, commit_request, demo_cart};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ORDERS: usize = 10_000;
const T0: i64 = 1_800_000_000_000;
/// Quotes a second in the open-loop figure: the pace of issue 8's HTTP p99 figure.
const RATE: u32 = 5_000;

/// A store with the merchant, a budgeted plan and `ORDERS` orders placed at `T0`.
fn template() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().to_path_buf();
    let server = Server::start_with_clock(
        move |c| {
            c.data_dir = data;
            c.sync_writes = false;
        },
        ManualClock::at(T0),
    );
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("p", json!({"max_orders": 1_000_000})));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let shop = shop.clone();
            std::thread::spawn(move || {
                for i in (w..ORDERS).step_by(4) {
                    let placed = shop.post(
                        "/v1/orders",
                        &commit_request(&format!("o-{i:05}"), "p", &demo_cart()),
                    );
                    assert_eq!(placed.status, 201, "{}", placed.text);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer");
    }
    drop(server);
    dir
}

/// Open a copy of `template` with the clock past every deadline; time one run of the
/// timers.
fn expire_all(template: &Path) -> Duration {
    let run = run_timers_of(template, T0 + 3_600_000);
    assert_eq!(run.fired.fired, ORDERS as u64, "every order expired");
    run.took
}

/// A copy of `template` opened with the clock past every deadline (writes synced).
fn expired_copy(template: &Path) -> (tempfile::TempDir, Arc<plaza::api::App>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_dir(template, dir.path());
    let mut config = plaza_tests::server::config(dir.path());
    config.sync_writes = true;
    let clock = ManualClock::at(T0 + 3_600_000);
    let state = plaza::server::open_with_clock(&config, Arc::new(clock)).expect("opening");
    (dir, state)
}

/// Run `state`'s due timers once; every order expires. Returns how long it took.
fn fire_all(state: &plaza::api::App) -> Duration {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    let fired = runtime
        .block_on(state.plaza.fire_due_timers())
        .expect("the timers run");
    let took = started.elapsed();
    assert_eq!(fired.fired, ORDERS as u64, "every order expired");
    took
}

/// Quote latency while every order expires, and while nothing fires for as long.
fn quotes_while_expiring(template: &Path) {
    let (_dir, state) = expired_copy(template);
    let mut took = Duration::ZERO;
    let firing = quotes_during(&state, "teahouse", "p", demo_cart(), || {
        took = fire_all(&state)
    });
    let idle = quotes_during(&state, "teahouse", "p", demo_cart(), || {
        std::thread::sleep(took)
    });
    eprintln!("{}", latency_line("idle", &idle, took));
    eprintln!("{}", latency_line("while 10k expire", &firing, took));
}

/// The same at a checkout's pace: quotes sent at a fixed rate, each counted from when it
/// was due, while every order expires and while nothing fires for as long.
fn quotes_at_rate_while_expiring(template: &Path) {
    let (_dir, state) = expired_copy(template);
    let mut took = Duration::ZERO;
    let firing = quotes_at_rate(&state, "teahouse", "p", demo_cart(), RATE, || {
        took = fire_all(&state)
    });
    let idle = quotes_at_rate(&state, "teahouse", "p", demo_cart(), RATE, || {
        std::thread::sleep(took)
    });
    for ((answered, refused), what) in [(idle, "idle"), (firing, "while 10k expire")] {
        let line = latency_line(&format!("at {RATE}/s {what}"), &answered, took);
        eprintln!("{line}, {refused} refused as busy");
    }
}

fn timers(c: &mut Criterion) {
    let template = template();
    quotes_while_expiring(template.path());
    quotes_at_rate_while_expiring(template.path());
    let mut group = c.benchmark_group("timers");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("expire_10k_orders_due_at_once", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| expire_all(template.path())).sum())
    });
    group.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
