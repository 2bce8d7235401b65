//! The example plugins built from `plugins/` by this crate's build script (embedded in the
//! binary), and a demo plan and cart that use them. They back `plaza serve --demo`,
//! `plaza demo`, the end-to-end tests and the benchmarks.

use crate::executor::{Cart, Plan};
use crate::sandbox::{Plugin, Sandbox};
use anyhow::Context as _;

include!(concat!(env!("OUT_DIR"), "/example_plugins.rs"));

/// A demo plan: member price → 满减 → coupon → free shipping → promoter commission.
pub const DEMO_PLAN: &str = include_str!("../demo/plan.json");
/// A demo cart for [`DEMO_PLAN`]: three lines, a gold member, a promoter, a coupon.
pub const DEMO_CART: &str = include_str!("../demo/cart.json");

/// The component bytes of example plugin `name` (the crate name, e.g. `store-coupon`).
pub fn component(name: &str) -> anyhow::Result<Vec<u8>> {
    EXAMPLE_PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| bytes.to_vec())
        .with_context(|| format!("no example plugin {name}"))
}

/// Load every example plugin.
pub fn load_examples(sandbox: &Sandbox) -> anyhow::Result<Vec<Plugin>> {
    EXAMPLE_PLUGINS
        .iter()
        .map(|(name, bytes)| {
            sandbox
                .load(bytes)
                .with_context(|| format!("loading {name}"))
        })
        .collect()
}

/// The demo plan, parsed.
pub fn demo_plan() -> Plan {
    serde_json::from_str(DEMO_PLAN).expect("demo plan is valid JSON")
}

/// The demo cart, parsed.
pub fn demo_cart() -> Cart {
    serde_json::from_str(DEMO_CART).expect("demo cart is valid JSON")
}

/// Find `name@version` among `plugins`.
pub fn find(plugins: &[Plugin], name: &str, version: &str) -> Option<Plugin> {
    plugins
        .iter()
        .find(|p| p.descriptor.name == name && p.descriptor.version == version)
        .cloned()
}
