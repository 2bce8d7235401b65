//! Money paths end to end, through the real server: budgets that run out by amount and per
//! coupon, budgets released by partial refunds (or kept, with release off), gifts, fixed
//! and upline commission committed and reversed, and refund sequences checked against a
//! small reference model. Every ledger reconciles to the fen.

use plaza_tests::server::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// (money, commission) still standing on an order, from its ledger.
fn ledger_sums(api: &Api, order: &str) -> (i64, i64) {
    let ledger = api.get(&format!("/v1/orders/{order}/ledger"));
    assert_eq!(ledger.status, 200, "{}", ledger.text);
    let mut sums = (0, 0);
    assert!(
        ledger.body["next"].is_null(),
        "one page holds an order's ledger"
    );
    for e in ledger.body["items"].as_array().unwrap() {
        let amount = e["amount"].as_i64().unwrap();
        match e["kind"].as_str().unwrap() {
            "commission_pending" | "commission_reversed" => sums.1 += amount,
            _ => sums.0 += amount,
        }
    }
    sums
}

fn usage(api: &Api, plan: &str) -> (i64, i64) {
    let usage = api.get(&format!("/v1/plans/{plan}/budgets"));
    assert_eq!(usage.status, 200, "{}", usage.text);
    (
        usage.body[0]["orders"].as_i64().unwrap(),
        usage.body[0]["amount"].as_i64().unwrap(),
    )
}

fn step_share_on_line(order: &Value, step: &str, line: usize) -> i64 {
    order["quote"]["lines"][line]["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["step"] == step)
        .map(|a| a["amount"].as_i64().unwrap())
        .sum()
}

fn refund(api: &Api, order: &str, id: &str, lines: Value) -> Value {
    let answer = api.post(
        &format!("/v1/orders/{order}/refunds"),
        &json!({"refund_id": id, "lines": lines}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

#[test]
fn a_budget_runs_out_by_amount_and_partial_refunds_give_back_exactly_their_share() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_amount": 1500})));
    let cart = demo_cart();
    let first = shop.post("/v1/orders", &commit_request("o-1", "flash", &cart));
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(usage(&shop, "flash"), (1, 1000));

    let quote = shop.post("/v1/plans/flash/quote", &cart);
    let step = &quote.body["explanation"][0];
    assert_eq!(
        step["reason"],
        json!({"type": "budget_exhausted", "limit": "amount"})
    );
    let second = shop.post("/v1/orders", &commit_request("o-2", "flash", &cart));
    assert_eq!(second.status, 201);
    assert_eq!(
        second.body["quote"]["total"]["discount"], 0,
        "no room, no discount"
    );
    assert_eq!(second.body["reservations"], json!([]));

    // Refunding the teapot line gives back that line's share of the discount, to the fen.
    let teapot = step_share_on_line(&first.body, "flash-manjian", 1);
    assert!(teapot > 0);
    refund(&shop, "o-1", "r-1", json!([{"line": "l2"}]));
    assert_eq!(usage(&shop, "flash"), (1, 1000 - teapot));
    // One of the two longjing units: half of that line's share, rounded down.
    let longjing = step_share_on_line(&first.body, "flash-manjian", 0);
    refund(&shop, "o-1", "r-2", json!([{"line": "l1", "quantity": 1}]));
    assert_eq!(usage(&shop, "flash"), (1, 1000 - teapot - longjing / 2));
    // The rest: everything comes back, counts too.
    refund(&shop, "o-1", "r-3", json!([{"line": "l1"}, {"line": "l3"}]));
    assert_eq!(usage(&shop, "flash"), (0, 0));
    assert_eq!(ledger_sums(&shop, "o-1"), (0, 0));
}

#[test]
fn a_coupon_code_runs_out_per_code_and_a_cancel_releases_it() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("store-coupon").status, 201);
    shop.apply(&json!({"id": "c", "steps": [{
        "id": "tea30", "plugin": {"name": "store-coupon", "version": "1.0.0"},
        "config": {"code": "TEA30", "value": {"fixed": 3000}},
        "budget": {"max_orders_per_coupon": 1}
    }]}));
    let cart = demo_cart();
    let placed = shop.post("/v1/orders", &commit_request("o-1", "c", &cart));
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(
        placed.body["reservations"][0]["counts"],
        json!([["orders", null], ["coupon", "TEA30"]])
    );
    let mut other = cart.clone();
    other["buyer"]["id"] = json!("b-other");
    let quote = shop.post("/v1/plans/c/quote", &other);
    assert_eq!(
        quote.body["explanation"][0]["reason"],
        json!({"type": "budget_exhausted", "limit": "per_coupon"})
    );
    let mut shown = commit_request("o-2", "c", &other);
    shown["expected_payable"] = json!(placed.body["quote"]["total"]["payable"]);
    let refused = shop.post("/v1/orders", &shown);
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.error_type(), "price_changed");

    assert_eq!(shop.post("/v1/orders/o-1/cancel", &json!({})).status, 200);
    let again = shop.post("/v1/orders", &shown);
    assert_eq!(again.status, 201, "the code is free again: {}", again.text);
}

