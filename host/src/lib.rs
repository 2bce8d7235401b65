//! # Plaza host
//!
//! Runs merchant-authored promotion, pricing and commission rules, compiled to WebAssembly
//! components, in a sandbox on every cart. Layers, each depending only on those below:
//!
//! - [`executor`]: plans (ordered, staged steps) and quoting a cart through one. It
//!   validates every plugin proposal against the host's invariants ("plugins propose, the
//!   host disposes"), allocates order discounts to the fen and explains every step.
//! - [`sandbox`]: loading and running untrusted components under fuel, time, memory,
//!   output and log limits.
//!
//! Money is [`Money`] (integer fen) and rates [`Ppm`] (parts per million) throughout,
//! shared with the plugin SDK.

pub mod examples;
pub mod executor;
pub mod sandbox;

pub use plaza_plugin_sdk::{Money, Ppm, allocate};
