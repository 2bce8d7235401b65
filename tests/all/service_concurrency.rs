//! Concurrency against the real server: hot swaps under load, racing commits for the last
//! units of a budget, and replays.

use plaza_tests::server::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

#[test]
fn quotes_during_activation_and_rollback_never_fail_and_never_mix_versions() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let mut v2 = demo_plan();
    v2["steps"][1]["config"]["tiers"][0]["discount"] = json!(9000);
    v2["steps"][2]["config"]["value"]["fixed"] = json!(1500);
    let saved = shop.post("/v1/plans", &v2);
    assert_eq!(saved.status, 201, "{}", saved.text);
    let cart = demo_cart();
    let path = "/v1/plans/teahouse-autumn/quote";
    let old = shop.post(&format!("{path}?version=1"), &cart).text;
    let new = shop.post(&format!("{path}?version=2"), &cart).text;
    assert_ne!(old, new);

    let stop = Arc::new(AtomicBool::new(false));
    let quoters: Vec<_> = (0..4)
        .map(|_| {
            let (shop, cart, stop) = (shop.clone(), cart.clone(), stop.clone());
            let (old, new) = (old.clone(), new.clone());
            std::thread::spawn(move || {
                let (mut on_old, mut on_new) = (0, 0);
                while !stop.load(Ordering::Relaxed) {
                    let quote = shop.post(path, &cart);
                    assert_eq!(quote.status, 200, "{}", quote.text);
                    if quote.text == old {
                        on_old += 1;
                    } else {
                        assert_eq!(quote.text, new, "a quote is wholly one version");
                        on_new += 1;
                    }
                }
                (on_old, on_new)
            })
        })
        .collect();
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        let up = shop.post("/v1/plans/teahouse-autumn/activate", &json!({"version": 2}));
        assert_eq!(up.status, 200, "{}", up.text);
        std::thread::sleep(std::time::Duration::from_millis(30));
        let back = shop.post("/v1/plans/teahouse-autumn/rollback", &json!({}));
        assert_eq!(back.status, 200, "{}", back.text);
        assert_eq!(back.body["active"], 1);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut on_old, mut on_new) = (0, 0);
    for q in quoters {
        let (o, n) = q.join().expect("quoter");
        on_old += o;
        on_new += n;
    }
    assert!(
        on_old > 0 && on_new > 0,
        "both versions served: {on_old} old, {on_new} new"
    );
}

#[test]
fn sixty_four_commits_racing_for_the_last_ten_units_let_exactly_ten_through() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 12})));
    let cart = demo_cart();
    let quoted = shop.post("/v1/plans/flash/quote", &cart);
    let payable = quoted.body["total"]["payable"].clone();
    for i in 0..2 {
        let early = shop.post(
            "/v1/orders",
            &commit_request(&format!("early-{i}"), "flash", &cart),
        );
        assert_eq!(early.status, 201, "{}", early.text);
    }

    let barrier = Arc::new(Barrier::new(64));
    let racers: Vec<_> = (0..64)
        .map(|i| {
            let (shop, cart, barrier, payable) =
                (shop.clone(), cart.clone(), barrier.clone(), payable.clone());
            std::thread::spawn(move || {
                let mut request = commit_request(&format!("race-{i}"), "flash", &cart);
                request["expected_payable"] = payable;
                barrier.wait();
                shop.post("/v1/orders", &request)
            })
        })
        .collect();
    let answers: Vec<Answer> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    let lost: Vec<&Answer> = answers.iter().filter(|a| a.status == 409).collect();
    assert_eq!(won.len(), 10, "exactly the last ten units are sold");
    assert_eq!(lost.len(), 54, "every other commit is a clear conflict");
    for a in &lost {
        assert!(
            ["budget_exhausted", "price_changed"].contains(&a.error_type()),
            "{}",
            a.text
        );
    }
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.body[0]["orders"], 12);
    assert_eq!(
        usage.body[0]["amount"],
        12 * 1000,
        "the money counter matches the orders"
    );
    let stored = (0..64)
        .filter(|i| shop.get(&format!("/v1/orders/race-{i}")).status == 200)
        .count();
    assert_eq!(stored, 10, "only the winners are stored");
    let after = shop.post("/v1/plans/flash/quote", &cart);
    assert_eq!(
        after.body["explanation"][0]["reason"]["type"],
        "budget_exhausted"
    );
    assert_eq!(after.body["explanation"][0]["reason"]["limit"], "orders");
}

#[test]
fn a_replayed_commit_returns_the_identical_order_and_reserves_nothing_twice() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan(
        "flash",
        json!({"max_orders": 100, "max_orders_per_buyer": 1}),
    ));
    let request = commit_request("order-1", "flash", &demo_cart());
    let first = shop.post("/v1/orders", &request);
    assert_eq!(first.status, 201, "{}", first.text);
    let replays: Vec<_> = (0..8)
        .map(|_| {
            let (shop, request) = (shop.clone(), request.clone());
            std::thread::spawn(move || shop.post("/v1/orders", &request))
        })
        .collect();
    for replay in replays {
        let replay = replay.join().unwrap();
        assert_eq!(replay.status, 200);
        assert_eq!(replay.text, first.text, "the identical order");
    }
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.body[0]["orders"], 1);
    assert_eq!(
        shop.get("/v1/orders/order-1/ledger").body["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let mut changed = request.clone();
    changed["cart"]["lines"][0]["quantity"] = json!(5);
    let reused = shop.post("/v1/orders", &changed);
    assert_eq!(
        (reused.status, reused.error_type()),
        (409, "order_id_reused")
    );

    // The same buyer under a new order id hits the per-buyer limit: the step is held back,
    // so the expected price no longer holds.
    let mut second = commit_request("order-2", "flash", &demo_cart());
    second["expected_payable"] = first.body["quote"]["total"]["payable"].clone();
    let limited = shop.post("/v1/orders", &second);
    assert_eq!(
        (limited.status, limited.error_type()),
        (409, "price_changed"),
        "{}",
        limited.text
    );
}
