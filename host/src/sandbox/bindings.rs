//! Host-side bindings generated from the rule contract that ships with the SDK
//! (`plugin-sdk/wit/plaza-rules.wit`): the one file both sides read.

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit",
    world: "plaza:rules/rule",
});

pub use self::plaza::rules::types::*;

/// The interface names a plugin may import: the contract's, and nothing else.
pub const ALLOWED_IMPORTS: &[&str] = &["plaza:rules/types@0.1.0", "plaza:rules/host@0.1.0"];
