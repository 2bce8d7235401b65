//! 主播券 through the real server on sled: a template whose stock is split over live
//! rooms. 500 racing claims hand out exactly the global stock and never more than a room's
//! share; a claim is made and redeemed only in the room the buyer's touches credit (the
//! merchant's attribution model, never the cart's word); the merchant moves a room's unclaimed stock; and after a kill -9 in the
//! middle of a burst of claims the counters equal the stored claims.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_790_000_000_000;
const ROOMS: [&str; 2] = ["live-a", "live-b"];

/// The demo merchant resolving touches, livestreamers live-a and live-b (of agency pa),
/// and template `live` (global stock 100, 60 in live-a's room, 40 in live-b's, two per
/// buyer) giving the demo plan's TEA30.
fn live_shop(server: &Server) -> (Api, Api) {
    let shop = shop_resolving_touches(server);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    let agency = server.operator().create_tenant("pa", "agency");
    for room in ROOMS.into_iter().chain(["live-c"]) {
        enlist_as(server, &agency, room, "livestreamer");
    }
    let defined = shop.post(
        "/v1/coupons",
        &json!({
            "id": "live", "name": "30 off in the live rooms", "plan": "teahouse-autumn",
            "step": "tea-coupon", "code": "TEA30", "stock": 100, "per_buyer": 2,
            "validity": {"days_from_claim": {"days": 7}},
            "live_rooms": [
                {"livestreamer": "live-a", "stock": 60},
                {"livestreamer": "live-b", "stock": 40}
            ],
        }),
    );
    assert_eq!(defined.status, 201, "{}", defined.text);
    (shop, checkout)
}

/// Buyer `buyer` enters `room`'s live room at `at_ms`.
fn visit(checkout: &Api, touch: &str, buyer: &str, room: &str, at_ms: i64) {
    let t = checkout.post(
        "/v1/touches",
        &json!({"touch_id": touch, "buyer": buyer, "promoter": room, "channel": "live_room", "at_ms": at_ms}),
    );
    assert_eq!(t.status, 201, "{}", t.text);
}

fn claim_body(claim: &str, buyer: &str) -> Value {
    json!({"claim_id": claim, "buyer": {"id": buyer}})
}

/// Each room's (stock, issued).
fn rooms(shop: &Api) -> HashMap<String, (u64, u64)> {
    let t = shop.get("/v1/coupons/live").body;
    t["live_rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |f: &str| r[f].as_u64().unwrap();
            (
                r["livestreamer"].as_str().unwrap().to_owned(),
                (n("stock"), n("issued")),
            )
        })
        .collect()
}

