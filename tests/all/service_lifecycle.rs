//! The whole lifecycle over HTTP against the real server: tenant → upload → plan →
//! activate → quote → commit → refund, with plan history, diff and rollback, the ledger
//! reconciling to the fen, and the CLI against the same server.

use plaza_tests::server::*;
use serde_json::{Value, json};

fn sum(entries: &[Value], kinds: &[&str]) -> i64 {
    entries
        .iter()
        .filter(|e| kinds.contains(&e["kind"].as_str().unwrap_or("")))
        .map(|e| e["amount"].as_i64().unwrap())
        .sum()
}

#[test]
fn a_merchant_goes_from_upload_to_refund_and_every_fen_reconciles() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();

    let uploaded = shop.upload("threshold-discount");
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    assert_eq!(uploaded.body["name"], "threshold-discount");
    assert_eq!(uploaded.body["sha256"].as_str().unwrap().len(), 64);
    let again = shop.upload("threshold-discount");
    assert_eq!(again.status, 200, "an identical re-upload is accepted");
    for name in &DEMO_PLUGINS[..] {
        if *name != "threshold-discount" {
            assert_eq!(shop.upload(name).status, 201);
        }
    }
    let described = shop.get("/v1/plugins/store-coupon/1.0.0");
    assert_eq!(described.status, 200);
    assert!(
        described.body["config_schema"].is_object(),
        "{}",
        described.text
    );
    assert_eq!(described.body["stage"], "coupon");

    let v1 = shop.apply(&demo_plan());
    assert_eq!(v1, 1);
    let cart = demo_cart();
    let quote = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(
        quote.body["total"]["payable"], 58475,
        "the demo cart's hand-computed total"
    );
    let replayed = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(
        replayed.text, quote.text,
        "a quote is byte-identical when replayed"
    );

    let checkout = server.operator().issue_key("teahouse", "checkout");
    let mut request = commit_request("order-1", "teahouse-autumn", &cart);
    request["expected_payable"] = json!(58475);
    let committed = checkout.post("/v1/orders", &request);
    assert_eq!(committed.status, 201, "{}", committed.text);
    assert_eq!(committed.body["status"], "placed");
    assert_eq!(
        committed.body["quote"], quote.body,
        "the order keeps its pricing"
    );

    let ledger = checkout.get("/v1/orders/order-1/ledger");
    let entries = ledger.body["items"].as_array().unwrap().clone();
    assert_eq!(sum(&entries, &["sale", "shipping"]), 58475);
    assert_eq!(sum(&entries, &["commission_pending"]), 882 + 2550 + 766);

    // Refund one of the two l1 units, then everything that is left.
    let partial = checkout.post(
        "/v1/orders/order-1/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l1", "quantity": 1}]}),
    );
    assert_eq!(partial.status, 200, "{}", partial.text);
    assert_eq!(partial.body["status"], "partially_refunded");
    assert_eq!(partial.body["refunds"][0]["amount"], 17649 / 2);
    let rest = checkout.post(
        "/v1/orders/order-1/refunds",
        &json!({"refund_id": "r-2", "lines": [{"line": "l1"}, {"line": "l2"}, {"line": "l3"}]}),
    );
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.body["status"], "refunded");
    let refunded: i64 = rest.body["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(refunded, 58475, "the refunds add up to what was paid");
    let entries = checkout.get("/v1/orders/order-1/ledger").body;
    let entries = entries["items"].as_array().unwrap();
    assert_eq!(
        sum(entries, &["sale", "shipping", "refund", "shipping_refund"]),
        0
    );
    assert_eq!(
        sum(entries, &["commission_pending", "commission_reversed"]),
        0
    );
    let over = checkout.post(
        "/v1/orders/order-1/refunds",
        &json!({"refund_id": "r-3", "lines": [{"line": "l1"}]}),
    );
    assert_eq!(over.status, 422, "{}", over.text);
    assert_eq!(over.body["error"]["field"], "lines[0].quantity");
}

