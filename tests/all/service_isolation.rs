//! Tenant isolation and roles: another tenant's key on every private endpoint is refused,
//! and nothing of the owner's changes.

use plaza_tests::server::*;
use serde_json::json;

#[test]
fn another_tenants_key_is_refused_on_every_private_endpoint() {
    let server = Server::start();
    let operator = server.operator();
    let owner = operator.create_tenant("teahouse", "merchant");
    let other = operator.create_tenant("rival", "agency");
    with_demo_plan(&owner);
    let mut v2 = demo_plan();
    v2["steps"][1]["priority"] = json!(5);
    owner.apply(&v2);
    let placed = owner.post(
        "/v1/orders",
        &commit_request("order-1", "teahouse-autumn", &demo_cart()),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let run = owner.post(
        "/v1/settlements",
        &json!({"settlement_id": "s-1", "until_ms": 0}),
    );
    assert_eq!(run.status, 201, "{}", run.text);
    let before_order = owner.get("/v1/orders/order-1").text;
    let before_plan = owner.get("/v1/plans/teahouse-autumn").text;

    let plan = "/v1/plans/teahouse-autumn";
    let cases: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", "/v1/plugins/store-coupon/1.0.0".into(), None),
        (
            "GET",
            "/v1/plugins/store-coupon/1.0.0?owner=teahouse".into(),
            None,
        ),
        ("DELETE", "/v1/plugins/store-coupon/1.0.0".into(), None),
        ("GET", plan.into(), None),
        ("GET", format!("{plan}/versions"), None),
        ("GET", format!("{plan}/versions/1"), None),
        ("GET", format!("{plan}/diff?from=1&to=2"), None),
        ("GET", format!("{plan}/budgets"), None),
        (
            "POST",
            format!("{plan}/activate"),
            Some(json!({"version": 1})),
        ),
        ("POST", format!("{plan}/rollback"), Some(json!({}))),
        ("POST", format!("{plan}/quote"), Some(demo_cart())),
        ("POST", format!("{plan}/quote?version=1"), Some(demo_cart())),
        (
            "POST",
            format!("{plan}/shadow"),
            Some(json!({"version": 1})),
        ),
        ("GET", format!("{plan}/live-shadow"), None),
        (
            "PUT",
            format!("{plan}/live-shadow"),
            Some(json!({"version": 1})),
        ),
        ("GET", "/v1/orders/order-1".into(), None),
        ("GET", "/v1/orders/order-1/ledger".into(), None),
        ("GET", "/v1/orders/order-1/parties".into(), None),
        ("GET", "/v1/settlements/s-1".into(), None),
        ("GET", "/v1/settlements/s-1/statements".into(), None),
        ("POST", "/v1/orders/order-1/cancel".into(), Some(json!({}))),
        (
            "POST",
            "/v1/orders/order-1/gift/amy/accept".into(),
            Some(json!({})),
        ),
        (
            "POST",
            "/v1/orders/order-1/gift/amy/decline".into(),
            Some(json!({})),
        ),
        (
            "POST",
            "/v1/orders/order-1/events".into(),
            Some(json!({"event_id": "e", "type": "paid", "at_ms": 0})),
        ),
        (
            "POST",
            "/v1/orders/order-1/refunds".into(),
            Some(json!({"refund_id": "r", "lines": [{"line": "l1"}]})),
        ),
        ("GET", "/v1/tenants/teahouse/keys".into(), None),
        (
            "POST",
            "/v1/tenants/teahouse/keys".into(),
            Some(json!({"role": "admin"})),
        ),
    ];
    for (method, path, body) in &cases {
        let answer = match (*method, body) {
            ("GET", _) => other.get(path),
            ("DELETE", _) => other.delete(path),
            ("PUT", Some(body)) => other.put(path, body),
            (_, Some(body)) => other.post(path, body),
            _ => unreachable!(),
        };
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        assert_eq!(answer.error_type(), "not_found", "{method} {path}");
    }
    // The same order id is another tenant's own namespace, and commits reach only the
    // committer's plans.
    let theirs = other.post(
        "/v1/orders",
        &commit_request("order-1", "teahouse-autumn", &demo_cart()),
    );
    assert_eq!(theirs.status, 404, "{}", theirs.text);

    // Each key is told who it is, and never that it is someone else.
    let me = other.get("/v1/me");
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(
        (me.body["kind"].as_str(), me.body["tenant"].as_str()),
        (Some("member"), Some("rival"))
    );
    assert_eq!(me.body["tenant_kind"], "agency");
    assert_eq!(owner.get("/v1/me").body["tenant"], "teahouse");

    // How quotes ran plugins is each tenant's own.
    let ran = owner.get("/v1/plugin-stats").body;
    assert!(
        ran.as_array().is_some_and(|a| !a.is_empty()),
        "the owner's commit ran its plugins: {ran}"
    );
    assert_eq!(other.get("/v1/plugin-stats").body, json!([]));

    let listed = other.get("/v1/plugins");
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        0,
        "private plugins are not listed"
    );
    assert_eq!(
        other.get("/v1/plans").body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    for query in ["", "?buyer=b-42", "?plan=teahouse-autumn"] {
        let orders = other.get(&format!("/v1/orders{query}"));
        assert_eq!(orders.status, 200, "{}", orders.text);
        assert_eq!(
            orders.body["items"],
            json!([]),
            "another tenant's orders are not listed"
        );
    }
    assert_eq!(other.get("/v1/settlements").body["items"], json!([]));
    // What a beneficiary earns from the owner is the owner's and the beneficiary's alone:
    // another merchant reads only its own part (nothing), another beneficiary nothing.
    let earned = owner.get("/v1/beneficiaries/p-1001/balance");
    assert_eq!(
        earned.body["merchants"][0]["merchant"], "teahouse",
        "{}",
        earned.text
    );
    for path in [
        "/v1/beneficiaries/p-1001/balance",
        "/v1/beneficiaries/p-1001/statements",
    ] {
        let theirs = other.get(path);
        assert_eq!(theirs.status, 200, "{}", theirs.text);
        let part = if path.ends_with("balance") {
            "merchants"
        } else {
            "items"
        };
        assert_eq!(theirs.body[part], json!([]), "{path}");
        let stranger = operator.issue_beneficiary_key("p-2");
        assert_eq!(stranger.get(path).status, 404, "{path}");
        assert_eq!(stranger.get(path).error_type(), "not_found", "{path}");
    }
    let own = operator.issue_beneficiary_key("p-1001");
    assert_eq!(
        own.get("/v1/beneficiaries/p-1001/balance").body,
        earned.body
    );
    // Settings are the caller's own: another tenant saving its own changes nobody else's.
    let settings = json!({"payment_timeout_ms": 60_000, "after_sale_ms": 0});
    assert_eq!(other.put("/v1/settings/orders", &settings).status, 200);
    assert_ne!(owner.get("/v1/settings/orders").body, settings);
    let recording = json!({"enabled": false, "every": 1, "keep": 5, "keep_ms": 3_600_000});
    assert_eq!(other.put("/v1/settings/recording", &recording).status, 200);
    assert_ne!(owner.get("/v1/settings/recording").body, recording);
    // Recorded quotes are the recorder's: the owner's carts are not listed to another.
    let mut every = owner.get("/v1/settings/recording").body;
    every["every"] = json!(1);
    assert_eq!(owner.put("/v1/settings/recording", &every).status, 200);
    assert_eq!(
        owner.post(&format!("{plan}/quote"), &demo_cart()).status,
        200
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while owner.get("/v1/recordings").body["items"] == json!([]) {
        assert!(
            std::time::Instant::now() < deadline,
            "the quote was never recorded"
        );
        std::thread::yield_now();
    }
    assert_eq!(other.get("/v1/recordings").body["items"], json!([]));
    let owners_cursor = owner.get("/v1/orders?limit=1").body["next"].clone();
    if let Some(cursor) = owners_cursor.as_str() {
        let borrowed = other.get(&format!("/v1/orders?after={cursor}"));
        assert_eq!(borrowed.status, 200, "{}", borrowed.text);
        assert_eq!(
            borrowed.body["items"],
            json!([]),
            "a cursor into another tenant's range positions only the caller's own listing"
        );
    }
    let uses_private = other.post(
        "/v1/plans",
        &json!({"id": "copy", "steps": [{"id": "s", "plugin": {"name": "store-coupon", "version": "1.0.0", "owner": "teahouse"}, "config": {"code": "X", "discount": {"fixed": 100}}}]}),
    );
    assert_eq!(uses_private.status, 422, "{}", uses_private.text);
    assert_eq!(uses_private.error_type(), "unknown_plugin");

    assert_eq!(owner.get("/v1/orders/order-1").text, before_order);
    assert_eq!(owner.get("/v1/plans/teahouse-autumn").text, before_plan);
    assert_eq!(
        owner.get("/v1/plugins").body["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn a_shared_plugin_is_usable_by_other_tenants_and_still_only_deletable_by_its_owner() {
    let server = Server::start();
    let operator = server.operator();
    let author = operator.create_tenant("rules-studio", "agency");
    let shop = operator.create_tenant("teahouse", "merchant");
    let bytes = plaza_tests::component("threshold-discount");
    let shared = author.post_bytes("/v1/plugins?visibility=shared", &bytes, "application/wasm");
    assert_eq!(shared.status, 201, "{}", shared.text);
    assert_eq!(shared.body["visibility"], "shared");
    assert_eq!(
        shop.get("/v1/plugins").body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    shop.apply(&budget_plan("flash", json!(null)));
    let quote = shop.post("/v1/plans/flash/quote", &demo_cart());
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["total"]["discount"], 1000);
    let delete = shop.delete("/v1/plugins/threshold-discount/1.0.0");
    assert_eq!(delete.status, 404, "{}", delete.text);
    let in_use = author.delete("/v1/plugins/threshold-discount/1.0.0");
    assert_eq!(
        in_use.status, 409,
        "another tenant's active plan uses it: {}",
        in_use.text
    );
}

#[test]
fn roles_limit_what_a_key_may_do() {
    let server = Server::start();
    let operator = server.operator();
    let admin = operator.create_tenant("teahouse", "merchant");
    let checkout = admin.issue_key("teahouse", "checkout");
    let author = admin.issue_key("teahouse", "author");

    let upload = checkout.upload("threshold-discount");
    assert_eq!(upload.status, 403, "{}", upload.text);
    assert_eq!(upload.error_type(), "forbidden");
    assert_eq!(author.upload("threshold-discount").status, 201);
    // `GET /v1/me` says which role a key has, and who a beneficiary key reads for.
    assert_eq!(checkout.get("/v1/me").body["role"], "checkout");
    assert_eq!(author.get("/v1/me").body["role"], "author");
    assert_eq!(operator.get("/v1/me").body["kind"], "operator");
    let promoter = operator.issue_beneficiary_key("p-1001").get("/v1/me").body;
    assert_eq!(
        (promoter["kind"].as_str(), promoter["beneficiary"].as_str()),
        (Some("beneficiary"), Some("p-1001"))
    );
    assert_eq!(promoter["tenant"], json!(null));
    author.apply(&budget_plan("flash", json!(null)));
    let commit = author.post("/v1/orders", &commit_request("o", "flash", &demo_cart()));
    assert_eq!(
        commit.status, 403,
        "authors do not place orders: {}",
        commit.text
    );
    let keys = author.post("/v1/tenants/teahouse/keys", &json!({"role": "admin"}));
    assert_eq!(keys.status, 403);
    assert_eq!(
        checkout
            .post("/v1/orders", &commit_request("o", "flash", &demo_cart()))
            .status,
        201
    );
    let tenants = admin.get("/v1/tenants");
    assert_eq!(tenants.status, 403, "tenants are the operator's");
    // Recorded carts and shadow runs are for those who write plans.
    let shadow = json!({"version": 1});
    assert_eq!(checkout.get("/v1/recordings").status, 403);
    assert_eq!(checkout.post("/v1/plans/flash/shadow", &shadow).status, 403);
    assert_eq!(author.get("/v1/recordings").status, 200);
    assert_eq!(author.post("/v1/plans/flash/shadow", &shadow).status, 200);
    let live = "/v1/plans/flash/live-shadow";
    assert_eq!(checkout.put(live, &shadow).status, 403);
    assert_eq!(checkout.get(live).status, 403);
    assert_eq!(author.put(live, &shadow).status, 200);
    assert_eq!(author.get(live).status, 200);
    let off = json!({"enabled": false});
    assert_eq!(checkout.put("/v1/settings/recording", &off).status, 403);
    assert_eq!(author.put("/v1/settings/recording", &off).status, 403);
    let operator_quote = operator.post("/v1/plans/flash/quote", &demo_cart());
    assert_eq!(
        operator_quote.status, 403,
        "the operator sees no tenant's data"
    );
}
