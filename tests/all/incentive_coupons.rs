//! Coupon rewards of a merchant's own incentive event, through the real server on sled:
//! crossing a tier delivers claims of the merchant's template into the livestreamer's
//! wallet (stock taken), a clawback revokes the unused ones (stock given back, the claim
//! gone and no longer redeemable) and keeps the one an order used, a post-event reward
//! the stock cannot cover is recorded as undelivered, and what the ledger says the
//! livestreamer holds is what the wallet holds. Coupons are refused as rewards of a
//! platform event, of a template that is not the merchant's or belongs to live rooms, and
//! checkouts may not claim under the host's reward ids.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000_000;
const DAY_MS: i64 = 24 * 3_600_000;

fn coupons(template: &str, count: u32) -> Value {
    json!({"kind": "coupon", "template": template, "count": count})
}

/// The merchant's event for livestreamers: any GMV earns two claims at once, more than
/// one fen one claim after the day's event.
fn event(template: &str) -> Value {
    json!({
        "id": "fans-day", "name": "Fans day", "who": ["livestreamer"], "review": "auto",
        "registration_from_ms": NOW, "registration_until_ms": NOW + DAY_MS,
        "from_ms": NOW, "until_ms": NOW + DAY_MS, "after_sale_days": 0,
        "tiers": [{"gmv": 1, "instant": coupons(template, 2)},
                  {"gmv": 2, "post_event": coupons(template, 1)}],
    })
}

/// The demo cart for `buyer`, sold by `livestreamer`, presenting `claims`.
fn cart(buyer: &str, livestreamer: Option<&str>, claims: &[&str]) -> Value {
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!(buyer);
    cart["coupon_codes"] = json!([]);
    cart["claims"] = json!(claims);
    cart["now_ms"] = json!(NOW);
    if let Some(ls) = livestreamer {
        cart["attribution"] = json!({"livestreamer": ls});
    }
    cart
}

fn place(checkout: &Api, id: &str, cart: &Value) -> Value {
    let placed = checkout.post("/v1/orders", &commit_request(id, "teahouse-autumn", cart));
    assert_eq!(placed.status, 201, "{}", placed.text);
    checkout.pay(id, NOW);
    placed.body
}

