//! Request examples in the document, taken from the demo (the plan and cart that
//! `plaza serve --demo` sets up), so a reader — or a tester's examples phase — starts from
//! requests that work against the demo server.

use crate::examples::{demo_cart, demo_plan};
use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

/// The demo's ids, as path parameter examples.
const PATH_EXAMPLES: &[(&str, &str)] = &[
    ("plan", "teahouse-autumn"),
    ("order", "order-1"),
    ("recipient", "amy"),
    ("tenant", "demo"),
    ("name", "store-coupon"),
    ("version", "1.0.0"),
    ("settlement", "settlement-1"),
    ("beneficiary", "p-1001"),
    ("promoter", "p-1001"),
    ("touch", "demo-touch-1"),
    ("buyer", "b-42"),
    ("offer", "teaware"),
    ("pool", "autumn"),
    ("carrier", "demo-agency"),
    ("event", "double-12"),
    ("participant", "demo"),
];

/// The demo's value for path parameter `name` of `path`.
pub fn path_example(path: &str, name: &str) -> Option<Value> {
    if name == "version" && path.starts_with("/v1/plans/") {
        return Some(json!(1));
    }
    let (_, value) = PATH_EXAMPLES.iter().find(|(n, _)| *n == name)?;
    Some(json!(value))
}

fn body_example(operation: &str) -> Option<Value> {
    let cart = serde_json::to_value(demo_cart()).ok()?;
    Some(match operation {
        "save_plan" => serde_json::to_value(demo_plan()).ok()?,
        "quote" => cart,
        "commit_order" => json!({
            "order_id": "order-1",
            "plan": "teahouse-autumn",
            "cart": cart,
            "expected_payable": 58475,
        }),
        "refund_order" => {
            json!({"refund_id": "refund-1", "lines": [{"line": "l1", "quantity": 1}]})
        }
        "activate_plan" => json!({"version": 1}),
        "shadow_plan" | "set_live_shadow" => json!({"version": 1}),
        "set_recording_settings" => {
            json!({"enabled": true, "every": 10, "keep": 1000, "keep_ms": 604800000})
        }
        "accept_gift" => json!({"switch": []}),
        "create_tenant" => json!({"id": "teahouse", "name": "Teahouse", "kind": "merchant"}),
        "create_key" => json!({"role": "checkout", "name": "checkout-prod"}),
        "run_settlement" => json!({"settlement_id": "settlement-1", "until_ms": 1795000000000_i64}),
        "create_beneficiary_key" => json!({"name": "p-1001's phone"}),
        "invite_promoter" => json!({"id": "p-1002", "kind": "promoter", "name": "Lin"}),
        "record_touch" => json!({
            "touch_id": "touch-2",
            "buyer": "b-42",
            "promoter": "p-1001",
            "share_link": "s-77",
            "at_ms": 1794900000000_i64,
        }),
        "save_offer" => json!({
            "spus": ["teapot-yixing"],
            "categories": ["tea"],
            "service_rate_ppm": 100000,
        }),
        "save_pool" => json!({
            "name": "Autumn tea picks",
            "items": [{"merchant": "demo", "offer": "teaware"}],
            "helper_rate_ppm": 300000,
        }),
        "set_attribution_settings" => json!({
            "source": "touches",
            "lock_days": 30,
            "model": "first_touch",
            "scope": "store",
            "order_extends_lock": false,
        }),
        "create_coupon" => json!({
            "id": "tea30-live",
            "name": "30 off tea, live room only",
            "plan": "teahouse-autumn",
            "step": "tea-coupon",
            "code": "TEA30",
            "stock": 100,
            "validity": {"days_from_claim": {"days": 7}},
            "bindings": {"channel": "live_room"},
        }),
        "claim_coupon" | "claim_coupon_code" => json!({
            "claim_id": "claim-2",
            "buyer": {"id": "b-42", "member_tier": "gold"},
            "channel": "live_room",
        }),
        "issue_coupon_codes" => json!({"batch_id": "batch-1", "count": 10}),
        "set_points_settings" => json!({
            "earn_rate_ppm": 10000,
            "exchange": {"points": 100, "fen": 100},
            "max_share_ppm": 300000,
            "validity_days": 365,
        }),
        "create_incentive" => json!({
            "id": "double-12",
            "name": "12.12 GMV incentive",
            "who": ["merchant", "livestreamer"],
            "registration_from_ms": 1795000000000_i64,
            "registration_until_ms": 1795600000000_i64,
            "from_ms": 1795000000000_i64,
            "until_ms": 1796000000000_i64,
            "conditions": {"channels": ["live_room"],
                           "facts": [{"name": "live_preview_published", "at_least": 1}]},
            "tiers": [
                {"gmv": 1000000, "instant": {"kind": "cash", "amount": 10000}},
                {"gmv": 5000000, "instant": {"kind": "cash", "amount": 60000},
                 "post_event": {"kind": "growth_card", "units": 10}},
            ],
        }),
        "review_incentive_registration" => json!({"approve": true}),
        "grant_points" => json!({"grant_id": "welcome-b-42", "points": 500, "reason": "welcome"}),
        _ => return None,
    })
}

/// Adds the demo's requests to the operations that take them.
pub struct Samples;

impl utoipa::Modify for Samples {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                let id = op.operation_id.clone().unwrap_or_default();
                if let (Some(body), Some(example)) = (op.request_body.as_mut(), body_example(&id))
                    && let Some(content) = body.content.get_mut("application/json")
                {
                    content.example = Some(example);
                }
            }
        }
    }
}
