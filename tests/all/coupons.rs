//! Claimed coupons through the real server on sled: templates with stock, claims that
//! never exceed it (also when 500 race), per-buyer limits, bindings decided by stored
//! touches, validity on the host's clock, offline codes claimable once, and every other
//! tenant's and party's key refused.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const DAY: i64 = 24 * 60 * 60 * 1000;
const NOW: i64 = 1_790_000_000_000;

/// Merchant `teahouse` with the demo plan (its `tea-coupon` step matches code TEA30),
/// resolving attribution from touches, and its checkout key.
fn shop() -> (Server, Api, Api) {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let shop = shop_resolving_touches(&server);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    (server, shop, checkout)
}

fn template(id: &str, stock: u32, extra: Value) -> Value {
    let mut t = json!({
        "id": id,
        "name": format!("coupon {id}"),
        "plan": "teahouse-autumn",
        "step": "tea-coupon",
        "code": "TEA30",
        "stock": stock,
        "validity": {"days_from_claim": {"days": 7}},
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        t[k] = v.clone();
    }
    t
}

fn define(shop: &Api, body: &Value) -> Answer {
    shop.post("/v1/coupons", body)
}

fn claim(api: &Api, template: &str, claim_id: &str, buyer: Value) -> Answer {
    api.post(
        &format!("/v1/coupons/{template}/claims"),
        &json!({"claim_id": claim_id, "buyer": buyer}),
    )
}

fn buyer(id: &str) -> Value {
    json!({"id": id})
}

#[test]
fn five_hundred_racing_claims_hand_out_exactly_the_stock_and_no_buyer_exceeds_the_limit() {
    let (_server, shop, checkout) = shop();
    let defined = define(&shop, &template("flash", 100, json!({"per_buyer": 2})));
    assert_eq!(defined.status, 201, "{}", defined.text);
    // 500 claims: 125 buyers trying 4 times each, 10 threads.
    let answers = race(10, 50, |n| {
        let b = format!("b-{}", n % 125);
        let answer = claim(&checkout, "flash", &format!("c-{n}"), buyer(&b));
        (b, answer)
    });
    let mut per_buyer: HashMap<String, u32> = HashMap::new();
    let mut refused: HashMap<String, u32> = HashMap::new();
    for (b, a) in &answers {
        match a.status {
            201 => *per_buyer.entry(b.clone()).or_default() += 1,
            409 => *refused.entry(a.error_type().to_owned()).or_default() += 1,
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert_eq!(
        per_buyer.values().sum::<u32>(),
        100,
        "exactly the stock: {refused:?}"
    );
    assert!(per_buyer.values().all(|n| *n <= 2), "{per_buyer:?}");
    assert!(
        refused
            .keys()
            .all(|k| k == "out_of_stock" || k == "claim_limit_reached"),
        "{refused:?}"
    );
    let t = shop.get("/v1/coupons/flash").body;
    assert_eq!(
        (t["issued"].clone(), t["claimed"].clone()),
        (json!(100), json!(100))
    );
    // The wallets hold exactly the claims answered.
    let mut in_wallets = 0;
    for (b, n) in &per_buyer {
        let items: Vec<Value> = pages(&checkout, &format!("/v1/buyers/{b}/coupons"), "")
            .into_iter()
            .flat_map(|p| p["items"].as_array().cloned().unwrap_or_default())
            .collect();
        assert_eq!(items.len(), *n as usize, "{b}");
        assert!(
            items
                .iter()
                .all(|c| c["state"] == "available" && c["code"] == "TEA30")
        );
        in_wallets += items.len();
    }
    assert_eq!(in_wallets, 100);
}

#[test]
fn a_claim_is_idempotent_by_id_and_its_validity_runs_on_the_hosts_clock() {
    let (server, shop, checkout) = shop();
    assert_eq!(define(&shop, &template("week", 10, json!({}))).status, 201);
    let again = define(&shop, &template("week", 10, json!({})));
    assert_eq!(again.status, 200, "the same template again: {}", again.text);
    let other = define(&shop, &template("week", 11, json!({})));
    assert_eq!((other.status, other.error_type()), (409, "template_exists"));

    let first = claim(&checkout, "week", "c-1", buyer("b-1"));
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["valid_from_ms"], NOW);
    assert_eq!(first.body["valid_until_ms"], NOW + 7 * DAY);
    let replay = claim(&checkout, "week", "c-1", buyer("b-1"));
    assert_eq!((replay.status, &replay.body), (200, &first.body));
    let taken = claim(&checkout, "week", "c-1", buyer("b-2"));
    assert_eq!((taken.status, taken.error_type()), (409, "claim_id_taken"));
    let limit = claim(&checkout, "week", "c-2", buyer("b-1"));
    assert_eq!(
        (limit.status, limit.error_type()),
        (409, "claim_limit_reached")
    );
    assert_eq!(
        shop.get("/v1/coupons/week").body["claimed"],
        1,
        "refusals take nothing"
    );

    let clock = server.clock.as_ref().unwrap();
    clock.advance(7 * DAY);
    let state = checkout.get("/v1/coupon-claims/c-1");
    assert_eq!(state.body["state"], "expired", "{}", state.text);

    // A fixed window: not yet valid before it, refused for claiming after it.
    let from = NOW + 10 * DAY;
    let window = json!({"validity": {"between": {"from_ms": from, "until_ms": from + DAY}}});
    assert_eq!(define(&shop, &template("later", 10, window)).status, 201);
    let early = claim(&checkout, "later", "c-3", buyer("b-3"));
    assert_eq!(early.status, 201, "{}", early.text);
    assert_eq!(
        checkout.get("/v1/coupon-claims/c-3").body["state"],
        "not_yet_valid"
    );
    clock.set(from);
    assert_eq!(
        checkout.get("/v1/coupon-claims/c-3").body["state"],
        "available"
    );
    clock.set(from + DAY);
    let late = claim(&checkout, "later", "c-4", buyer("b-4"));
    assert_eq!((late.status, late.error_type()), (409, "template_expired"));

    // Ending claiming keeps what was claimed.
    assert_eq!(define(&shop, &template("ends", 10, json!({}))).status, 201);
    assert_eq!(claim(&checkout, "ends", "c-5", buyer("b-5")).status, 201);
    let ended = shop.delete("/v1/coupons/ends");
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert!(ended.body["ended_ms"].is_i64());
    let after = claim(&checkout, "ends", "c-6", buyer("b-6"));
    assert_eq!((after.status, after.error_type()), (409, "template_ended"));
    assert_eq!(
        checkout.get("/v1/coupon-claims/c-5").body["state"],
        "available"
    );
}

#[test]
fn bindings_hold_on_the_buyers_stored_touches_and_the_checkouts_facts() {
    let (server, shop, checkout) = shop();
    let agency = server.operator().create_tenant("pa", "agency");
    enlist(&server, &agency, "p-1");
    let invited = agency.post(
        "/v1/promoters",
        &json!({"id": "live-1", "kind": "livestreamer", "name": "Live room 1"}),
    );
    assert_eq!(invited.status, 201, "{}", invited.text);
    let accepted = Api::anonymous(&server.base).post(
        "/v1/promoters/live-1/accept",
        &json!({"invite_token": invited.body["invite_token"]}),
    );
    assert_eq!(accepted.status, 201, "{}", accepted.text);

    let live = json!({"bindings": {"livestreamer": "live-1"}, "per_buyer": 5});
    assert_eq!(define(&shop, &template("live", 10, live)).status, 201);
    let not_live = json!({"bindings": {"livestreamer": "p-1"}});
    let refused = define(&shop, &template("fake-live", 10, not_live));
    assert_eq!(
        (refused.status, refused.error_type()),
        (422, "not_a_livestreamer")
    );
    let link = json!({"bindings": {"share_link": "s-9"}, "per_buyer": 5});
    assert_eq!(define(&shop, &template("link", 10, link)).status, 201);
    let facts = json!({"bindings": {"channel": "live_room", "member_tier": "gold", "new_customers_only": true}});
    assert_eq!(define(&shop, &template("facts", 10, facts)).status, 201);

    // Not in the live room (no visit): refused, nothing taken.
    let outside = claim(&checkout, "live", "c-1", buyer("b-1"));
    assert_eq!(
        (outside.status, outside.error_type()),
        (409, "not_eligible")
    );
    assert!(outside.text.contains("live-1"), "{}", outside.text);
    let visit = checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-1", "buyer": "b-1", "promoter": "live-1", "channel": "live_room", "share_link": "s-9", "at_ms": NOW - DAY}),
    );
    assert_eq!(visit.status, 201, "{}", visit.text);
    assert_eq!(claim(&checkout, "live", "c-2", buyer("b-1")).status, 201);
    assert_eq!(claim(&checkout, "link", "c-3", buyer("b-1")).status, 201);
    assert_eq!(
        claim(&checkout, "link", "c-4", buyer("b-2")).error_type(),
        "not_eligible"
    );
    // The visit is outside the lock window 31 days later.
    server.clock.as_ref().unwrap().advance(30 * DAY);
    assert_eq!(
        claim(&checkout, "live", "c-5", buyer("b-1")).error_type(),
        "not_eligible"
    );
    assert_eq!(shop.get("/v1/coupons/live").body["claimed"], 1);

    let gold_new = json!({"id": "b-7", "member_tier": "gold", "new_customer": true});
    let wrong_channel = checkout.post(
        "/v1/coupons/facts/claims",
        &json!({"claim_id": "c-6", "buyer": gold_new, "channel": "search"}),
    );
    assert_eq!(wrong_channel.error_type(), "not_eligible");
    let returning = checkout.post(
        "/v1/coupons/facts/claims",
        &json!({"claim_id": "c-7", "buyer": {"id": "b-7", "member_tier": "gold"}, "channel": "live_room"}),
    );
    assert_eq!(returning.error_type(), "not_eligible");
    let fits = checkout.post(
        "/v1/coupons/facts/claims",
        &json!({"claim_id": "c-8", "buyer": gold_new, "channel": "live_room"}),
    );
    assert_eq!(fits.status, 201, "{}", fits.text);

    // An agency's coupon cannot bind to touches (merchants record them).
    let live_bound = template(
        "ag-live",
        5,
        json!({"bindings": {"livestreamer": "live-1"}}),
    );
    let bound = agency.post("/v1/coupons", &live_bound);
    assert_eq!(
        (bound.status, bound.error_type()),
        (422, "binding_needs_touches"),
        "{}",
        bound.text
    );
}

#[test]
fn offline_codes_take_stock_when_issued_and_are_claimable_once() {
    let (_server, shop, checkout) = shop();
    assert_eq!(define(&shop, &template("paper", 6, json!({}))).status, 201);
    let batch = shop.post(
        "/v1/coupons/paper/codes",
        &json!({"batch_id": "b1", "count": 5}),
    );
    assert_eq!(batch.status, 201, "{}", batch.text);
    let codes: Vec<String> = batch.body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 5);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        5
    );
    let replay = shop.post(
        "/v1/coupons/paper/codes",
        &json!({"batch_id": "b1", "count": 5}),
    );
    assert_eq!((replay.status, &replay.body), (200, &batch.body));
    let over = shop.post(
        "/v1/coupons/paper/codes",
        &json!({"batch_id": "b2", "count": 2}),
    );
    assert_eq!((over.status, over.error_type()), (409, "out_of_stock"));
    assert_eq!(shop.get("/v1/coupons/paper").body["issued"], 5);
    // One unit is left for a claim from stock; then none.
    assert_eq!(claim(&checkout, "paper", "c-0", buyer("b-0")).status, 201);
    assert_eq!(
        claim(&checkout, "paper", "c-x", buyer("b-x")).error_type(),
        "out_of_stock"
    );

    let by_code = |code: &str, id: &str, b: &str| {
        checkout.post(
            &format!("/v1/coupon-codes/{code}/claims"),
            &json!({"claim_id": id, "buyer": {"id": b}}),
        )
    };
    // Typed with a hyphen and in lower case: the same code.
    let typed = format!("{}-{}", &codes[0][..8], &codes[0][8..]).to_lowercase();
    let first = by_code(&typed, "c-1", "b-1");
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["offline_code"], codes[0].as_str());
    assert_eq!(
        by_code(&codes[0], "c-1", "b-1").status,
        200,
        "the same claim again"
    );
    let twice = by_code(&codes[0], "c-2", "b-2");
    assert_eq!((twice.status, twice.error_type()), (409, "code_used"));
    let mut wrong = codes[1].clone().into_bytes();
    wrong[2] = if wrong[2] == b'7' { b'8' } else { b'7' };
    let mistyped = by_code(std::str::from_utf8(&wrong).unwrap(), "c-3", "b-3");
    assert_eq!((mistyped.status, mistyped.error_type()), (422, "bad_code"));
    assert_eq!(by_code(&codes[1], "c-4", "b-4").status, 201);
    let t = shop.get("/v1/coupons/paper").body;
    assert_eq!(
        (t["issued"].clone(), t["claimed"].clone()),
        (json!(6), json!(3))
    );
}

