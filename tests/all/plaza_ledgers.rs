//! Each plaza layer is on its own books, through the real server on sled: the merchant's
//! checkout, orders, ledger, parties and report show what the merchant pays (the offer's
//! fee to the carrying agency) and nothing of what the agencies pass on; the merchant's
//! settlement run pays the carrier, the carrier's run pays the helper, the helper's run pays
//! its promoter; a refund after all three claws back on every books, and each next run
//! carries it. The story and its hand computation are `plaza_layers`'.

use super::plaza_layers::{D0, DAY, cart, share, shares, story, waterfall_plan};
use plaza::clock::Clock as _;
use plaza::domain::order_settings::DEFAULT_AFTER_SALE_MS;
use plaza_tests::server::*;
use serde_json::{Value, json};

fn settle(api: &Api, id: &str, until_ms: i64) -> Value {
    let run = api.post(
        "/v1/settlements",
        &json!({"settlement_id": id, "until_ms": until_ms}),
    );
    assert_eq!(run.status, 201, "{}", run.text);
    run.body
}

/// What `beneficiary` carries on the books of `ledger`, as `reader` sees it.
fn carried(reader: &Api, beneficiary: &str, ledger: &str) -> Value {
    let balance = reader.get(&format!("/v1/beneficiaries/{beneficiary}/balance"));
    assert_eq!(balance.status, 200, "{}", balance.text);
    balance.body["merchants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["merchant"] == ledger)
        .map_or(Value::Null, |m| m["figures"]["carried"].clone())
}

#[test]
fn each_layer_settles_its_own_shares_and_the_merchant_sees_only_its_books() {
    let s = story(Some(waterfall_plan(
        "h-plan",
        json!({"from": "helper_agency", "promoter": 500_000}),
    )));
    let c = Api::new(&s.server.base, &s.c_key);
    let p1 = &s.promoters[0];
    let placed = s.checkout.post(
        "/v1/orders",
        &commit_request("o-1", "p", &cart(D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    // The merchant's answers: its shares only, no layer, no agency's step or rate.
    let own = [
        share("offer:teaware", "l2", "merchant", "c", 2_990),
        share("offer:teaware", "l3", "merchant", "c", 1_797),
    ];
    let read = s.shop.get("/v1/orders/o-1");
    for order in [&placed, &read] {
        assert_eq!(shares(&order.body["quote"]["commissions"]), own);
        let payees: Vec<&Value> = order.body["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["payee"])
            .collect();
        assert_eq!(payees, [&json!("c"), &json!("c")]);
        assert!(order.body["quote"].get("layers").is_none());
        assert!(!order.text.contains("pass-on") && !order.text.contains("pool:"));
    }
    let ledger = s.shop.get("/v1/orders/o-1/ledger");
    let paid_to: Vec<&Value> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("party"))
        .collect();
    assert_eq!(paid_to, [&json!("c"), &json!("c")], "{}", ledger.text);
    let report = s.shop.get("/v1/reports/summary");
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(!report.text.contains("p-1") && !report.text.contains("\"h\""));
    let listed = s.shop.get("/v1/orders");
    assert_eq!(listed.body["items"][0]["commission"], 2_990 + 1_797);

    // Paid, shipped, received, and the after-sale window closes: every share is due.
    for kind in ["paid", "shipped", "received"] {
        let at = s.clock.now_ms();
        let event = s.checkout.post(
            "/v1/orders/o-1/events",
            &json!({"event_id": kind, "type": kind, "at_ms": at}),
        );
        assert_eq!(event.status, 200, "{kind}: {}", event.text);
    }
    s.clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    let started = std::time::Instant::now();
    while s.shop.get("/v1/orders/o-1").body["state"] != "completed" {
        assert!(started.elapsed().as_secs() < 20, "never completed");
        std::thread::yield_now();
    }
    let now = s.clock.now_ms();
    // The merchant pays c what it owes c; c pays h out of it; h pays p-1.
    let m1 = settle(&s.shop, "m-1", now);
    assert_eq!(
        (&m1["commission"], &m1["payout"]),
        (&json!(4_787), &json!(4_787))
    );
    assert_eq!(
        statement_figures(&s.shop, "m-1"),
        [("c".into(), [4_787, 0, 0, 4_787, 4_787, 0])]
    );
    let c1 = settle(&c, "c-1", now);
    assert_eq!(
        (&c1["commission"], &c1["payout"]),
        (&json!(1_914), &json!(1_914))
    );
    assert_eq!(
        statement_figures(&c, "c-1"),
        [("h".into(), [1_914, 0, 0, 1_914, 1_914, 0])]
    );
    let h1 = settle(&s.h, "h-1", now);
    assert_eq!(
        statement_figures(&s.h, "h-1"),
        [("p-1".into(), [957, 0, 0, 957, 957, 0])]
    );
    // A run pays nothing twice: the merchant's next run finds no layer's share.
    assert_eq!(settle(&s.shop, "m-0", now)["shares"], 0);
    assert_eq!(h1["shares"], 2);
    // p-1 reads its statement from h, its balance with h; the merchant learns nothing of it.
    let mine = p1.get("/v1/beneficiaries/p-1/statements");
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(
        mine.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        mine.text
    );
    assert_eq!(mine.body["items"][0]["merchant"], "h");
    let balance = p1.get("/v1/beneficiaries/p-1/balance");
    assert_eq!(
        balance.body["merchants"][0]["merchant"], "h",
        "{}",
        balance.text
    );
    assert_eq!(balance.body["total"]["paid_out"], 957);
    let by_shop = s.shop.get("/v1/beneficiaries/p-1/balance");
    assert_eq!(by_shop.body["merchants"], json!([]), "{}", by_shop.text);

    // The teapot comes back after every run: each books claws back its own share of it.
    let refunded = s.checkout.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l2"}]}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text);
    assert_eq!(
        refunded.body["refunds"][0]["lines"][0]["commission_reversed"],
        2_990
    );
    assert_eq!(carried(&s.shop, "c", "teahouse"), -2_990);
    assert_eq!(carried(&c, "h", "c"), -(897 + 299));
    assert_eq!(carried(p1, "p-1", "h"), -598);
    // Each next run brings it forward and carries what is still owed.
    assert_eq!(
        statement_figures(&s.shop, settle(&s.shop, "m-2", now)["id"].as_str().unwrap()),
        [("c".into(), [0, 0, -2_990, -2_990, 0, -2_990])]
    );
    assert_eq!(
        statement_figures(&s.h, settle(&s.h, "h-2", now)["id"].as_str().unwrap()),
        [("p-1".into(), [0, 0, -598, -598, 0, -598])]
    );
}

#[test]
fn a_layers_budget_is_reserved_at_commit_and_given_back_with_the_order() {
    let mut h_plan = waterfall_plan(
        "h-plan",
        json!({"from": "helper_agency", "promoter": 500_000}),
    );
    h_plan["steps"][0]["budget"] = json!({"max_orders": 1});
    let s = story(Some(h_plan));
    let commit = |order: &str| -> Value {
        let placed = s
            .checkout
            .post("/v1/orders", &commit_request(order, "p", &cart(D0 + DAY)));
        assert_eq!(placed.status, 201, "{}", placed.text);
        assert!(!placed.text.contains("h-plan"), "{}", placed.text);
        let seen = s.h.get(&format!("/v1/plaza/orders/teahouse/{order}"));
        assert_eq!(seen.status, 200, "{}", seen.text);
        seen.body
    };
    let to_p1 = |view: &Value| -> i64 {
        view["shares"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["payee"] == "p-1")
            .map(|c| c["amount"].as_i64().unwrap())
            .sum()
    };
    let used = || s.h.get("/v1/plans/h-plan/budgets").body[0]["orders"].clone();
    // The first order takes h's one order of budget: committed, it is h's.
    assert_eq!(to_p1(&commit("o-1")), 598 + 359);
    assert_eq!(used(), 1);
    // The next finds none left: h's layer pays p-1 nothing, and says why.
    let second = commit("o-2");
    assert_eq!(to_p1(&second), 0);
    let step = &second["layer"]["explanation"][0];
    assert_eq!(step["reason"]["type"], "budget_exhausted", "{step}");
    assert_eq!(used(), 1);
    // Cancelling the first gives h's budget back; the next order pays p-1 again.
    assert_eq!(
        s.checkout.post("/v1/orders/o-1/cancel", &json!({})).status,
        200
    );
    assert_eq!(used(), 0);
    assert_eq!(to_p1(&commit("o-3")), 598 + 359);
    assert_eq!(used(), 1);
}
