//! "Which coupons can I use on this cart?" through the real server on sled: the buyer's
//! claims sorted into usable (with what each saves alone) and unusable (with the rule's
//! note or the claim's problem), the best combination chosen by the plan's own exclusive
//! group, and a quote and an order that ask for the best combination presenting it.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_790_000_000_000;

/// Plan `wallet`: C10 and C20 in one exclusive group, C5 stacking, BIG needing a spend of
/// 10 000.00; a template per code, and buyer b-1 holding one claim of each, plus a C5
/// claim that has expired.
fn shop() -> (Server, Api, Api) {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("store-coupon").status, 201);
    let step = |id: &str, code: &str, amount: i64, min_spend: i64, group: bool| {
        let mut s = json!({"id": id, "plugin": {"name": "store-coupon", "version": "1.0.0"},
            "config": {"code": code, "value": {"fixed": amount}, "min_spend": min_spend}});
        if group {
            s["exclusive_group"] = json!({"name": "one-coupon"});
        }
        s
    };
    shop.apply(&json!({"id": "wallet", "steps": [
        step("c10", "C10", 1000, 0, true),
        step("c20", "C20", 2000, 0, true),
        step("c5", "C5", 500, 0, false),
        step("big", "BIG", 5000, 1_000_000, false),
    ]}));
    let checkout = server.operator().issue_key("teahouse", "checkout");
    for (id, code, step, validity) in [
        (
            "t10",
            "C10",
            "c10",
            json!({"days_from_claim": {"days": 30}}),
        ),
        (
            "t20",
            "C20",
            "c20",
            json!({"days_from_claim": {"days": 30}}),
        ),
        ("t5", "C5", "c5", json!({"days_from_claim": {"days": 30}})),
        (
            "tbig",
            "BIG",
            "big",
            json!({"days_from_claim": {"days": 30}}),
        ),
        ("old5", "C5", "c5", json!({"days_from_claim": {"days": 1}})),
    ] {
        let t = shop.post(
            "/v1/coupons",
            &json!({"id": id, "name": id, "plan": "wallet", "step": step, "code": code,
                    "stock": 10, "validity": validity}),
        );
        assert_eq!(t.status, 201, "{}", t.text);
    }
    let claim = |template: &str, id: &str| {
        let c = checkout.post(
            &format!("/v1/coupons/{template}/claims"),
            &json!({"claim_id": id, "buyer": {"id": "b-1"}}),
        );
        assert_eq!(c.status, 201, "{}", c.text);
    };
    claim("old5", "k-old");
    server.clock.as_ref().unwrap().advance(2 * DAY);
    for (template, id) in [
        ("t10", "k-10"),
        ("t20", "k-20"),
        ("t5", "k-5"),
        ("tbig", "k-big"),
    ] {
        claim(template, id);
    }
    (server, shop, checkout)
}

fn cart(extra: Value) -> Value {
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!("b-1");
    cart["coupon_codes"] = json!([]);
    cart["now_ms"] = json!(NOW + 2 * DAY);
    for (k, v) in extra.as_object().into_iter().flatten() {
        cart[k] = v.clone();
    }
    cart
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["claim"].as_str().unwrap())
        .collect()
}

#[test]
fn each_claim_is_usable_with_its_saving_or_unusable_with_why_and_the_best_combination_respects_the_group()
 {
    let (_server, _shop, checkout) = shop();
    let base = checkout.post("/v1/plans/wallet/quote", &cart(json!({})));
    assert_eq!(base.status, 200, "{}", base.text);
    let answer = checkout.post("/v1/plans/wallet/usable-coupons", &cart(json!({})));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let u = &answer.body;
    assert_eq!(ids(&u["usable"]), ["k-20", "k-10", "k-5"], "{u}");
    let saves: Vec<i64> = (u["usable"].as_array().unwrap().iter())
        .map(|c| c["saves"].as_i64().unwrap())
        .collect();
    assert_eq!(saves, [2000, 1000, 500]);
    assert_eq!(ids(&u["unusable"]), ["k-big", "k-old"]);
    let big = &u["unusable"][0];
    assert_eq!(big["reason"]["type"], "no_effect", "{big}");
    assert!(
        big["notes"][0].as_str().unwrap().contains("还差"),
        "the rule says how much more to spend: {big}"
    );
    assert_eq!(u["unusable"][1]["problem"], "expired");
    // C10 and C20 exclude each other: the best keeps C20 and stacks C5.
    assert_eq!(u["best"]["claims"], json!(["k-20", "k-5"]), "{u}");
    assert_eq!(u["best"]["saves"], 2500);
    let payable = base.body["total"]["payable"].as_i64().unwrap();
    assert_eq!(u["best"]["payable"], payable - 2500);

    // A quote asking for the best combination presents it.
    let q = checkout.post(
        "/v1/plans/wallet/quote",
        &cart(json!({"best_claims": true})),
    );
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(ids(&q.body["claims"]), ["k-20", "k-5"]);
    assert_eq!(q.body["total"]["payable"], payable - 2500);
    // So does an order, which then holds those claims: the next best is C10 alone.
    let req = commit_request("o-1", "wallet", &cart(json!({"best_claims": true})));
    let placed = checkout.post("/v1/orders", &req);
    assert_eq!(placed.status, 201, "{}", placed.text);
    let held: Vec<&str> = (placed.body["claims"].as_array().unwrap().iter())
        .map(|h| h["claim"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["k-20", "k-5"]);
    let after = checkout
        .post("/v1/plans/wallet/usable-coupons", &cart(json!({})))
        .body;
    assert_eq!(ids(&after["usable"]), ["k-10"]);
    assert_eq!(after["best"]["claims"], json!(["k-10"]));
}

#[test]
fn a_cart_with_claims_is_refused_and_only_the_owners_checkout_and_admin_read_the_wallet() {
    let (server, shop, checkout) = shop();
    let presenting = checkout.post(
        "/v1/plans/wallet/usable-coupons",
        &cart(json!({"claims": ["k-10"]})),
    );
    assert_eq!(
        (presenting.status, presenting.error_type()),
        (422, "invalid")
    );
    let both = checkout.post(
        "/v1/plans/wallet/quote",
        &cart(json!({"claims": ["k-10"], "best_claims": true})),
    );
    assert_eq!(both.status, 422, "{}", both.text);
    assert_eq!(
        shop.post("/v1/plans/wallet/usable-coupons", &cart(json!({})))
            .status,
        200
    );
    let operator = server.operator();
    let author = operator.issue_key("teahouse", "author");
    assert_eq!(
        author
            .post("/v1/plans/wallet/usable-coupons", &cart(json!({})))
            .status,
        403
    );
    assert_eq!(
        author
            .post(
                "/v1/plans/wallet/quote",
                &cart(json!({"best_claims": true}))
            )
            .status,
        403,
        "an author's quote does not read wallets"
    );
    let strangers = strangers(&server);
    for (who, api) in &strangers {
        let a = api.post("/v1/plans/wallet/usable-coupons", &cart(json!({})));
        assert!([403, 404].contains(&a.status), "{who}: {}", a.text);
    }
    // The CLI asks the same.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cart.json");
    std::fs::write(&file, cart(json!({})).to_string()).unwrap();
    let key = checkout.key.clone().unwrap();
    let printed = crate::plaza_cli(&[
        "coupon",
        "usable",
        "wallet",
        file.to_str().unwrap(),
        "--server",
        &server.base,
        "--key",
        &key,
    ]);
    assert_eq!(
        printed["best"]["claims"],
        json!(["k-20", "k-5"]),
        "{printed}"
    );
}
