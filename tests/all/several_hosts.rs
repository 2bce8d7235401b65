//! Three hosts on one PostgreSQL database (three servers in this process, each with its own
//! memory, pool and rate limits, sharing nothing but the database): 300 commits spread over
//! the hosts racing for a budget of 50 orders store exactly 50 discounted orders and the
//! budget's counter equals them; the same order id sent to all three at once stores one
//! order and all three answer it identically; a key issued on one host is honoured by the
//! others; a plugin uploaded and a plan activated on one host are quoted by the others
//! (the change feed), and a merchant's settings changed on one are read afresh by the
//! others, which keep them in memory (the invalidation feed). Three `plaza serve`
//! processes under commit load, one killed with SIGKILL: no acknowledged order is lost and
//! the other two keep answering.

use plaza_tests::pg::Cluster;
use plaza_tests::server::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PLAZA: &str = env!("CARGO_BIN_EXE_plaza-e2e");

fn cart(buyer: &str) -> Value {
    json!({"lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse",
                      "quantity": 1, "unit_price": 20000}],
           "buyer": {"id": buyer}, "now_ms": 1_795_000_000_000i64})
}

/// Host A with the merchant and its 50-order flash sale, then hosts B and C on the same
/// database; the merchant's checkout key on each.
fn three_hosts() -> (Vec<Server>, Vec<Api>) {
    let url = Cluster::shared().database();
    let on_database = |url: &str| {
        let url = url.to_owned();
        Server::start_configured(move |c| c.store = Some(url))
    };
    let a = on_database(&url);
    let shop = a.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 50})));
    let key = a.operator().issue_key("teahouse", "checkout").key.unwrap();
    let hosts = vec![a, on_database(&url), on_database(&url)];
    let checkouts = hosts.iter().map(|h| Api::new(&h.base, &key)).collect();
    (hosts, checkouts)
}

