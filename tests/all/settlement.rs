//! Commission that settles, through the real server on sled: a waterfall order's ledger by
//! party, each party's net, shares that become settleable when the after-sale window
//! closes, settlement runs with one statement per beneficiary, clawbacks carried until
//! netted, beneficiaries reading their own statements with their own keys, and bad or
//! repeated requests that change nothing. The host's clock is a manual one.

use plaza::clock::{Clock as _, ManualClock};
use plaza::domain::order_settings::DEFAULT_AFTER_SALE_MS;
use plaza_tests::server::*;
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000_000;

fn server(clock: &ManualClock) -> Server {
    Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone())
}

/// A merchant whose plan `w` is one 二级团 waterfall step: 20 % of the line to the carrying
/// agency, half of that to the helper agency, 80 % of the helper's to the promoter.
fn waterfall_shop(server: &Server) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("agency-waterfall").status, 201);
    shop.apply(&json!({"id": "w", "steps": [{
        "id": "waterfall", "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"carrying_agency": 200_000, "helper_agency": 500_000, "promoter": 800_000}}]}));
    shop
}

/// One line of two units at 100.00, carried by ag-1, helped by ag-2, shared by p-1.
fn cart() -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 2, "unit_price": 10_000}],
        "buyer": {"id": "b-1"},
        "attribution": {"carrying_agency": "ag-1", "helper_agency": "ag-2", "promoter": "p-1"},
        "now_ms": T0
    })
}

/// Commit `order`, then pay, ship and receive it at `at`.
fn received_order(shop: &Api, order: &str, at: i64) {
    let placed = shop.post("/v1/orders", &commit_request(order, "w", &cart()));
    assert_eq!(placed.status, 201, "{}", placed.text);
    for kind in ["paid", "shipped", "received"] {
        let answer = shop.post(
            &format!("/v1/orders/{order}/events"),
            &json!({"event_id": kind, "type": kind, "at_ms": at}),
        );
        assert_eq!(answer.status, 200, "{kind}: {}", answer.text);
    }
}

/// Wait for the server's timer tick to complete `order` (the clock was moved past its
/// after-sale window): waits for the tick, never for the window.
fn completed(shop: &Api, order: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let got = shop.get(&format!("/v1/orders/{order}"));
        if got.body["state"] == "completed" {
            return got.body;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "never completed: {}",
            got.text
        );
        std::thread::yield_now();
    }
}

/// A server on `clock` with the waterfall shop and its order `o-1` completed: every share
/// settleable (the clock moved past the after-sale window).
fn settleable_order(clock: &ManualClock) -> (Server, Api) {
    let server = server(clock);
    let shop = waterfall_shop(&server);
    received_order(&shop, "o-1", T0);
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    completed(&shop, "o-1");
    (server, shop)
}