#[test]
fn every_other_tenant_and_party_is_refused_on_the_coupon_routes() {
    let (server, shop, checkout) = shop();
    let operator = server.operator();
    assert_eq!(define(&shop, &template("mine", 10, json!({}))).status, 201);
    assert_eq!(claim(&checkout, "mine", "c-1", buyer("b-1")).status, 201);
    let batch = shop.post(
        "/v1/coupons/mine/codes",
        &json!({"batch_id": "b1", "count": 1}),
    );
    let code = batch.body["codes"][0].as_str().unwrap().to_owned();
    let before = shop.get("/v1/coupons/mine").text;

    let strangers = strangers(&server);
    let claim_body = json!({"claim_id": "c-9", "buyer": {"id": "b-9"}});
    let cases: [(&str, String, Option<Value>); 8] = [
        ("GET", "/v1/coupons/mine".into(), None),
        ("DELETE", "/v1/coupons/mine".into(), None),
        (
            "POST",
            "/v1/coupons/mine/claims".into(),
            Some(claim_body.clone()),
        ),
        (
            "POST",
            "/v1/coupons/mine/codes".into(),
            Some(json!({"batch_id": "b2", "count": 1})),
        ),
        (
            "POST",
            format!("/v1/coupon-codes/{code}/claims"),
            Some(claim_body.clone()),
        ),
        (
            "POST",
            "/v1/coupons/mine/stock-moves".into(),
            Some(json!({"move_id": "m-1", "from": "a", "to": "b", "units": 1})),
        ),
        ("GET", "/v1/coupon-claims/c-1".into(), None),
        ("GET", "/v1/buyers/b-1/coupons".into(), None),
    ];
    for (who, api) in &strangers {
        for (method, path, body) in &cases {
            let answer = match (*method, body) {
                ("GET", _) => api.get(path),
                ("DELETE", _) => api.delete(path),
                (_, body) => api.post(path, body.as_ref().unwrap()),
            };
            let wallet = path.ends_with("/coupons") && answer.status == 200;
            if wallet {
                assert_eq!(answer.body["items"], json!([]), "{who} {path}");
                continue;
            }
            assert!(
                [403, 404].contains(&answer.status),
                "{who} {method} {path}: {}",
                answer.text
            );
        }
        let listed = api.get("/v1/coupons");
        assert!(
            listed.status != 200 || listed.body["items"] == json!([]),
            "{who}: {}",
            listed.text
        );
    }
    // Another tenant's plan cannot give a coupon its value.
    let theirs = strangers[0]
        .1
        .post("/v1/coupons", &template("copy", 5, json!({})));
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    // Roles: an author key neither claims nor defines.
    let author = operator.issue_key("teahouse", "author");
    assert_eq!(claim(&author, "mine", "c-10", buyer("b-10")).status, 403);
    assert_eq!(define(&author, &template("a", 1, json!({}))).status, 403);
    assert_eq!(
        shop.get("/v1/coupons/mine").text,
        before,
        "nothing of the owner's changed"
    );
}

