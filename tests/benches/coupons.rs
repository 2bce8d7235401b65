//! Claimed coupons: claims per second on one hot template (every claim durable, 256 in
//! flight, each a transaction over the template's stock), and the latency of "which
//! coupons can I use" over a wallet of 50 claims (10 templates × 5 claims, on a plan of
//! 10 coupon steps: five in one exclusive group, five stacking, two of them out of reach
//! of the cart's spend), next to a plain quote of the same cart.
//!
//! Run: `cargo bench -p plaza-tests --bench coupons`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::clock::ManualClock;
use plaza::domain::{NewClaim, Principal, Role};
use plaza_tests::bench::latency_line;
use plaza_tests::server::{Server, demo_cart};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NOW: i64 = 1_790_000_000_000;
const CLAIMS: usize = 20_000;
const IN_FLIGHT: usize = 256;
const TEMPLATES: usize = 10;
const PER_TEMPLATE: usize = 5;

fn member(tenant: &str, role: Role) -> Principal {
    Principal::Member {
        tenant: tenant.into(),
        role,
    }
}

fn new_claim(id: &str, buyer: &str) -> NewClaim {
    serde_json::from_value(json!({"claim_id": id, "buyer": {"id": buyer}})).expect("a claim")
}

/// Ten coupon steps: C0–C4 in one exclusive group, C5–C9 stacking; C4 and C9 need a
/// spend the cart does not reach.
fn plan() -> serde_json::Value {
    let steps: Vec<_> = (0..TEMPLATES)
        .map(|i| {
            let min_spend = if i % 5 == 4 { 10_000_000 } else { 0 };
            let mut s = json!({"id": format!("c{i}"),
                "plugin": {"name": "store-coupon", "version": "1.0.0"},
                "config": {"code": format!("C{i}"), "value": {"fixed": 100 * (i + 1)}, "min_spend": min_spend}});
            if i < 5 {
                s["exclusive_group"] = json!({"name": "one-coupon"});
            }
            s
        })
        .collect();
    json!({"id": "wallet", "steps": steps})
}

fn coupons(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().to_path_buf();
    let server = Server::start_with_clock(
        move |c| {
            c.data_dir = data;
            c.rate_limit.requests_per_second = 0;
        },
        ManualClock::at(NOW),
    );
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("store-coupon").status, 201);
    shop.apply(&plan());
    for i in 0..=TEMPLATES {
        let (id, step) = match i {
            TEMPLATES => ("hot".to_owned(), "c0".to_owned()),
            i => (format!("t{i}"), format!("c{i}")),
        };
        let code = format!("C{}", &step[1..]);
        let t = shop.post(
            "/v1/coupons",
            &json!({"id": id, "name": id, "plan": "wallet", "step": step, "code": code,
                "stock": 10_000_000, "per_buyer": 100, "validity": {"days_from_claim": {"days": 30}}}),
        );
        assert_eq!(t.status, 201, "{}", t.text);
    }
    drop(server);

    let config = plaza_tests::server::config(dir.path());
    assert!(config.sync_writes, "claims are durable before the answer");
    let state =
        plaza::server::open_with_clock(&config, Arc::new(ManualClock::at(NOW))).expect("opening");
    let plaza = state.plaza.clone();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let checkout = member("teahouse", Role::Checkout);

    // Claims per second on the hot template.
    let started = Instant::now();
    runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..CLAIMS {
            if set.len() >= IN_FLIGHT {
                set.join_next().await.expect("a task").expect("no panic");
            }
            let (plaza, who) = (plaza.clone(), checkout.clone());
            set.spawn(async move {
                let claim = new_claim(&format!("h-{i}"), &format!("b-{i}"));
                plaza
                    .claim_coupon(&who, "hot", claim)
                    .await
                    .expect("claimed");
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("no panic");
        }
    });
    let took = started.elapsed();
    eprintln!(
        "{CLAIMS} claims of one template, {IN_FLIGHT} in flight: {took:?}, {} claims/s",
        CLAIMS as u128 * 1_000 / took.as_millis().max(1)
    );

    // A wallet of 50 claims.
    let single = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    for t in 0..TEMPLATES {
        for k in 0..PER_TEMPLATE {
            let claim = new_claim(&format!("w-{t}-{k}"), "w");
            single
                .block_on(plaza.claim_coupon(&checkout, &format!("t{t}"), claim))
                .expect("claimed");
        }
    }
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!("w");
    cart["coupon_codes"] = json!([]);
    cart["now_ms"] = json!(NOW);
    let cart: plaza::executor::Cart = serde_json::from_value(cart).expect("a cart");
    let usable = |runtime: &tokio::runtime::Runtime| {
        runtime
            .block_on(plaza.usable_coupons(&checkout, "wallet", cart.clone()))
            .expect("usable coupons")
    };
    let quote = |runtime: &tokio::runtime::Runtime| {
        runtime
            .block_on(plaza.quote(&checkout, "wallet", None, cart.clone()))
            .expect("a quote")
    };
    let first = usable(&single);
    assert_eq!(first.usable.len(), 40, "C4 and C9 out of reach");
    assert_eq!(
        first.best.claims.len(),
        5,
        "the group's best and four stacking"
    );
    let sample = |f: &dyn Fn()| {
        let mut latencies: Vec<Duration> = (0..2_000)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect();
        latencies.sort();
        latencies
    };
    let searched = sample(&|| {
        usable(&single);
    });
    let plain = sample(&|| {
        quote(&single);
    });
    let zero = Duration::ZERO;
    eprintln!(
        "{}",
        latency_line("usable-coupons over 50 claims", &searched, zero)
    );
    eprintln!("{}", latency_line("plain, no claims", &plain, zero));

    let mut group = c.benchmark_group("coupons");
    group.bench_function("usable_coupons_wallet_of_50", |b| {
        b.iter(|| usable(&single))
    });
    group.bench_function("quote_without_claims", |b| b.iter(|| quote(&single)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = coupons
}
criterion_main!(benches);
