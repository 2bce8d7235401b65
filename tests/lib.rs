//! Shared helpers for Plaza's end-to-end tests and benchmarks: one sandbox and every plugin
//! built from `plugins/`, loaded once per process.

pub mod bench;
pub mod fuzz;
pub mod js;
pub mod pg;
pub mod server;
pub mod sim;

use plaza::examples;
use plaza::executor::{self, Cart, Plan, PreparedPlan, Quote, QuoteError};
use plaza::sandbox::{Limits, Plugin, Sandbox};
use std::sync::OnceLock;

/// The shared sandbox with default limits.
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::new(Limits::default(), None).expect("sandbox"))
}

include!(concat!(env!("OUT_DIR"), "/test_programs.rs"));

/// The component bytes of `name`: an example plugin from `plugins/` or a test program
/// from `tests/programs/`.
pub fn component(name: &str) -> Vec<u8> {
    examples::EXAMPLE_PLUGINS
        .iter()
        .chain(TEST_PROGRAMS)
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| bytes.to_vec())
        .unwrap_or_else(|| panic!("no plugin or test program {name}"))
}

/// Every example plugin and test program that loads (all but the one with a forbidden
/// import).
pub fn plugins() -> &'static [Plugin] {
    static PLUGINS: OnceLock<Vec<Plugin>> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        examples::EXAMPLE_PLUGINS
            .iter()
            .chain(TEST_PROGRAMS)
            .filter(|(name, _)| *name != "hostile-import")
            .map(|(name, bytes)| {
                sandbox()
                    .load(bytes)
                    .unwrap_or_else(|e| panic!("loading {name}: {e}"))
            })
            .collect()
    })
}

/// The loaded plugin named `name`.
pub fn plugin(name: &str) -> &'static Plugin {
    plugins()
        .iter()
        .find(|p| p.descriptor.name == name)
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

/// Prepare a plan given as JSON against the loaded plugins, in `sandbox`.
pub fn prepare_in(
    sandbox: &Sandbox,
    plan: serde_json::Value,
) -> Result<PreparedPlan, executor::PlanError> {
    let plan: Plan = serde_json::from_value(plan).expect("plan JSON matches the plan type");
    executor::prepare(&plan, sandbox, |r| {
        examples::find(plugins(), &r.name, &r.version)
    })
}

/// Prepare a plan given as JSON; panics if it is refused.
pub fn prepare(plan: serde_json::Value) -> PreparedPlan {
    prepare_in(sandbox(), plan).expect("plan prepares")
}

/// A one-step plan: `plugin` (version of the loaded plugin) with `config`, plus `extra` step
/// fields (scope, stacking …).
pub fn one_step(plugin_name: &str, config: serde_json::Value) -> PreparedPlan {
    let version = plugin(plugin_name).descriptor.version.clone();
    prepare(serde_json::json!({
        "id": "p", "steps": [{"id": "s1", "plugin": {"name": plugin_name, "version": version}, "config": config}]
    }))
}

/// Parse a cart from JSON.
pub fn cart(json: serde_json::Value) -> Cart {
    serde_json::from_value(json).expect("cart JSON matches the cart type")
}

/// A cart of `lines` lines (skus `sku-0` …, prices varied, one category each), gold
/// member, promoter-attributed, presenting coupon `SAVE20`, shipping 10.00.
pub fn sample_cart(lines: usize) -> Cart {
    let lines: Vec<serde_json::Value> = (0..lines)
        .map(|i| {
            serde_json::json!({
                "id": format!("l{i}"), "sku": format!("sku-{i}"), "merchant": "m-1",
                "categories": [if i % 2 == 0 { "tea" } else { "teaware" }],
                "quantity": 1 + (i % 3) as u32, "unit_price": 1_990 + (i as i64 * 737) % 20_000
            })
        })
        .collect();
    cart(serde_json::json!({
        "lines": lines,
        "buyer": {"id": "b-1", "member_tier": "gold"},
        "attribution": {"promoter": "p-1"},
        "coupon_codes": ["SAVE20"],
        "shipping_fee": 1000,
        "now_ms": 1_795_000_000_000i64
    }))
}