#[test]
fn the_cli_defines_claims_issues_codes_and_reads_the_wallet() {
    let (server, shop, checkout) = shop();
    let base = server.base.clone();
    let (admin, till) = (shop.key.clone().unwrap(), checkout.key.clone().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("coupon.json");
    std::fs::write(
        &file,
        template("cli", 3, json!({"per_buyer": 2})).to_string(),
    )
    .unwrap();
    let at = |key: &str| {
        [
            "--server".to_owned(),
            base.clone(),
            "--key".to_owned(),
            key.to_owned(),
        ]
    };
    let run = |args: &[&str], key: &str| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(at(key));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        crate::plaza_cli(&all)
    };
    let created = run(&["coupon", "create", file.to_str().unwrap()], &admin);
    assert_eq!(created["stock"], 3);
    let claimed = run(
        &[
            "coupon",
            "claim",
            "cli",
            "--claim-id",
            "c-1",
            "--buyer",
            "b-1",
        ],
        &till,
    );
    assert_eq!(claimed["buyer"], "b-1");
    let batch = run(
        &[
            "coupon",
            "codes",
            "cli",
            "--batch-id",
            "b-1",
            "--count",
            "2",
        ],
        &admin,
    );
    let code = batch["codes"][0].as_str().unwrap().to_owned();
    let by_code = run(
        &[
            "coupon",
            "claim",
            "--code",
            &code,
            "--claim-id",
            "c-2",
            "--buyer",
            "b-1",
            "--channel",
            "live_room",
        ],
        &till,
    );
    assert_eq!(by_code["offline_code"], code.as_str());
    let wallet = run(&["coupon", "wallet", "b-1"], &till);
    let ids: Vec<&str> = wallet
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c-1", "c-2"], "{wallet}");
    assert_eq!(run(&["coupon", "show", "cli"], &admin)["claimed"], 2);
    let listed = crate::plaza_cli(&["list", "--server", &base, "--key", &admin, "coupons"]);
    assert_eq!(listed["items"][0]["id"], "cli", "{listed}");
    assert!(run(&["coupon", "end", "cli"], &admin)["ended_ms"].is_i64());
}
