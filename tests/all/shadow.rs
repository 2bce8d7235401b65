//! Recorded traffic and shadow runs: a tenant's quotes are sampled into a bounded ring
//! (switchable, numbered), recording never changes an answer, and a candidate version run
//! over the recorded carts reports per cart and in total what it would have changed, which
//! here is checked against the hand computation.

use plaza_tests::server::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn tiers(discount: i64) -> Value {
    json!({"id": "autumn", "steps": [{
        "id": "manjian", "plugin": {"name": "threshold-discount", "version": "1.0.0"},
        "config": {"mode": "tiers", "tiers": [
            {"threshold": 10000, "discount": discount},
            {"threshold": 30000, "discount": 4000}]}}]})
}

fn cart(buyer: &str, unit_price: i64) -> Value {
    json!({"lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 1,
                      "unit_price": unit_price}],
           "buyer": {"id": buyer}, "now_ms": 1_795_000_000_000i64})
}

fn recording(shop: &Api, settings: Value) {
    let saved = shop.put("/v1/settings/recording", &settings);
    assert_eq!(saved.status, 200, "{}", saved.text);
}

/// The recording numbers kept, once the newest is `newest` (the ring is written after each
/// answer, off its path).
fn kept_once(shop: &Api, newest: u64) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = shop.get("/v1/recordings");
        assert_eq!(page.status, 200, "{}", page.text);
        let mut seqs: Vec<u64> = (page.body["items"].as_array().unwrap().iter())
            .map(|r| r["seq"].as_u64().unwrap())
            .collect();
        seqs.sort_unstable();
        if seqs.last() >= Some(&newest) {
            return seqs;
        }
        assert!(
            Instant::now() < deadline,
            "recording {newest} never came: {seqs:?}"
        );
        std::thread::yield_now();
    }
}

fn merchant(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&tiers(1000));
    shop
}

#[test]
fn quotes_are_sampled_into_a_bounded_ring_that_can_be_switched_off() {
    let server = Server::start();
    let shop = merchant(&server);
    let defaults = shop.get("/v1/settings/recording").body;
    assert_eq!(
        defaults,
        json!({"enabled": true, "every": 100, "keep": 1000, "keep_ms": 604_800_000})
    );
    recording(
        &shop,
        json!({"enabled": true, "every": 1, "keep": 3, "keep_ms": 3_600_000}),
    );
    for i in 0..5 {
        let q = shop.post("/v1/plans/autumn/quote", &cart(&format!("b-{i}"), 20_000));
        assert_eq!(q.status, 200, "{}", q.text);
    }
    assert_eq!(
        kept_once(&shop, 5),
        [3, 4, 5],
        "three slots, the oldest overwritten"
    );
    // Each is one of the five quotes, as its plan ran it. (Numbers follow the order the
    // samples were written, which is not always the order the quotes answered in.)
    let kept = shop.get("/v1/recordings").body["items"].clone();
    let mut buyers: Vec<&str> = (kept.as_array().unwrap().iter())
        .map(|r| {
            assert_eq!(r["plan"], "autumn", "{r}");
            assert_eq!(r["version"], 1, "{r}");
            r["cart"]["buyer"]["id"].as_str().unwrap()
        })
        .collect();
    buyers.sort_unstable();
    buyers.dedup();
    assert_eq!(buyers.len(), 3, "three different quotes: {kept}");
    assert!(
        buyers
            .iter()
            .all(|b| ["b-0", "b-1", "b-2", "b-3", "b-4"].contains(b))
    );
    // Off: quotes are not sampled; on again, the next recording is number 6.
    recording(
        &shop,
        json!({"enabled": false, "every": 1, "keep": 3, "keep_ms": 3_600_000}),
    );
    for i in 5..8 {
        let q = shop.post("/v1/plans/autumn/quote", &cart(&format!("b-{i}"), 20_000));
        assert_eq!(q.status, 200);
    }
    recording(
        &shop,
        json!({"enabled": true, "every": 1, "keep": 3, "keep_ms": 3_600_000}),
    );
    assert_eq!(
        shop.post("/v1/plans/autumn/quote", &cart("b-9", 20_000))
            .status,
        200
    );
    assert_eq!(kept_once(&shop, 6), [4, 5, 6]);
    // Replays of stored versions are not recorded; bounds are typed.
    let replay = shop.post("/v1/plans/autumn/quote?version=1", &cart("b-10", 20_000));
    assert_eq!(replay.status, 200);
    for bad in [
        json!({"every": 0}),
        json!({"keep": 10_001}),
        json!({"keep_ms": 1}),
        json!({"sample": 3}),
    ] {
        let refused = shop.put("/v1/settings/recording", &bad);
        assert_eq!(refused.status, 422, "{bad}: {}", refused.text);
    }
    assert_eq!(kept_once(&shop, 6), [4, 5, 6]);
}

#[test]
fn recording_never_changes_an_answer() {
    let server = Server::start();
    let shop = merchant(&server);
    let on = json!({"enabled": true, "every": 1, "keep": 10, "keep_ms": 3_600_000});
    let off = json!({"enabled": false, "every": 1, "keep": 10, "keep_ms": 3_600_000});
    recording(&shop, off);
    let unrecorded = shop
        .post("/v1/plans/autumn/quote", &cart("b-1", 20_000))
        .text;
    recording(&shop, on);
    let recorded = shop
        .post("/v1/plans/autumn/quote", &cart("b-1", 20_000))
        .text;
    assert_eq!(recorded, unrecorded);
    assert_eq!(kept_once(&shop, 1), [1]);
}