#[test]
fn three_hosts_racing_for_one_budget_store_exactly_its_orders() {
    let (_hosts, checkouts) = three_hosts();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..6)
            .map(|t| {
                let checkout = &checkouts[t % 3];
                s.spawn(move || {
                    (0..50)
                        .map(|i| {
                            let id = format!("o-{t}-{i}");
                            let req = commit_request(&id, "flash", &cart(&format!("b-{t}-{i}")));
                            let placed = checkout.post("/v1/orders", &req);
                            (placed.status, placed.error_type().to_owned())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        racers.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(answers.len(), 300);
    assert!(
        (answers.iter()).all(|(s, t)| *s == 201 || (*s, t.as_str()) == (409, "budget_exhausted")),
        "{answers:?}"
    );
    let stored = answers.iter().filter(|(s, _)| *s == 201).count();
    // Every host sees every order; ¥10 off ¥200 for exactly the budget's 50.
    for checkout in &checkouts {
        let all: Vec<Value> = pages(checkout, "/v1/orders", "limit=1000")
            .iter()
            .flat_map(|p| p["items"].as_array().unwrap().clone())
            .collect();
        assert_eq!(all.len(), stored);
        let discounted = all.iter().filter(|o| o["paid"] == 19_000).count();
        assert_eq!(discounted, 50, "the budget's orders, exactly");
        let usage = checkout.get("/v1/plans/flash/budgets");
        assert_eq!(usage.status, 200, "{}", usage.text);
        assert_eq!(
            usage.body[0]["orders"], 50,
            "the counter equals the orders: {}",
            usage.text
        );
    }
}

#[test]
fn one_order_id_sent_to_three_hosts_at_once_stores_one_order() {
    let (_hosts, checkouts) = three_hosts();
    for round in 0..10 {
        let id = format!("same-{round}");
        let req = commit_request(&id, "flash", &cart("b-1"));
        let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
            let sent: Vec<_> = (checkouts.iter())
                .map(|c| {
                    let req = &req;
                    s.spawn(move || {
                        let a = c.post("/v1/orders", req);
                        (a.status, a.body)
                    })
                })
                .collect();
            sent.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "one host stored it: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|(s, b)| [200, 201].contains(s) && *b == answers[0].1)
        );
    }
    let all: usize = pages(&checkouts[1], "/v1/orders", "limit=1000")
        .iter()
        .map(|p| p["items"].as_array().unwrap().len())
        .sum();
    assert_eq!(all, 10);
}

#[test]
fn a_plugin_uploaded_and_a_plan_activated_on_one_host_are_used_by_the_others() {
    let (hosts, checkouts) = three_hosts();
    let shop = Api::new(&hosts[0].base, OPERATOR_KEY).issue_key("teahouse", "admin");
    // On host A: a plugin no host had, and a plan that uses it.
    assert_eq!(shop.upload("free-shipping").status, 201);
    let plan = json!({"id": "ship", "steps": [{
        "id": "free-shipping", "plugin": {"name": "free-shipping", "version": "1.0.0"},
        "config": {"threshold": 100}}]});
    let saved = shop.post("/v1/plans", &plan);
    assert_eq!(saved.status, 201, "{}", saved.text);
    let activated = shop.post("/v1/plans/ship/activate", &json!({"version": 1}));
    assert_eq!(activated.status, 200, "{}", activated.text);
    let activated_at = std::time::Instant::now();
    let mut shipping = cart("b-1");
    shipping["shipping_fee"] = json!(800);
    // Host C quotes it as soon as the feed reaches it.
    let quote = |c: &Api| c.post("/v1/plans/ship/quote", &shipping);
    let deadline = activated_at + std::time::Duration::from_secs(30);
    let once_seen = |c: &Api| loop {
        let q = quote(c);
        if q.status == 200 {
            break q;
        }
        assert_eq!(q.status, 404, "{}", q.text);
        assert!(
            std::time::Instant::now() < deadline,
            "a host never saw the plan"
        );
        std::thread::yield_now();
    };
    let seen = once_seen(&checkouts[2]);
    println!(
        "host C quoted the plan {:?} after its activation on host A",
        activated_at.elapsed()
    );
    assert_eq!(seen.body["total"]["discount"], 800, "{}", seen.text);
    assert_eq!(once_seen(&checkouts[1]).body["plan"]["version"], 1);
    // Deactivated on host B: host A stops quoting it.
    let off = Api::new(&hosts[1].base, shop.key.as_deref().unwrap())
        .post("/v1/plans/ship/activate", &json!({"version": null}));
    assert_eq!(off.status, 200, "{}", off.text);
    while quote(&checkouts[0]).status == 200 {
        assert!(std::time::Instant::now() < deadline, "host A kept the plan");
        std::thread::yield_now();
    }
}

#[test]
fn a_merchant_setting_changed_on_one_host_is_read_afresh_by_the_others() {
    let (hosts, _) = three_hosts();
    let shop = Api::new(&hosts[0].base, OPERATOR_KEY).issue_key("teahouse", "admin");
    let key = shop.key.clone().unwrap();
    let on = |h: usize| Api::new(&hosts[h].base, &key);
    // Host C reads the settings (and keeps the merchant's record in memory).
    let before = on(2).get("/v1/settings/orders");
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(before.body["utc_offset_minutes"], 480);
    let mut moved = before.body.clone();
    moved["utc_offset_minutes"] = json!(540);
    assert_eq!(on(0).put("/v1/settings/orders", &moved).status, 200);
    let changed_at = Instant::now();
    while on(2).get("/v1/settings/orders").body["utc_offset_minutes"] != 540 {
        assert!(
            changed_at.elapsed() < Duration::from_secs(30),
            "host C kept the old settings"
        );
        std::thread::yield_now();
    }
    println!(
        "host C read the new settings {:?} after host A stored them",
        changed_at.elapsed()
    );
    // The writing host reads its own write at once.
    moved["utc_offset_minutes"] = json!(600);
    assert_eq!(on(1).put("/v1/settings/orders", &moved).status, 200);
    assert_eq!(
        on(1).get("/v1/settings/orders").body["utc_offset_minutes"],
        600
    );
}

/// Commit `each` orders per thread, thread `t` on host `t % 3`, moving to host A when its
/// host stops answering (and sending the order that got no answer again there, under the
/// same id). Returns the acknowledged order ids, and the statuses answered by each host.
fn commit_load(
    bases: &[String],
    key: &str,
    threads: usize,
    each: usize,
    acknowledged: &AtomicUsize,
) -> (BTreeSet<String>, Vec<Vec<u16>>) {
    let ids = Mutex::new(BTreeSet::new());
    let statuses = Mutex::new(vec![Vec::new(); bases.len()]);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (ids, statuses) = (&ids, &statuses);
            s.spawn(move || {
                let mut host = t % bases.len();
                for i in 0..each {
                    let id = format!("k-{t}-{i}");
                    let req = commit_request(&id, "flash", &cart(&format!("b-{t}-{i}")));
                    let answer = loop {
                        match Api::new(&bases[host], key).try_post("/v1/orders", &req) {
                            Some(a) => break a,
                            None => host = 0,
                        }
                    };
                    statuses.lock().unwrap()[host].push(answer.status);
                    if [200, 201].contains(&answer.status) {
                        assert_eq!(answer.body["id"], id.as_str(), "{}", answer.text);
                        ids.lock().unwrap().insert(id);
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (ids.into_inner().unwrap(), statuses.into_inner().unwrap())
}

#[test]
fn a_host_killed_under_commit_load_loses_no_acknowledged_order() {
    let url = Cluster::shared().database();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = Process::serve_on(PLAZA, dirs[0].path(), Some(&url));
    let operator = Api::new(&first.base, OPERATOR_KEY);
    let shop = operator.create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 100_000})));
    let key = operator.issue_key("teahouse", "checkout").key.unwrap();
    let mut hosts = vec![Some(first)];
    for dir in &dirs[1..] {
        hosts.push(Some(Process::serve_on(PLAZA, dir.path(), Some(&url))));
    }
    let bases: Vec<String> = hosts
        .iter()
        .map(|h| h.as_ref().unwrap().base.clone())
        .collect();
    let acknowledged = AtomicUsize::new(0);
    let (ids, statuses) = std::thread::scope(|s| {
        let load = s.spawn(|| commit_load(&bases, &key, 6, 60, &acknowledged));
        while acknowledged.load(Ordering::Relaxed) < 90 {
            std::thread::sleep(Duration::from_millis(1));
        }
        hosts[2].take().unwrap().kill();
        load.join().unwrap()
    });
    // Every order was acknowledged in the end (those that met the kill, by host A), and
    // hosts A and B answered every commit sent to them.
    assert_eq!(ids.len(), 360);
    for (h, answered) in statuses.iter().enumerate().take(2) {
        assert!(
            answered.iter().all(|s| [200, 201].contains(s)),
            "host {h}: {answered:?}"
        );
    }
    assert!(
        statuses[2].len() < 120,
        "host C was killed under load: {:?}",
        statuses[2].len()
    );
    // Every acknowledged order is stored, once, and the budget counted each.
    for base in &bases[..2] {
        let checkout = Api::new(base, &key);
        let stored: BTreeSet<String> = pages(&checkout, "/v1/orders", "limit=1000")
            .iter()
            .flat_map(|p| p["items"].as_array().unwrap().clone())
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(stored, ids);
        assert_eq!(
            checkout.get("/v1/plans/flash/budgets").body[0]["orders"],
            360
        );
    }
}
