//! Budgets by day through the real server on sled, on a manual clock: orders and money per
//! day in the merchant's time zone, held under racing commits, turned over at the zone's
//! midnight (not UTC's), given back to the day that spent them, and kept across a restart.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

/// 2026-12-06 23:50 in UTC+8 (15:50 UTC): ten minutes before the merchant's midnight,
/// and well inside the 30 minutes an unpaid order waits before it expires (and gives its
/// budget back).
const LATE_EVENING: i64 = 1_796_572_200_000;
const TO_MIDNIGHT_MS: i64 = 600_000;

/// A 200.00 teapot: the flash step takes 10.00 off.
fn cart(buyer: &str) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "teapot", "merchant": "teahouse", "quantity": 1,
                   "unit_price": 20000}],
        "buyer": {"id": buyer},
        "now_ms": LATE_EVENING,
    })
}

/// Commit order `id`: whether the flash step gave its 10.00 off.
fn discounted(shop: &Api, id: &str) -> bool {
    let placed = shop.post("/v1/orders", &commit_request(id, "flash", &cart(id)));
    assert_eq!(placed.status, 201, "{}", placed.text);
    placed.body["quote"]["total"]["discount"] == 1000
}

/// Today's use of the flash step's day budget: (date, orders, amount).
fn today(shop: &Api) -> (String, i64, i64) {
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.status, 200, "{}", usage.text);
    let t = &usage.body[0]["today"];
    (
        t["day"].as_str().unwrap().to_owned(),
        t["orders"].as_i64().unwrap(),
        t["amount"].as_i64().unwrap(),
    )
}

fn shop(budget: Value) -> (ManualClock, Server, Api) {
    let clock = ManualClock::at(LATE_EVENING);
    // The rate limiter runs on the host clock too, which these tests also turn back.
    let server = Server::start_with_clock(|c| c.rate_limit.requests_per_second = 0, clock.clone());
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", budget));
    (clock, server, shop)
}

#[test]
fn racing_commits_never_pass_a_days_orders_and_the_merchants_midnight_refills_them() {
    let (clock, server, shop) = shop(json!({"max_orders_per_day": 20}));
    let answers = race(10, 5, |n| {
        let id = format!("o-{n}");
        shop.post("/v1/orders", &commit_request(&id, "flash", &cart(&id)))
    });
    let mut given = 0;
    for a in &answers {
        match a.status {
            201 => given += i64::from(a.body["quote"]["total"]["discount"] == 1000),
            409 => assert_eq!(a.error_type(), "budget_exhausted", "{}", a.text),
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert_eq!(given, 20, "exactly the day's 20 orders got the discount");
    assert_eq!(
        today(&shop),
        ("2026-12-06".to_owned(), 20, 0),
        "money is uncapped"
    );
    let quote = shop.post("/v1/plans/flash/quote", &cart("late"));
    let step = &quote.body["explanation"][0];
    assert_eq!(step["reason"]["limit"], "orders_per_day", "{step}");

    // A cancel gives its order back to the day.
    let cancelled = shop.post("/v1/orders/o-0/cancel", &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert!(discounted(&shop, "after-cancel"));
    assert!(!discounted(&shop, "over"));

    // Counters are durable; midnight in UTC+8 (16:00 UTC), not UTC's, starts a new day.
    let server = server.restart();
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    clock.advance(TO_MIDNIGHT_MS - 1);
    assert!(!discounted(&shop, "still-the-6th"));
    clock.advance(1);
    assert_eq!(today(&shop), ("2026-12-07".to_owned(), 0, 0));
    assert!(discounted(&shop, "the-7th"));
    assert_eq!(today(&shop).1, 1);
}

#[test]
fn a_days_money_is_given_back_to_that_day_by_a_refund_on_the_next() {
    let (clock, _server, shop) = shop(json!({"max_amount_per_day": 2500}));
    assert!(discounted(&shop, "o-1"));
    assert!(discounted(&shop, "o-2"));
    assert!(
        !discounted(&shop, "o-3"),
        "10.00 more is over the day's 25.00"
    );
    assert_eq!(today(&shop), ("2026-12-06".to_owned(), 0, 2000));

    clock.advance(TO_MIDNIGHT_MS);
    assert!(discounted(&shop, "o-4"));
    let refunded = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text);
    assert_eq!(
        today(&shop),
        ("2026-12-07".to_owned(), 0, 1000),
        "the refund is not the 7th's"
    );
    clock.set(LATE_EVENING);
    assert_eq!(
        today(&shop),
        ("2026-12-06".to_owned(), 0, 1000),
        "the 6th's"
    );

    // Out of range at save.
    let bad = budget_plan("bad", json!({"max_amount_per_day": 0}));
    let refused = shop.post("/v1/plans", &bad);
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.body["error"]["field"], "steps[0].budget.max_amount_per_day",
        "{}",
        refused.text
    );
}
