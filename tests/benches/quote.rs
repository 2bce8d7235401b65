//! A 20-line cart through a 5-step plan (member price → 满减 → coupon → free shipping →
//! promoter commission), in the sandbox and natively, so the per-step sandbox overhead is a
//! measured difference; each step again as a bare wasmtime instance with no host work (the
//! floor on this machine, see `floor.rs`); the 0.1 component of the same 满减 rule; and a
//! 200-line cart through one step and through 50, with the 50-step p99.
//!
//! Run: `cargo bench -p plaza-tests --bench quote`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::executor;
use plaza::executor::Outcome;
use plaza_plugin_sdk::testing::{TestInput, cart as sdk_cart, line as sdk_line};
use plaza_plugin_sdk::wire::{StepFields, encode_step};
use plaza_plugin_sdk::{Effect, Input, Money};
use plaza_tests::{five_step_plan, plugin, prepare, sample_cart, sandbox};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

#[path = "quote/floor.rs"]
mod floor;

// The same allocator as the `plaza` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LINES: usize = 20;

/// The five steps' configurations, as in `five_step_plan`.
fn configs() -> [(&'static str, String); 5] {
    let plan = five_step_plan();
    let config = |i: usize| plan.steps[i].config_json.clone();
    [
        ("member-price", config(0)),
        ("threshold-discount", config(1)),
        ("store-coupon", config(2)),
        ("free-shipping", config(3)),
        ("promoter-commission", config(4)),
    ]
}

/// The sample cart encoded for the contract by the SDK's test harness; rules read it
/// through `Input::read`, as they do inside the sandbox.
fn native_input() -> TestInput {
    let cart = sample_cart(LINES);
    let mut b = sdk_cart()
        .member("gold")
        .promoter("p-1")
        .coupon("SAVE20")
        .shipping(Money(1000));
    for l in &cart.lines {
        b = b.line(sdk_line(&l.sku, l.unit_price, l.quantity).category(&l.categories[0]));
    }
    b.input()
}

fn native_evaluate(name: &str, input: &Input) -> Result<Vec<Effect>, String> {
    match name {
        "member-price" => plaza_plugin_sdk::evaluate::<member_price::MemberPrice>(input),
        "threshold-discount" => {
            plaza_plugin_sdk::evaluate::<threshold_discount::ThresholdDiscount>(input)
        }
        "store-coupon" => plaza_plugin_sdk::evaluate::<store_coupon::StoreCoupon>(input),
        "free-shipping" => plaza_plugin_sdk::evaluate::<free_shipping::FreeShipping>(input),
        "promoter-commission" => {
            plaza_plugin_sdk::evaluate::<promoter_commission::PromoterCommission>(input)
        }
        other => unreachable!("{other}"),
    }
}

/// The bench cart's step input for `config`: every line visible at its original amount,
/// shipping 10.00.
fn encode_step_for(config: &str) -> Vec<u8> {
    let cart = sample_cart(LINES);
    let all: Vec<u32> = (0..LINES as u32).collect();
    let payable: Vec<i64> = cart.lines.iter().map(|l| l.original().0).collect();
    let mut step = Vec::new();
    encode_step(
        &StepFields {
            visible: &all,
            payable: &payable,
            shipping: 1000,
            order_total: payable.iter().sum::<i64>() + 1000,
            threshold_base: plaza_plugin_sdk::ThresholdBase::Current,
            config,
        },
        &mut step,
    );
    step
}

fn bench(c: &mut Criterion) {
    let plan = five_step_plan();
    let cart = sample_cart(LINES);
    let encoded = cart.encode();

    let q = executor::quote(sandbox(), &plan, &cart).expect("quote");
    eprintln!("5-step quote: {} instructions in all", q.fuel);
    for s in &q.explanation {
        eprintln!(
            "  {:<12} {:<28} {:>8} instructions",
            s.step, s.plugin, s.fuel
        );
    }

    c.bench_function("plan/wasm/5_steps_20_lines", |b| {
        b.iter(|| executor::quote(sandbox(), black_box(&plan), black_box(&cart)).unwrap())
    });

    // The plan and cart the HTTP benchmark quotes: over HTTP minus this is the service's
    // own cost (routing, auth, JSON in and out, the evaluation pool).
    let demo_plan = prepare(serde_json::from_str(plaza::examples::DEMO_PLAN).unwrap());
    let demo_cart = plaza::examples::demo_cart();
    c.bench_function("plan/wasm/demo", |b| {
        b.iter(|| executor::quote(sandbox(), black_box(&demo_plan), black_box(&demo_cart)).unwrap())
    });

    let native_wire = native_input();
    let configs = configs();
    c.bench_function("plan/native/5_rules_20_lines", |b| {
        b.iter(|| {
            let mut input = black_box(&native_wire).view();
            let mut n = 0;
            for (name, config) in &configs {
                input.config = config;
                n += native_evaluate(name, black_box(&input)).unwrap().len();
            }
            n
        })
    });

    for (name, config) in &configs {
        let p = plugin(name);
        let step = encode_step_for(config);
        c.bench_function(&format!("step/wasm/{name}"), |b| {
            b.iter(|| {
                sandbox()
                    .evaluate(p, black_box(&encoded), black_box(&step))
                    .result
                    .unwrap()
            })
        });
        if *name == "threshold-discount" {
            // The same rule built against contract 0.1 (a component, run through the adapter).
            let legacy = plugin("legacy-threshold-discount");
            c.bench_function("step/wasm/threshold-discount-0.1", |b| {
                b.iter(|| {
                    sandbox()
                        .evaluate(legacy, black_box(&encoded), black_box(&step))
                        .result
                        .unwrap()
                })
            });
        }
        c.bench_function(&format!("step/native/{name}"), |b| {
            b.iter(|| {
                let mut native = black_box(&native_wire).view();
                native.config = config;
                native_evaluate(name, &native).unwrap()
            })
        });
    }
}

/// A 200-line cart: one step (满减), and the five steps ten times over (50 steps), with the
/// p99 of the 50-step quote from a plain loop (criterion reports medians).
fn bench_large(c: &mut Criterion) {
    let cart = sample_cart(200);
    let five = five_step_plan();
    let plan_of = |steps: Vec<serde_json::Value>| prepare(json!({"id": "bench", "steps": steps}));
    let step_json = |i: usize, round: usize| {
        let s = &five.steps[i];
        json!({
            "id": format!("{}-{round}", s.step.id),
            "plugin": {"name": s.plugin.descriptor.name, "version": s.plugin.descriptor.version},
            "config": serde_json::from_str::<serde_json::Value>(&s.config_json).unwrap(),
        })
    };
    let one = plan_of(vec![step_json(1, 0)]);
    let q = executor::quote(sandbox(), &one, &cart).expect("quote");
    eprintln!("1 step on 200 lines: {} instructions", q.fuel);
    assert!(
        matches!(q.explanation[0].outcome, Outcome::Applied),
        "the 满减 step applies to the 200-line cart"
    );
    c.bench_function("plan/wasm/1_step_200_lines", |b| {
        b.iter(|| executor::quote(sandbox(), black_box(&one), black_box(&cart)).unwrap())
    });

    let fifty = plan_of(
        (0..10)
            .flat_map(|round| (0..5).map(move |i| (i, round)))
            .map(|(i, round)| step_json(i, round))
            .collect(),
    );
    let q = executor::quote(sandbox(), &fifty, &cart).expect("quote");
    assert_eq!(q.explanation.len(), 50);
    eprintln!("50 steps on 200 lines: {} instructions", q.fuel);
    c.bench_function("plan/wasm/50_steps_200_lines", |b| {
        b.iter(|| executor::quote(sandbox(), black_box(&fifty), black_box(&cart)).unwrap())
    });
    let mut times: Vec<u128> = (0..300)
        .map(|_| {
            let start = Instant::now();
            black_box(executor::quote(sandbox(), &fifty, &cart).unwrap());
            start.elapsed().as_micros()
        })
        .collect();
    times.sort_unstable();
    eprintln!(
        "plan/wasm/50_steps_200_lines over 300 quotes: p50 {} µs, p99 {} µs, max {} µs",
        times[150], times[297], times[299]
    );
}

criterion_group!(benches, bench, bench_large, floor::bench);
criterion_main!(benches);
