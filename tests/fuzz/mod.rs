//! The checks behind Plaza's fuzz targets, one per way untrusted bytes come in.
//!
//! Each check takes the fuzzer's bytes and panics only when Plaza broke a promise: a panic
//! inside Plaza, an accepted input that breaks an invariant, or an answer that is not the
//! typed one. Refusing bad input is what every check expects most of the time. The
//! `fuzz/` crate runs these under libFuzzer (`cargo +nightly fuzz run <target>`); the
//! workspace test `fuzz_corpus` replays every committed corpus file through the same
//! check on the stable toolchain, so a fixed crash stays fixed without a fuzzer.

mod accrual;
mod cart;
mod component;
mod dispose;
mod plan;
mod router;
mod wire;

pub use wire::seeds as wire_seeds;

/// The first step's input over every line of `cart`: each line at its original price,
/// the order total with shipping, as the executor encodes it before any step has run.
fn whole_cart_step(
    cart: &plaza::executor::Cart,
    threshold_base: plaza_plugin_sdk::ThresholdBase,
    config: &str,
) -> Vec<u8> {
    use plaza_plugin_sdk::wire::{StepFields, encode_step};
    let visible: Vec<u32> =
        (0..u32::try_from(cart.lines.len()).expect("at most 500 lines")).collect();
    let payable: Vec<i64> = cart.lines.iter().map(|l| l.original().0).collect();
    let mut step = Vec::new();
    encode_step(
        &StepFields {
            visible: &visible,
            payable: &payable,
            shipping: cart.shipping_fee.0,
            order_total: payable.iter().sum::<i64>() + cart.shipping_fee.0,
            threshold_base,
            config,
        },
        &mut step,
    );
    step
}

/// A check: panics when Plaza broke a promise on these bytes.
pub type Check = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` folder) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("cart", cart::check),
    ("plan", plan::check),
    ("dispose", dispose::check),
    ("wire", wire::check),
    ("component", component::check),
    ("router", router::check),
    ("accrual", accrual::check),
];

/// The check named `name`.
pub fn target(name: &str) -> Check {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, check)| *check)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}
