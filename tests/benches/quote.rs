//! A 20-line cart through a 5-step plan (member price → 满减 → coupon → free shipping →
//! promoter commission), in the sandbox and natively, so the per-step sandbox overhead is a
//! measured difference.
//!
//! Run: `cargo bench -p plaza-tests --bench quote`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::executor;
use plaza_plugin_sdk::testing::{TestInput, cart as sdk_cart, line as sdk_line};
use plaza_plugin_sdk::wire::{StepFields, encode_step};
use plaza_plugin_sdk::{Effect, Input, Money};
use plaza_tests::{five_step_plan, plugin, sample_cart, sandbox};
use std::hint::black_box;

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

fn bench(c: &mut Criterion) {
    let plan = five_step_plan();
    let cart = sample_cart(LINES);
    let all: Vec<u32> = (0..LINES as u32).collect();
    let payable: Vec<i64> = cart.lines.iter().map(|l| l.original().0).collect();
    let encoded = cart.encode();
    let wasm_step = |config: &str| {
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
    };

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
        let step = wasm_step(config);
        c.bench_function(&format!("step/wasm/{name}"), |b| {
            b.iter(|| {
                sandbox()
                    .evaluate(p, black_box(&encoded), black_box(&step))
                    .result
                    .unwrap()
            })
        });
        c.bench_function(&format!("step/native/{name}"), |b| {
            b.iter(|| {
                let mut native = black_box(&native_wire).view();
                native.config = config;
                native_evaluate(name, &native).unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
