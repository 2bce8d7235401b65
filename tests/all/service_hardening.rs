//! The hardening defects, each driven through the real server: money bounds at the edge,
//! coupons that are the buyer's, budgets that fail closed, idempotent plan saves, plans that
//! pin content, limits that don't wrap, typed errors on every path, operator-only metrics.

use plaza::clock::ManualClock;
use plaza::store::{Table, key};
use plaza_tests::server::{
    Api, Server, budget_plan, commit_request, demo_cart, demo_plan, with_demo_plan,
};
use serde_json::{Value, json};

fn hostile_plan(id: &str, mode: &str, budget: Value) -> Value {
    json!({"id": id, "steps": [{
        "id": "h", "plugin": {"name": "hostile", "version": "0.1.0"},
        "config": {"mode": mode}, "budget": budget
    }]})
}

#[test]
fn a_plugin_cannot_redeem_a_coupon_the_buyer_did_not_present() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile").status, 201);
    shop.apply(&hostile_plan(
        "p",
        "foreign-coupon",
        json!({"max_orders_per_coupon": 1}),
    ));
    let quote = shop.post("/v1/plans/p/quote", &demo_cart());
    assert_eq!(quote.status, 200, "{}", quote.text);
    let step = &quote.body["explanation"][0];
    assert_eq!(step["outcome"], "failed", "{step}");
    assert_eq!(step["error"]["type"], "invariant_broken");
    assert!(
        step["error"]["violations"][0]
            .as_str()
            .unwrap()
            .contains("not presented by the buyer")
    );
    assert_eq!(quote.body["total"]["discount"], 0);
    let order = shop.post("/v1/orders", &commit_request("o-1", "p", &demo_cart()));
    assert_eq!(order.status, 201, "{}", order.text);
    assert_eq!(
        order.body["reservations"],
        json!([]),
        "no budget was touched"
    );
}

#[test]
fn a_corrupt_budget_counter_holds_the_step_back_and_refuses_the_commit() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 5})));
    let cart = demo_cart();
    assert_eq!(
        shop.post("/v1/orders", &commit_request("o-1", "flash", &cart))
            .status,
        201
    );
    let server = server.restart_with_store(|store| {
        let counter = key(&[b"teahouse", b"flash", b"flash-manjian", b"orders"]);
        store
            .put_raw(Table::Counters, &counter, &[1, 2, 3])
            .expect("corrupting the counter");
    });
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let quote = shop.post("/v1/plans/flash/quote", &cart);
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["explanation"][0]["outcome"], "not_applied");
    assert_eq!(
        quote.body["explanation"][0]["reason"]["type"],
        "budget_unreadable"
    );
    assert_eq!(
        quote.body["total"]["discount"], 0,
        "never counted as unused"
    );
    // Committing neither counts the budget as unused nor quietly drops the promotion.
    let refused = shop.post("/v1/orders", &commit_request("o-2", "flash", &cart));
    assert_eq!(refused.status, 500, "{}", refused.text);
    assert_eq!(refused.error_type(), "budget_unreadable");
    assert_eq!(refused.body["error"]["detail"]["step"], "flash-manjian");
    assert_eq!(
        shop.get("/v1/orders/o-2").status,
        404,
        "nothing was committed"
    );
    let usage = shop.get("/v1/plans/flash/budgets");
    assert_eq!(usage.status, 500, "{}", usage.text);
    assert_eq!(usage.error_type(), "internal");
}

