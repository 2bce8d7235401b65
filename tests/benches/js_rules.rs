//! A JavaScript rule against its Rust twin: one evaluation of 满减 (`threshold-discount`,
//! tiers) on a 3-line and a 20-line cart, each in a fresh instance as on every quote;
//! compiling the JavaScript component once (printed), and loading it from the artifact
//! cache.
//!
//! Run: `cargo bench -p plaza-tests --bench js_rules` (needs node and npm; says so and
//! stops without them)

use criterion::{Criterion, criterion_group, criterion_main};
use plaza::executor::Cart;
use plaza::sandbox::{ArtifactCache, Limits, Sandbox};
use plaza_plugin_sdk::ThresholdBase;
use plaza_plugin_sdk::wire::{StepFields, encode_step};
use plaza_tests::{js, plugin, sandbox};
use serde_json::json;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TIERS: &str = r#"{"mode":"tiers","tiers":[{"threshold":30000,"discount":3000},{"threshold":50000,"discount":6000}]}"#;

fn input(lines: usize) -> (Vec<u8>, Vec<u8>) {
    let lines: Vec<_> = (0..lines)
        .map(|i| json!({"id": format!("l{i}"), "sku": format!("sku-{i}"), "merchant": "m-1",
                        "categories": ["tea"], "quantity": 1 + i % 3, "unit_price": 4_900 + 100 * i}))
        .collect();
    let cart: Cart =
        serde_json::from_value(json!({"lines": lines, "buyer": {"id": "b-1"}, "now_ms": 0}))
            .expect("a cart");
    let visible: Vec<u32> = (0..cart.lines.len() as u32).collect();
    let payable: Vec<i64> = (cart.lines.iter())
        .map(|l| l.unit_price.0 * i64::from(l.quantity))
        .collect();
    let mut step = Vec::new();
    encode_step(
        &StepFields {
            visible: &visible,
            payable: &payable,
            shipping: 0,
            order_total: payable.iter().sum(),
            threshold_base: ThresholdBase::Current,
            config: TIERS,
        },
        &mut step,
    );
    (cart.encode(), step)
}

fn js_rules(c: &mut Criterion) {
    let Some(bytes) = js::component("plugins/js/threshold-discount") else {
        return;
    };
    let js = sandbox().load(&bytes).expect("the JavaScript rule loads");
    let rust = plugin("threshold-discount");
    for lines in [3, 20] {
        let (cart, step) = input(lines);
        let (a, b) = (
            sandbox().evaluate(rust, &cart, &step),
            sandbox().evaluate(&js, &cart, &step),
        );
        assert_eq!(a.result, b.result, "the twins agree");
        println!("{lines} lines: fuel rust {} js {}", a.fuel, b.fuel);
        let mut group = c.benchmark_group(format!("js_rules/{lines}_lines"));
        group.bench_function("rust", |b| {
            b.iter(|| sandbox().evaluate(rust, &cart, &step))
        });
        group.bench_function("javascript", |b| {
            b.iter(|| sandbox().evaluate(&js, &cart, &step))
        });
        group.finish();
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cache = || Some(ArtifactCache::new(dir.path().to_path_buf()).expect("a cache"));
    let compiling = std::time::Instant::now();
    Sandbox::new(Limits::default(), cache())
        .unwrap()
        .load(&bytes)
        .expect("compiled");
    let bytes_len = bytes.len();
    println!(
        "compiling the JavaScript rule ({bytes_len} bytes), once: {:?}",
        compiling.elapsed()
    );
    let warm = Sandbox::new(Limits::default(), cache()).unwrap();
    c.bench_function("js_rules/load_from_cache", |b| {
        b.iter(|| warm.load(&bytes).expect("cached"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = js_rules
}
criterion_main!(benches);
