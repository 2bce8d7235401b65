//! Member points through the real server on sled and the real `points-deduction` plugin:
//! a rule spends points within the buyer's balance, the merchant's share and exchange
//! rate; commit holds them, payment spends them, a cancel gives them back, a refund
//! returns them in proportion, completion earns points on what was paid, a refund after
//! completion takes them back, and lots expire on the host's timers. Every account equals
//! the sum of its ledger, under racing commits too.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;

/// A merchant whose plan `points` has one points step, with a program: 1 point per yuan
/// earned, 100 points pay 1 yuan, at most 30 % of the goods, points valid 30 days.
fn shop(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("points-deduction").status, 201);
    shop.apply(&json!({
        "id": "points",
        "steps": [{
            "id": "pay-with-points",
            "plugin": {"name": "points-deduction", "version": "1.0.0"},
            "config": {}
        }]
    }));
    let terms = json!({"earn_rate_ppm": 10_000, "exchange": {"points": 100, "fen": 100},
                       "max_share_ppm": 300_000, "validity_days": 30});
    let saved = shop.put("/v1/settings/points", &terms);
    assert_eq!((saved.status, &saved.body), (200, &terms), "{}", saved.text);
    shop
}

/// One line: `quantity` cups at 50.00.
fn cart(buyer: &str, quantity: u32, now_ms: i64) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "cup", "merchant": "teahouse", "quantity": quantity,
                   "unit_price": 5_000}],
        "buyer": {"id": buyer},
        "now_ms": now_ms,
    })
}

fn grant(shop: &Api, buyer: &str, id: &str, points: i64) -> Answer {
    shop.post(
        &format!("/v1/buyers/{buyer}/points/grants"),
        &json!({"grant_id": id, "points": points, "reason": "welcome"}),
    )
}

fn account(shop: &Api, buyer: &str) -> (i64, i64) {
    let a = shop.get(&format!("/v1/buyers/{buyer}/points")).body;
    (a["balance"].as_i64().unwrap(), a["held"].as_i64().unwrap())
}

/// The ledger's kinds in order, and its sums of `points` and `held`.
fn ledger(shop: &Api, buyer: &str) -> (Vec<String>, i64, i64) {
    let entries: Vec<Value> = pages(shop, &format!("/v1/buyers/{buyer}/points/ledger"), "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    let sum = |f: &str| entries.iter().map(|e| e[f].as_i64().unwrap()).sum();
    let kinds = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned());
    (kinds.collect(), sum("points"), sum("held"))
}

fn reconciles(shop: &Api, buyer: &str) {
    let (balance, held) = account(shop, buyer);
    let (_, points, held_sum) = ledger(shop, buyer);
    assert_eq!(
        (balance, held),
        (points, held_sum),
        "account = ledger for {buyer}"
    );
}

fn commit(shop: &Api, order: &str, cart: &Value) -> Answer {
    shop.post("/v1/orders", &commit_request(order, "points", cart))
}

