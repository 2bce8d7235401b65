//! Steps live only some hours of each day, judged in the merchant's time zone (its order
//! settings), through the real server: a 10:00–12:00 flash 满减 in Beijing time, one
//! across midnight, and the same plan after the merchant moves its zone.

use plaza_tests::server::*;
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;
/// A UTC midnight (2026-11-30).
const DAY: i64 = 20_422 * 24 * HOUR;

fn plan(from_minute: u16, until_minute: u16) -> Value {
    let mut plan = budget_plan("hours", json!({"max_orders": 1_000}));
    plan["steps"][0]["window"] =
        json!({"daily": {"from_minute": from_minute, "until_minute": until_minute}});
    plan
}

/// One teapot at 200.00 at time `at`: the step takes 10.00 off when it is live.
fn payable_at(shop: &Api, at: i64) -> i64 {
    let cart = json!({
        "lines": [{"id": "l1", "sku": "teapot", "merchant": "teahouse", "quantity": 1,
                   "unit_price": 20_000}],
        "buyer": {"id": "b-1"},
        "now_ms": at,
    });
    let q = shop.post("/v1/plans/hours/quote", &cart);
    assert_eq!(q.status, 200, "{}", q.text);
    if q.body["total"]["payable"] == 20_000 {
        assert_eq!(q.body["explanation"][0]["reason"]["type"], "outside_window");
    }
    q.body["total"]["payable"].as_i64().unwrap()
}

#[test]
fn daily_hours_follow_the_merchants_time_zone() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&plan(600, 720));
    // 10:00–12:00 in Beijing (UTC+8, the default) is 02:00–04:00 UTC.
    let live: Vec<i64> = [1, 2, 3, 4, 10]
        .iter()
        .map(|h| payable_at(&shop, DAY + h * HOUR))
        .collect();
    assert_eq!(live, [20_000, 19_000, 19_000, 20_000, 20_000]);
    assert_eq!(
        payable_at(&shop, DAY + 4 * HOUR - 1),
        19_000,
        "until is exclusive"
    );

    // The merchant moves to UTC: the same hours are 10:00–12:00 UTC.
    let settings = shop.get("/v1/settings/orders").body;
    assert_eq!(settings["utc_offset_minutes"], 480);
    let mut moved = settings.clone();
    moved["utc_offset_minutes"] = json!(0);
    assert_eq!(shop.put("/v1/settings/orders", &moved).status, 200);
    assert_eq!(payable_at(&shop, DAY + 2 * HOUR), 20_000);
    assert_eq!(payable_at(&shop, DAY + 11 * HOUR), 19_000);
    moved["utc_offset_minutes"] = json!(15 * 60);
    let refused = shop.put("/v1/settings/orders", &moved);
    assert_eq!(refused.status, 422, "{}", refused.text);

    // A night sale across midnight: 22:00–02:00 local (UTC−5 through the command line).
    shop.apply(&plan(22 * 60, 2 * 60));
    let base = server.base.clone();
    let key = shop.key.clone().unwrap();
    let set = crate::plaza_cli(&[
        "settings",
        "--server",
        &base,
        "--key",
        &key,
        "--utc-offset-minutes",
        "-300",
    ]);
    assert_eq!(set["utc_offset_minutes"], -300);
    // 22:00–02:00 at UTC−5 is 03:00–07:00 UTC.
    let night: Vec<i64> = [2, 3, 6, 7]
        .iter()
        .map(|h| payable_at(&shop, DAY + h * HOUR))
        .collect();
    assert_eq!(night, [20_000, 19_000, 19_000, 20_000]);

    // Hours out of range are refused when the plan is saved.
    let bad = shop.post("/v1/plans", &plan(600, 1_441));
    assert!([400, 422].contains(&bad.status), "{}", bad.text);
}
