//! Isolation on the plaza's routes, over the whole 二级团 story (`plaza_layers`): for every
//! object of it — the merchant's touches, grants and order, the carrier's pool and its
//! members, the helper's promoters and membership, each agency's view of the layered
//! order — every other tenant's and party's key is refused (404 or 403, or 409 where the
//! route is another kind of tenant's), no list shows it to them, and nothing of the
//! owners' changes. A helper agency cannot read the merchant's or the carrier's plans or
//! rates; a promoter sees only its own earnings.

use crate::plaza_layers::{D0, DAY, cart, story, waterfall_plan};
use plaza_tests::server::*;
use serde_json::{Value, json};

/// Who reads a promoter's balance and statements: the promoter's own key, and every
/// tenant key, each seeing only its own part (nothing, when it paid the promoter nothing).
const EARNINGS_READERS: &[&str] = &[
    "p-1",
    "teahouse",
    "checkout",
    "studio-for-teahouse",
    "studio",
    "c",
    "h",
    "x",
    "pa",
    "rival",
];

/// Whether `answer` refuses without saying anything of the object.
fn refused(answer: &Answer) -> bool {
    match answer.status {
        403 => answer.error_type() == "forbidden",
        404 => answer.error_type() == "not_found",
        409 => ["not_an_agency", "not_a_merchant"].contains(&answer.error_type()),
        _ => false,
    }
}

fn call(api: &Api, method: &str, path: &str, body: &Option<Value>) -> Answer {
    match (method, body) {
        ("GET", _) => api.get(path),
        ("DELETE", _) => api.delete(path),
        ("PUT", Some(body)) => api.put(path, body),
        (_, body) => api.post(path, body.as_ref().unwrap_or(&json!({}))),
    }
}

