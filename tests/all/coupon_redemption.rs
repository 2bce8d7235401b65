//! Claimed coupons redeemed through the real server on sled: a step a template names gives
//! its coupon only to a usable claim the cart presents (never to a typed code), the quote
//! says what became of each claim, one order marks a claim used (64 racing commits, one
//! order), and a cancel, an expiry or a full refund gives it back per its template. An
//! agency's own coupon is redeemed on the agency's own plan, and is unknown to a merchant's.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_790_000_000_000;

/// Merchant `teahouse` (demo plan; its `tea-coupon` step gives TEA30) resolving attribution
/// from touches, its checkout, and template `tea30` bound to that step.
fn shop(on_refund: &str) -> (Server, Api, Api) {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let shop = shop_resolving_touches(&server);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    let defined = shop.post(
        "/v1/coupons",
        &json!({
            "id": "tea30", "name": "30 off", "plan": "teahouse-autumn", "step": "tea-coupon",
            "code": "TEA30", "stock": 100, "per_buyer": 5,
            "validity": {"days_from_claim": {"days": 60}}, "on_refund": on_refund,
        }),
    );
    assert_eq!(defined.status, 201, "{}", defined.text);
    (server, shop, checkout)
}

fn claim(checkout: &Api, id: &str, buyer: &str) {
    let claimed = checkout.post(
        "/v1/coupons/tea30/claims",
        &json!({"claim_id": id, "buyer": {"id": buyer}}),
    );
    assert_eq!(claimed.status, 201, "{}", claimed.text);
}

/// The demo cart at `at_ms`, presenting `claims` and no typed code.
fn cart(claims: &[&str], at_ms: i64) -> Value {
    let mut cart = demo_cart();
    cart["coupon_codes"] = json!([]);
    cart["claims"] = json!(claims);
    cart["now_ms"] = json!(at_ms);
    cart
}

fn quote(api: &Api, cart: &Value) -> Value {
    let q = api.post("/v1/plans/teahouse-autumn/quote", cart);
    assert_eq!(q.status, 200, "{}", q.text);
    q.body
}

