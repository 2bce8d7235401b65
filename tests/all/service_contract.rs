//! The OpenAPI document against the server it describes: the roles each operation
//! declares are exactly the roles the server admits. (schemathesis, in
//! `tests/contract/run`, checks the rest of the document from outside.)

use plaza_tests::server::*;
use serde_json::{Value, json};

/// A request that the operation at `method path` (as the document spells it) accepts from
/// an admitted caller, against the demo tenant's data.
fn request(method: &str, path: &str) -> (String, Option<Value>) {
    let concrete = path
        .replace("{tenant}", "teahouse")
        .replace("{plan}", "teahouse-autumn")
        .replace("{order}", "order-1")
        .replace("{recipient}", "amy")
        .replace("{name}", "store-coupon")
        .replace("{settlement}", "s-1")
        .replace("{beneficiary}", "p-1001")
        .replace("{promoter}", "p-1001")
        .replace("{touch}", "t-1")
        .replace("{buyer}", "b-42")
        .replace("{offer}", "o-1")
        .replace("{carrier}", "c")
        .replace("{pool}", "pool-1")
        .replace("{provider}", "studio")
        .replace("{agency}", "ag-x")
        .replace("{upstream}", "ag-y")
        .replace("{template}", "tea30")
        .replace("{code}", "0000000000000000")
        .replace("{claim}", "c-1")
        .replace("{campaign}", "five")
        .replace("{event}", "double-12")
        .replace("{participant}", "teahouse")
        .replace(
            "{version}",
            if path.starts_with("/v1/plans") {
                "1"
            } else {
                "1.0.0"
            },
        );
    let body = match (method, path) {
        ("get" | "delete", _) => None,
        (_, "/v1/tenants") => Some(json!({"id": "t-new", "name": "New", "kind": "merchant"})),
        (_, "/v1/tenants/{tenant}/keys") => Some(json!({"role": "checkout"})),
        (_, "/v1/plans") => Some(demo_plan()),
        (_, "/v1/plans/{plan}/activate") => Some(json!({"version": 1})),
        (_, "/v1/plans/{plan}/quote" | "/v1/plans/{plan}/usable-coupons") => Some(demo_cart()),
        (_, "/v1/orders") => Some(commit_request("order-2", "teahouse-autumn", &demo_cart())),
        (_, "/v1/settings/orders") => {
            Some(json!({"payment_timeout_ms": 900_000, "after_sale_ms": 604_800_000}))
        }
        (_, "/v1/orders/{order}/events") => {
            Some(json!({"event_id": "e-1", "type": "paid", "at_ms": 0}))
        }
        (_, "/v1/settlements") => Some(json!({"settlement_id": "s-1", "until_ms": 0})),
        (_, "/v1/promoters") => Some(json!({"id": "p-new", "kind": "promoter", "name": "New"})),
        (_, "/v1/touches") => {
            Some(json!({"touch_id": "t-1", "buyer": "b-42", "promoter": "p-1001", "at_ms": 0}))
        }
        (_, "/v1/settings/attribution") => Some(json!({"source": "checkout"})),
        (_, "/v1/plans/{plan}/shadow" | "/v1/plans/{plan}/live-shadow") => {
            Some(json!({"version": 1}))
        }
        (_, "/v1/offers/{offer}") => Some(json!({"spus": ["cup-set"], "service_rate_ppm": 1000})),
        (_, "/v1/pools/{pool}") => Some(json!({
            "name": "Pool",
            "items": [{"merchant": "teahouse", "offer": "o-1"}],
            "helper_rate_ppm": 1000
        })),
        (_, "/v1/grants/{provider}") => Some(json!({"role": "author"})),
        (_, "/v1/coupons") => Some(json!({
            "id": "tea30",
            "name": "30 off",
            "plan": "teahouse-autumn",
            "step": "tea-coupon",
            "code": "TEA30",
            "stock": 10,
            "validity": {"days_from_claim": {"days": 7}}
        })),
        (_, "/v1/coupons/{template}/claims" | "/v1/coupon-codes/{code}/claims") => {
            Some(json!({"claim_id": "c-1", "buyer": {"id": "b-42"}}))
        }
        (_, "/v1/coupons/{template}/codes") => Some(json!({"batch_id": "b-1", "count": 1})),
        (_, "/v1/help-campaigns") => Some(json!({
            "id": "five", "name": "Five friends", "template": "tea30", "helpers_required": 5,
            "from_ms": 0, "until_ms": 1
        })),
        (_, "/v1/help-campaigns/{campaign}/initiations") => Some(json!({"buyer": {"id": "b-42"}})),
        (_, "/v1/help-campaigns/{campaign}/initiations/{buyer}/helps") => {
            Some(json!({"helper": {"id": "h-1"}}))
        }
        (_, "/v1/coupons/{template}/stock-moves") => {
            Some(json!({"move_id": "m-1", "from": "l-1", "to": "l-2", "units": 1}))
        }
        (_, "/v1/settings/points") => {
            Some(json!({"earn_rate_ppm": 10_000, "max_share_ppm": 300_000}))
        }
        (_, "/v1/buyers/{buyer}/points/grants") => Some(json!({"grant_id": "g-1", "points": 100})),
        (_, "/v1/incentives") => Some(json!({
            "id": "double-12", "name": "12.12", "who": ["livestreamer"],
            "registration_from_ms": 0, "registration_until_ms": 1, "from_ms": 0, "until_ms": 1,
            "tiers": [{"gmv": 100, "instant": {"kind": "cash", "amount": 1}}]
        })),
        (_, "/v1/incentives/{event}/registrations/{participant}/review") => {
            Some(json!({"approve": true}))
        }
        (_, "/v1/incentives/{event}/facts/{participant}") => Some(json!({"facts": {"x": 1}})),
        (_, "/v1/orders/{order}/refunds") => {
            Some(json!({"refund_id": "r-1", "lines": [{"line": "l1", "quantity": 1}]}))
        }
        _ => Some(json!({})),
    };
    let concrete = if path.ends_with("/diff") {
        format!("{concrete}?from=1&to=1")
    } else {
        concrete
    };
    (concrete, body)
}