fn cancel(checkout: &Api, id: &str) {
    let cancelled = checkout.post(&format!("/v1/orders/{id}/cancel"), &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
}

fn progress(api: &Api) -> Value {
    let p = api.get("/v1/incentives/fans-day/progress/ls-1");
    assert_eq!(p.status, 200, "{}", p.text);
    p.body
}

/// The claim ids in ls-1's wallet at the merchant.
fn wallet(checkout: &Api) -> Vec<String> {
    let w = checkout.get("/v1/buyers/ls-1/coupons");
    assert_eq!(w.status, 200, "{}", w.text);
    (w.body["items"].as_array().unwrap().iter())
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn issued(shop: &Api) -> (i64, i64) {
    let t = shop.get("/v1/coupons/fans");
    assert_eq!(t.status, 200, "{}", t.text);
    (
        t.body["issued"].as_i64().unwrap(),
        t.body["claimed"].as_i64().unwrap(),
    )
}

fn ids(entry: &Value) -> Vec<String> {
    (entry["claims"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter())
    .map(|c| c.as_str().unwrap().to_owned())
    .collect()
}

#[test]
fn claims_are_delivered_revoked_unless_used_and_short_stock_is_recorded() {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let operator = server.operator();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let checkout = operator.issue_key("teahouse", "checkout");
    let ls = operator.issue_beneficiary_key("ls-1");
    // Three units: two for each grant, one back from the revocation that keeps a used one.
    let template = json!({
        "id": "fans", "name": "Fans' 30 off", "plan": "teahouse-autumn", "step": "tea-coupon",
        "code": "TEA30", "stock": 3, "per_buyer": 1,
        "validity": {"days_from_claim": {"days": 30}},
    });
    assert_eq!(shop.post("/v1/coupons", &template).status, 201);
    let created = shop.post("/v1/incentives", &event("fans"));
    assert_eq!(created.status, 201, "{}", created.text);
    let registered = ls.post("/v1/incentives/fans-day/registrations", &json!({}));
    assert_eq!(registered.body["state"], "approved", "{}", registered.text);

    // Crossing tier 1 delivers two claims into ls-1's wallet, past the per-buyer limit.
    place(&checkout, "o1", &cart("b-1", Some("ls-1"), &[]));
    let p = progress(&ls);
    let first = ids(&p["ledger"][0]);
    assert_eq!((p["coupons"].as_i64(), first.len()), (Some(2), 2), "{p}");
    assert!(
        first
            .iter()
            .all(|c| c.starts_with("incentive:fans-day:ls-1:"))
    );
    assert_eq!(wallet(&checkout), first);
    assert_eq!(issued(&shop), (2, 2));

    // A cancel takes GMV back to 0: both unused claims are revoked, their stock is back.
    cancel(&checkout, "o1");
    let p = progress(&ls);
    assert_eq!(p["ledger"][1]["kind"], "clawback", "{p}");
    assert_eq!(p["ledger"][1]["coupons"], -2);
    assert_eq!(ids(&p["ledger"][1]), first);
    assert_eq!(p["coupons"], 0);
    assert!(wallet(&checkout).is_empty());
    assert_eq!(issued(&shop), (0, 0));
    // A revoked claim is no coupon: a cart presenting it is refused.
    let q = checkout.post(
        "/v1/plans/teahouse-autumn/quote",
        &cart("ls-1", None, &[&first[0]]),
    );
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(q.body["claims"][0]["problem"], "unknown", "{}", q.text);
    let refused = checkout.post(
        "/v1/orders",
        &commit_request(
            "stale",
            "teahouse-autumn",
            &cart("ls-1", None, &[&first[0]]),
        ),
    );
    assert_eq!(
        (refused.status, refused.error_type()),
        (409, "claim_not_redeemable"),
        "{}",
        refused.text
    );

    // Crossing again delivers two new claims; ls-1 uses one on its own order (which ls-1
    // does not sell, so it counts for nobody).
    place(&checkout, "o2", &cart("b-2", Some("ls-1"), &[]));
    let second = ids(&progress(&ls)["ledger"][2]);
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|c| !first.contains(c)), "new ids");
    let own = place(&checkout, "own", &cart("ls-1", None, &[&second[0]]));
    assert_eq!(own["claims"][0]["claim"], json!(second[0]), "{own}");
    cancel(&checkout, "o2");
    let p = progress(&ls);
    let clawback = &p["ledger"][3];
    assert_eq!(
        (clawback["coupons"].as_i64(), clawback["kept"].as_i64()),
        (Some(-1), Some(1)),
        "{p}"
    );
    assert_eq!(ids(clawback), [second[1].clone()]);
    assert_eq!(p["coupons"], 1);
    assert_eq!(wallet(&checkout), [second[0].clone()]);
    assert_eq!(issued(&shop), (1, 1));

    // A third crossing takes the last two units; after the event, tier 2's claim finds
    // the stock empty and is recorded as undelivered, across a restart.
    place(&checkout, "o3", &cart("b-3", Some("ls-1"), &[]));
    place(&checkout, "o4", &cart("b-4", Some("ls-1"), &[]));
    assert_eq!(issued(&shop), (3, 3));
    let server = server.restart();
    let ls = Api::new(&server.base, ls.key.as_deref().unwrap());
    let checkout = Api::new(&server.base, checkout.key.as_deref().unwrap());
    clock.set(NOW + DAY_MS + 1);
    let started = std::time::Instant::now();
    let p = loop {
        let p = progress(&ls);
        if p["closed"] == true {
            break p;
        }
        assert!(started.elapsed().as_secs() < 20, "{p}");
        std::thread::yield_now();
    };
    let last = &p["ledger"][5];
    assert_eq!(
        (
            last["kind"].as_str(),
            last["coupons"].as_i64(),
            last["undelivered"].as_i64()
        ),
        (Some("post_event"), Some(0), Some(1)),
        "{p}"
    );
    assert_eq!(p["coupons"], 3, "{p}");
    assert_eq!(wallet(&checkout).len(), 3);
}

#[test]
fn coupons_are_refused_where_they_cannot_be_granted() {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let operator = server.operator();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let checkout = operator.issue_key("teahouse", "checkout");
    let agency = operator.create_tenant("pa", "agency");
    enlist_as(&server, &agency, "live-a", "livestreamer");
    let rooms = json!({
        "id": "rooms", "name": "Room coupon", "plan": "teahouse-autumn", "step": "tea-coupon",
        "code": "TEA30", "stock": 10, "per_buyer": 1,
        "validity": {"days_from_claim": {"days": 30}},
        "live_rooms": [{"livestreamer": "live-a", "stock": 10}],
    });
    let defined = shop.post("/v1/coupons", &rooms);
    assert_eq!(defined.status, 201, "{}", defined.text);
    let plain = json!({
        "id": "fans", "name": "Fans' 30 off", "plan": "teahouse-autumn", "step": "tea-coupon",
        "code": "TEA30", "stock": 10, "per_buyer": 1,
        "validity": {"days_from_claim": {"days": 30}},
    });
    assert_eq!(shop.post("/v1/coupons", &plain).status, 201);
    let mut platform = event("fans");
    platform["who"] = json!(["merchant"]);
    for (who, body, field) in [
        (&operator, platform, "tiers[0].instant"),
        (&shop, event("nobody"), "tiers[0].instant.template"),
        (&shop, event("bad id!"), "tiers[0].instant.template"),
        (&shop, event("rooms"), "tiers[0].instant.template"),
    ] {
        let refused = who.post("/v1/incentives", &body);
        assert_eq!(
            (refused.status, refused.error_type()),
            (422, "invalid"),
            "{}",
            refused.text
        );
        assert_eq!(refused.body["error"]["field"], field, "{}", refused.text);
    }
    let mut too_many = event("fans");
    too_many["tiers"][0]["instant"]["count"] = json!(101);
    assert_eq!(shop.post("/v1/incentives", &too_many).status, 422);
    assert_eq!(operator.get("/v1/incentives").body["items"], json!([]));

    let hijack = checkout.post(
        "/v1/coupons/fans/claims",
        &json!({"claim_id": "incentive:fans-day:ls-1:0:0", "buyer": {"id": "ls-1"}}),
    );
    assert_eq!(
        (hijack.status, hijack.body["error"]["field"].as_str()),
        (422, Some("claim_id")),
        "{}",
        hijack.text
    );
}
