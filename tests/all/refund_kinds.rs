//! Refunds as shops make them, through the real server on sled: an amount off a line (the
//! goods stay), shipping alone, and everything left; each exact to the fen in the ledger
//! and the budget, each idempotent by `refund_id`, and bad requests refused with the field
//! named and nothing changed.

use plaza_tests::server::*;
use serde_json::{Value, json};

/// A merchant with the budgeted 满减 plan `p` and the demo cart committed as `o-1`.
fn shop_with_order(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan(
        "p",
        json!({"max_orders": 5, "max_amount": 100_000}),
    ));
    let placed = shop.post("/v1/orders", &commit_request("o-1", "p", &demo_cart()));
    assert_eq!(placed.status, 201, "{}", placed.text);
    shop
}

fn refund(shop: &Api, body: Value) -> Answer {
    shop.post("/v1/orders/o-1/refunds", &body)
}

/// Σ ledger amounts of the order: what it still holds of the buyer's money.
fn money_held(shop: &Api) -> i64 {
    pages(shop, "/v1/orders/o-1/ledger", "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .filter(|e| e["party"].is_null())
        .map(|e| e["amount"].as_i64().unwrap())
        .sum()
}

fn budget(shop: &Api) -> (i64, i64) {
    let usage = &shop.get("/v1/plans/p/budgets").body[0];
    (
        usage["amount"].as_i64().unwrap(),
        usage["orders"].as_i64().unwrap(),
    )
}

#[test]
fn an_amount_a_shipping_and_a_whole_order_refund_give_back_exactly_what_they_name() {
    let server = Server::start();
    let shop = shop_with_order(&server);
    let order = shop.get("/v1/orders/o-1").body;
    let l1 = order["lines"][0].clone();
    let (payable, units) = (l1["payable"].as_i64().unwrap(), l1["quantity"].clone());
    let shipping = order["shipping"].as_i64().unwrap();
    let paid = money_held(&shop);
    let (reserved, _) = budget(&shop);
    let share = order["reservations"][0]["line_shares"][0].as_i64().unwrap();
    assert!(shipping > 0 && share > 0, "{order}");

    // 10.00 off the first line, the goods kept: its budget share goes back pro rata.
    let body = json!({"refund_id": "price-adjust", "lines": [{"line": "l1", "amount": 1000}]});
    let first = refund(&shop, body.clone());
    assert_eq!(first.status, 200, "{}", first.text);
    let line = &first.body["lines"][0];
    assert_eq!(line["refunded"], 1000);
    assert_eq!(line["refunded_quantity"], 0, "no unit came back");
    assert_eq!(line["quantity"], units);
    assert_eq!(first.body["status"], "partially_refunded");
    assert_eq!(first.body["refunds"][0]["lines"][0]["quantity"], 0);
    assert_eq!(money_held(&shop), paid - 1000);
    let released = i64::try_from(i128::from(share) * 1000 / i128::from(payable)).unwrap();
    assert_eq!(budget(&shop).0, reserved - released);
    // The same refund again changes nothing and answers the same.
    let again = refund(&shop, body);
    assert_eq!((again.status, &again.body), (200, &first.body));

    // Shipping alone.
    let ship = refund(&shop, json!({"refund_id": "ship", "shipping": 500}));
    assert_eq!(ship.status, 200, "{}", ship.text);
    assert_eq!(ship.body["shipping_refunded"], 500);
    assert_eq!(money_held(&shop), paid - 1500);

    // Everything left: every unit, the rest of the shipping, the whole budget.
    let all = refund(&shop, json!({"refund_id": "all", "all": true}));
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["status"], "refunded");
    assert_eq!(all.body["shipping_refunded"], shipping);
    for l in all.body["lines"].as_array().unwrap() {
        assert_eq!(l["refunded"], l["payable"], "{l}");
        assert_eq!(l["refunded_quantity"], l["quantity"], "{l}");
    }
    assert_eq!(money_held(&shop), 0, "every fen back");
    assert_eq!(budget(&shop), (0, 0), "the budget released once, all of it");
    let more = refund(&shop, json!({"refund_id": "more", "all": true}));
    assert_eq!(more.status, 422, "{}", more.text);
    assert_eq!(more.body["error"]["field"], "all");
}