/// A five-step plan over the sample cart: member price → 满减 → coupon → free shipping →
/// promoter commission (the benchmark's plan).
pub fn five_step_plan() -> PreparedPlan {
    prepare(serde_json::json!({
        "id": "bench", "steps": [
            {"id": "member", "plugin": {"name": "member-price", "version": "1.0.0"},
             "config": {"tiers": {"gold": {"rate": 950000, "prices": {"sku-1": 1500}}}}},
            {"id": "manjian", "plugin": {"name": "threshold-discount", "version": "1.0.0"},
             "config": {"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}, {"threshold": 60000, "discount": 7000}]}},
            {"id": "coupon", "plugin": {"name": "store-coupon", "version": "1.0.0"},
             "config": {"code": "SAVE20", "value": {"fixed": 2000}, "min_spend": 10000}},
            {"id": "shipping", "plugin": {"name": "free-shipping", "version": "1.0.0"},
             "config": {"threshold": 9900}},
            {"id": "commission", "plugin": {"name": "promoter-commission", "version": "1.0.0"},
             "config": {"default_rate": 50000, "rates": {"sku-3": 100000}}}
        ]
    }))
}

/// Quote through the shared sandbox.
pub fn quote(plan: &PreparedPlan, cart: &Cart) -> Result<Quote, QuoteError> {
    executor::quote(sandbox(), plan, cart)
}

/// Every invariant a quote must satisfy, whatever the plugins proposed.
pub fn assert_reconciles(q: &Quote) {
    for line in &q.lines {
        assert!(
            line.payable.0 >= 0,
            "line {} negative: {:?}",
            line.id,
            line.payable
        );
        assert_eq!(
            line.original - line.discount,
            line.payable,
            "line {}",
            line.id
        );
        let adjusted: plaza::Money = line.adjustments.iter().map(|a| a.amount).sum();
        assert_eq!(adjusted, line.discount, "line {} adjustments", line.id);
        assert!(line.adjustments.iter().all(|a| a.amount.0 > 0));
    }
    let sum = |f: fn(&executor::quote::QuotedLine) -> plaza::Money| {
        q.lines.iter().map(f).sum::<plaza::Money>()
    };
    assert_eq!(q.items.original, sum(|l| l.original));
    assert_eq!(q.items.payable, sum(|l| l.payable));
    assert_eq!(q.items.discount, sum(|l| l.discount));
    assert!(q.shipping.payable.0 >= 0);
    assert_eq!(q.total.payable, q.items.payable + q.shipping.payable);
    assert_eq!(q.total.original - q.total.discount, q.total.payable);
    let step_discounts: plaza::Money = q.explanation.iter().map(|s| s.discount).sum();
    assert_eq!(
        step_discounts, q.total.discount,
        "explanation discounts reconcile with the totals"
    );
    // Every commission line is a step's, the merchant's or a layer's, or one of the host's
    // own shares of a layered quote (an offer's service rate, a pool's helper rate).
    use plaza::domain::market::{OFFER_STEP, POOL_STEP};
    let host_share = |step: &str| step.starts_with(OFFER_STEP) || step.starts_with(POOL_STEP);
    let commissions: plaza::Money = q
        .commissions
        .iter()
        .filter(|c| !host_share(&c.step))
        .map(|c| c.amount)
        .sum();
    let step_commissions: plaza::Money = q
        .explanation
        .iter()
        .chain(q.layers.iter().flat_map(|l| &l.explanation))
        .map(|s| s.commission)
        .sum();
    assert_eq!(commissions, step_commissions);
    // What flowed in and out of each layer is what its tenant's lines say.
    for layer in &q.layers {
        let holds = |role: &String| layer.roles.contains(role);
        let received: plaza::Money = q
            .commissions
            .iter()
            .filter(|c| c.beneficiary == layer.tenant && holds(&c.payee))
            .map(|c| c.amount)
            .sum();
        let paid: plaza::Money = q
            .commissions
            .iter()
            .filter(|c| holds(&c.payer))
            .map(|c| c.amount)
            .sum();
        assert_eq!(
            (layer.received, layer.paid_out),
            (received, paid),
            "{}",
            layer.tenant
        );
        assert!(
            paid <= received,
            "{} paid out more than it received",
            layer.tenant
        );
    }
    for c in &q.commissions {
        let line = q
            .lines
            .iter()
            .find(|l| *l.id == *c.line)
            .expect("commission on a real line");
        assert!(c.amount.0 > 0 && c.amount <= line.payable.rate_floor(plaza::Ppm(900_000)));
    }
}
