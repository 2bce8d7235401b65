//! # Plaza host
//!
//! Runs merchant-authored promotion, pricing and commission rules, compiled to WebAssembly
//! components, in a sandbox on every cart. Layers, each depending only on those below:
//!
//! - [`api`]: JSON over HTTP (axum): authentication, strict parsing, structured errors,
//!   OpenAPI, metrics. [`server`] serves it; [`client`] is the CLI's side of it.
//! - [`domain`]: tenants and keys, the plugin registry, plan versions and activation,
//!   quotes, orders with budgets, the ledger, the circuit breaker.
//! - [`executor`]: plans (ordered, staged steps) and quoting a cart through one. It
//!   validates every plugin proposal against the host's invariants ("plugins propose, the
//!   host disposes"), allocates order discounts to the fen and explains every step.
//! - [`sandbox`]: loading and running untrusted components under fuel, time, memory,
//!   output and log limits.
//! - [`store`]: the storage interface under the domain, with sled (embedded) behind it.
//! - [`clock`]: the host's injectable time (rules get theirs from the request).
//! - [`shape`]: what ids, texts and bounded numbers in requests may be, checked and documented alike.
//!
//! Money is [`Money`] (integer fen) and rates [`Ppm`] (parts per million) throughout,
//! shared with the plugin SDK.

pub mod api;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod domain;
pub mod examples;
pub mod executor;
pub mod fixtures;
pub mod metrics;
pub mod sandbox;
pub mod server;
pub mod shape;
pub mod store;

pub use plaza_plugin_sdk::{MAX_UNIT_PRICE, Money, Ppm, allocate};

/// The stable `type` of a serde-tagged error enum (`#[serde(tag = "type")]`), as its JSON
/// form spells it.
pub fn error_type(error: &impl serde::Serialize) -> Option<String> {
    serde_json::to_value(error)
        .ok()?
        .get("type")?
        .as_str()
        .map(str::to_owned)
}
