//! GMV incentive events through the real server on sled, on a manual clock: a platform
//! event with three tiers and two participants (a merchant and a livestreamer); commits,
//! racing commits at a threshold, refunds and cancels interleaved across the window grant
//! each instant reward once, claw it back under the threshold while the event runs, grant
//! it again when crossed again, and the post-event rewards (after the after-sale days,
//! across a restart) equal the hand computation. Orders outside the window, from another
//! channel, in another category or failing a fact condition do not count.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000_000;
const DAY_MS: i64 = 24 * 3_600_000;

fn event() -> Value {
    json!({
        "id": "double-12",
        "name": "12.12 GMV incentive",
        "who": ["merchant", "livestreamer"],
        "registration_from_ms": NOW,
        "registration_until_ms": NOW + 10 * DAY_MS,
        "from_ms": NOW + DAY_MS,
        "until_ms": NOW + 11 * DAY_MS,
        "after_sale_days": 7,
        "conditions": {"channels": ["live_room"], "categories": ["tea"],
                       "facts": [{"name": "live_preview_published", "at_least": 1}]},
        "tiers": [
            {"gmv": 10000, "instant": {"kind": "cash", "amount": 500},
             "post_event": {"kind": "growth_card", "units": 5}},
            {"gmv": 30000, "instant": {"kind": "cash", "amount": 2000}},
            {"gmv": 60000, "post_event": {"kind": "cash", "amount": 5000}},
        ],
    })
}

/// An order of `lines` (sku, category, units, unit price) in `channel`, sold by `ls`.
fn order(
    id: &str,
    channel: &str,
    ls: Option<&str>,
    lines: &[(&str, &str, u32, i64)],
    at: i64,
) -> Value {
    let lines: Vec<Value> = (lines.iter().enumerate())
        .map(|(i, (sku, category, n, price))| {
            json!({"id": format!("l{}", i + 1), "sku": sku, "merchant": "teahouse",
                   "categories": [category], "quantity": n, "unit_price": price})
        })
        .collect();
    let mut cart = json!({"lines": lines, "buyer": {"id": format!("b-{id}")},
                          "channel": channel, "now_ms": at});
    if let Some(ls) = ls {
        cart["attribution"] = json!({"livestreamer": ls});
    }
    commit_request(id, "plain", &cart)
}

/// Commit and pay (so that the payment deadline cancels nothing while time moves).
fn place(checkout: &Api, req: &Value, at: i64) -> Value {
    let placed = checkout.post("/v1/orders", req);
    assert_eq!(placed.status, 201, "{}", placed.text);
    let id = req["order_id"].as_str().unwrap();
    checkout.pay(id, at);
    placed.body
}

