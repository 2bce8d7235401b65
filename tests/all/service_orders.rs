//! Listing orders and the conventions integrations rely on: cursor pages that return every
//! order exactly once while new ones arrive, filters, `If-Match` on plan saves, `Location`
//! on creates, and the CLI's view of the list.

use plaza_tests::server::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every order of `/v1/orders?{query}`, page by page, in order.
fn all_pages(api: &Api, query: &str) -> Vec<Value> {
    pages(api, "/v1/orders", query)
        .iter()
        .flat_map(|page| page["items"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn ten_thousand_orders_page_by_100_each_exactly_once_while_more_arrive() {
    let server = Server::start_configured(|c| c.sync_writes = false);
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("p", json!(null)));
    let cart = demo_cart();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (shop, cart) = (shop.clone(), cart.clone());
            std::thread::spawn(move || {
                for i in 0..2_500 {
                    let placed = shop.post(
                        "/v1/orders",
                        &commit_request(&format!("o-{w}-{i:05}"), "p", &cart),
                    );
                    assert_eq!(placed.status, 201, "{}", placed.text);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let late = {
        let (shop, cart, stop) = (shop.clone(), cart.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let placed = shop.post(
                    "/v1/orders",
                    &commit_request(&format!("late-{n:05}"), "p", &cart),
                );
                assert_eq!(placed.status, 201);
                n += 1;
            }
            n
        })
    };
    let listed = all_pages(&shop, "limit=100");
    stop.store(true, Ordering::Relaxed);
    let late_count = late.join().unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in &listed {
        *seen
            .entry(item["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let first: Vec<_> = seen.iter().filter(|(id, _)| id.starts_with("o-")).collect();
    assert_eq!(first.len(), 10_000, "every order placed before the listing");
    assert!(seen.values().all(|n| *n == 1), "none twice");
    assert!(late_count > 0, "orders kept arriving during the listing");
    let keys: Vec<(i64, String)> = listed
        .iter()
        .map(|o| {
            (
                o["created_ms"].as_i64().unwrap(),
                o["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "oldest first, a stable order"
    );
}

#[test]
fn orders_filter_by_status_buyer_promoter_plan_and_time() {
    let clock = plaza::clock::ManualClock::at(1_800_000_000_000);
    let server = Server::start_with_clock(|_| {}, clock.clone());
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    with_demo_plan(&shop);
    let mut cart = demo_cart();
    for (i, buyer) in ["b-1", "b-2", "b-1"].iter().enumerate() {
        cart["buyer"]["id"] = json!(buyer);
        cart["attribution"]["promoter"] = json!(if i == 1 { "p-9" } else { "p-1001" });
        let placed = shop.post(
            "/v1/orders",
            &commit_request(&format!("o-{i}"), "teahouse-autumn", &cart),
        );
        assert_eq!(placed.status, 201, "{}", placed.text);
        assert_eq!(
            placed.header("location"),
            Some(format!("/v1/orders/o-{i}").as_str())
        );
        clock.advance(60_000);
    }
    assert_eq!(shop.post("/v1/orders/o-2/cancel", &json!({})).status, 200);
    let ids = |query: &str| -> Vec<String> {
        all_pages(&shop, query)
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(""), ["o-0", "o-1", "o-2"]);
    assert_eq!(ids("buyer=b-1"), ["o-0", "o-2"]);
    assert_eq!(ids("status=cancelled"), ["o-2"]);
    assert_eq!(ids("promoter=p-9"), ["o-1"]);
    assert_eq!(ids("plan=teahouse-autumn&limit=1").len(), 3, "one per page");
    assert!(ids("plan=other").is_empty());
    let all = all_pages(&shop, "");
    let t1 = all[1]["created_ms"].as_i64().unwrap();
    assert_eq!(t1, 1_800_000_060_000, "placed on the host's clock");
    assert_eq!(ids(&format!("from_ms={t1}")), ["o-1", "o-2"]);
    assert_eq!(ids(&format!("until_ms={t1}")), ["o-0"]);
    assert_eq!(ids(&format!("from_ms={t1}&until_ms={}", t1 + 1)), ["o-1"]);
    let summary = &all[0];
    assert_eq!(summary["paid"], 58475);
    assert_eq!(summary["commission"], 882 + 2550 + 766);
    assert_eq!(
        all[2]["refunded"], 58475,
        "a cancelled order is refunded in full"
    );
    for bad in ["limit=0", "limit=1001", "after=zz", "status=lost"] {
        let answer = shop.get(&format!("/v1/orders?{bad}"));
        assert!(matches!(answer.status, 400 | 422), "{bad}: {}", answer.text);
    }

    // The CLI reads the same list.
    let key = shop.key.clone().unwrap();
    let page = crate::plaza_cli(&[
        "orders",
        "--buyer",
        "b-1",
        "--server",
        &server.base,
        "--key",
        &key,
    ]);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[test]
fn of_two_saves_based_on_one_version_one_succeeds_and_the_other_gets_412() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    with_demo_plan(&shop);
    let head = shop.get("/v1/plans/teahouse-autumn");
    assert_eq!(head.header("etag"), Some("\"1\""));
    let saves: Vec<_> = (0..2)
        .map(|i| {
            let shop = shop.clone();
            std::thread::spawn(move || {
                let mut plan = demo_plan();
                plan["steps"][1]["priority"] = json!(i + 1);
                shop.post_with("/v1/plans", &plan, &[("If-Match", "\"1\"")])
            })
        })
        .collect();
    let answers: Vec<_> = saves.into_iter().map(|t| t.join().unwrap()).collect();
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 412], "{answers:?}");
    let won = answers.iter().find(|a| a.status == 201).unwrap();
    assert_eq!(
        won.header("location"),
        Some("/v1/plans/teahouse-autumn/versions/2")
    );
    assert_eq!(won.header("etag"), Some("\"2\""));
    let lost = answers.iter().find(|a| a.status == 412).unwrap();
    assert_eq!(lost.error_type(), "precondition_failed");
    assert_eq!(lost.body["error"]["detail"]["latest"], 2);
    assert_eq!(shop.get("/v1/plans/teahouse-autumn").body["latest"], 2);
    let new_plan = shop.post_with(
        "/v1/plans",
        &budget_plan("fresh", json!(null)),
        &[("If-Match", "\"0\"")],
    );
    assert_eq!(new_plan.status, 201, "{}", new_plan.text);
    let bad = shop.post_with("/v1/plans", &demo_plan(), &[("If-Match", "latest")]);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "If-Match");
}
