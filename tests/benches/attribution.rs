//! Attribution resolution at scale: 100,000 promoters bound to one agency (each invited
//! and accepted) and 1,000,000 stored touches (100,000 buyers with 10 touches each, from
//! 10 promoters, across 60 days), on sled. A quote of the demo cart for one of those
//! buyers resolves its chain from its touches; the same quote on the same store with the
//! merchant trusting its checkout resolves nothing. The difference is what attribution
//! adds.
//!
//! Also: the same cart priced through three layers (the merchant's plan, then carrying
//! agency `c`'s plan for its pool, then the promoters' agency `pa`'s plan as the pool's
//! helper) against one layer (the same, once `pa` has left the pool).
//!
//! Run: `cargo bench -p plaza-tests --bench attribution`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::clock::ManualClock;
use plaza::domain::{AcceptInvite, NewPromoter, NewTouch, PartyKind, Principal, Role};
use plaza_tests::bench::latency_line;
use plaza_tests::server::{Api, Server, demo_cart, with_demo_plan};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROMOTERS: usize = 100_000;
const BUYERS: usize = 100_000;
const TOUCHES_PER_BUYER: usize = 10;
const DAY: i64 = 24 * 60 * 60 * 1000;
const D0: i64 = 1_790_000_000_000;
const NOW: i64 = D0 + 400 * DAY;
/// Requests in flight while the store is filled (their flushes are grouped).
const IN_FLIGHT: usize = 256;

fn member(tenant: &str, role: Role) -> Principal {
    Principal::Member {
        tenant: tenant.into(),
        role,
    }
}

/// Run `make(i)` for every i in 0..n, `IN_FLIGHT` at a time.
fn fill<F, Fut>(runtime: &tokio::runtime::Runtime, n: usize, make: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            if set.len() >= IN_FLIGHT {
                set.join_next().await.expect("a task").expect("no panic");
            }
            set.spawn(make(i));
        }
        while let Some(done) = set.join_next().await {
            done.expect("no panic");
        }
    });
}

/// A plan of one agency-waterfall step from `from`, paying `to` 30 % of what it received.
fn pass_on(id: &str, from: &str, to: &str) -> serde_json::Value {
    json!({"id": id, "steps": [{
        "id": "pass-on",
        "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"from": from, to: 300_000},
    }]})
}

/// The merchant opens the demo cart's teaware to agency `c`, whose pool (with its own
/// plan) `pa` joins as a helper with its plan.
fn layers(server: &Server, shop: &Api, pa: &Api) {
    let c = server.operator().create_tenant("c", "agency");
    let offer = json!({"spus": ["teapot-yixing", "cup-set"], "service_rate_ppm": 100_000});
    assert_eq!(shop.put("/v1/offers/teaware", &offer).status, 200);
    for (agency, plan) in [
        (&c, pass_on("c-plan", "carrying_agency", "helper_agency")),
        (pa, pass_on("pa-plan", "helper_agency", "promoter")),
    ] {
        assert_eq!(agency.upload("agency-waterfall").status, 201);
        agency.apply(&plan);
    }
    let pool = json!({"name": "Teaware", "items": [{"merchant": "teahouse", "offer": "teaware"}],
        "helper_rate_ppm": 300_000, "plan": "c-plan"});
    assert_eq!(c.put("/v1/pools/teaware", &pool).status, 200);
    let joined = pa.post(
        "/v1/plaza/pools/c/teaware/members",
        &json!({"plan": "pa-plan"}),
    );
    assert_eq!(joined.status, 201, "{}", joined.text);
}