#[test]
fn refunding_a_lines_money_by_amounts_then_its_units_adds_up_to_what_it_paid() {
    let server = Server::start();
    let shop = shop_with_order(&server);
    let l2 = shop.get("/v1/orders/o-1").body["lines"][1].clone();
    let payable = l2["payable"].as_i64().unwrap();
    for (i, amount) in [333, 1].iter().enumerate() {
        let answer = refund(
            &shop,
            json!({"refund_id": format!("a-{i}"), "lines": [{"line": "l2", "amount": amount}]}),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let units = refund(&shop, json!({"refund_id": "u", "lines": [{"line": "l2"}]}));
    assert_eq!(units.status, 200, "{}", units.text);
    let line = &units.body["lines"][1];
    assert_eq!(line["refunded"], payable);
    let back: i64 = units.body["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(back, payable, "334 by amount, the rest with the units");
}

#[test]
fn bad_refunds_are_refused_with_the_field_and_change_nothing() {
    let server = Server::start();
    let shop = shop_with_order(&server);
    let before = shop.get("/v1/orders/o-1").text;
    let l1 = shop.get("/v1/orders/o-1").body["lines"][0]["payable"]
        .as_i64()
        .unwrap();
    let cases = [
        (json!({"refund_id": "r"}), "invalid", "lines"),
        (json!({"refund_id": "r", "lines": []}), "invalid", "lines"),
        (
            json!({"refund_id": "r", "lines": [{"line": "l1", "amount": 0}]}),
            "invalid",
            "lines[0].amount",
        ),
        (
            json!({"refund_id": "r", "lines": [{"line": "l1", "amount": -5}]}),
            "invalid",
            "lines[0].amount",
        ),
        (
            json!({"refund_id": "r", "lines": [{"line": "l1", "amount": l1 + 1}]}),
            "invalid",
            "lines[0].amount",
        ),
        (
            json!({"refund_id": "r", "lines": [{"line": "l1", "amount": 5, "quantity": 1}]}),
            "invalid",
            "lines[0]",
        ),
        (
            json!({"refund_id": "r", "lines": [{"line": "nope", "amount": 5}]}),
            "invalid",
            "lines[0].line",
        ),
        (
            json!({"refund_id": "r", "all": true, "lines": [{"line": "l1"}]}),
            "invalid",
            "all",
        ),
        (
            json!({"refund_id": "r", "all": true, "shipping": 1}),
            "invalid",
            "all",
        ),
        (
            json!({"refund_id": "r", "shipping": 0}),
            "invalid",
            "shipping",
        ),
        (
            json!({"refund_id": "r", "shipping": 1_000_000}),
            "invalid",
            "shipping",
        ),
        (
            json!({"refund_id": "r", "lines": [{"line": "l1", "amount": 1.5}]}),
            "invalid_body",
            "lines[0].amount",
        ),
    ];
    for (body, kind, field) in &cases {
        let answer = refund(&shop, body.clone());
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.error_type(), *kind, "{body}: {}", answer.text);
        assert_eq!(
            answer.body["error"]["field"], *field,
            "{body}: {}",
            answer.text
        );
    }
    assert_eq!(shop.get("/v1/orders/o-1").text, before, "nothing changed");
    let unknown = shop.post(
        "/v1/orders/nope/refunds",
        &json!({"refund_id": "r", "all": true}),
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn the_same_amount_refund_sent_eight_times_at_once_is_applied_once_and_answered_identically() {
    let server = Server::start();
    let shop = shop_with_order(&server);
    let paid = money_held(&shop);
    let body = json!({"refund_id": "adjust", "lines": [{"line": "l2", "amount": 777}]});
    let answers = race(8, 1, |_| refund(&shop, body.clone()));
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers[0].text
    );
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    assert_eq!(answers[0].body["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(money_held(&shop), paid - 777, "given back once");
}