#[test]
fn every_other_tenant_and_party_is_refused_on_the_plazas_routes() {
    let s = story(Some(waterfall_plan(
        "h-plan",
        json!({"from": "helper_agency", "promoter": 500_000}),
    )));
    let placed = s.checkout.post(
        "/v1/orders",
        &commit_request("o-1", "p", &cart(D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let operator = s.server.operator();
    let c = Api::new(&s.server.base, &s.c_key);
    let studio = operator.create_tenant("studio", "provider");
    assert_eq!(
        s.shop
            .put("/v1/grants/studio", &json!({"role": "author"}))
            .status,
        200
    );
    // Promoter agency pa sells h's goods.
    let pa = operator.create_tenant("pa", "agency");
    assert_eq!(s.h.put("/v1/plaza/affiliates/pa", &json!({})).status, 201);
    assert_eq!(pa.put("/v1/plaza/affiliations/h", &json!({})).status, 200);
    let parties: Vec<(&str, Api)> = vec![
        ("teahouse", s.shop.clone()),
        ("checkout", s.checkout.clone()),
        ("studio-for-teahouse", studio.acting_for("teahouse")),
        ("studio", studio.clone()),
        ("c", c.clone()),
        ("h", s.h.clone()),
        ("x", operator.create_tenant("x", "agency")),
        ("pa", pa.clone()),
        ("rival", operator.create_tenant("rival", "merchant")),
        ("p-1", s.promoters[0].clone()),
        ("p-2", s.promoters[1].clone()),
        ("p-9", operator.issue_beneficiary_key("p-9")),
    ];
    let by = |name: &str| &parties.iter().find(|(n, _)| *n == name).unwrap().1;

    // What the owners read, before and after everyone else tried.
    let reads = [
        ("h", "/v1/promoters/p-1"),
        ("h", "/v1/memberships"),
        ("teahouse", "/v1/touches/t-1"),
        ("teahouse", "/v1/offers"),
        ("teahouse", "/v1/grants"),
        ("teahouse", "/v1/orders/o-1"),
        ("c", "/v1/pools/autumn/members"),
        ("c", "/v1/plaza/pools/c/autumn"),
        ("c", "/v1/plaza/orders/teahouse/o-1"),
        ("h", "/v1/plaza/orders/teahouse/o-1"),
        ("p-1", "/v1/beneficiaries/p-1/balance"),
        ("h", "/v1/plaza/affiliates"),
        ("pa", "/v1/plaza/affiliations"),
    ];
    let snapshot = || -> Vec<String> {
        reads
            .iter()
            .map(|(who, path)| {
                let answer = by(who).get(path);
                assert_eq!(answer.status, 200, "{who} {path}: {}", answer.text);
                answer.text
            })
            .collect()
    };
    let before = snapshot();

    // Each object's routes, and who may use them.
    let cases: Vec<(&str, &str, Option<Value>, &[&str])> = vec![
        ("GET", "/v1/promoters/p-1", None, &["h", "p-1"]),
        ("POST", "/v1/promoters/p-1/suspend", None, &["h"]),
        ("POST", "/v1/promoters/p-1/reinstate", None, &["h"]),
        ("DELETE", "/v1/promoters/p-1", None, &["h"]),
        ("GET", "/v1/touches/t-1", None, &["teahouse", "checkout"]),
        ("GET", "/v1/pools/autumn/members", None, &["c"]),
        ("GET", "/v1/plaza/pools/c/autumn", None, &["c", "h"]),
        (
            "POST",
            "/v1/plaza/pools/c/autumn/members",
            Some(json!({})),
            &["c", "h"],
        ),
        ("DELETE", "/v1/plaza/pools/c/autumn/members", None, &["h"]),
        ("GET", "/v1/plaza/orders/teahouse/o-1", None, &["c", "h"]),
        ("GET", "/v1/orders/o-1", None, &["teahouse", "checkout"]),
        (
            "GET",
            "/v1/orders/o-1/parties",
            None,
            &["teahouse", "checkout"],
        ),
        ("DELETE", "/v1/grants/studio", None, &["teahouse"]),
        ("DELETE", "/v1/plaza/affiliates/pa", None, &["h"]),
        ("PUT", "/v1/plaza/affiliations/h", Some(json!({})), &["pa"]),
        ("DELETE", "/v1/plaza/affiliations/h", None, &["pa"]),
        (
            "GET",
            "/v1/beneficiaries/p-1/balance",
            None,
            EARNINGS_READERS,
        ),
        (
            "GET",
            "/v1/beneficiaries/p-1/statements",
            None,
            EARNINGS_READERS,
        ),
    ];
    let mut tried = 0;
    for (method, path, body, owners) in &cases {
        for (name, api) in parties.iter().filter(|(n, _)| !owners.contains(n)) {
            let answer = call(api, method, path, body);
            assert!(
                refused(&answer),
                "{name}: {method} {path}: {} {}",
                answer.status,
                answer.text
            );
            tried += 1;
        }
    }
    assert!(tried > 100, "{tried} refusals tried");
    assert_eq!(snapshot(), before, "nothing of the owners' changed");

    // No list shows another tenant's objects.
    let none_of_theirs = [
        ("x", "/v1/plaza/orders"),
        ("rival", "/v1/offers"),
        ("x", "/v1/memberships"),
        ("x", "/v1/promoters"),
        ("rival", "/v1/buyers/b-1/touches"),
        ("rival", "/v1/grants"),
        ("x", "/v1/clients"),
        ("h", "/v1/plaza/offers"),
        ("x", "/v1/plaza/affiliates"),
        ("x", "/v1/plaza/affiliations"),
        ("c", "/v1/plaza/affiliates"),
    ];
    for (who, path) in none_of_theirs {
        let answer = by(who).get(path);
        if answer.status == 200 {
            assert_eq!(answer.body["items"], json!([]), "{who} {path}");
        } else {
            assert!(refused(&answer), "{who} {path}: {}", answer.text);
        }
    }
    let pools = by("x").get("/v1/plaza/pools");
    assert_eq!(
        pools.body["items"],
        json!([]),
        "targeted at h: {}",
        pools.text
    );
    let report = by("x").get("/v1/plaza/report");
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(!report.text.contains("autumn"), "{}", report.text);

    // The helper reads neither the merchant's nor the carrier's plans or rates.
    let h = by("h");
    for path in ["/v1/plans/p", "/v1/plans/c-plan", "/v1/plans/p/versions/1"] {
        assert_eq!(h.get(path).status, 404, "{path}");
    }
    // Nor, in the pool, the carrier's own plan or whom else it was published to.
    let pool = h.get("/v1/plaza/pools/c/autumn").body;
    assert!(pool.get("plan").is_none(), "{pool}");
    assert_eq!(pool["agencies"], json!(["h"]), "{pool}");
    let found = h.get("/v1/plaza/pools").body;
    assert_eq!(found["items"], json!([pool]));
    let by_c = by("c").get("/v1/plaza/pools/c/autumn").body;
    assert_eq!(by_c["plan"], "c-plan", "the carrier sees all of its pool");
    let h_view = h.get("/v1/plaza/orders/teahouse/o-1").body;
    for share in h_view["shares"].as_array().unwrap() {
        assert!(
            share["payer"] == "h" || share["payee"] == "h",
            "only what flowed in and out of h: {share}"
        );
        assert_ne!(share["payee"], "c", "not the merchant's fee to c: {share}");
    }
    assert!(h_view["layer"]["tenant"] == "h", "{h_view}");
    let c_view = by("c").get("/v1/plaza/orders/teahouse/o-1").body;
    assert!(
        c_view["shares"]
            .as_array()
            .unwrap()
            .iter()
            .all(|share| share["payer"] != "h"),
        "c does not see what h pays on: {c_view}"
    );

    // A promoter sees only its own earnings.
    for path in [
        "/v1/beneficiaries/p-2/balance",
        "/v1/beneficiaries/h/balance",
        "/v1/beneficiaries/p-2/statements",
        "/v1/promoters/p-2",
    ] {
        let answer = by("p-1").get(path);
        assert!(refused(&answer), "{path}: {}", answer.text);
    }
}