#[test]
fn with_release_off_a_cancelled_order_keeps_its_budget() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan(
        "once",
        json!({"max_orders": 1, "release": {"on_cancel": false, "on_refund": false}}),
    ));
    let cart = demo_cart();
    assert_eq!(
        shop.post("/v1/orders", &commit_request("o-1", "once", &cart))
            .status,
        201
    );
    assert_eq!(shop.post("/v1/orders/o-1/cancel", &json!({})).status, 200);
    assert_eq!(usage(&shop, "once"), (1, 1000), "nothing released");
    assert_eq!(
        ledger_sums(&shop, "o-1"),
        (0, 0),
        "but the money is all back"
    );
    let quote = shop.post("/v1/plans/once/quote", &cart);
    assert_eq!(
        quote.body["explanation"][0]["reason"],
        json!({"type": "budget_exhausted", "limit": "orders"})
    );
}

#[test]
fn a_gift_is_quoted_and_committed_and_costs_the_buyer_nothing() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile").status, 201);
    shop.apply(&json!({"id": "g", "steps": [{
        "id": "sample", "plugin": {"name": "hostile", "version": "0.1.0"}, "config": {"mode": "gift"}
    }]}));
    let cart = demo_cart();
    let quote = shop.post("/v1/plans/g/quote", &cart);
    assert_eq!(
        quote.body["gifts"],
        json!([{"step": "sample", "sku": "tea-sample", "quantity": 2, "value": 1500, "label": "赠品"}])
    );
    assert_eq!(quote.body["explanation"][0]["outcome"], "applied");
    assert_eq!(quote.body["total"]["discount"], 0);
    let order = shop.post("/v1/orders", &commit_request("o-1", "g", &cart));
    assert_eq!(order.status, 201);
    assert_eq!(order.body["quote"]["gifts"], quote.body["gifts"]);
    assert_eq!(
        ledger_sums(&shop, "o-1").0,
        quote.body["total"]["payable"].as_i64().unwrap()
    );
}