#[test]
fn points_pay_within_balance_share_and_rate_held_by_commit_and_released_by_cancel() {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|_| {}, clock.clone());
    let shop = shop(&server);
    // No points yet: the step proposes nothing.
    let q = shop.post("/v1/plans/points/quote", &cart("b-1", 2, T0));
    assert_eq!(q.body["total"]["payable"], 10_000, "{}", q.text);
    assert!(q.body.get("points").is_none());

    assert_eq!(grant(&shop, "b-1", "welcome", 5_050).status, 201);
    assert_eq!(
        grant(&shop, "b-1", "welcome", 5_050).status,
        200,
        "a replay"
    );
    assert_eq!(
        grant(&shop, "b-1", "welcome", 10).error_type(),
        "grant_id_reused"
    );
    assert_eq!(account(&shop, "b-1"), (5_050, 0));

    // 30 % of 100.00 caps it: 3,000 points pay 30.00.
    let q = shop.post("/v1/plans/points/quote", &cart("b-1", 2, T0));
    assert_eq!(
        (&q.body["points"], &q.body["total"]["payable"]),
        (
            &json!({"points": 3_000, "value": 3_000, "balance": 5_050}),
            &json!(7_000)
        ),
        "{}",
        q.text
    );
    let clipped = q.body["explanation"][0]["clipped"][0].as_str().unwrap();
    assert!(clipped.contains("largest share"), "{clipped}");

    let first = commit(&shop, "o-1", &cart("b-1", 2, T0));
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["points"]["used"], 3_000);
    assert_eq!(account(&shop, "b-1"), (2_050, 3_000));

    // The rest buys in whole units of 100 points: 2,000 of the 2,050 left.
    let second = commit(&shop, "o-2", &cart("b-1", 2, T0));
    assert_eq!(second.body["points"]["used"], 2_000, "{}", second.text);
    assert_eq!(second.body["quote"]["total"]["payable"], 8_000);
    assert_eq!(account(&shop, "b-1"), (50, 5_000));

    // Too few points left for a unit: nothing spent, and the explanation says why.
    let q = shop.post("/v1/plans/points/quote", &cart("b-1", 2, T0));
    assert_eq!(q.body["total"]["payable"], 10_000);
    let why = q.body["explanation"][0]["clipped"][0].as_str().unwrap();
    assert!(why.contains("usable points"), "{why}");

    assert_eq!(shop.post("/v1/orders/o-1/cancel", &json!({})).status, 200);
    assert_eq!(account(&shop, "b-1"), (3_050, 2_000));
    let (kinds, _, _) = ledger(&shop, "b-1");
    assert_eq!(kinds, ["grant", "reserve", "reserve", "release"]);
    reconciles(&shop, "b-1");

    // Another buyer's points are not b-1's, and nobody else reads them.
    assert_eq!(account(&shop, "b-2"), (0, 0));
    let checkout = shop.issue_key("teahouse", "checkout");
    assert_eq!(account(&checkout, "b-1"), (3_050, 2_000));
    let author = shop.issue_key("teahouse", "author");
    assert_eq!(author.get("/v1/buyers/b-1/points").status, 403);
    assert_eq!(grant(&checkout, "b-1", "sneaky", 1_000).status, 403);
    // A stranger reads and grants only in its own program (if anywhere): never the shop's.
    for (who, api) in strangers(&server) {
        let granted = grant(&api, "b-1", &format!("g-{who}"), 10);
        assert!(
            [201, 403, 404].contains(&granted.status),
            "{who}: {}",
            granted.text
        );
        for path in ["/v1/buyers/b-1/points", "/v1/buyers/b-1/points/ledger"] {
            let seen = api.get(path);
            assert!(
                [403, 404].contains(&seen.status) || !seen.text.contains("grant:welcome"),
                "{who}: {}",
                seen.text
            );
        }
    }
    assert_eq!(account(&shop, "b-1"), (3_050, 2_000), "nothing changed");
}

#[test]
fn payment_spends_refunds_return_in_proportion_completion_earns_and_lots_expire() {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let shop = shop(&server);
    assert_eq!(grant(&shop, "b-1", "g-1", 3_000).status, 201);
    // Four cups (200.00): 3,000 points pay 30.00.
    let placed = commit(&shop, "o-1", &cart("b-1", 4, T0));
    assert_eq!(placed.body["points"]["used"], 3_000, "{}", placed.text);
    let event = |id: &str, kind: &str, at: i64| {
        let a = shop.post(
            "/v1/orders/o-1/events",
            &json!({"event_id": id, "type": kind, "at_ms": at}),
        );
        assert_eq!(a.status, 200, "{}", a.text);
    };
    event("e-paid", "paid", T0 + 1_000);
    assert_eq!(account(&shop, "b-1"), (0, 0), "paid: spent");

    // One of four cups back: a quarter of the goods' money, a quarter of the points.
    let refund = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(account(&shop, "b-1"), (750, 0));

    // Received, then the after-sale window closes: 1 point per yuan of the 127.50 paid
    // for the three cups kept (170.00 × 0.75).
    event("e-recv", "received", T0 + 2_000);
    let closes = shop.get("/v1/orders/o-1").body["after_sale_ends_ms"]
        .as_i64()
        .unwrap();
    clock.set(closes);
    let done = wait_for(|| {
        let o = shop.get("/v1/orders/o-1").body;
        (o["state"] == "completed").then_some(o)
    });
    assert_eq!(done["points"]["earned"], 127, "{done}");
    assert_eq!(account(&shop, "b-1"), (877, 0));

    // A refund after completion takes back what the refunded cup earned.
    let late = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r-2", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(late.status, 200, "{}", late.text);
    let after = shop.get("/v1/orders/o-1").body;
    assert_eq!(after["points"]["earn_reversed"], 127 - 85, "{after}");
    assert_eq!(after["points"]["returned"], 1_500, "half the goods back");
    assert_eq!(account(&shop, "b-1"), (877 + 750 - 42, 0));
    reconciles(&shop, "b-1");

    // The grant's lot (what came back of it) expires 30 days after the grant; the earned
    // lot 30 days after completion.
    // (A lot past its time is left out of the balance at once; the ledger's expiry comes
    // with the timer.)
    let entries = || ledger(&shop, "b-1").0.len();
    clock.set(T0 + 30 * DAY);
    assert_eq!(account(&shop, "b-1").0, 85);
    wait_for(|| (entries() == 8).then_some(()));
    clock.set(closes + 30 * DAY);
    assert_eq!(account(&shop, "b-1").0, 0);
    wait_for(|| (entries() == 9).then_some(()));
    let (kinds, _, _) = ledger(&shop, "b-1");
    assert_eq!(
        kinds,
        [
            "grant", "reserve", "redeem", "return", "earn", "return", "reverse", "expire", "expire"
        ]
    );
    reconciles(&shop, "b-1");
}