fn counted_for(order: &Value) -> Vec<String> {
    let counted = order["incentives"].as_array().cloned().unwrap_or_default();
    counted
        .iter()
        .flat_map(|c| c["participants"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

fn progress(api: &Api, participant: &str) -> Value {
    let got = api.get(&format!("/v1/incentives/double-12/progress/{participant}"));
    assert_eq!(got.status, 200, "{}", got.text);
    got.body
}

/// (kind, tier) of each ledger entry, oldest first.
fn moves(p: &Value) -> Vec<(String, u64)> {
    (p["ledger"].as_array().unwrap().iter())
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["tier"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn shop(server: &Server) -> (Api, Api) {
    let admin = server.operator().create_tenant("teahouse", "merchant");
    admin.trust_checkout_attribution();
    assert_eq!(admin.upload("threshold-discount").status, 201);
    admin.apply(&json!({"id": "plain", "steps": [{
        "id": "big-spender",
        "plugin": {"name": "threshold-discount", "version": "1.0.0"},
        "config": {"mode": "tiers", "tiers": [{"threshold": 1_000_000_000, "discount": 100}]}
    }]}));
    let checkout = server.operator().issue_key("teahouse", "checkout");
    (admin, checkout)
}

#[test]
fn three_tiers_two_participants_instant_once_clawed_back_and_post_event_by_hand() {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let operator = server.operator();
    let (admin, checkout) = shop(&server);
    let ls = operator.issue_beneficiary_key("ls-1");
    let created = operator.post("/v1/incentives", &event());
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        operator.post("/v1/incentives", &event()).status,
        200,
        "the same again"
    );

    for who in [&admin, &ls] {
        let registered = who.post("/v1/incentives/double-12/registrations", &json!({}));
        assert_eq!(registered.status, 201, "{}", registered.text);
        assert_eq!(registered.body["state"], "pending");
    }
    assert_eq!(
        ls.post("/v1/incentives/double-12/registrations", &json!({}))
            .status,
        200
    );
    for p in ["teahouse", "ls-1"] {
        let path = format!("/v1/incentives/double-12/registrations/{p}/review");
        let approved = operator.post(&path, &json!({"approve": true}));
        assert_eq!(approved.body["state"], "approved", "{}", approved.text);
        let other_way = operator.post(&path, &json!({"approve": false}));
        assert_eq!(
            other_way.error_type(),
            "already_reviewed",
            "{}",
            other_way.text
        );
    }
    let facts = |p: &str, v: i64| {
        let path = format!("/v1/incentives/double-12/facts/{p}");
        let put = operator.put(&path, &json!({"facts": {"live_preview_published": v}}));
        assert_eq!(put.status, 200, "{}", put.text);
    };
    facts("teahouse", 1);
    facts("ls-1", 0);

    // Before the event: nothing counts.
    let early = place(
        &checkout,
        &order("early", "live_room", None, &[("tea", "tea", 2, 10000)], NOW),
        NOW,
    );
    assert!(counted_for(&early).is_empty(), "{early}");

    let t = NOW + DAY_MS + 1;
    clock.set(t);
    let o1 = place(
        &checkout,
        &order(
            "o1",
            "live_room",
            Some("ls-1"),
            &[("tea", "tea", 1, 8000)],
            t,
        ),
        t,
    );
    assert_eq!(
        counted_for(&o1),
        ["teahouse"],
        "ls-1 has no live preview yet"
    );
    let other_channel = order("o2", "mini_program", None, &[("tea", "tea", 5, 10000)], t);
    assert!(counted_for(&place(&checkout, &other_channel, t)).is_empty());
    let o3 = place(
        &checkout,
        &order(
            "o3",
            "live_room",
            None,
            &[("tea", "tea", 1, 4000), ("pot", "teaware", 1, 9000)],
            t,
        ),
        t,
    );
    assert_eq!(
        o3["incentives"][0]["gmv"], 4000,
        "only the tea counts: {o3}"
    );
    let p = progress(&admin, "teahouse");
    assert_eq!(
        (p["gmv"].as_i64(), p["cash"].as_i64()),
        (Some(12000), Some(500)),
        "{p}"
    );
    assert_eq!(p["next"]["needs"], 18000);

    // Four racing commits of 10,000: the merchant crosses tier 2 once, ls-1 tiers 1 and 2.
    facts("ls-1", 1);
    let answers = race(4, 1, |n| {
        checkout.post(
            "/v1/orders",
            &order(
                &format!("r{n}"),
                "live_room",
                Some("ls-1"),
                &[("tea", "tea", 1, 10000)],
                t,
            ),
        )
    });
    for (n, a) in answers.iter().enumerate() {
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(counted_for(&a.body), ["teahouse", "ls-1"]);
        checkout.pay(&format!("r{n}"), t);
    }
    let instant = |tier: u64| ("instant".to_owned(), tier);
    let clawback = |tier: u64| ("clawback".to_owned(), tier);
    assert_eq!(
        moves(&progress(&admin, "teahouse")),
        [instant(1), instant(2)]
    );
    assert_eq!(moves(&progress(&ls, "ls-1")), [instant(1), instant(2)]);

    // Refunds: the merchant at 48,000 keeps tier 2; two cancels take both under it.
    let refund = checkout.post(
        "/v1/orders/o3/refunds",
        &json!({"refund_id": "rf-1", "lines": [{"line": "l1"}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(progress(&admin, "teahouse")["gmv"], 48000);
    for r in ["r0", "r1"] {
        let cancelled = checkout.post(&format!("/v1/orders/{r}/cancel"), &json!({}));
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    }
    let p = progress(&admin, "teahouse");
    assert_eq!(
        (p["gmv"].as_i64(), p["cash"].as_i64()),
        (Some(28000), Some(500)),
        "{p}"
    );
    assert_eq!(moves(&p), [instant(1), instant(2), clawback(2)]);
    assert_eq!(progress(&ls, "ls-1")["gmv"], 20000);

    // Crossing again grants tier 2 again: held once at any time.
    let o5 = place(
        &checkout,
        &order(
            "o5",
            "live_room",
            Some("ls-1"),
            &[("tea", "tea", 5, 7000)],
            t,
        ),
        t,
    );
    assert_eq!(counted_for(&o5), ["teahouse", "ls-1"]);
    let p = progress(&admin, "teahouse");
    assert_eq!(
        (p["gmv"].as_i64(), p["cash"].as_i64()),
        (Some(63000), Some(2500)),
        "{p}"
    );
    assert!(p["next"].is_null(), "every tier reached: {p}");

    // After the event: a new order does not count; a refund lowers GMV but claws back
    // nothing (ls-1 falls under tier 2 and keeps its reward).
    let after = NOW + 11 * DAY_MS + 1;
    clock.set(after);
    let late = place(
        &checkout,
        &order(
            "late",
            "live_room",
            Some("ls-1"),
            &[("tea", "tea", 9, 10000)],
            after,
        ),
        after,
    );
    assert!(counted_for(&late).is_empty(), "{late}");
    let partial = checkout.post(
        "/v1/orders/o5/refunds",
        &json!({"refund_id": "rf-2", "lines": [{"line": "l1", "quantity": 4}]}),
    );
    assert_eq!(partial.status, 200, "{}", partial.text);
    let p = progress(&ls, "ls-1");
    assert_eq!(
        (p["gmv"].as_i64(), p["cash"].as_i64()),
        (Some(27000), Some(2500)),
        "{p}"
    );
    assert_eq!(p["closed"], false);

    // A restart before the close changes nothing; the close grants by hand computation:
    // the merchant ends at 35,000 and ls-1 at 27,000, both in tier 1 only (tier 3's 5,000
    // cash needs 60,000 net of refunds).
    let server = server.restart();
    let operator = Api::new(&server.base, operator.key.as_deref().unwrap());
    let checkout = Api::new(&server.base, checkout.key.as_deref().unwrap());
    clock.set(NOW + 18 * DAY_MS + 1);
    for participant in ["teahouse", "ls-1"] {
        let started = std::time::Instant::now();
        let p = loop {
            let p = progress(&operator, participant);
            if p["closed"] == true {
                break p;
            }
            assert!(started.elapsed().as_secs() < 20, "{p}");
            std::thread::yield_now();
        };
        let gmv = if participant == "teahouse" {
            35000
        } else {
            27000
        };
        assert_eq!(p["gmv"], gmv, "{p}");
        assert_eq!(
            moves(&p),
            [
                instant(1),
                instant(2),
                clawback(2),
                instant(2),
                ("post_event".to_owned(), 1)
            ],
            "{p}"
        );
        assert_eq!(
            (p["cash"].as_i64(), p["growth_card_units"].as_i64()),
            (Some(2500), Some(5))
        );
        let ledger = p["ledger"].as_array().unwrap();
        let cash: i64 = ledger.iter().map(|e| e["cash"].as_i64().unwrap()).sum();
        assert_eq!(cash, 2500, "the ledger adds up to what is held");
    }

    // Closed: later refunds move nothing.
    let more = checkout.post(
        "/v1/orders/o5/refunds",
        &json!({"refund_id": "rf-3", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(more.status, 200, "{}", more.text);
    assert_eq!(progress(&operator, "teahouse")["gmv"], 35000);
}

#[test]
fn bad_input_and_other_parties_are_refused_and_change_nothing() {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let operator = server.operator();
    let (admin, _) = shop(&server);
    let rival = operator.create_tenant("rival", "merchant");
    let agency = operator.create_tenant("ag-1", "agency");
    let ls = operator.issue_beneficiary_key("ls-1");
    let ls2 = operator.issue_beneficiary_key("ls-2");
    assert_eq!(operator.post("/v1/incentives", &event()).status, 201);

    let mut bad = event();
    bad["id"] = json!("bad");
    bad["tiers"][1]["gmv"] = json!(5000);
    let refused = operator.post("/v1/incentives", &bad);
    assert_eq!(
        (refused.status, refused.body["error"]["field"].as_str()),
        (422, Some("tiers[1].gmv"))
    );
    bad["tiers"][1]["gmv"] = json!(30000);
    bad["registration_until_ms"] = json!(NOW + 12 * DAY_MS);
    assert_eq!(
        operator.post("/v1/incentives", &bad).status,
        422,
        "registration past the end"
    );
    let mut other = event();
    other["name"] = json!("another");
    assert_eq!(
        operator.post("/v1/incentives", &other).error_type(),
        "incentive_exists"
    );
    let mut own = event();
    own["id"] = json!("teahouse-live");
    assert_eq!(
        admin.post("/v1/incentives", &own).status,
        422,
        "a merchant's event is not for merchants"
    );
    own["who"] = json!(["livestreamer"]);
    let merchant_event = admin.post("/v1/incentives", &own);
    assert_eq!(merchant_event.status, 201, "{}", merchant_event.text);
    assert_eq!(merchant_event.body["owner"], "teahouse");
    assert_eq!(
        agency.post("/v1/incentives", &bad).error_type(),
        "not_a_merchant"
    );

    assert_eq!(
        admin
            .post("/v1/incentives/double-12/registrations", &json!({}))
            .status,
        201
    );
    let not_open = agency.post("/v1/incentives/double-12/registrations", &json!({}));
    assert_eq!(not_open.error_type(), "not_eligible", "{}", not_open.text);
    let unknown = operator.put(
        "/v1/incentives/double-12/facts/nobody",
        &json!({"facts": {"live_preview_published": 1}}),
    );
    assert_eq!(
        (unknown.status, unknown.error_type()),
        (404, "not_found"),
        "{}",
        unknown.text
    );
    let out_of_bounds = operator.put(
        "/v1/incentives/double-12/facts/teahouse",
        &json!({"facts": {"reservations": -1}}),
    );
    assert_eq!(out_of_bounds.status, 422, "{}", out_of_bounds.text);

    // Another tenant's and another party's keys.
    let before = progress(&operator, "teahouse");
    let owner_only: [(&str, String, Option<Value>); 3] = [
        ("GET", "/v1/incentives/double-12/registrations".into(), None),
        (
            "POST",
            "/v1/incentives/double-12/registrations/teahouse/review".into(),
            Some(json!({"approve": true})),
        ),
        (
            "PUT",
            "/v1/incentives/double-12/facts/teahouse".into(),
            Some(json!({"facts": {"live_preview_published": 1}})),
        ),
    ];
    for api in [&rival, &ls, &admin] {
        for (method, path, body) in &owner_only {
            let answer = match (*method, body) {
                ("GET", _) => api.get(path),
                ("POST", Some(b)) => api.post(path, b),
                (_, Some(b)) => api.put(path, b),
                _ => unreachable!(),
            };
            // A party's key has no role here; another tenant's admin runs no such event.
            let expected = if std::ptr::eq(api, &ls) {
                (403, "forbidden")
            } else {
                (404, "not_found")
            };
            let refused = (answer.status, answer.error_type());
            assert_eq!(refused, expected, "{method} {path}: {}", answer.text);
        }
        let theirs = api.get("/v1/incentives/teahouse-live/registrations");
        if std::ptr::eq(api, &admin) {
            assert_eq!(theirs.status, 200, "the merchant runs its own event");
        } else {
            assert!([403, 404].contains(&theirs.status), "{}", theirs.text);
        }
    }
    for api in [&rival, &ls2, &ls] {
        let seen = api.get("/v1/incentives/double-12/progress/teahouse");
        assert_eq!(seen.status, 404, "{}", seen.text);
    }
    assert_eq!(
        progress(&admin, "teahouse"),
        before,
        "its own progress, unchanged"
    );

    // The registration window closes.
    clock.set(NOW + 10 * DAY_MS);
    let late = ls.post("/v1/incentives/double-12/registrations", &json!({}));
    assert_eq!(late.error_type(), "registration_closed", "{}", late.text);
    let listed = operator.get("/v1/incentives/double-12/registrations");
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.text);
    assert_eq!(items[0]["state"], "pending");
    assert!(
        items[0]["facts"].as_object().unwrap().is_empty(),
        "nothing reported"
    );
}

#[test]
fn the_command_line_runs_an_event() {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock);
    let operator = server.operator();
    let (admin, _) = shop(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, event().to_string()).unwrap();
    let base = server.base.clone();
    let cli = |key: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &base, "--key", key]);
        crate::plaza_cli(&all)
    };
    let op = operator.key.clone().unwrap();
    let shop_key = admin.key.clone().unwrap();
    let created = cli(&op, &["incentive", "create", file.to_str().unwrap()]);
    assert_eq!(created["id"], "double-12", "{created}");
    let registered = cli(&shop_key, &["incentive", "register", "double-12"]);
    assert_eq!(registered["state"], "pending");
    let reviewed = cli(
        &op,
        &[
            "incentive",
            "review",
            "double-12",
            "teahouse",
            "--reason",
            "ok",
        ],
    );
    assert_eq!(reviewed["state"], "approved", "{reviewed}");
    let facts = cli(
        &op,
        &[
            "incentive",
            "facts",
            "double-12",
            "teahouse",
            "live_preview_published=1",
            "reservations=120",
        ],
    );
    assert_eq!(facts["facts"]["reservations"], 120, "{facts}");
    let p = cli(
        &shop_key,
        &["incentive", "progress", "double-12", "teahouse"],
    );
    assert_eq!(p["next"]["needs"], 10000, "{p}");
    let listed = cli(&shop_key, &["incentive", "list"]);
    assert_eq!(listed["items"][0]["id"], "double-12");
}