fn coupon_step(q: &Value) -> Value {
    q["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == "tea-coupon")
        .cloned()
        .unwrap()
}

fn state(checkout: &Api, claim: &str) -> String {
    let c = checkout.get(&format!("/v1/coupon-claims/{claim}"));
    c.body["state"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_bound_step_gives_its_coupon_to_a_usable_claim_only_and_says_why_not() {
    let (server, _shop, checkout) = shop("return");
    // What the coupon is worth: the same cart with the typed code on a merchant without
    // templates.
    let plain = server.operator().create_tenant("plain", "merchant");
    with_demo_plan(&plain);
    let mut typed = demo_cart();
    typed["now_ms"] = json!(NOW);
    let worth = quote(&plain, &typed);
    assert_eq!(coupon_step(&worth)["outcome"], "applied", "{worth}");

    // The typed code alone no longer redeems it.
    let q = quote(&checkout, &typed);
    let step = coupon_step(&q);
    assert_eq!(step["reason"]["type"], "claim_required", "{step}");
    assert_eq!(step["reason"]["code"], "TEA30");
    assert!(q["total"]["payable"].as_i64() > worth["total"]["payable"].as_i64());

    claim(&checkout, "c-1", "b-42");
    let q = quote(&checkout, &cart(&["c-1"], NOW));
    assert_eq!(coupon_step(&q)["outcome"], "applied", "{q}");
    assert_eq!(
        q["total"], worth["total"],
        "a claim is worth the code it presents"
    );
    assert_eq!(
        q["claims"],
        json!([{"claim": "c-1", "code": "TEA30", "redeemed_by": "tea-coupon"}])
    );

    // Another buyer's claim, an unknown one, an expired one: not redeemed, and why.
    claim(&checkout, "c-9", "b-9");
    let q = quote(&checkout, &cart(&["c-9", "nope"], NOW));
    let reason = &coupon_step(&q)["reason"];
    assert_eq!(
        (
            reason["type"].clone(),
            reason["claim"].clone(),
            reason["problem"].clone()
        ),
        (json!("claim_refused"), json!("c-9"), json!("other_buyer")),
        "{q}"
    );
    assert_eq!(q["claims"][0]["problem"], "other_buyer");
    assert_eq!(q["claims"][1]["problem"], "unknown");
    server.clock.as_ref().unwrap().advance(60 * DAY);
    let q = quote(&checkout, &cart(&["c-1"], NOW + 60 * DAY));
    let reason = &coupon_step(&q)["reason"];
    assert_eq!(
        (
            reason["type"].clone(),
            reason["claim"].clone(),
            reason["problem"].clone()
        ),
        (json!("claim_refused"), json!("c-1"), json!("expired")),
        "{q}"
    );
    assert_eq!(state(&checkout, "c-1"), "expired");
}

#[test]
fn of_sixty_four_orders_presenting_one_claim_one_commits_and_a_cancel_gives_it_back() {
    let (_server, _shop, checkout) = shop("return");
    claim(&checkout, "c-1", "b-42");
    let answers = race(8, 8, |n| {
        let req = commit_request(&format!("o-{n}"), "teahouse-autumn", &cart(&["c-1"], NOW));
        checkout.post("/v1/orders", &req)
    });
    let placed: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(placed.len(), 1, "one order holds the claim");
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(
            (a.status, a.error_type()),
            (409, "claim_used"),
            "{}",
            a.text
        );
    }
    let order = &placed[0].body;
    assert_eq!(order["claims"][0]["claim"], "c-1", "{order}");
    assert_eq!(state(&checkout, "c-1"), "used");
    let q = quote(&checkout, &cart(&["c-1"], NOW));
    assert_eq!(q["claims"][0]["problem"], "used");

    let id = order["id"].as_str().unwrap();
    let cancelled = checkout.post(&format!("/v1/orders/{id}/cancel"), &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(
        state(&checkout, "c-1"),
        "available",
        "given back by the cancel"
    );
    let again = checkout.post(
        "/v1/orders",
        &commit_request("o-again", "teahouse-autumn", &cart(&["c-1"], NOW)),
    );
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(state(&checkout, "c-1"), "used");
}

#[test]
fn refunds_give_a_claim_back_only_when_everything_is_refunded_and_the_template_says_so() {
    for (policy, back) in [("return", "available"), ("keep", "used")] {
        let (_server, _shop, checkout) = shop(policy);
        claim(&checkout, "c-1", "b-42");
        let placed = checkout.post(
            "/v1/orders",
            &commit_request("o-1", "teahouse-autumn", &cart(&["c-1"], NOW)),
        );
        assert_eq!(placed.status, 201, "{}", placed.text);
        let line = placed.body["lines"][0]["id"].as_str().unwrap().to_owned();
        let part = checkout.post(
            "/v1/orders/o-1/refunds",
            &json!({"refund_id": "r-1", "lines": [{"line": line, "quantity": 1}]}),
        );
        assert_eq!(part.status, 200, "{}", part.text);
        assert_eq!(
            state(&checkout, "c-1"),
            "used",
            "{policy}: a partial refund keeps it"
        );
        let rest = checkout.post(
            "/v1/orders/o-1/refunds",
            &json!({"refund_id": "r-2", "all": true}),
        );
        assert_eq!(rest.status, 200, "{}", rest.text);
        assert_eq!(state(&checkout, "c-1"), back, "{policy}");
    }
}

#[test]
fn a_livestreamers_coupon_is_redeemed_only_in_that_live_room() {
    let (server, shop, checkout) = shop("return");
    let agency = server.operator().create_tenant("pa", "agency");
    let invited = agency.post(
        "/v1/promoters",
        &json!({"id": "live-1", "kind": "livestreamer", "name": "Live room 1"}),
    );
    let accepted = Api::anonymous(&server.base).post(
        "/v1/promoters/live-1/accept",
        &json!({"invite_token": invited.body["invite_token"]}),
    );
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let live = shop.post(
        "/v1/coupons",
        &json!({
            "id": "live30", "name": "30 off in live-1's room", "plan": "teahouse-autumn",
            "step": "tea-coupon", "code": "TEA30", "stock": 10,
            "validity": {"days_from_claim": {"days": 60}},
            "bindings": {"livestreamer": "live-1"},
        }),
    );
    assert_eq!(live.status, 201, "{}", live.text);
    let visit = checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-1", "buyer": "b-42", "promoter": "live-1", "channel": "live_room", "at_ms": NOW - DAY}),
    );
    assert_eq!(visit.status, 201, "{}", visit.text);
    let claimed = checkout.post(
        "/v1/coupons/live30/claims",
        &json!({"claim_id": "l-1", "buyer": {"id": "b-42"}}),
    );
    assert_eq!(claimed.status, 201, "{}", claimed.text);
    let q = quote(&checkout, &cart(&["l-1"], NOW));
    assert_eq!(q["claims"][0]["redeemed_by"], "tea-coupon", "{q}");
    // A month on, the visit no longer makes the cart the live room's.
    server.clock.as_ref().unwrap().advance(31 * DAY);
    let q = quote(&checkout, &cart(&["l-1"], NOW + 31 * DAY));
    assert_eq!(q["claims"][0]["problem"], "not_in_live_room", "{q}");
    assert_eq!(coupon_step(&q)["reason"]["problem"], "not_in_live_room");
}

/// An agency's own coupon: its template names a step of the agency's own plan, and the
/// agency's checkout redeems it there, once; the merchant's plan knows nothing of it.
#[test]
fn an_agencys_coupon_is_redeemed_once_on_its_own_plan_and_unknown_to_a_merchant() {
    let (server, _shop, merchant_checkout) = shop("return");
    let agency = server.operator().create_tenant("pa", "agency");
    assert_eq!(agency.upload("store-coupon").status, 201);
    agency.apply(&json!({
        "id": "pa-picks",
        "steps": [{"id": "pa-coupon", "plugin": {"name": "store-coupon", "version": "1.0.0"},
                   "config": {"code": "PA20", "value": {"fixed": 2000}, "min_spend": 5000}}]
    }));
    let defined = agency.post(
        "/v1/coupons",
        &json!({
            "id": "pa20", "name": "20 off our picks", "plan": "pa-picks", "step": "pa-coupon",
            "code": "PA20", "stock": 10, "validity": {"days_from_claim": {"days": 7}},
        }),
    );
    assert_eq!(defined.status, 201, "{}", defined.text);
    let checkout = server.operator().issue_key("pa", "checkout");
    let claimed = checkout.post(
        "/v1/coupons/pa20/claims",
        &json!({"claim_id": "c-pa", "buyer": {"id": "b-42"}}),
    );
    assert_eq!(claimed.status, 201, "{}", claimed.text);

    let commit = |id: &str| {
        checkout.post(
            "/v1/orders",
            &commit_request(id, "pa-picks", &cart(&["c-pa"], NOW)),
        )
    };
    let placed = commit("pa-1");
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(
        placed.body["quote"]["total"]["discount"], 2000,
        "{}",
        placed.text
    );
    assert_eq!(placed.body["claims"][0]["claim"], "c-pa");
    assert_eq!(state(&checkout, "c-pa"), "used");
    let twice = commit("pa-2");
    assert_eq!((twice.status, twice.error_type()), (409, "claim_used"));

    // The merchant's checkout cannot see it, nor redeem it on the merchant's plan.
    assert_eq!(merchant_checkout.get("/v1/coupon-claims/c-pa").status, 404);
    let q = quote(&merchant_checkout, &cart(&["c-pa"], NOW));
    assert_eq!(q["claims"][0]["problem"], "unknown", "{q}");
}
