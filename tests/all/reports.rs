//! The merchant's report through the real server: GMV and refunds of the orders placed in
//! a range, discount cost by step and by who funds it, commission by beneficiary; only
//! the caller's own orders, and only its admins.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

/// The discount each step gave on a committed order, from its quote.
fn discounts(order: &Value) -> BTreeMap<String, i64> {
    let q = &order["quote"];
    let mut by_step = BTreeMap::new();
    let lines = q["lines"].as_array().unwrap();
    let adjustments = lines
        .iter()
        .flat_map(|l| l["adjustments"].as_array().unwrap())
        .chain(q["shipping_adjustments"].as_array().unwrap());
    for a in adjustments {
        *by_step
            .entry(a["step"].as_str().unwrap().to_owned())
            .or_insert(0) += a["amount"].as_i64().unwrap();
    }
    by_step
}

#[test]
fn a_report_adds_up_the_orders_of_its_range_by_step_funder_and_beneficiary() {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|_| {}, clock.clone());
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    for name in [
        "member-price",
        "threshold-discount",
        "store-coupon",
        "free-shipping",
        "promoter-commission",
    ] {
        assert_eq!(shop.upload(name).status, 201);
    }
    let mut plan = demo_plan();
    let coupon = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["plugin"]["name"] == "store-coupon")
        .unwrap();
    plan["steps"][coupon]["funded_by"] = json!("platform");
    let coupon_step = plan["steps"][coupon]["id"].as_str().unwrap().to_owned();
    shop.apply(&plan);
    assert_eq!(
        shop.get("/v1/plans/teahouse-autumn/versions/1").body["steps"][coupon]["funded_by"],
        "platform"
    );

    // Unpaid orders must not expire while the clock moves between them.
    let settings = json!({"payment_timeout_ms": 7 * 24 * HOUR, "after_sale_ms": 0});
    assert_eq!(shop.put("/v1/settings/orders", &settings).status, 200);
    let mut orders = Vec::new();
    for (i, id) in ["o-1", "o-2", "o-3"].iter().enumerate() {
        clock.set(T0 + i as i64 * HOUR);
        let placed = shop.post(
            "/v1/orders",
            &commit_request(id, "teahouse-autumn", &demo_cart()),
        );
        assert_eq!(placed.status, 201, "{}", placed.text);
        orders.push(placed.body);
    }
    assert_eq!(shop.post("/v1/orders/o-3/cancel", &json!({})).status, 200);
    let refund = shop.post(
        "/v1/orders/o-2/refunds",
        &json!({"refund_id": "r", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    let refunded = refund.body["refunds"][0]["amount"].as_i64().unwrap();
    let paid = |o: &Value| o["quote"]["total"]["payable"].as_i64().unwrap();

    let report = shop.get("/v1/reports/summary");
    assert_eq!(report.status, 200, "{}", report.text);
    let r = &report.body;
    assert_eq!(
        (r["orders"].as_i64(), r["cancelled"].as_i64()),
        (Some(3), Some(1))
    );
    let gmv = paid(&orders[0]) + paid(&orders[1]);
    assert_eq!(r["gmv"], gmv, "the cancelled order is not sales");
    assert_eq!(r["refunded"], refunded);
    assert_eq!(r["net_sales"], gmv - refunded);
    let mut expected = discounts(&orders[0]);
    for (step, amount) in discounts(&orders[1]) {
        *expected.entry(step).or_insert(0) += amount;
    }
    let got: BTreeMap<String, i64> = r["discounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["step"].as_str().unwrap().to_owned(),
                d["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    let platform = expected[&coupon_step];
    let funders: BTreeMap<String, i64> = r["discounts_by_funder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["funded_by"].as_str().unwrap().to_owned(),
                d["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    let all: i64 = expected.values().sum();
    assert_eq!(
        funders,
        BTreeMap::from([
            ("merchant".to_owned(), all - platform),
            ("platform".to_owned(), platform)
        ])
    );
    // The promoter's commission: pending on the live orders (less the refund's
    // reversal), all of the cancelled order's reversed.
    let promoter = &r["commission"][0];
    assert_eq!(promoter["beneficiary"], "p-1001");
    let commission = |o: &Value| -> i64 {
        o["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["amount"].as_i64().unwrap())
            .sum()
    };
    let after_refund: i64 = refund.body["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_i64().unwrap() - c["reversed"].as_i64().unwrap())
        .sum();
    assert_eq!(promoter["pending"], commission(&orders[0]) + after_refund);
    assert_eq!(
        promoter["reversed"],
        commission(&orders[2]) + commission(&orders[1]) - after_refund
    );

    // A range: the second order alone.
    let one = shop.get(&format!(
        "/v1/reports/summary?from_ms={}&until_ms={}",
        T0 + 1,
        T0 + 2 * HOUR
    ));
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["orders"], 1);
    assert_eq!(one.body["gmv"], paid(&orders[1]));

    // Only the caller's own orders, and only its admins.
    let other = server.operator().create_tenant("rival", "merchant");
    let theirs = other.get("/v1/reports/summary").body;
    assert_eq!(
        (theirs["orders"].as_i64(), theirs["gmv"].as_i64()),
        (Some(0), Some(0))
    );
    let checkout = shop.issue_key("teahouse", "checkout");
    assert_eq!(checkout.get("/v1/reports/summary").status, 403);
    for bad in ["?from_ms=x", "?until_ms=1.5", "?since=1"] {
        let answer = shop.get(&format!("/v1/reports/summary{bad}"));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        assert_eq!(answer.error_type(), "bad_query", "{bad}");
    }
}
