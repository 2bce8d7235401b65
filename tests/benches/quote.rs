//! A 20-line cart through a 5-step plan (member price → 满减 → coupon → free shipping →
//! promoter commission), in the sandbox and natively, so the per-step sandbox overhead is a
//! measured difference.
//!
//! Run: `cargo bench -p plaza-tests --bench quote`

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::executor;
use plaza::sandbox::bindings as wit;
use plaza_plugin_sdk::testing::{cart as sdk_cart, line as sdk_line};
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

/// The sample cart in the contract's wire shape, built by the SDK's test harness; rules read
/// it through `Input::decode`, as they do inside the sandbox.
fn native_input() -> plaza_plugin_sdk::bindings::plaza::rules::types::Input {
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
    let all: Vec<usize> = (0..LINES).collect();
    let payable: Vec<i64> = cart.lines.iter().map(|l| l.original().0).collect();
    let wasm_input = |config: &str| wit::Input {
        state: wit::Pipeline {
            order_total: payable.iter().sum::<i64>() + 1000,
            payable: payable.clone(),
            shipping: 1000,
        },
        step: wit::StepContext {
            threshold_base: wit::ThresholdBase::Current,
        },
        config: config.to_owned(),
        ..cart.to_wire(&all)
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
            let mut input = Input::decode(black_box(&native_wire));
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
        let input = wasm_input(config);
        c.bench_function(&format!("step/wasm/{name}"), |b| {
            b.iter(|| sandbox().evaluate(p, black_box(&input)).result.unwrap())
        });
        c.bench_function(&format!("step/native/{name}"), |b| {
            b.iter(|| {
                let mut native = Input::decode(black_box(&native_wire));
                native.config = config;
                native_evaluate(name, &native).unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
