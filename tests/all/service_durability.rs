//! Durability: a clean restart keeps everything and compiles nothing; a kill -9 in the
//! middle of a commit load loses no acknowledged order and leaves budgets reconciled.

use plaza_tests::server::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const PLAZA: &str = env!("CARGO_BIN_EXE_plaza-e2e");

#[test]
fn a_restart_keeps_plugins_plans_orders_and_budgets_and_recompiles_nothing() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    assert_eq!(shop.upload("threshold-discount").status, 200);
    shop.apply(&budget_plan("flash", json!({"max_orders": 10})));
    let cart = demo_cart();
    let placed = shop.post("/v1/orders", &commit_request("o-1", "flash", &cart));
    assert_eq!(placed.status, 201);
    let quote = shop.post("/v1/plans/teahouse-autumn/quote", &cart).text;
    let order = shop.get("/v1/orders/o-1").text;
    let usage = shop.get("/v1/plans/flash/budgets").text;
    let plugins = shop.get("/v1/plugins").text;

    let server = server.restart();
    let ready = Api::anonymous(&server.base).get("/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["plugins"], 5);
    assert_eq!(
        ready.body["compiled"], 0,
        "every plugin loaded from its artifact"
    );
    assert_eq!(ready.body["active_plans"], 2);
    let metrics = server.operator().get("/metrics").text;
    assert!(
        metrics.contains("plaza_plugin_compilations_total 0"),
        "{metrics}"
    );
    assert_eq!(
        shop.post("/v1/plans/teahouse-autumn/quote", &cart).text,
        quote
    );
    assert_eq!(shop.get("/v1/orders/o-1").text, order);
    assert_eq!(shop.get("/v1/plans/flash/budgets").text, usage);
    assert_eq!(shop.get("/v1/plugins").text, plugins);
    let replay = shop.post("/v1/orders", &commit_request("o-1", "flash", &cart));
    assert_eq!(
        replay.status, 200,
        "the order id is still known after a restart"
    );
}

#[test]
fn kill_9_mid_commit_loses_no_acknowledged_order_and_budgets_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let process = Process::serve(PLAZA, dir.path());
    let shop = Api::new(&process.base, OPERATOR_KEY).create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 100000})));

    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let attempted = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (shop, acknowledged, attempted, stop) = (
                shop.clone(),
                acknowledged.clone(),
                attempted.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let cart = demo_cart();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("w{w}-{i}");
                    attempted.lock().unwrap().insert(id.clone());
                    let answer = shop.try_post("/v1/orders", &commit_request(&id, "flash", &cart));
                    match answer.map(|a| a.status) {
                        Some(201) => {
                            acknowledged.lock().unwrap().insert(id);
                        }
                        // The connection died with the server: unknown outcome.
                        None => break,
                        Some(status) => panic!("commit {id}: status {status}"),
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 40 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    process.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }

    let process = Process::serve(PLAZA, dir.path());
    let shop = Api::new(&process.base, shop.key.as_deref().unwrap());
    let acknowledged = acknowledged.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let mut present = 0;
    for id in &attempted {
        let order = shop.get(&format!("/v1/orders/{id}"));
        match order.status {
            200 => present += 1,
            404 => assert!(
                !acknowledged.contains(id),
                "acknowledged order {id} was lost"
            ),
            other => panic!("order {id}: {other}"),
        }
    }
    assert!(present >= acknowledged.len());
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(
        usage.body[0]["orders"],
        present,
        "the budget counter equals the orders stored ({} acknowledged)",
        acknowledged.len()
    );
    assert_eq!(usage.body[0]["amount"], present as i64 * 1000);
}

#[test]
fn shutdown_lets_an_in_flight_quote_finish_and_then_refuses_new_connections() {
    // A step that loops until the 300 ms wall-clock backstop keeps a quote in flight.
    let server = Server::start_configured(|c| {
        c.limits.fuel = u64::MAX / 2;
        c.limits.timeout_ms = 300;
    });
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile").status, 201);
    shop.apply(&json!({"id": "slow", "steps": [{"id": "spin", "plugin": {"name": "hostile", "version": "0.1.0"}, "config": {"mode": "loop"}}]}));
    let in_flight = {
        let shop = shop.clone();
        std::thread::spawn(move || shop.post("/v1/plans/slow/quote", &demo_cart()))
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let base = server.base.clone();
    drop(server);
    let quote = in_flight.join().unwrap();
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["explanation"][0]["error"]["type"], "timeout");
    assert!(
        Api::anonymous(&base).try_get("/healthz").is_none(),
        "the server no longer accepts connections"
    );
}

#[test]
fn the_binary_copied_elsewhere_serves_the_demo_from_any_directory() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    let work = root.path().join("elsewhere");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let plaza = bin.join("plaza");
    std::fs::copy(PLAZA, &plaza).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child = std::process::Command::new(&plaza)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(&work)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let key_file = work.join("plaza-data").join("demo.key");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !key_file.exists()
        || Api::anonymous(&base)
            .try_get("/readyz")
            .is_none_or(|a| a.status != 200)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo did not come up"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "plaza serve --demo exited"
        );
        // Polling a process's readiness, not waiting for time to pass.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let key = std::fs::read_to_string(&key_file).unwrap();
    let quote = Api::new(&base, key.trim()).post("/v1/plans/teahouse-autumn/quote", &demo_cart());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["total"]["payable"], 58475);
}

#[test]
fn kill_9_right_after_admin_writes_keeps_every_acknowledged_one() {
    let dir = tempfile::tempdir().unwrap();
    let process = Process::serve(PLAZA, dir.path());
    let operator = Api::new(&process.base, OPERATOR_KEY);
    let shop = operator.create_tenant("teahouse", "merchant");
    let checkout = operator.issue_key("teahouse", "checkout");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    let v = shop.apply(&budget_plan("flash", json!(null)));
    process.kill();

    let process = Process::serve(PLAZA, dir.path());
    let tenants = Api::new(&process.base, OPERATOR_KEY).get("/v1/tenants");
    assert_eq!(
        tenants.body["items"][0]["id"], "teahouse",
        "{}",
        tenants.text
    );
    let checkout = Api::new(&process.base, checkout.key.as_deref().unwrap());
    let quote = checkout.post("/v1/plans/flash/quote", &demo_cart());
    assert_eq!(
        quote.status, 200,
        "the key, the plugin and the activation survived: {}",
        quote.text
    );
    assert_eq!(quote.body["plan"]["version"], v);
    assert_eq!(quote.body["total"]["discount"], 1000);
}

#[test]
fn a_torn_compiled_artifact_is_recompiled_never_trusted() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let before = shop
        .post("/v1/plans/teahouse-autumn/quote", &demo_cart())
        .text;
    let server = server.restart_after(|dir| {
        for entry in std::fs::read_dir(dir.join("artifacts")).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        }
    });
    let ready = Api::anonymous(&server.base).get("/readyz");
    assert_eq!(
        ready.body["compiled"], 5,
        "every torn artifact was recompiled: {}",
        ready.text
    );
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let after = shop
        .post("/v1/plans/teahouse-autumn/quote", &demo_cart())
        .text;
    assert_eq!(after, before);
    let server = server.restart();
    let ready = Api::anonymous(&server.base).get("/readyz");
    assert_eq!(
        ready.body["compiled"], 0,
        "the recompiled artifacts were cached whole"
    );
}
