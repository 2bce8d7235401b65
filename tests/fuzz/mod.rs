//! The checks behind Plaza's fuzz targets, one per way untrusted bytes come in.
//!
//! Each check takes the fuzzer's bytes and panics only when Plaza broke a promise: a panic
//! inside Plaza, an accepted input that breaks an invariant, or an answer that is not the
//! typed one. Refusing bad input is what every check expects most of the time. The
//! `fuzz/` crate runs these under libFuzzer (`cargo +nightly fuzz run <target>`); the
//! workspace test `fuzz_corpus` replays every committed corpus file through the same
//! check on the stable toolchain, so a fixed crash stays fixed without a fuzzer.

mod cart;
mod component;
mod dispose;
mod plan;
mod router;
mod wire;

pub use wire::seeds as wire_seeds;

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
];

/// The check named `name`.
pub fn target(name: &str) -> Check {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, check)| *check)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}