/// (party, id) → (received, paid_on, net) of an order.
fn parties(shop: &Api, order: &str) -> Vec<(String, String, i64, i64, i64)> {
    let answer = shop.get(&format!("/v1/orders/{order}/parties"));
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["party"].as_str().unwrap().to_owned(),
                p["id"].as_str().unwrap().to_owned(),
                p["received"].as_i64().unwrap(),
                p["paid_on"].as_i64().unwrap(),
                p["net"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn party(name: &str, id: &str, received: i64, paid_on: i64) -> (String, String, i64, i64, i64) {
    (
        name.into(),
        id.into(),
        received,
        paid_on,
        received - paid_on,
    )
}

fn settle(shop: &Api, id: &str, until_ms: i64) -> Answer {
    shop.post(
        "/v1/settlements",
        &json!({"settlement_id": id, "until_ms": until_ms}),
    )
}

#[test]
fn a_waterfall_order_settles_each_party_its_hand_computed_net_and_claws_back_a_late_refund() {
    let clock = ManualClock::at(T0);
    let server = server(&clock);
    let shop = waterfall_shop(&server);
    received_order(&shop, "o-1", T0);

    // 200.00 paid. Merchant → ag-1 20 % = 40.00; ag-1 → ag-2 50 % = 20.00; ag-2 → p-1
    // 80 % = 16.00. Each keeps what it received less what it paid on.
    let expected = vec![
        party("merchant", "teahouse", 20_000, 4_000),
        party("carrying_agency", "ag-1", 4_000, 2_000),
        party("helper_agency", "ag-2", 2_000, 1_600),
        party("promoter", "p-1", 1_600, 0),
    ];
    assert_eq!(parties(&shop, "o-1"), expected);
    let nets: i64 = expected.iter().map(|p| p.4).sum();
    assert_eq!(nets, 20_000, "the nets add up to what the buyer paid");

    // The ledger names both sides of every share.
    let ledger = shop.get("/v1/orders/o-1/ledger").body["items"].clone();
    let shares: Vec<(&str, &str, &str, &str, i64)> = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commission_pending")
        .map(|e| {
            assert_eq!(e["step"], "waterfall");
            (
                e["payer_party"].as_str().unwrap(),
                e["payer"].as_str().unwrap(),
                e["payee_party"].as_str().unwrap(),
                e["party"].as_str().unwrap(),
                e["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shares,
        [
            ("merchant", "teahouse", "carrying_agency", "ag-1", 4_000),
            ("carrying_agency", "ag-1", "helper_agency", "ag-2", 2_000),
            ("helper_agency", "ag-2", "promoter", "p-1", 1_600),
        ]
    );

    // Pending until the after-sale window closes; nothing to settle before.
    let balance = shop.get("/v1/beneficiaries/ag-2/balance");
    assert_eq!(balance.status, 200, "{}", balance.text);
    assert_eq!(balance.body["total"]["pending"], 400);
    assert_eq!(balance.body["total"]["settleable"], 0);
    let early = settle(&shop, "s-0", T0);
    assert_eq!(early.status, 201, "{}", early.text);
    assert_eq!(
        (
            early.body["shares"].as_i64(),
            early.body["statements"].as_i64()
        ),
        (Some(0), Some(0))
    );

    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    let order = completed(&shop, "o-1");
    assert!(
        order["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "settleable")
    );
    assert_eq!(
        shop.get("/v1/beneficiaries/ag-2/balance").body["total"]["settleable"],
        400
    );

    let now = clock.now_ms();
    let run = settle(&shop, "s-1", now);
    assert_eq!(run.status, 201, "{}", run.text);
    assert_eq!(run.body["shares"], 3);
    assert_eq!(run.body["statements"], 3);
    assert_eq!(
        run.body["commission"], 4_000,
        "the merchant pays ag-1's 40.00"
    );
    assert_eq!(run.body["payout"], 4_000, "paid out: 20.00 + 4.00 + 16.00");
    assert_eq!(
        statement_figures(&shop, "s-1"),
        [
            ("ag-1".to_owned(), [4_000, 2_000, 0, 2_000, 2_000, 0]),
            ("ag-2".to_owned(), [2_000, 1_600, 0, 400, 400, 0]),
            ("p-1".to_owned(), [1_600, 0, 0, 1_600, 1_600, 0]),
        ]
    );
    // A replay pays nothing twice and answers the same run; the same id with another
    // request is refused.
    let again = settle(&shop, "s-1", now);
    assert_eq!((again.status, &again.body), (200, &run.body));
    let reused = settle(&shop, "s-1", now - 1);
    assert_eq!(reused.status, 409, "{}", reused.text);
    assert_eq!(reused.error_type(), "settlement_id_reused");
    assert_eq!(shop.get("/v1/settlements/s-1").body, run.body);
    let order = shop.get("/v1/orders/o-1").body;
    assert!(
        order["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "settled" && c["settlement"] == "s-1")
    );

    // A beneficiary reads its own statements and balance with its own key, and nobody
    // else's.
    let issued = server.operator().post(
        "/v1/beneficiaries/ag-2/keys",
        &json!({"name": "ag-2 finance"}),
    );
    assert_eq!(issued.status, 201, "{}", issued.text);
    let ag2 = Api::new(&server.base, issued.body["key"].as_str().unwrap());
    let own = ag2.get("/v1/beneficiaries/ag-2/statements");
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["items"][0]["net"], 400);
    assert_eq!(own.body["items"][0]["merchant"], "teahouse");
    assert_eq!(
        ag2.get("/v1/beneficiaries/ag-2/balance").body["total"]["paid_out"],
        400
    );
    for path in [
        "/v1/beneficiaries/p-1/balance",
        "/v1/beneficiaries/p-1/statements",
    ] {
        assert_eq!(ag2.get(path).status, 404, "{path}");
    }
    for path in ["/v1/settlements", "/v1/orders/o-1", "/v1/plans"] {
        assert_eq!(ag2.get(path).status, 403, "{path}");
    }

    // A refund after settlement claws back pro rata: half the units, half of each share.
    let refund = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "late", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    let clawbacks: Vec<(String, i64)> = pages(&shop, "/v1/orders/o-1/ledger", "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .filter(|e| e["kind"] == "commission_clawback")
        .map(|e| {
            (
                e["party"].as_str().unwrap().to_owned(),
                e["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        clawbacks,
        [
            ("ag-1".into(), -2_000),
            ("ag-2".into(), -1_000),
            ("p-1".into(), -800)
        ]
    );
    assert_eq!(
        parties(&shop, "o-1"),
        [
            party("merchant", "teahouse", 10_000, 2_000),
            party("carrying_agency", "ag-1", 2_000, 1_000),
            party("helper_agency", "ag-2", 1_000, 800),
            party("promoter", "p-1", 800, 0),
        ]
    );
    // Each carries what it owes back, less what it is owed back by whom it paid.
    let carried = |who: &str| {
        shop.get(&format!("/v1/beneficiaries/{who}/balance")).body["total"]["carried"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (carried("ag-1"), carried("ag-2"), carried("p-1")),
        (-1_000, -200, -800)
    );

    // The next run has no new share: it brings the clawbacks forward and carries them on.
    let next = settle(&shop, "s-2", clock.now_ms());
    assert_eq!(next.status, 201, "{}", next.text);
    assert_eq!(next.body["brought_forward"], -2_000);
    assert_eq!(next.body["carried_forward"], -2_000);
    assert_eq!(next.body["payout"], 0);
    assert_eq!(
        statement_figures(&shop, "s-2"),
        [
            ("ag-1".to_owned(), [0, 0, -1_000, -1_000, 0, -1_000]),
            ("ag-2".to_owned(), [0, 0, -200, -200, 0, -200]),
            ("p-1".to_owned(), [0, 0, -800, -800, 0, -800]),
        ]
    );

    // A new order's shares net against what each carries.
    let at = clock.now_ms();
    received_order(&shop, "o-2", at);
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    completed(&shop, "o-2");
    let third = settle(&shop, "s-3", clock.now_ms());
    assert_eq!(third.status, 201, "{}", third.text);
    assert_eq!(
        statement_figures(&shop, "s-3"),
        [
            ("ag-1".to_owned(), [4_000, 2_000, -1_000, 1_000, 1_000, 0]),
            ("ag-2".to_owned(), [2_000, 1_600, -200, 200, 200, 0]),
            ("p-1".to_owned(), [1_600, 0, -800, 800, 800, 0]),
        ]
    );
    assert_eq!(
        (carried("ag-1"), carried("ag-2"), carried("p-1")),
        (0, 0, 0)
    );
    // Everything the merchant paid on these orders reached the beneficiaries, to the fen:
    // 40.00 + 40.00 in shares, less 20.00 clawed back.
    let paid_out: i64 = ["ag-1", "ag-2", "p-1"]
        .iter()
        .map(|w| {
            shop.get(&format!("/v1/beneficiaries/{w}/balance")).body["total"]["paid_out"]
                .as_i64()
                .unwrap()
        })
        .sum();
    assert_eq!(paid_out, 6_000);
    assert_eq!(
        ag2.get("/v1/beneficiaries/ag-2/statements").body["items"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "s-1, s-2 and s-3"
    );
}

#[test]
fn a_refund_before_settlement_reverses_and_the_run_pays_what_is_left() {
    let clock = ManualClock::at(T0);
    let server = server(&clock);
    let shop = waterfall_shop(&server);
    received_order(&shop, "o-1", T0);
    let refund = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    let kinds: Vec<String> = shop.get("/v1/orders/o-1/ledger").body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"commission_reversed".to_owned()));
    assert!(!kinds.contains(&"commission_clawback".to_owned()));
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    completed(&shop, "o-1");
    let run = settle(&shop, "s-1", clock.now_ms());
    assert_eq!(run.status, 201, "{}", run.text);
    assert_eq!(run.body["payout"], 2_000, "half of 40.00");
    assert_eq!(
        shop.get("/v1/beneficiaries/p-1/balance").body["total"],
        json!({"pending": 0, "settleable": 0, "carried": 0, "paid_out": 800})
    );
}

#[test]
fn bad_settlement_requests_are_refused_with_a_type_and_change_nothing() {
    let clock = ManualClock::at(T0);
    let (server, shop) = settleable_order(&clock);
    let now = clock.now_ms();
    let long = "s".repeat(129);
    let cases = [
        (
            json!({"settlement_id": "s", "until_ms": now + 1}),
            "invalid",
            "until_ms",
        ),
        (
            json!({"settlement_id": "s", "until_ms": -1}),
            "invalid",
            "until_ms",
        ),
        (
            json!({"settlement_id": long, "until_ms": now}),
            "invalid",
            "settlement_id",
        ),
        (
            json!({"settlement_id": "has space", "until_ms": now}),
            "invalid",
            "settlement_id",
        ),
        (json!({"settlement_id": "s"}), "invalid_body", ""),
        (
            json!({"settlement_id": "s", "until_ms": now, "extra": 1}),
            "invalid_body",
            "",
        ),
        (
            json!({"settlement_id": "s", "until_ms": "soon"}),
            "invalid_body",
            "until_ms",
        ),
        (json!([]), "invalid_body", ""),
    ];
    for (body, kind, field) in &cases {
        let answer = shop.post("/v1/settlements", body);
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.error_type(), *kind, "{body}: {}", answer.text);
        if !field.is_empty() {
            assert_eq!(answer.body["error"]["field"], *field, "{body}");
        }
    }
    assert_eq!(shop.get("/v1/settlements").body["items"], json!([]));
    assert_eq!(
        shop.get("/v1/beneficiaries/p-1/balance").body["total"]["settleable"],
        1_600,
        "nothing was settled"
    );
    assert_eq!(shop.get("/v1/settlements/nope").status, 404);
    assert_eq!(shop.get("/v1/settlements/nope/statements").status, 404);
    assert_eq!(shop.get("/v1/orders/nope/parties").status, 404);
    let checkout = shop.issue_key("teahouse", "checkout");
    let refused = settle(&checkout, "s", now);
    assert_eq!((refused.status, refused.error_type()), (403, "forbidden"));
    let operator = server.operator();
    assert_eq!(settle(&operator, "s", now).status, 403);
    assert_eq!(
        shop.post("/v1/beneficiaries/p-1/keys", &json!({})).status,
        403,
        "only the operator issues beneficiary keys"
    );
}

#[test]
fn the_same_settlement_sent_eight_times_at_once_pays_once_and_answers_identically() {
    let clock = ManualClock::at(T0);
    let (_server, shop) = settleable_order(&clock);
    let now = clock.now_ms();
    let answers = race(8, 1, |_| settle(&shop, "s-1", now));
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "exactly one run created");
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    assert!(answers.iter().all(|a| [200, 201].contains(&a.status)));
    assert_eq!(
        shop.get("/v1/beneficiaries/p-1/balance").body["total"]["paid_out"],
        1_600
    );
    // A second run finds nothing left to pay.
    let second = settle(&shop, "s-2", now);
    assert_eq!(
        (
            second.body["shares"].as_i64(),
            second.body["payout"].as_i64()
        ),
        (Some(0), Some(0))
    );
}

/// An order written before commission shares had records of their own (its shares inline,
/// no count) is read as it is, and its first change (here one that leaves the shares
/// alone: payment) moves its shares beside it.
#[test]
fn an_order_stored_with_its_shares_inline_keeps_working_and_moves_them_out_on_its_first_change() {
    use plaza::store::{Table, key};
    let clock = ManualClock::at(T0);
    let server = server(&clock);
    let shop = waterfall_shop(&server);
    let placed = shop.post("/v1/orders", &commit_request("o-1", "w", &cart()));
    assert_eq!(placed.status, 201, "{}", placed.text);
    let before = placed.body;
    let server = server.restart_with_store(|store| {
        let okey = key(&[b"teahouse", b"o-1"]);
        let mut order: Value = store.get(Table::Orders, &okey).unwrap().unwrap();
        // The inline form: the shares as the order's commissions, as they were then (no
        // parties, no state), nothing beside it.
        let inline: Vec<Value> = before["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({"step": c["step"], "line": c["line"], "payee": c["payee"],
                       "amount": c["amount"], "reversed": c["reversed"]})
            })
            .collect();
        order["commissions"] = json!(inline);
        order.as_object_mut().unwrap().remove("commission_shares");
        store.put(Table::Orders, &okey, &order).unwrap();
        for i in 0..3u32 {
            let share = plaza::domain::commission::share_key("teahouse", "o-1", i);
            store.remove(Table::Commissions, &share).unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(store.flush()).unwrap();
    });
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let shares = |o: &Value| -> Vec<(String, i64, i64)> {
        o["commissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let n = |f: &str| c[f].as_i64().unwrap();
                (
                    c["payee"].as_str().unwrap().to_owned(),
                    n("amount"),
                    n("reversed"),
                )
            })
            .collect()
    };
    let read = shop.get("/v1/orders/o-1").body;
    assert_eq!(shares(&read), shares(&before));
    assert_eq!(read["commissions"][0]["state"], "pending");
    shop.pay("o-1", T0);
    let server = server.restart();
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let after = shop.get("/v1/orders/o-1");
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["commission_shares"], 3);
    assert_eq!(
        shares(&after.body),
        shares(&before),
        "the shares, now stored beside it"
    );
    let refund = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(refund.status, 200, "{}", refund.text);
    let reversed: Vec<i64> = shares(&refund.body).iter().map(|s| s.2).collect();
    assert_eq!(reversed, [2_000, 1_000, 800], "half of each share");
}

/// A run a crash left `running` (its record written, its shares not yet paid): another
/// run is refused until it is finished, and sending it again finishes it.
#[test]
fn a_run_left_running_refuses_another_until_it_is_sent_again_and_finished() {
    use plaza::store::{Table, key};
    let clock = ManualClock::at(T0);
    let (server, shop) = settleable_order(&clock);
    let now = clock.now_ms();
    let ran = settle(&shop, "s-0", now);
    assert_eq!(ran.status, 201, "{}", ran.text);
    // Another completed order, so that the stopped run has something left to pay.
    received_order(&shop, "o-2", now);
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    completed(&shop, "o-2");
    let later = clock.now_ms();
    let request = json!({"settlement_id": "s-1", "until_ms": later});
    // The run's record as its first transaction writes it, with its request's sha256.
    let mut running = ran.body.clone();
    running["id"] = json!("s-1");
    running["state"] = json!("running");
    running["until_ms"] = json!(later);
    for figure in ["shares", "statements", "commission", "payout"] {
        running[figure] = json!(0);
    }
    let body: plaza::domain::SettlementRequest = serde_json::from_value(request.clone()).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(serde_json::to_vec(&body).unwrap()))
    };
    running["request_sha256"] = json!(sha);
    let server = server.restart_with_store(|store| {
        store
            .put(Table::Settlements, &key(&[b"teahouse", b"s-1"]), &running)
            .unwrap();
        store
            .put(Table::RunningSettlements, b"teahouse", &"s-1")
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(store.flush()).unwrap();
    });
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    assert_eq!(shop.get("/v1/settlements/s-1").body["state"], "running");
    let other = settle(&shop, "s-2", later);
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.error_type(), "settlement_running");
    assert!(other.text.contains("s-1"), "{}", other.text);
    let finished = shop.post("/v1/settlements", &request);
    assert_eq!(finished.status, 201, "{}", finished.text);
    assert_eq!(finished.body["state"], "done");
    assert_eq!(
        finished.body["shares"], 3,
        "o-2's shares, up to the run's until_ms"
    );
    assert_eq!(
        settle(&shop, "s-2", later).status,
        201,
        "the next run may start"
    );
}

/// The command line does what the routes do: settle, read the run, its statements, a
/// balance, an order's parties, the report, and issue a beneficiary its key.
#[test]
fn the_command_line_settles_and_reads_balances_statements_parties_and_reports() {
    let clock = ManualClock::at(T0);
    let (server, shop) = settleable_order(&clock);
    let key = shop.key.clone().unwrap();
    // The command, then the server and key, then the rest (a list's own subcommand).
    let as_key = |key: &str, args: &[&str]| {
        let mut all = vec![args[0], "--server", &server.base, "--key", key];
        all.extend_from_slice(&args[1..]);
        crate::plaza_cli(&all)
    };
    let on = |args: &[&str]| as_key(&key, args);
    let until = clock.now_ms().to_string();
    let run = on(&["settle", "--settlement-id", "s-1", "--until-ms", &until]);
    assert_eq!(
        (run["shares"].as_i64(), run["state"].as_str()),
        (Some(3), Some("done"))
    );
    assert_eq!(on(&["settlement", "s-1"]), run);
    let statements = on(&["list", "settlement-statements", "s-1", "--all"]);
    assert_eq!(statements.as_array().unwrap().len(), 3, "{statements}");
    assert_eq!(on(&["balance", "p-1"])["total"]["paid_out"], 1_600);
    let parties = on(&["parties", "o-1"]);
    assert_eq!(parties[0]["party"], "merchant");
    assert_eq!(on(&["report"])["orders"], 1);
    assert_eq!(on(&["list", "settlements"])["items"][0]["id"], "s-1");
    let operator = plaza_tests::server::OPERATOR_KEY;
    let issued = as_key(operator, &["beneficiary-key", "p-1", "--name", "phone"]);
    let own = issued["key"].as_str().unwrap();
    let mine = as_key(own, &["list", "statements", "p-1"]);
    assert_eq!(mine["items"][0]["net"], 1_600);
}
