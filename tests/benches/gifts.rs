//! Gift orders (送礼) and GMV incentive events under load, on sled.
//!
//! - `gifts/expire_10k_sub_orders_due_at_once`: 1,000 paid gift orders, each shared out to
//!   10 recipients who never answer, so 10,000 sub-orders whose acceptance window ends at
//!   the same instant; one run of the host's timers refunds them all to their senders (one
//!   transaction per order over the order, its counters, its ledger, its commission shares
//!   and the timer; every batch of 256 flushed). Each sample opens a copy of one store.
//! - `incentives/commit_{no_event,hot_participant}`: 200 commits over HTTP from 4 threads,
//!   writes synced, without an incentive event and with one that counts every order for
//!   the same merchant (every commit reads and writes that one standing, so concurrent
//!   commits conflict on it and retry).
//!
//! Run: `cargo bench -p plaza-tests --bench gifts`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::clock::ManualClock;
use plaza_tests::bench::run_timers_of;
use plaza_tests::server::{Api, Server, budget_plan, commit_request};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ORDERS: usize = 1_000;
const RECIPIENTS: u32 = 10;
const T0: i64 = 1_800_000_000_000;
const DAY_MS: i64 = 24 * 3_600_000;

fn cart(buyer: &str, units: u32) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "categories": ["tea"],
                   "quantity": units, "unit_price": 2000}],
        "buyer": {"id": buyer},
        "channel": "live_room",
        "now_ms": T0,
    })
}

fn shop(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("p", json!({"max_orders": 10_000_000})));
    shop
}

/// A store with `ORDERS` paid gift orders, each to `RECIPIENTS` friends, placed at `T0`.
fn template() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().to_path_buf();
    let server = Server::start_with_clock(
        move |c| {
            c.data_dir = data;
            c.sync_writes = false;
            c.rate_limit.requests_per_second = 0;
        },
        ManualClock::at(T0),
    );
    let shop = shop(&server);
    let recipients: Vec<Value> = (0..RECIPIENTS)
        .map(|r| json!({"recipient": format!("f-{r}"), "lines": [{"line": "l1", "quantity": 1}]}))
        .collect();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (shop, recipients) = (shop.clone(), recipients.clone());
            std::thread::spawn(move || {
                for i in (w..ORDERS).step_by(4) {
                    let id = format!("g-{i:05}");
                    let mut req = commit_request(&id, "p", &cart(&id, RECIPIENTS));
                    req["gift"] = json!({"recipients": recipients});
                    let placed = shop.post("/v1/orders", &req);
                    assert_eq!(placed.status, 201, "{}", placed.text);
                    shop.pay(&id, T0);
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

/// Open a copy of `template` with the clock past every acceptance window; time one run
/// of the timers.
fn expire_all(template: &Path) -> Duration {
    let run = run_timers_of(template, T0 + DAY_MS + 1);
    assert_eq!(
        run.fired.fired, ORDERS as u64,
        "every gift order's window ended"
    );
    let shop = plaza::domain::Principal::Member {
        tenant: "teahouse".into(),
        role: plaza::domain::Role::Admin,
    };
    for i in [0, ORDERS / 2, ORDERS - 1] {
        let order = (run.state.plaza.order(&shop, &format!("g-{i:05}"))).expect("the order");
        let refunded = order.refunds.len();
        assert_eq!(refunded, RECIPIENTS as usize, "every sub-order refunded");
    }
    run.took
}

/// `n` commits from 4 threads; the time they took.
fn commits(shop: &Api, next: &AtomicUsize, n: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..n / 4 {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let id = format!("o-{i}");
                    let placed = shop.post("/v1/orders", &commit_request(&id, "p", &cart(&id, 1)));
                    assert_eq!(placed.status, 201, "{}", placed.text);
                }
            });
        }
    });
    started.elapsed()
}

fn hot_participant(c: &mut Criterion, with_event: bool) {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(
        |c| {
            c.sync_writes = true;
            c.rate_limit.requests_per_second = 0;
        },
        clock,
    );
    let shop = shop(&server);
    if with_event {
        let operator = server.operator();
        let event = json!({
            "id": "double-12", "name": "12.12", "who": ["merchant"], "review": "auto",
            "registration_from_ms": T0 - DAY_MS, "registration_until_ms": T0 + DAY_MS,
            "from_ms": T0 - DAY_MS, "until_ms": T0 + DAY_MS,
            "conditions": {"channels": ["live_room"], "categories": ["tea"]},
            "tiers": [{"gmv": 100_000, "instant": {"kind": "cash", "amount": 100}},
                      {"gmv": 10_000_000, "instant": {"kind": "cash", "amount": 1000}}],
        });
        assert_eq!(operator.post("/v1/incentives", &event).status, 201);
        let registered = shop.post("/v1/incentives/double-12/registrations", &json!({}));
        assert_eq!(registered.body["state"], "approved", "{}", registered.text);
    }
    let next = AtomicUsize::new(0);
    let name = if with_event {
        "commit_hot_participant"
    } else {
        "commit_no_event"
    };
    let mut group = c.benchmark_group("incentives");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(criterion::Throughput::Elements(200));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| commits(&shop, &next, 200)).sum())
    });
    group.finish();
    if with_event {
        let p = shop.get("/v1/incentives/double-12/progress/teahouse");
        let counted = p.body["orders"].as_u64().unwrap_or(0);
        assert_eq!(
            counted as usize,
            next.load(Ordering::Relaxed),
            "every commit counted: {}",
            p.text
        );
    }
}

fn gifts(c: &mut Criterion) {
    let template = template();
    let mut group = c.benchmark_group("gifts");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("expire_10k_sub_orders_due_at_once", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| expire_all(template.path())).sum())
    });
    group.finish();
    hot_participant(c, false);
    hot_participant(c, true);
}

criterion_group!(benches, gifts);
criterion_main!(benches);
