//! A settlement run over 100,000 settleable commission shares on sled: 25,000 completed
//! 二级团 waterfall orders of four shares each (carrying agency, helper agency, promoter
//! agency, and one of 1,000 promoters), paid in one run of 1,003 statements, in one
//! transaction, durable before the answer. Each sample starts from a copy of the same
//! store. Prints once the run's peak resident memory (`VmHWM`, reset before the run) and
//! the latency of quotes sent meanwhile (they read the plan's budget counters from the
//! same store), against the same quotes while nothing runs.
//!
//! Run: `cargo bench -p plaza-tests --bench settlement`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::clock::{Clock as _, ManualClock};
use plaza::domain::order_settings::DEFAULT_AFTER_SALE_MS;
use plaza::domain::{Principal, Role, SettlementRequest};
use plaza_tests::bench::{copy_dir, latency_line, quotes_during, status_kib};
use plaza_tests::server::{Server, commit_request};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ORDERS: usize = 25_000;
const SHARES: u64 = 4 * ORDERS as u64;
const T0: i64 = 1_800_000_000_000;

/// A store with `ORDERS` completed waterfall orders, every share settleable.
fn template() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().to_path_buf();
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(
        move |c| {
            c.data_dir = data;
            c.sync_writes = false;
            c.timer_tick_ms = 5;
            // The limiter runs on the manual clock, which stands still while this writes.
            c.rate_limit.requests_per_second = 0;
        },
        clock.clone(),
    );
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("agency-waterfall").status, 201);
    shop.apply(&json!({"id": "w", "steps": [{
        "id": "waterfall", "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"carrying_agency": 200_000, "helper_agency": 500_000,
                   "promoter_agency": 500_000, "promoter": 800_000},
        // A budget, as real plans have: quotes beside the run read its counters.
        "budget": {"max_amount": 1_000_000_000_000_i64}}]}));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let shop = shop.clone();
            std::thread::spawn(move || {
                for i in (w..ORDERS).step_by(4) {
                    let id = format!("o-{i:05}");
                    let cart = json!({
                        "lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 1, "unit_price": 10_000}],
                        "buyer": {"id": format!("b-{i}")},
                        "attribution": {"carrying_agency": "ag-1", "helper_agency": "ag-2",
                            "promoter_agency": "pa-1", "promoter": format!("p-{}", i % 1_000)},
                        "now_ms": T0
                    });
                    let placed = shop.post("/v1/orders", &commit_request(&id, "w", &cart));
                    assert_eq!(placed.status, 201, "{}", placed.text);
                    for kind in ["paid", "received"] {
                        let event = shop.post(
                            &format!("/v1/orders/{id}/events"),
                            &json!({"event_id": kind, "type": kind, "at_ms": T0}),
                        );
                        assert_eq!(event.status, 200, "{}", event.text);
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer");
    }
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    let started = Instant::now();
    while shop.get("/v1/beneficiaries/ag-1/balance").body["total"]["settleable"]
        != json!(1_000 * ORDERS as i64)
    {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "orders never completed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    dir
}

/// A one-line waterfall cart for quotes beside the run.
fn quote_cart() -> serde_json::Value {
    json!({
        "lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 1, "unit_price": 10_000}],
        "buyer": {"id": "b-q"},
        "attribution": {"carrying_agency": "ag-1", "promoter": "p-1"},
        "now_ms": T0
    })
}

/// Open a copy of `template`; time one settlement run over all of it. With `memory`,
/// print the process's resident memory before and its peak during the run.
fn settle_all(template: &Path, memory: bool) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_dir(template, dir.path());
    let mut config = plaza_tests::server::config(dir.path());
    config.sync_writes = true;
    let clock = ManualClock::at(T0 + DEFAULT_AFTER_SALE_MS + 60_000);
    let until = clock.now_ms();
    let state = plaza::server::open_with_clock(&config, Arc::new(clock)).expect("opening");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let admin = Principal::Member {
        tenant: "teahouse".into(),
        role: Role::Admin,
    };
    let req = SettlementRequest {
        settlement_id: "run".into(),
        until_ms: until,
    };
    let before = status_kib("VmRSS:");
    // Reset the peak (VmHWM) to the current resident size.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let mut ran = None;
    let mut took = Duration::ZERO;
    let run_it = || {
        let started = Instant::now();
        ran = Some(
            runtime
                .block_on(state.plaza.settle(&admin, req))
                .expect("the run"),
        );
        took = started.elapsed();
    };
    // The memory sample also times quotes sent meanwhile (they share the store).
    let quotes = if memory {
        quotes_during(&state, "teahouse", "w", quote_cart(), run_it)
    } else {
        run_it();
        Vec::new()
    };
    let (run, _) = ran.expect("the run ran");
    assert_eq!(run.shares, SHARES, "every share settled");
    assert_eq!(run.statements, 1_003);
    if memory {
        eprintln!(
            "settlement of {SHARES} shares: {took:?}; resident before {} MiB, peak during the run {} MiB",
            before / 1024,
            status_kib("VmHWM:") / 1024
        );
        eprintln!("{}", latency_line("during the run", &quotes, took));
        let idle = quotes_during(&state, "teahouse", "w", quote_cart(), || {
            std::thread::sleep(took)
        });
        eprintln!("{}", latency_line("idle", &idle, took));
    }
    took
}

fn settlement(c: &mut Criterion) {
    let template = template();
    settle_all(template.path(), true);
    let mut group = c.benchmark_group("settlement");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("run_over_100k_shares", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| settle_all(template.path(), false)).sum())
    });
    group.finish();
}

criterion_group!(benches, settlement);
criterion_main!(benches);