#[test]
fn plan_versions_keep_history_diff_and_roll_back() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let mut v2 = demo_plan();
    v2["steps"][1]["config"]["tiers"][0]["discount"] = json!(9000);
    assert_eq!(shop.apply(&v2), 2);

    let diff = shop.get("/v1/plans/teahouse-autumn/diff?from=1&to=2");
    assert_eq!(diff.status, 200, "{}", diff.text);
    let patch = diff.body["patch"].as_array().unwrap();
    assert!(
        patch
            .iter()
            .any(|op| op["op"] == "replace" && op["value"] == 9000),
        "{}",
        diff.text
    );

    let cart = demo_cart();
    let on_v2 = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(on_v2.body["plan"]["version"], 2);
    let rolled = shop.post("/v1/plans/teahouse-autumn/rollback", &json!({}));
    assert_eq!(rolled.status, 200, "{}", rolled.text);
    assert_eq!(rolled.body["active"], 1);
    let on_v1 = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(on_v1.body["total"]["payable"], 58475);
    let replay_v2 = shop.post("/v1/plans/teahouse-autumn/quote?version=2", &cart);
    assert_eq!(
        replay_v2.text, on_v2.text,
        "an old version's quote replays exactly"
    );

    let head = shop.get("/v1/plans/teahouse-autumn");
    let actions: Vec<&str> = head.body["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["activate", "activate", "rollback"]);
    assert_eq!(head.body["versions"].as_array().unwrap().len(), 2);

    let in_use = shop.delete("/v1/plugins/store-coupon/1.0.0");
    assert_eq!(in_use.status, 409, "{}", in_use.text);
    assert_eq!(in_use.error_type(), "plugin_in_use");
    let off = shop.post(
        "/v1/plans/teahouse-autumn/activate",
        &json!({"version": null}),
    );
    assert_eq!(off.status, 200);
    let still_pinned = shop.delete("/v1/plugins/store-coupon/1.0.0");
    assert_eq!(
        still_pinned.status, 409,
        "stored versions pin it even when no version is active: {}",
        still_pinned.text
    );
    assert!(
        still_pinned.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("teahouse/teahouse-autumn@1")
    );
    let back = shop.post("/v1/plans/teahouse-autumn/activate", &json!({"version": 1}));
    assert_eq!(
        back.status, 200,
        "an old version can always be activated again: {}",
        back.text
    );
    let quoted = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(quoted.body["total"]["payable"], 58475);

    // A plugin no stored version pins can be deleted.
    assert_eq!(shop.upload("percent-off").status, 201);
    assert_eq!(shop.delete("/v1/plugins/percent-off/1.0.0").status, 204);
    assert_eq!(shop.get("/v1/plugins/percent-off/1.0.0").status, 404);
}

#[test]
fn a_plan_whose_configuration_its_plugin_refuses_is_not_saved() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let mut bad = demo_plan();
    bad["steps"][1]["config"] = json!({"mode": "tiers", "tiers": []});
    let refused = shop.post("/v1/plans", &bad);
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.error_type(), "invalid_config");
    let head = shop.get("/v1/plans/teahouse-autumn");
    assert_eq!(head.body["latest"], 1, "no version was added");
}

#[test]
fn cancelling_gives_every_budget_back_and_reverses_the_ledger() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan(
        "flash",
        json!({"max_orders": 5, "max_amount": 100000}),
    ));
    let cart = demo_cart();
    let placed = shop.post("/v1/orders", &commit_request("o-1", "flash", &cart));
    assert_eq!(placed.status, 201, "{}", placed.text);
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.body[0]["orders"], 1);
    assert_eq!(usage.body[0]["amount"], 1000);
    let cancelled = shop.post("/v1/orders/o-1/cancel", &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.body[0]["orders"], 0);
    assert_eq!(usage.body[0]["amount"], 0);
    let entries = shop.get("/v1/orders/o-1/ledger").body;
    assert_eq!(
        sum(
            entries["items"].as_array().unwrap(),
            &["sale", "shipping", "refund", "shipping_refund"]
        ),
        0
    );
    let refund = shop.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r", "lines": [{"line": "l1"}]}),
    );
    assert_eq!(refund.status, 409);
    assert_eq!(refund.error_type(), "order_cancelled");
}

#[test]
fn the_command_line_uploads_applies_and_quotes_against_a_running_server() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    let key = shop.key.clone().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plaza-e2e"))
            .args(args)
            .args(["--server", &server.base, "--key", &key])
            .output()
            .expect("running plaza");
        assert!(
            out.status.success(),
            "plaza {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON output")
    };
    let files = tempfile::tempdir().unwrap();
    for name in DEMO_PLUGINS {
        let path = files.path().join(format!("{name}.wasm"));
        std::fs::write(&path, plaza_tests::component(name)).unwrap();
        let record = run(&["upload", path.to_str().unwrap()]);
        assert_eq!(record["name"], name);
    }
    let plan_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/demo/plan.json");
    let cart_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/demo/cart.json");
    let head = run(&["apply", plan_file, "--activate"]);
    assert_eq!(head["active"], 1);
    let quote = run(&["quote", "--plan", "teahouse-autumn", "--cart", cart_file]);
    assert_eq!(quote["total"]["payable"], 58475);
}
