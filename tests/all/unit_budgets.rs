//! Budgets in units through the real server on sled: a flash sale of 100 units never
//! oversells under 200 racing commits of 1–3 units, and a per-buyer unit limit (限购)
//! holds across a buyer's orders and is given back by a cancel; refunded units go back to
//! a budget that releases on refund, and stay sold in one that does not.

use plaza_tests::server::*;
use serde_json::{Value, json};

/// One line of `quantity` teapots at 200.00 (the flash step's threshold is 100.00).
fn cart(buyer: &str, quantity: u32) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "teapot", "merchant": "teahouse", "quantity": quantity,
                   "unit_price": 20000}],
        "buyer": {"id": buyer},
        "now_ms": 1_790_000_000_000i64,
    })
}

/// The flash step's units in `order` (its lines' quantities, when it applied).
fn flash_units(order: &Value) -> u64 {
    order["quote"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            (l["adjustments"].as_array().unwrap().iter()).any(|a| a["step"] == "flash-manjian")
        })
        .map(|l| l["quantity"].as_u64().unwrap())
        .sum()
}

fn units_used(shop: &Api) -> i64 {
    shop.get("/v1/plans/flash/budgets").body[0]["units"]
        .as_i64()
        .unwrap()
}

#[test]
fn two_hundred_racing_commits_of_one_to_three_units_never_oversell_a_hundred() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_units": 100})));
    let answers = race(10, 20, |n| {
        let quantity = u32::try_from(n % 3 + 1).unwrap();
        let req = commit_request(
            &format!("o-{n}"),
            "flash",
            &cart(&format!("b-{n}"), quantity),
        );
        shop.post("/v1/orders", &req)
    });
    let mut sold = 0;
    for a in &answers {
        match a.status {
            201 => sold += flash_units(&a.body),
            409 => assert_eq!(a.error_type(), "budget_exhausted", "{}", a.text),
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert!(sold <= 100, "oversold: {sold}");
    assert!(
        sold >= 98,
        "a cart of 1–3 units fits until fewer than 3 are left: {sold}"
    );
    assert_eq!(
        units_used(&shop),
        i64::try_from(sold).unwrap(),
        "the counter is the orders'"
    );
    // The quote says so when a cart no longer fits.
    let q = shop.post("/v1/plans/flash/quote", &cart("b-late", 3));
    let step = &q.body["explanation"][0];
    assert_eq!(
        (&step["outcome"], &step["reason"]["limit"]),
        (&json!("not_applied"), &json!("units")),
        "{step}"
    );
}

#[test]
fn a_buyers_unit_limit_holds_across_orders_and_a_cancel_gives_units_back() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    let budget = json!({"max_units_per_buyer": 3, "release": {"on_cancel": true}});
    shop.apply(&budget_plan("flash", budget));
    let commit = |id: &str, buyer: &str, quantity: u32| {
        let placed = shop.post(
            "/v1/orders",
            &commit_request(id, "flash", &cart(buyer, quantity)),
        );
        assert_eq!(placed.status, 201, "{}", placed.text);
        flash_units(&placed.body)
    };
    assert_eq!(commit("o-1", "b-1", 2), 2);
    assert_eq!(
        commit("o-2", "b-1", 2),
        0,
        "2 + 2 is over 限购 3: no discount"
    );
    assert_eq!(commit("o-3", "b-1", 1), 1, "2 + 1 fits");
    assert_eq!(commit("o-4", "b-2", 3), 3, "another buyer's own 3");
    let cancelled = shop.post("/v1/orders/o-1/cancel", &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(commit("o-5", "b-1", 2), 2, "the cancel gave 2 back");
    assert_eq!(units_used(&shop), 1 + 3 + 2);
    // Out of range at save.
    let bad = shop.post("/v1/plans", &budget_plan("bad", json!({"max_units": 0})));
    assert_eq!(bad.status, 422, "{}", bad.text);
}

#[test]
fn refunded_units_go_back_to_the_flash_sale_when_its_budget_releases_on_refund() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_units": 5})));
    let mut keep = budget_plan(
        "keep",
        json!({"max_units": 5, "release": {"on_refund": false}}),
    );
    keep["steps"][0]["id"] = "flash-manjian".into();
    shop.apply(&keep);
    let commit = |id: &str, plan: &str, quantity: u32| {
        let placed = shop.post("/v1/orders", &commit_request(id, plan, &cart(id, quantity)));
        assert_eq!(placed.status, 201, "{}", placed.text);
        flash_units(&placed.body)
    };
    let refund = |order: &str, id: &str, quantity: u32| {
        let answer = shop.post(
            &format!("/v1/orders/{order}/refunds"),
            &json!({"refund_id": id, "lines": [{"line": "l1", "quantity": quantity}]}),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
    };
    let used = |plan: &str| shop.get(&format!("/v1/plans/{plan}/budgets")).body[0]["units"].clone();
    for plan in ["flash", "keep"] {
        assert_eq!(commit(&format!("{plan}-1"), plan, 3), 3);
        refund(&format!("{plan}-1"), "r-1", 2);
    }
    assert_eq!(used("flash"), 1, "two of three units came back");
    assert_eq!(used("keep"), 3, "this budget keeps what it sold");
    assert_eq!(commit("flash-2", "flash", 4), 4, "1 + 4 fits the 5");
    assert_eq!(commit("keep-2", "keep", 4), 0, "3 + 4 does not");
    // The last unit of the first order: it was the only one still held.
    refund("flash-1", "r-2", 1);
    assert_eq!(used("flash"), 4);
}