fn call(api: &Api, method: &str, path: &str) -> Answer {
    let (concrete, body) = request(method, path);
    match (method, body) {
        ("get", _) => api.get(&concrete),
        ("delete", _) => api.delete(&concrete),
        ("post", _) if path == "/v1/plugins" => api.post_bytes(
            &concrete,
            &plaza_tests::component("threshold-discount"),
            "application/wasm",
        ),
        ("post", Some(body)) => api.post(&concrete, &body),
        ("put", Some(body)) => api.put(&concrete, &body),
        other => panic!("no request for {other:?} {path}"),
    }
}

#[test]
fn the_roles_each_operation_declares_are_the_roles_the_server_admits() {
    let server = Server::start();
    let operator = server.operator();
    let admin = operator.create_tenant("teahouse", "merchant");
    with_demo_plan(&admin);
    let placed = admin.post(
        "/v1/orders",
        &commit_request("order-1", "teahouse-autumn", &demo_cart()),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let keys = [
        ("operator", operator.clone()),
        ("admin", admin.clone()),
        ("author", admin.issue_key("teahouse", "author")),
        ("checkout", admin.issue_key("teahouse", "checkout")),
        ("beneficiary", operator.issue_beneficiary_key("p-1001")),
    ];

    let doc = Api::anonymous(&server.base).get("/openapi.json").body;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let roles: Vec<String> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["bearer"].as_array())
                .flatten()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            if !roles.is_empty() {
                operations.push((method.clone(), path.clone(), roles));
            }
        }
    }
    assert!(
        operations.len() >= 25,
        "{} keyed operations",
        operations.len()
    );

    // Every role an operation does not declare is refused (nothing changes on a refusal).
    for (method, path, roles) in &operations {
        for (role, api) in &keys {
            if !roles.iter().any(|r| r == role) {
                let answer = call(api, method, path);
                assert_eq!(
                    answer.status, 403,
                    "{role} on {method} {path}: {}",
                    answer.text
                );
                assert_eq!(
                    answer.error_type(),
                    "forbidden",
                    "{role} on {method} {path}"
                );
            }
        }
    }
    // Every role it declares gets past the role check.
    for (method, path, roles) in &operations {
        for (role, api) in &keys {
            if roles.iter().any(|r| r == role) {
                let answer = call(api, method, path);
                assert!(
                    ![401, 403].contains(&answer.status),
                    "{role} on {method} {path}: {} {}",
                    answer.status,
                    answer.text
                );
            }
        }
    }
}

#[test]
fn the_document_is_revalidated_by_its_etag() {
    let server = Server::start();
    let anyone = Api::anonymous(&server.base);
    let first = anyone.get("/openapi.json");
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    assert!(
        first.body["paths"]["/v1/plans/{plan}/quote"].is_object(),
        "the document"
    );
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.len() == 66,
        "a strong sha256 tag: {etag}"
    );

    let unchanged = anyone.get_with("/openapi.json", &[("If-None-Match", &etag)]);
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.text.is_empty(), "no body with a 304");
    assert_eq!(unchanged.header("etag"), Some(etag.as_str()));
    let listed = format!("\"other\", {etag}");
    let among = anyone.get_with("/openapi.json", &[("If-None-Match", &listed)]);
    assert_eq!(among.status, 304, "a tag among others matches");

    let stale = anyone.get_with("/openapi.json", &[("If-None-Match", "\"stale\"")]);
    assert_eq!(stale.status, 200);
    assert_eq!(stale.text, first.text, "the same document, byte for byte");
}