#[test]
fn amounts_and_limits_past_their_bounds_are_refused_at_the_edge_naming_the_field() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let mut cart = demo_cart();
    cart["shipping_fee"] = json!(4_611_686_018_427_387_904i64);
    let quote = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(quote.status, 422, "{}", quote.text);
    assert_eq!(quote.body["error"]["field"], "cart.shipping_fee");
    let mut cart = demo_cart();
    cart["lines"][0]["unit_price"] = json!(100_000_000_001i64);
    let quote = shop.post("/v1/plans/teahouse-autumn/quote", &cart);
    assert_eq!(quote.status, 422);
    assert_eq!(quote.body["error"]["field"], "cart.lines[0].unit_price");

    // The largest cart that is accepted prices without overflow.
    let lines: Vec<Value> = (0..500)
        .map(|i| json!({"id": format!("l{i}"), "sku": format!("s{i}"), "merchant": "m", "quantity": 99_999, "unit_price": 100_000_000_000i64}))
        .collect();
    let big = json!({"lines": lines, "buyer": {"id": "b"}, "shipping_fee": 100_000_000_000i64, "now_ms": 1});
    let quote = shop.post("/v1/plans/teahouse-autumn/quote", &big);
    assert_eq!(
        quote.status,
        200,
        "{}",
        &quote.text[..quote.text.len().min(400)]
    );
    let original = quote.body["total"]["original"].as_i64().unwrap();
    assert_eq!(original, 500 * 99_999 * 100_000_000_000 + 100_000_000_000);
    let discount = quote.body["total"]["discount"].as_i64().unwrap();
    assert_eq!(
        quote.body["total"]["payable"].as_i64().unwrap(),
        original - discount
    );

    for (field, value) in [
        ("max_orders", json!(9_223_372_036_854_775_808u64)),
        ("max_orders_per_buyer", json!(1_000_000_000_001u64)),
        ("max_amount", json!(i64::MAX)),
        ("max_amount", json!(0)),
    ] {
        let plan = budget_plan("p", json!({ field: value }));
        assert_eq!(shop.upload("threshold-discount").status, 200);
        let saved = shop.post("/v1/plans", &plan);
        assert_eq!(saved.status, 422, "{field}={value}: {}", saved.text);
        assert_eq!(
            saved.body["error"]["field"],
            format!("steps[0].budget.{field}")
        );
    }
    assert_eq!(shop.get("/v1/plans/p").status, 404, "nothing was saved");
}

#[test]
fn a_retried_plan_save_with_an_idempotency_key_saves_one_version() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    for name in plaza_tests::server::DEMO_PLUGINS {
        assert_eq!(shop.upload(name).status, 201);
    }
    let key = [("Idempotency-Key", "save-1")];
    let first = shop.post_with("/v1/plans", &demo_plan(), &key);
    assert_eq!(first.status, 201, "{}", first.text);
    let again = shop.post_with("/v1/plans", &demo_plan(), &key);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, first.body, "the first answer, replayed");
    let reused = {
        let mut other = demo_plan();
        other["steps"][1]["priority"] = json!(5);
        shop.post_with("/v1/plans", &other, &key)
    };
    assert_eq!(reused.status, 409, "{}", reused.text);
    assert_eq!(reused.error_type(), "idempotency_key_reused");
    // Concurrent retries of one request: still one version.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let shop = shop.clone();
            std::thread::spawn(move || {
                shop.post_with("/v1/plans", &demo_plan(), &[("Idempotency-Key", "save-2")])
                    .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(shop.get("/v1/plans/teahouse-autumn").body["latest"], 2);
    let bad = shop.post_with(
        "/v1/plans",
        &demo_plan(),
        &[("Idempotency-Key", "has space")],
    );
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "Idempotency-Key");
}