#[test]
fn racing_commits_never_spend_more_points_than_the_buyer_has() {
    let server = Server::start();
    let shop = shop(&server);
    assert_eq!(grant(&shop, "b-1", "g-1", 10_000).status, 201);
    // An order of two cups spends up to 3,000 points; later ones what is left. (The
    // server's clock is the real one: so is the carts'.)
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let answers = race(4, 6, |n| {
        commit(&shop, &format!("o-{n}"), &cart("b-1", 2, now))
    });
    let mut spent = 0;
    for a in &answers {
        match a.status {
            201 => spent += a.body["points"]["used"].as_i64().unwrap(),
            409 => assert_eq!(a.error_type(), "points_changed", "{}", a.text),
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    let (balance, held) = account(&shop, "b-1");
    assert!(spent >= 3_000, "the first commit of the race spends");
    assert_eq!(held, spent);
    assert_eq!(balance + held, 10_000, "every point is held or still there");
    reconciles(&shop, "b-1");
    // After the race, an order spends what is left, in whole units, up to its share.
    let last = commit(&shop, "o-last", &cart("b-1", 2, now));
    let expected = (balance / 100 * 100).min(3_000);
    assert_eq!(last.body["points"]["used"], expected, "{}", last.text);
    assert_eq!(account(&shop, "b-1"), (balance - expected, held + expected));
}

/// What `probe` finds, once it finds something: the server's timer tick fires what the
/// moved clock made due. Waits for the tick, never for a deadline.
fn wait_for<T>(probe: impl Fn() -> Option<T>) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never came"
        );
        std::thread::yield_now();
    }
}

#[test]
fn the_command_line_sets_the_program_grants_and_reads_the_account_and_ledger() {
    let server = Server::start();
    let shop = shop(&server);
    let base = server.base.clone();
    let admin = shop.key.clone().unwrap();
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &base, "--key", &admin]);
        crate::plaza_cli(&all)
    };
    let terms = cli(&[
        "points",
        "settings",
        "--max-share-ppm",
        "500000",
        "--exchange-points",
        "10",
    ]);
    assert_eq!(
        (
            &terms["max_share_ppm"],
            &terms["exchange"],
            &terms["earn_rate_ppm"]
        ),
        (
            &json!(500_000),
            &json!({"points": 10, "fen": 100}),
            &json!(10_000)
        ),
        "changed what was asked, kept the rest"
    );
    assert_eq!(shop.get("/v1/settings/points").body, terms);
    let granted = cli(&[
        "points",
        "grant",
        "b-7",
        "--grant-id",
        "sign-in",
        "--points",
        "40",
    ]);
    assert_eq!(
        (&granted["points"], &granted["entry"]),
        (&json!(40), &json!(1))
    );
    let shown = cli(&["points", "show", "b-7"]);
    assert_eq!((&shown["balance"], &shown["held"]), (&json!(40), &json!(0)));
    let listed = crate::plaza_cli(&[
        "list",
        "--server",
        &base,
        "--key",
        &admin,
        "points-ledger",
        "b-7",
    ]);
    assert_eq!(listed["items"][0]["kind"], "grant", "{listed}");
    assert_eq!(listed["items"][0]["source"], "grant:sign-in");
}