#[test]
fn fixed_amount_and_upline_commission_is_committed_and_reversed_pro_rata() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile-commission").status, 201);
    shop.apply(&json!({"id": "d", "steps": [{
        "id": "dist", "plugin": {"name": "hostile-commission", "version": "0.1.0"},
        "config": {"mode": "fixed-and-upline"}
    }]}));
    let order = shop.post("/v1/orders", &commit_request("o-1", "d", &demo_cart()));
    assert_eq!(order.status, 201, "{}", order.text);
    let on_l1: Vec<(String, i64)> = order.body["quote"]["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["line"] == "l1")
        .map(|c| {
            (
                c["payee"].as_str().unwrap().to_owned(),
                c["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        on_l1,
        [
            ("promoter".into(), 500),
            ("upline_1".into(), 50),
            ("upline_2".into(), 20)
        ]
    );
    assert_eq!(ledger_sums(&shop, "o-1").1, 3 * 570);
    let half = refund(&shop, "o-1", "r-1", json!([{"line": "l1", "quantity": 1}]));
    assert_eq!(
        half["refunds"][0]["lines"][0]["commission_reversed"],
        250 + 25 + 10
    );
    assert_eq!(ledger_sums(&shop, "o-1").1, 3 * 570 - 285);
    refund(
        &shop,
        "o-1",
        "r-2",
        json!([{"line": "l1"}, {"line": "l2"}, {"line": "l3"}]),
    );
    assert_eq!(ledger_sums(&shop, "o-1"), (0, 0));
}

/// The reference model of one order line: what it still owes and pays out, refund by
/// refund. Refunding `k` of the `held` units gives back `left × k / held` (rounded down),
/// and the last units whatever is left.
#[derive(Debug, Clone)]
struct ModelLine {
    held: u32,
    left: i64,
    commissions: Vec<i64>,
}

impl ModelLine {
    fn refund(&mut self, k: u32) -> (i64, i64) {
        let part = |left: i64| {
            if k == self.held {
                left
            } else {
                i64::try_from(i128::from(left) * i128::from(k) / i128::from(self.held)).unwrap()
            }
        };
        let money = part(self.left);
        let commission: i64 = self
            .commissions
            .iter_mut()
            .map(|c| {
                let back = part(*c);
                *c -= back;
                back
            })
            .sum();
        self.left -= money;
        self.held -= k;
        (money, commission)
    }
}

#[test]
fn any_sequence_of_partial_refunds_matches_the_reference_model_to_the_fen() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let orders = AtomicU32::new(0);
    let strategy = (
        prop::collection::vec(1u32..6, 3),
        prop::collection::vec((0usize..3, 1u32..4), 0..8),
    );
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(quantities, refunds)| {
            let mut cart = demo_cart();
            for (i, q) in quantities.iter().enumerate() {
                cart["lines"][i]["quantity"] = json!(q);
            }
            let id = format!("o-{}", orders.fetch_add(1, Ordering::Relaxed));
            let order = shop.post("/v1/orders", &commit_request(&id, "teahouse-autumn", &cart));
            prop_assert_eq!(order.status, 201, "{}", order.text);
            let o = &order.body;
            let mut model: Vec<ModelLine> = (0..3)
                .map(|i| ModelLine {
                    held: quantities[i],
                    left: o["lines"][i]["payable"].as_i64().unwrap(),
                    commissions: o["commissions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|c| c["line"] == o["lines"][i]["id"])
                        .map(|c| c["amount"].as_i64().unwrap())
                        .collect(),
                })
                .collect();
            let paid = ledger_sums(&shop, &id);
            let mut refunded = 0;
            let mut steps: Vec<(usize, u32)> = refunds;
            // Finish with everything still held, so each sequence ends fully refunded.
            steps.extend((0..3).map(|i| (i, u32::MAX)));
            for (n, (line, k)) in steps.into_iter().enumerate() {
                let held = model[line].held;
                if held == 0 {
                    continue;
                }
                let k = k.min(held);
                let expected = model[line].refund(k);
                let body = refund(
                    &shop,
                    &id,
                    &format!("r-{n}"),
                    json!([{"line": o["lines"][line]["id"], "quantity": k}]),
                );
                let last = body["refunds"].as_array().unwrap().last().unwrap().clone();
                let got = (
                    last["lines"][0]["amount"].as_i64().unwrap(),
                    last["lines"][0]["commission_reversed"].as_i64().unwrap(),
                );
                prop_assert_eq!(
                    got,
                    expected,
                    "refund {} of {} units on line {}",
                    n,
                    k,
                    line
                );
                refunded += last["amount"].as_i64().unwrap();
            }
            prop_assert_eq!(
                refunded,
                paid.0,
                "refunds add up to what was paid, shipping included"
            );
            prop_assert_eq!(ledger_sums(&shop, &id), (0, 0));
            Ok(())
        })
        .unwrap();
}
