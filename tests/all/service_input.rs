//! Bad input over HTTP: each gets the right status and a structured error, and the store
//! is unchanged.

use plaza_tests::server::*;
use serde_json::json;

#[test]
fn bad_requests_get_structured_errors_and_change_nothing() {
    let server = Server::start_configured(|c| c.max_body_bytes = 700 * 1024);
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let snapshot = || {
        (
            shop.get("/v1/plugins").text,
            shop.get("/v1/plans/teahouse-autumn").text,
        )
    };
    let before = snapshot();
    let path = "/v1/plans/teahouse-autumn/quote";

    let malformed = shop.post_bytes(path, b"{\"lines\": [", "application/json");
    assert_eq!(
        (malformed.status, malformed.error_type()),
        (400, "malformed_json")
    );

    let mut cart = demo_cart();
    cart["lines"][0]["colour"] = json!("red");
    let unknown = shop.post(path, &cart);
    assert_eq!(
        (unknown.status, unknown.error_type()),
        (422, "invalid_body")
    );
    assert_eq!(
        unknown.body["error"]["field"], "lines[0].colour",
        "{}",
        unknown.text
    );

    // serde would read a struct's fields from an array; the API takes objects only.
    let array = shop.post("/v1/plans/teahouse-autumn/activate", &json!([null]));
    assert_eq!((array.status, array.error_type()), (422, "invalid_body"));
    let mut cart = demo_cart();
    cart["lines"][0] = json!(["l1", "tea", 1, 100]);
    let line_array = shop.post(path, &cart);
    assert_eq!(
        (line_array.status, line_array.error_type()),
        (422, "invalid_body"),
        "{}",
        line_array.text
    );

    let mut cart = demo_cart();
    cart["lines"][1]["quantity"] = json!(0);
    let invalid = shop.post(path, &cart);
    assert_eq!(
        (invalid.status, invalid.error_type()),
        (422, "invalid_cart"),
        "{}",
        invalid.text
    );
    assert_eq!(invalid.body["error"]["field"], "cart.lines[1].quantity");

    let huge = vec![b' '; 800 * 1024];
    let too_big = shop.post_bytes(path, &huge, "application/json");
    assert_eq!(
        (too_big.status, too_big.error_type()),
        (413, "body_too_large")
    );

    let mut module = plaza_tests::component("threshold-discount");
    // Past the large plugins' limit (a module over the ordinary one runs in their lane).
    module.resize(
        plaza::sandbox::Limits::default().large.max_module_bytes + 1,
        0,
    );
    let big_module = shop.post_bytes("/v1/plugins", &module, "application/wasm");
    assert_eq!(
        (big_module.status, big_module.error_type()),
        (413, "too_large"),
        "{}",
        big_module.text
    );

    let forbidden = shop.upload("hostile-import");
    assert_eq!(
        (forbidden.status, forbidden.error_type()),
        (422, "forbidden_import"),
        "{}",
        forbidden.text
    );
    let not_wasm = shop.post_bytes("/v1/plugins", b"#!/bin/sh\nrm -rf /\n", "application/wasm");
    assert_eq!((not_wasm.status, not_wasm.error_type()), (422, "not_wasm"));
    let core = shop.post_bytes("/v1/plugins", b"\0asm\x01\0\0\0", "application/wasm");
    assert_eq!((core.status, core.error_type()), (422, "contract_mismatch"));

    let anonymous = Api::anonymous(&server.base).post(path, &demo_cart());
    assert_eq!(
        (anonymous.status, anonymous.error_type()),
        (401, "unauthenticated")
    );
    let wrong = Api::new(&server.base, "pz_0000").post(path, &demo_cart());
    assert_eq!((wrong.status, wrong.error_type()), (401, "unauthenticated"));

    let no_route = shop.get("/v1/nothing-here");
    assert_eq!((no_route.status, no_route.error_type()), (404, "not_found"));
    let bad_query = shop.get("/v1/plans/teahouse-autumn/diff?from=one&to=2");
    assert_eq!(
        (bad_query.status, bad_query.error_type()),
        (400, "bad_query")
    );
    let bad_id = shop.post(
        "/v1/orders",
        &commit_request("has space", "teahouse-autumn", &demo_cart()),
    );
    assert_eq!(
        (bad_id.status, bad_id.body["error"]["field"].as_str()),
        (422, Some("order_id"))
    );

    assert_eq!(snapshot(), before, "nothing changed");
    let metrics = server.operator().get("/metrics").text;
    assert!(metrics.contains("plaza_http_requests_total"), "{metrics}");
}

#[test]
fn a_plugin_that_keeps_failing_is_tripped_off_by_the_circuit_breaker() {
    let server = Server::start_configured(|c| c.breaker.failures = 3);
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile").status, 201);
    assert_eq!(shop.upload("threshold-discount").status, 201);
    let mut plan = budget_plan("p", json!(null));
    plan["steps"].as_array_mut().unwrap().insert(
        0,
        json!({"id": "broken", "plugin": {"name": "hostile", "version": "0.1.0"}, "config": {"mode": "panic"}}),
    );
    shop.apply(&plan);
    let errors: Vec<String> = (0..5)
        .map(|_| {
            let quote = shop.post("/v1/plans/p/quote", &demo_cart());
            assert_eq!(
                quote.status, 200,
                "the rest of the plan still runs: {}",
                quote.text
            );
            assert_eq!(quote.body["total"]["discount"], 1000);
            quote.body["explanation"][0]["error"]["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        errors,
        ["trap", "trap", "trap", "circuit_open", "circuit_open"]
    );
    let metrics = server.operator().get("/metrics").text;
    assert!(
        metrics.contains("plaza_circuit_breaker_trips_total{plugin=\"hostile@0.1.0\"} 1"),
        "{metrics}"
    );
}