#[test]
fn a_candidate_changing_one_tier_reports_the_hand_computed_difference() {
    let server = Server::start();
    let shop = merchant(&server);
    recording(
        &shop,
        json!({"enabled": true, "every": 1, "keep": 100, "keep_ms": 3_600_000}),
    );
    // ¥200 and ¥150 reach the first tier (¥10 off), ¥50 nothing, ¥400 the second (¥40).
    let prices = [20_000, 5_000, 15_000, 40_000];
    for (i, price) in prices.iter().enumerate() {
        let q = shop.post("/v1/plans/autumn/quote", &cart(&format!("b-{i}"), *price));
        assert_eq!(q.status, 200, "{}", q.text);
    }
    kept_once(&shop, 4);
    // The candidate: the first tier takes ¥15 off instead of ¥10.
    let saved = shop.post("/v1/plans", &tiers(1500));
    assert_eq!(saved.status, 201, "{}", saved.text);
    let run = shop.post("/v1/plans/autumn/shadow", &json!({"version": 2}));
    assert_eq!(run.status, 200, "{}", run.text);
    let report = &run.body;
    assert_eq!(report["carts"], 4);
    assert_eq!(report["changed"], 2, "the two carts in the first tier");
    let spent: i64 = prices.iter().sum();
    assert_eq!(report["baseline"]["discount"], 1000 + 1000 + 4000);
    assert_eq!(report["candidate"]["discount"], 1500 + 1500 + 4000);
    assert_eq!(report["baseline"]["payable"], spent - 6000);
    assert_eq!(report["candidate"]["payable"], spent - 7000);
    assert_eq!(
        report["difference"],
        json!({"payable": -1000, "discount": 1000, "commission": 0, "errors": 0})
    );
    let items = report["items"].as_array().unwrap();
    let by_buyer = |b: &str| items.iter().find(|c| c["buyer"] == b).unwrap();
    assert_eq!(by_buyer("b-1")["candidate"], by_buyer("b-1")["baseline"]);
    assert_eq!(by_buyer("b-2")["candidate"]["discount"], 1500);
    assert!(items.iter().all(|c| c["version"] == 1));
    // The live answers were untouched: the plan still answers with version 1.
    let live = shop.post("/v1/plans/autumn/quote", &cart("b-9", 20_000));
    assert_eq!(live.body["total"]["discount"], 1000);
    // A window of time with nothing recorded in it, and a version that does not exist.
    let none = shop.post(
        "/v1/plans/autumn/shadow",
        &json!({"version": 2, "to_ms": 0}),
    );
    assert_eq!(none.body["carts"], 0, "{}", none.text);
    let missing = shop.post("/v1/plans/autumn/shadow", &json!({"version": 9}));
    assert_eq!(missing.status, 404, "{}", missing.text);
}

#[test]
fn a_live_shadow_never_changes_an_answer_and_totals_what_it_would_have_changed() {
    let server = Server::start();
    let shop = merchant(&server);
    recording(
        &shop,
        json!({"enabled": true, "every": 1, "keep": 100, "keep_ms": 3_600_000}),
    );
    assert_eq!(shop.post("/v1/plans", &tiers(1500)).status, 201);
    let prices = [20_000, 5_000, 15_000, 40_000];
    let quote_all = || -> Vec<String> {
        (prices.iter().enumerate())
            .map(|(i, p)| {
                let q = shop.post("/v1/plans/autumn/quote", &cart(&format!("b-{i}"), *p));
                assert_eq!(q.status, 200, "{}", q.text);
                q.text
            })
            .collect()
    };
    let plain = quote_all();
    kept_once(&shop, 4);
    let set = shop.put("/v1/plans/autumn/live-shadow", &json!({"version": 2}));
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["shadow"], 2);
    assert_eq!(set.body["active"], 1, "the active version is unchanged");
    let shadowed = quote_all();
    assert_eq!(
        shadowed, plain,
        "byte-identical answers while the candidate runs"
    );
    kept_once(&shop, 8);
    // Only the quotes recorded while version 2 ran count: ¥5 more off each of the two
    // carts in the first tier.
    let report = shop.get("/v1/plans/autumn/live-shadow");
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body["version"], 2);
    assert_eq!(report.body["carts"], 4);
    assert_eq!(report.body["changed"], 2);
    assert_eq!(report.body["baseline"]["discount"], 6000);
    assert_eq!(report.body["candidate"]["discount"], 7000);
    assert_eq!(
        report.body["difference"],
        json!({"payable": -1000, "discount": 1000, "commission": 0, "errors": 0})
    );
    // It survives a restart (the plan's head names it) and stops on request.
    let server = server.restart();
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    assert_eq!(shop.get("/v1/plans/autumn").body["shadow"], 2);
    let stopped = shop.put("/v1/plans/autumn/live-shadow", &json!({"version": null}));
    assert_eq!(stopped.status, 200, "{}", stopped.text);
    assert!(stopped.body.get("shadow").is_none(), "{}", stopped.text);
    let after = shop.get("/v1/plans/autumn/live-shadow");
    assert_eq!(after.body["version"], Value::Null);
    assert_eq!(after.body["carts"], 0);
    let missing = shop.put("/v1/plans/autumn/live-shadow", &json!({"version": 9}));
    assert_eq!(missing.status, 404, "{}", missing.text);
}
