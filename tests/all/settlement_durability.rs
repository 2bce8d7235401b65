//! A settlement run killed with SIGKILL: the real `plaza` process is killed while it runs a
//! settlement over thousands of shares, at several points of the run, restarted each time,
//! and the run sent again. Whatever the
//! kill interrupted, nothing is lost and nothing is paid twice: every share is settled
//! exactly once, by the one run, and every beneficiary is paid exactly what it earned.

use plaza::clock::{Clock as _, ManualClock};
use plaza::domain::order_settings::DEFAULT_AFTER_SALE_MS;
use plaza_tests::server::*;
use serde_json::json;

const PLAZA: &str = env!("CARGO_BIN_EXE_plaza-e2e");
const ORDERS: usize = 1_000;
const T0: i64 = 1_700_000_000_000;

/// What each beneficiary earns on one order: one line of 100.00; ag-1 20 % (20.00), of
/// which ag-2 half (10.00), of which p-{n % 7} 80 % (8.00).
const AG1: i64 = 2_000 - 1_000;
const AG2: i64 = 1_000 - 800;
const PROMOTER: i64 = 800;

fn paid_out(shop: &Api, who: &str) -> i64 {
    shop.get(&format!("/v1/beneficiaries/{who}/balance")).body["total"]["paid_out"]
        .as_i64()
        .unwrap()
}

#[test]
fn kill_9_during_a_settlement_run_loses_nothing_and_pays_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let key = {
        let data = dir.path().to_path_buf();
        let clock = ManualClock::at(T0);
        let server = Server::start_with_clock(
            move |c| {
                c.data_dir = data;
                c.sync_writes = false;
                c.timer_tick_ms = 5;
            },
            clock.clone(),
        );
        let shop = server.operator().create_tenant("teahouse", "merchant");
        shop.trust_checkout_attribution();
        assert_eq!(shop.upload("agency-waterfall").status, 201);
        shop.apply(&json!({"id": "w", "steps": [{
            "id": "waterfall", "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
            "config": {"carrying_agency": 200_000, "helper_agency": 500_000, "promoter": 800_000}}]}));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let shop = shop.clone();
                std::thread::spawn(move || {
                    for i in (w..ORDERS).step_by(4) {
                        let id = format!("o-{i:05}");
                        let cart = json!({
                            "lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 1, "unit_price": 10_000}],
                            "buyer": {"id": format!("b-{i}")},
                            "attribution": {"carrying_agency": "ag-1", "helper_agency": "ag-2", "promoter": format!("p-{}", i % 7)},
                            "now_ms": T0
                        });
                        let placed = shop.post("/v1/orders", &commit_request(&id, "w", &cart));
                        assert_eq!(placed.status, 201, "{}", placed.text);
                        for kind in ["paid", "received"] {
                            let event = shop.post(
                                &format!("/v1/orders/{id}/events"),
                                &json!({"event_id": kind, "type": kind, "at_ms": T0}),
                            );
                            assert_eq!(event.status, 200, "{}", event.text);
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        clock.advance(DEFAULT_AFTER_SALE_MS + 1);
        let started = std::time::Instant::now();
        let settleable = || {
            shop.get("/v1/beneficiaries/ag-1/balance").body["total"]["settleable"]
                .as_i64()
                .unwrap()
        };
        while settleable() != AG1 * ORDERS as i64 {
            assert!(started.elapsed().as_secs() < 120, "orders never completed");
            std::thread::yield_now();
        }
        shop.key.clone().unwrap()
        // The in-process server shuts down here, flushing everything.
    };

    // The real process, on the system clock (years past every after-sale window).
    let until = plaza::clock::SystemClock.now_ms();
    let run = json!({"settlement_id": "2026-12", "until_ms": until});
    // Killed at several points of the run (it takes about 150 ms on a 2-core machine):
    // in its scan, its transaction, its flush, or after it answered. Each must hold.
    let mut acknowledged = None;
    for delay_ms in [5, 40, 90, 140, 400] {
        let process = Process::serve(PLAZA, dir.path());
        let sender = {
            let shop = Api::new(&process.base, &key);
            let run = run.clone();
            std::thread::spawn(move || shop.try_post("/v1/settlements", &run))
        };
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        process.kill();
        if let Some(answer) = sender.join().unwrap().filter(|a| a.status == 201) {
            acknowledged.get_or_insert(answer.body);
        }
    }

    let process = Process::serve(PLAZA, dir.path());
    let shop = Api::new(&process.base, &key);
    let again = shop.post("/v1/settlements", &run);
    assert!(
        [200, 201].contains(&again.status),
        "{}: {}",
        again.status,
        again.text
    );
    if let Some(first) = acknowledged {
        assert_eq!(again.status, 200, "an acknowledged run survives the kill");
        assert_eq!(again.body, first);
    }
    assert_eq!(again.body["shares"], 3 * ORDERS as u64, "{}", again.text);
    assert_eq!(again.body["statements"], 9);
    assert_eq!(again.body["commission"], 2_000 * ORDERS as i64);
    assert_eq!(again.body["payout"], 2_000 * ORDERS as i64);
    // Sent once more: the same run, nothing paid twice.
    let third = shop.post("/v1/settlements", &run);
    assert_eq!((third.status, &third.body), (200, &again.body));
    let later = shop.post(
        "/v1/settlements",
        &json!({"settlement_id": "2026-12-b", "until_ms": until}),
    );
    assert_eq!(later.body["shares"], 0, "{}", later.text);
    assert_eq!(paid_out(&shop, "ag-1"), AG1 * ORDERS as i64);
    assert_eq!(paid_out(&shop, "ag-2"), AG2 * ORDERS as i64);
    let promoters: i64 = (0..7).map(|p| paid_out(&shop, &format!("p-{p}"))).sum();
    assert_eq!(promoters, PROMOTER * ORDERS as i64);
    for i in (0..ORDERS).step_by(97) {
        let order = shop.get(&format!("/v1/orders/o-{i:05}")).body;
        for share in order["commissions"].as_array().unwrap() {
            assert_eq!(share["state"], "settled", "o-{i:05}: {share}");
            assert_eq!(share["settlement"], "2026-12");
        }
    }
}