fn attribution(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().to_path_buf();
    let server = Server::start_with_clock(
        move |c| {
            c.data_dir = data;
            c.sync_writes = false;
            c.rate_limit.requests_per_second = 0;
        },
        ManualClock::at(NOW),
    );
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let pa = server.operator().create_tenant("pa", "agency");
    layers(&server, &shop, &pa);
    drop(server);

    let mut config = plaza_tests::server::config(dir.path());
    config.sync_writes = false;
    let state =
        plaza::server::open_with_clock(&config, Arc::new(ManualClock::at(NOW))).expect("opening");
    let plaza = state.plaza.clone();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let started = Instant::now();
    fill(&runtime, PROMOTERS, |i| {
        let plaza = plaza.clone();
        async move {
            let id = format!("p-{i:06}");
            let new = NewPromoter {
                id: id.clone(),
                kind: PartyKind::Promoter,
                name: id.clone(),
            };
            let invited = plaza
                .invite_promoter(&member("pa", Role::Admin), new)
                .await
                .expect("invited");
            let token = invited.invite_token;
            plaza
                .accept_invite(
                    &id,
                    AcceptInvite {
                        invite_token: token,
                    },
                )
                .await
                .expect("accepted");
        }
    });
    eprintln!(
        "{PROMOTERS} promoters invited and accepted in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    fill(&runtime, BUYERS * TOUCHES_PER_BUYER, |i| {
        let plaza = plaza.clone();
        async move {
            let (buyer, n) = (i / TOUCHES_PER_BUYER, i % TOUCHES_PER_BUYER);
            let touch = NewTouch {
                touch_id: format!("t-{i:07}"),
                buyer: format!("b-{buyer:06}"),
                promoter: format!("p-{:06}", (buyer * 7 + n * 13) % PROMOTERS),
                share_link: Some(format!("s-{i}")),
                channel: None,
                product: None,
                at_ms: D0 + (n as i64) * 6 * DAY,
            };
            plaza
                .record_touch(&member("teahouse", Role::Checkout), touch)
                .await
                .expect("recorded");
        }
    });
    eprintln!(
        "{} touches recorded in {:?}",
        BUYERS * TOUCHES_PER_BUYER,
        started.elapsed()
    );

    // A buyer in the middle of the store, quoted on day 62: its lock window holds five
    // of its touches.
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!("b-050000");
    cart["now_ms"] = json!(D0 + 62 * DAY);
    let cart: plaza::executor::Cart = serde_json::from_value(cart).expect("a cart");
    let who = member("teahouse", Role::Checkout);
    let admin = member("teahouse", Role::Admin);
    let quote = |runtime: &tokio::runtime::Runtime| {
        runtime
            .block_on(plaza.quote(&who, "teahouse-autumn", None, cart.clone()))
            .expect("a quote")
    };
    let mode = |source: &str| {
        let settings = serde_json::from_value(json!({ "source": source })).expect("settings");
        runtime
            .block_on(plaza.set_attribution_settings(&admin, settings))
            .expect("saved");
    };
    let sample = |runtime: &tokio::runtime::Runtime| {
        let mut latencies: Vec<Duration> = (0..20_000)
            .map(|_| {
                let started = Instant::now();
                quote(runtime);
                started.elapsed()
            })
            .collect();
        latencies.sort();
        latencies
    };
    let single = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    mode("touches");
    let resolved = quote(&single);
    assert!(
        resolved
            .attribution
            .as_ref()
            .and_then(|a| a.touch.as_ref())
            .is_some(),
        "the buyer's touches credit a promoter"
    );
    assert_eq!(
        resolved.layers.len(),
        2,
        "c's and pa's layers below the merchant's"
    );
    let took = Duration::ZERO;
    let three = sample(&single);
    eprintln!("{}", latency_line("resolved, three layers", &three, took));
    let pa = member("pa", Role::Admin);
    let leave = |runtime: &tokio::runtime::Runtime| {
        runtime
            .block_on(plaza.leave_pool(&pa, "c", "teaware"))
            .expect("left");
        assert!(
            quote(runtime).layers.is_empty(),
            "one layer: the merchant's"
        );
    };
    let join = |runtime: &tokio::runtime::Runtime| {
        let plan = serde_json::from_value(json!({"plan": "pa-plan"})).expect("a membership");
        runtime
            .block_on(plaza.join_pool(&pa, "c", "teaware", plan))
            .expect("joined");
    };
    leave(&single);
    let touches = sample(&single);
    mode("checkout");
    let checkout = sample(&single);
    eprintln!("{}", latency_line("resolved, one layer", &touches, took));
    eprintln!("{}", latency_line("trusting the checkout", &checkout, took));

    let mut group = c.benchmark_group("attribution");
    mode("touches");
    join(&single);
    group.bench_function("quote_resolved_from_1m_touches_three_layers", |b| {
        b.iter(|| quote(&single))
    });
    leave(&single);
    group.bench_function("quote_resolved_from_1m_touches_one_layer", |b| {
        b.iter(|| quote(&single))
    });
    mode("checkout");
    group.bench_function("quote_checkout_attribution", |b| b.iter(|| quote(&single)));
    group.finish();
}

criterion_group!(benches, attribution);
criterion_main!(benches);