/// Every claim in `buyer`'s wallet: (claim id, live room).
fn wallet(api: &Api, buyer: &str) -> Vec<(String, String)> {
    pages(api, &format!("/v1/buyers/{buyer}/coupons"), "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["live_room"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Buyer `b-{i}` is in live-a's room when `i` is even, live-b's when odd.
fn room_of(i: usize) -> &'static str {
    ROOMS[i % 2]
}

#[test]
fn five_hundred_racing_claims_take_exactly_the_stock_and_no_room_more_than_its_share() {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let (shop, checkout) = live_shop(&server);
    for i in 0..250 {
        visit(
            &checkout,
            &format!("t-{i}"),
            &format!("b-{i}"),
            room_of(i),
            NOW - DAY,
        );
    }
    // 250 buyers, two claims each, 10 threads.
    let answers = race(10, 50, |n| {
        let b = n % 250;
        let claimed = checkout.post(
            "/v1/coupons/live/claims",
            &claim_body(&format!("c-{n}"), &format!("b-{b}")),
        );
        (b, claimed)
    });
    let mut per_room: HashMap<String, u64> = HashMap::new();
    for (b, a) in &answers {
        match a.status {
            201 => {
                assert_eq!(a.body["live_room"], room_of(*b), "{}", a.text);
                *per_room.entry(room_of(*b).to_owned()).or_default() += 1;
            }
            409 => assert!(
                ["room_out_of_stock", "out_of_stock"].contains(&a.error_type()),
                "{}",
                a.text
            ),
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert_eq!((per_room["live-a"], per_room["live-b"]), (60, 40));
    let t = shop.get("/v1/coupons/live").body;
    assert_eq!((&t["issued"], &t["claimed"]), (&json!(100), &json!(100)));
    assert_eq!(
        rooms(&shop),
        HashMap::from([("live-a".into(), (60, 60)), ("live-b".into(), (40, 40))])
    );
    for b in 0..250 {
        let held = wallet(&checkout, &format!("b-{b}"));
        assert!(held.len() <= 2, "b-{b}: {held:?}");
        assert!(held.iter().all(|(_, room)| room == room_of(b)));
    }
}

#[test]
fn a_claim_is_made_and_redeemed_only_in_its_live_room_by_resolved_attribution() {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let (shop, checkout) = live_shop(&server);
    let model = |model: &str| {
        let saved = shop.put(
            "/v1/settings/attribution",
            &json!({"source": "touches", "model": model}),
        );
        assert_eq!(saved.status, 200, "{}", saved.text);
    };
    model("last_touch");
    // No visit: no room to claim in, nothing taken.
    let outside = checkout.post("/v1/coupons/live/claims", &claim_body("c-0", "b-1"));
    assert_eq!(
        (outside.status, outside.error_type()),
        (409, "not_eligible")
    );
    // A visit to a livestreamer without a share of the stock does not count either.
    visit(&checkout, "t-c", "b-1", "live-c", NOW - 3 * DAY);
    let elsewhere = checkout.post("/v1/coupons/live/claims", &claim_body("c-0", "b-1"));
    assert_eq!(elsewhere.error_type(), "not_eligible");
    // In live-b's room, then live-a's: the last touch credits live-a, so it is made there.
    visit(&checkout, "t-b", "b-1", "live-b", NOW - 2 * DAY);
    visit(&checkout, "t-a", "b-1", "live-a", NOW - DAY);
    let claimed = checkout.post("/v1/coupons/live/claims", &claim_body("c-1", "b-1"));
    assert_eq!(claimed.status, 201, "{}", claimed.text);
    assert_eq!(claimed.body["live_room"], "live-a");

    let cart = |attribution: Value, at: i64| {
        let mut cart = demo_cart();
        cart["buyer"]["id"] = json!("b-1");
        cart["coupon_codes"] = json!([]);
        cart["claims"] = json!(["c-1"]);
        cart["attribution"] = attribution;
        cart["now_ms"] = json!(at);
        cart
    };
    let quote = |cart: &Value| {
        let q = checkout.post("/v1/plans/teahouse-autumn/quote", cart);
        assert_eq!(q.status, 200, "{}", q.text);
        q.body["claims"][0].clone()
    };
    assert_eq!(quote(&cart(json!({}), NOW))["redeemed_by"], "tea-coupon");
    // The buyer moves to live-b's room: the claim is not redeemable there, and the cart's
    // word that it is live-a's room changes nothing.
    server.clock.as_ref().unwrap().advance(1_000);
    visit(&checkout, "t-b2", "b-1", "live-b", NOW + 500);
    let said = cart(json!({"livestreamer": "live-a"}), NOW + 1_000);
    let report = quote(&said);
    assert_eq!(report["problem"], "not_in_live_room", "{report}");
    let refused = checkout.post(
        "/v1/orders",
        &commit_request("o-1", "teahouse-autumn", &said),
    );
    assert_eq!(
        (refused.status, refused.error_type()),
        (409, "claim_not_redeemable"),
        "{}",
        refused.text
    );
    // Back in live-a's room, it is redeemable again; under first touch the buyer is
    // live-c's (its first visit) and it is not.
    visit(&checkout, "t-a2", "b-1", "live-a", NOW + 900);
    model("first_touch");
    let locked = quote(&cart(json!({}), NOW + 1_000));
    assert_eq!(locked["problem"], "not_in_live_room", "{locked}");
    model("last_touch");
    let placed = checkout.post(
        "/v1/orders",
        &commit_request("o-2", "teahouse-autumn", &cart(json!({}), NOW + 1_000)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.body["claims"][0]["claim"], "c-1");
}

#[test]
fn the_merchant_moves_unclaimed_stock_between_rooms_once_per_move() {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let (shop, checkout) = live_shop(&server);
    for i in 0..45 {
        visit(
            &checkout,
            &format!("t-{i}"),
            &format!("b-{i}"),
            "live-b",
            NOW - DAY,
        );
        let c = checkout.post(
            "/v1/coupons/live/claims",
            &claim_body(&format!("c-{i}"), &format!("b-{i}")),
        );
        let want = if i < 40 { 201 } else { 409 };
        assert_eq!(c.status, want, "claim {i}: {}", c.text);
    }
    let mv = |id: &str, from: &str, to: &str, units: u32| {
        shop.post(
            "/v1/coupons/live/stock-moves",
            &json!({"move_id": id, "from": from, "to": to, "units": units}),
        )
    };
    // live-b's room is out; only unclaimed units move.
    let empty = mv("m-0", "live-b", "live-a", 1);
    assert_eq!(
        (empty.status, empty.error_type()),
        (409, "not_enough_stock")
    );
    let moved = mv("m-1", "live-a", "live-b", 15);
    assert_eq!(moved.status, 201, "{}", moved.text);
    assert_eq!(moved.body, mv("m-1", "live-a", "live-b", 15).body, "once");
    assert_eq!(
        mv("m-1", "live-a", "live-b", 16).error_type(),
        "move_id_taken"
    );
    assert_eq!(rooms(&shop)["live-a"], (45, 0));
    assert_eq!(rooms(&shop)["live-b"], (55, 40));
    let now_it_fits = checkout.post("/v1/coupons/live/claims", &claim_body("c-40", "b-40"));
    assert_eq!(now_it_fits.status, 201, "{}", now_it_fits.text);
    // A new room for a registered livestreamer; none for another kind of party.
    assert_eq!(mv("m-2", "live-a", "live-c", 5).status, 201);
    assert_eq!(rooms(&shop)["live-c"], (5, 0));
    let agency = server.operator().create_tenant("pb", "agency");
    enlist(&server, &agency, "p-1");
    let promoter = mv("m-3", "live-a", "p-1", 1);
    assert_eq!(
        (promoter.status, promoter.error_type()),
        (422, "not_a_livestreamer")
    );
    // Only the merchant's admin moves stock; the CLI does the same.
    assert_eq!(
        checkout
            .post(
                "/v1/coupons/live/stock-moves",
                &json!({"move_id": "m-4", "from": "live-a", "to": "live-c", "units": 1}),
            )
            .status,
        403
    );
    let key = shop.key.clone().unwrap();
    let printed = crate::plaza_cli(&[
        "coupon",
        "move",
        "live",
        "--move-id",
        "m-5",
        "--from",
        "live-a",
        "--to",
        "live-c",
        "--units",
        "2",
        "--server",
        &server.base,
        "--key",
        &key,
    ]);
    assert_eq!(printed["units"], 2, "{printed}");
    assert_eq!(rooms(&shop)["live-c"], (7, 0));
    // Offline codes are not for live rooms.
    let codes = shop.post(
        "/v1/coupons/live/codes",
        &json!({"batch_id": "b", "count": 1}),
    );
    assert_eq!(
        (codes.status, codes.error_type()),
        (409, "live_room_coupon")
    );
}

/// Set up on a manual clock at the real time, then served by the real `plaza` process:
/// 500 claims race and the process is killed with SIGKILL once 30 were acknowledged.
/// After a restart, every acknowledged claim is stored, and the template's and rooms'
/// counters equal the stored claims.
#[test]
fn kill_9_mid_burst_of_claims_leaves_the_counters_equal_to_the_stored_claims() {
    const PLAZA: &str = env!("CARGO_BIN_EXE_plaza-e2e");
    let now = plaza::clock::Clock::now_ms(&plaza::clock::SystemClock);
    let dir = tempfile::tempdir().unwrap();
    let (admin, till) = {
        let data = dir.path().to_path_buf();
        let server = Server::start_with_clock(move |c| c.data_dir = data, ManualClock::at(now));
        let (shop, checkout) = live_shop(&server);
        for i in 0..250 {
            visit(
                &checkout,
                &format!("t-{i}"),
                &format!("b-{i}"),
                room_of(i),
                now - DAY,
            );
        }
        (shop.key.clone().unwrap(), checkout.key.clone().unwrap())
    };
    let process = Process::serve(PLAZA, dir.path());
    let checkout = Api::new(&process.base, &till);
    let acknowledged = std::sync::Mutex::new(Vec::new());
    let killer = std::sync::Mutex::new(Some(process));
    race(10, 50, |n| {
        let b = format!("b-{}", n % 250);
        let body = claim_body(&format!("c-{n}"), &b);
        if let Some(a) = checkout.try_post("/v1/coupons/live/claims", &body)
            && a.status == 201
        {
            let mut acked = acknowledged.lock().unwrap();
            acked.push((b, format!("c-{n}")));
            if acked.len() == 30
                && let Some(p) = killer.lock().unwrap().take()
            {
                p.kill();
            }
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 30);

    let process = Process::serve(PLAZA, dir.path());
    let (shop, checkout) = (
        Api::new(&process.base, &admin),
        Api::new(&process.base, &till),
    );
    let mut stored: HashMap<String, Vec<String>> = HashMap::new();
    for i in 0..250 {
        let held = wallet(&checkout, &format!("b-{i}"));
        assert!(held.len() <= 2, "b-{i}: {held:?}");
        for (claim, room) in held {
            assert_eq!(room, room_of(i));
            stored.entry(room).or_default().push(claim);
        }
    }
    let all: Vec<&String> = stored.values().flatten().collect();
    for (b, c) in &acknowledged {
        assert!(all.contains(&c), "acknowledged claim {c} of {b} is stored");
    }
    let t = shop.get("/v1/coupons/live").body;
    assert_eq!(t["claimed"], all.len(), "{t}");
    assert_eq!(t["issued"], all.len(), "{t}");
    for (room, (stock, issued)) in rooms(&shop) {
        let held = stored.get(&room).map_or(0, Vec::len) as u64;
        assert_eq!(issued, held, "{room}");
        assert!(issued <= stock, "{room}");
    }
}