#[test]
fn a_saved_plan_runs_the_bytes_it_pinned_whatever_other_tenants_upload() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let market = operator.create_tenant("market", "agency");
    let rival = operator.create_tenant("rival", "agency");
    // The shop uses the market's shared plugin without naming the owner.
    let shared = market.post_bytes(
        "/v1/plugins?visibility=shared",
        &plaza_tests::component("threshold-discount"),
        "application/wasm",
    );
    assert_eq!(shared.status, 201, "{}", shared.text);
    let v1 = shop.apply(&budget_plan("p", json!(null)));
    let stored = shop.get(&format!("/v1/plans/p/versions/{v1}"));
    let pinned = &stored.body["steps"][0]["plugin"];
    assert_eq!(pinned["owner"], "market", "{pinned}");
    assert_eq!(pinned["sha256"], shared.body["sha256"]);

    // Another tenant shares the same name@version: the shop's saved plan is unaffected,
    // and so is a restart.
    let again = rival.post_bytes(
        "/v1/plugins?visibility=shared",
        &plaza_tests::component("threshold-discount"),
        "application/wasm",
    );
    assert_eq!(again.status, 201);
    assert_eq!(
        shop.post("/v1/plans/p/activate", &json!({"version": v1}))
            .status,
        200
    );
    let server = server.restart();
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let quote = shop.post("/v1/plans/p/quote", &demo_cart());
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["total"]["discount"], 1000);

    // A new save without an owner is now ambiguous, and says so.
    let ambiguous = shop.post("/v1/plans", &budget_plan("q", json!(null)));
    assert_eq!(ambiguous.status, 422, "{}", ambiguous.text);
    assert_eq!(ambiguous.error_type(), "ambiguous_plugin");
    assert_eq!(
        ambiguous.body["error"]["detail"]["owners"],
        json!(["market", "rival"])
    );
    // A pin to other bytes is refused.
    let mut wrong = budget_plan("q", json!(null));
    wrong["steps"][0]["plugin"]["owner"] = json!("market");
    wrong["steps"][0]["plugin"]["sha256"] = json!("00".repeat(32));
    let refused = shop.post("/v1/plans", &wrong);
    assert_eq!(refused.error_type(), "plugin_changed", "{}", refused.text);
    // The market cannot pull the plugin from under the shop's stored plan.
    let delete = market.delete("/v1/plugins/threshold-discount/1.0.0");
    assert_eq!(delete.status, 409, "{}", delete.text);
    assert_eq!(delete.error_type(), "plugin_in_use");
}

#[test]
fn the_bearer_scheme_is_case_insensitive_and_bad_paths_get_json_errors() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let key = shop.key.clone().unwrap();
    let lower = Api::anonymous(&server.base)
        .get_with("/v1/plans", &[("authorization", &format!("bearer {key}"))]);
    assert_eq!(lower.status, 200, "{}", lower.text);
    let not_utf8 = shop.get("/v1/plans/%FF%FE");
    assert_eq!(not_utf8.status, 400, "{}", not_utf8.text);
    assert_eq!(not_utf8.error_type(), "bad_path");
    let not_a_number = shop.get("/v1/plans/teahouse-autumn/versions/x");
    assert_eq!(not_a_number.error_type(), "bad_path");
}

#[test]
fn metrics_are_the_operators_only() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(Api::anonymous(&server.base).get("/metrics").status, 401);
    let tenant = shop.get("/metrics");
    assert_eq!(tenant.status, 403, "{}", tenant.text);
    let operator = server.operator().get("/metrics");
    assert_eq!(operator.status, 200);
    assert!(operator.text.contains("plaza_http_requests_total"));
}

#[test]
fn a_tenant_over_its_request_rate_gets_429_and_others_do_not() {
    let clock = ManualClock::at(1_800_000_000_000);
    let server = Server::start_with_clock(
        |c| {
            c.rate_limit.requests_per_second = 1;
            c.rate_limit.burst = 3;
        },
        clock.clone(),
    );
    let operator = server.operator();
    let busy = operator.create_tenant("busy", "merchant");
    let quiet = operator.create_tenant("quiet", "merchant");
    for _ in 0..3 {
        assert_eq!(busy.get("/v1/plans").status, 200);
    }
    let limited = busy.get("/v1/plans");
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.error_type(), "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(quiet.get("/v1/plans").status, 200);
    assert_eq!(Api::anonymous(&server.base).get("/healthz").status, 200);
    clock.advance(1_000);
    assert_eq!(busy.get("/v1/plans").status, 200, "time refills the bucket");
    assert_eq!(busy.get("/v1/plans").status, 429);
}

#[test]
fn a_tenant_past_its_plugin_quota_is_refused() {
    let server = Server::start_configured(|c| c.quotas.plugins = 2);
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    assert_eq!(shop.upload("store-coupon").status, 201);
    let third = shop.upload("free-shipping");
    assert_eq!(third.status, 403, "{}", third.text);
    assert_eq!(third.error_type(), "quota_exceeded");
    assert_eq!(third.body["error"]["detail"]["quota"], "plugins");
    assert_eq!(
        shop.upload("store-coupon").status,
        200,
        "a re-upload adds nothing"
    );
}

#[test]
fn one_tenants_slow_plugin_cannot_stall_another_tenant_or_health() {
    let server = Server::start_configured(|c| {
        c.pool.threads = 2;
        c.pool.per_tenant = 2;
        c.limits.fuel = 5_000_000_000;
        c.limits.timeout_ms = 300;
    });
    let operator = server.operator();
    let slow = operator.create_tenant("slow", "merchant");
    let fast = operator.create_tenant("fast", "merchant");
    assert_eq!(slow.upload("hostile").status, 201);
    slow.apply(&hostile_plan("loop", "loop", json!(null)));
    assert_eq!(fast.upload("threshold-discount").status, 201);
    fast.apply(&budget_plan("p", json!(null)));

    let barrier = std::sync::Arc::new(std::sync::Barrier::new(12));
    let hammering: Vec<_> = (0..12)
        .map(|_| {
            let (slow, barrier) = (slow.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let answer = slow.post("/v1/plans/loop/quote", &demo_cart());
                (
                    answer.status,
                    answer.error_type().to_owned(),
                    answer.header("retry-after").map(str::to_owned),
                )
            })
        })
        .collect();
    // Once the slow tenant has filled its share (it is being refused), the fast tenant and
    // health still answer.
    while !operator
        .get("/metrics")
        .text
        .lines()
        .any(|l| l.starts_with("plaza_busy_refusals_total") && !l.ends_with(" 0"))
    {
        std::thread::yield_now();
    }
    for _ in 0..5 {
        let quote = fast.post("/v1/plans/p/quote", &demo_cart());
        assert_eq!(quote.status, 200, "{}", quote.text);
        assert_eq!(Api::anonymous(&server.base).get("/healthz").status, 200);
    }
    let answers: Vec<_> = hammering.into_iter().map(|t| t.join().unwrap()).collect();
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert!(
        !refused.is_empty(),
        "the slow tenant's share is bounded: {answers:?}"
    );
    assert!(
        refused.iter().all(|a| a.1 == "busy" && a.2.is_some()),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.0 == 200),
        "its share still runs: {answers:?}"
    );
}

#[test]
fn a_retried_key_issue_creates_no_second_key_and_never_reshows_the_secret() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let key = [("Idempotency-Key", "checkout-prod")];
    let body = json!({"role": "checkout", "name": "checkout-prod"});
    let first = shop.post_with("/v1/tenants/teahouse/keys", &body, &key);
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.body["key"].as_str().unwrap().starts_with("pz_"));
    let again = shop.post_with("/v1/tenants/teahouse/keys", &body, &key);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["id"], first.body["id"]);
    assert!(
        again.body.get("key").is_none(),
        "the secret is shown once: {}",
        again.text
    );
    let keys = shop.get("/v1/tenants/teahouse/keys");
    assert_eq!(
        keys.body["items"].as_array().unwrap().len(),
        2,
        "the admin key and one checkout key"
    );
    let other = shop.post_with(
        "/v1/tenants/teahouse/keys",
        &json!({"role": "admin", "name": "checkout-prod"}),
        &key,
    );
    assert_eq!(other.error_type(), "idempotency_key_reused");
    let checkout = Api::new(&server.base, first.body["key"].as_str().unwrap());
    assert_eq!(checkout.get("/v1/plans").status, 200);
}
