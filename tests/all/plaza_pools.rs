//! The 二级团 plaza through the real server on sled: a merchant opens products to an
//! agency at a service rate; the agency publishes a pool of them to a helper agency, which
//! joins; goods travel one hop at most; discovery shows each agency only what it may see;
//! and the host finds the carrying chain of a cart from those memberships.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const DAY: i64 = 24 * 60 * 60 * 1000;
const D0: i64 = 1_790_000_000_000;
const NOW: i64 = D0 + 400 * DAY;

/// Merchant `teahouse` (the demo plan, attribution from touches), carrying agency `c`,
/// helper agency `h` and an outsider agency `x`.
struct Plaza {
    server: Server,
    shop: Api,
    c: Api,
    h: Api,
    x: Api,
}

fn plaza() -> Plaza {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let operator = server.operator();
    let shop = shop_resolving_touches(&server);
    let c = operator.create_tenant("c", "agency");
    let h = operator.create_tenant("h", "agency");
    let x = operator.create_tenant("x", "agency");
    Plaza {
        server,
        shop,
        c,
        h,
        x,
    }
}

/// The merchant opens the teapot to `c`, `c` publishes it to every agency, `h` joins.
fn carried_by_c_helped_by_h(p: &Plaza) {
    assert_eq!(
        p.shop
            .put(
                "/v1/offers/teaware",
                &offer(&["teapot-yixing"], 100_000, &["c"])
            )
            .status,
        200
    );
    assert_eq!(
        p.c.put(
            "/v1/pools/autumn",
            &pool(&[("teahouse", "teaware")], 300_000, &[])
        )
        .status,
        200
    );
    assert_eq!(
        p.h.post("/v1/plaza/pools/c/autumn/members", &json!({}))
            .status,
        201
    );
}

fn offer(spus: &[&str], rate: u32, agencies: &[&str]) -> Value {
    json!({"spus": spus, "service_rate_ppm": rate, "agencies": agencies})
}

fn pool(items: &[(&str, &str)], rate: u32, agencies: &[&str]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(m, o)| json!({"merchant": m, "offer": o}))
        .collect();
    json!({"name": "Autumn tea picks", "items": items, "helper_rate_ppm": rate, "agencies": agencies})
}

fn ids(page: &Answer, field: &str) -> Vec<String> {
    page.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", page.text))
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_merchant_opens_goods_to_an_agency_whose_pool_a_helper_joins_and_discovery_shows_only_what_each_may_see()
 {
    let p = plaza();
    let opened = p.shop.put(
        "/v1/offers/teaware",
        &offer(&["teapot-yixing", "cup-set"], 100_000, &["c"]),
    );
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(ids(&p.c.get("/v1/plaza/offers"), "id"), ["teaware"]);
    assert!(ids(&p.x.get("/v1/plaza/offers"), "id").is_empty());
    assert_eq!(ids(&p.shop.get("/v1/offers"), "id"), ["teaware"]);

    let published = p.c.put(
        "/v1/pools/autumn",
        &pool(&[("teahouse", "teaware")], 300_000, &["h"]),
    );
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.body["merchants"], json!(["teahouse"]));
    // Discovery: h sees it, x does not; filters narrow it.
    assert_eq!(ids(&p.h.get("/v1/plaza/pools"), "id"), ["autumn"]);
    assert!(ids(&p.x.get("/v1/plaza/pools"), "id").is_empty());
    assert_eq!(p.x.get("/v1/plaza/pools/c/autumn").status, 404);
    for (query, found) in [
        ("merchant=teahouse", true),
        ("merchant=other", false),
        ("min_rate_ppm=300000", true),
        ("min_rate_ppm=300001", false),
        ("text=TEA", true),
        ("text=coffee", false),
    ] {
        let listed = p.h.get(&format!("/v1/plaza/pools?{query}"));
        assert_eq!(
            !ids(&listed, "id").is_empty(),
            found,
            "{query}: {}",
            listed.text
        );
    }

    let joined = p.h.post("/v1/plaza/pools/c/autumn/members", &json!({}));
    assert_eq!(joined.status, 201, "{}", joined.text);
    assert_eq!(
        p.h.post("/v1/plaza/pools/c/autumn/members", &json!({}))
            .status,
        200,
        "joining again changes nothing"
    );
    assert_eq!(ids(&p.c.get("/v1/pools/autumn/members"), "helper"), ["h"]);
    assert_eq!(ids(&p.h.get("/v1/memberships"), "pool"), ["autumn"]);
    assert_eq!(
        p.x.post("/v1/plaza/pools/c/autumn/members", &json!({}))
            .status,
        404,
        "a pool not published to x"
    );
    assert_eq!(p.x.get("/v1/pools/autumn/members").status, 404);
    let own = p.c.post("/v1/plaza/pools/c/autumn/members", &json!({}));
    assert_eq!(own.error_type(), "own_pool");
}

#[test]
fn goods_travel_one_hop_and_bad_offers_and_pools_are_refused_changing_nothing() {
    let p = plaza();
    carried_by_c_helped_by_h(&p);
    // h received the teaware through c's pool: it cannot publish it again.
    let again = p.h.put(
        "/v1/pools/resale",
        &pool(&[("teahouse", "teaware")], 100_000, &[]),
    );
    assert_eq!(again.status, 422, "{}", again.text);
    assert_eq!(again.error_type(), "second_hop");
    // x never had it.
    let never = p.x.put(
        "/v1/pools/resale",
        &pool(&[("teahouse", "teaware")], 100_000, &[]),
    );
    assert_eq!(never.error_type(), "not_opened");
    // A cycle of targeting: the merchant opens cups to h alone; h publishes them to c;
    // c joins; c cannot publish them on.
    assert_eq!(
        p.shop
            .put("/v1/offers/cups", &offer(&["cup-set"], 50_000, &["h"]))
            .status,
        200
    );
    assert_eq!(
        p.h.put(
            "/v1/pools/cups",
            &pool(&[("teahouse", "cups")], 200_000, &["c"])
        )
        .status,
        200
    );
    assert_eq!(
        p.c.post("/v1/plaza/pools/h/cups/members", &json!({}))
            .status,
        201
    );
    let cycle = p.c.put(
        "/v1/pools/autumn",
        &pool(
            &[("teahouse", "teaware"), ("teahouse", "cups")],
            300_000,
            &["h"],
        ),
    );
    assert_eq!(cycle.error_type(), "second_hop", "{}", cycle.text);
    assert_eq!(
        p.h.get("/v1/plaza/pools/c/autumn").body["items"],
        json!([{"merchant": "teahouse", "offer": "teaware"}]),
        "the refused change left the pool as it was"
    );
    // Rates over the cap, an agency opening offers, a merchant publishing pools, empty
    // offers: typed refusals.
    let over = p.shop.put(
        "/v1/offers/teaware",
        &offer(&["teapot-yixing"], 900_001, &[]),
    );
    assert_eq!((over.status, over.error_type()), (422, "rate_over_cap"));
    let over_pool = p.c.put(
        "/v1/pools/autumn",
        &pool(&[("teahouse", "teaware")], 900_001, &[]),
    );
    assert_eq!(over_pool.status, 422, "{}", over_pool.text);
    assert_eq!(
        p.c.put("/v1/offers/mine", &offer(&["x"], 1, &[]))
            .error_type(),
        "not_a_merchant"
    );
    assert_eq!(
        p.shop
            .put("/v1/pools/mine", &pool(&[("teahouse", "teaware")], 1, &[]))
            .error_type(),
        "not_an_agency"
    );
    let empty = p.shop.put("/v1/offers/none", &offer(&[], 1, &[]));
    assert_eq!(
        (empty.status, empty.body["error"]["field"].clone()),
        (422, json!("spus"))
    );
    let offers = p.shop.get("/v1/offers").body;
    let teaware = offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "teaware")
        .unwrap();
    assert_eq!(
        teaware["terms"],
        Value::Null,
        "terms are flattened into the offer"
    );
    assert_eq!(
        teaware["service_rate_ppm"], 100_000,
        "unchanged by the refusals"
    );
}

#[test]
fn the_host_finds_the_carrying_chain_of_a_cart_from_the_pools() {
    let p = plaza();
    carried_by_c_helped_by_h(&p);
    enlist(&p.server, &p.h, "p-h");
    enlist(&p.server, &p.c, "p-c");
    let checkout = p.server.operator().issue_key("teahouse", "checkout");
    for (id, buyer, promoter) in [("t-1", "b-1", "p-h"), ("t-2", "b-2", "p-c")] {
        let touched = checkout.post(
            "/v1/touches",
            &json!({"touch_id": id, "buyer": buyer, "promoter": promoter, "at_ms": D0}),
        );
        assert_eq!(touched.status, 201, "{}", touched.text);
    }
    let quote = |buyer: &str, lines: Option<Value>| {
        let mut cart = demo_cart();
        cart["buyer"]["id"] = json!(buyer);
        cart["now_ms"] = json!(D0 + DAY);
        if let Some(lines) = lines {
            cart["lines"] = lines;
        }
        let quoted = checkout.post("/v1/plans/teahouse-autumn/quote", &cart);
        assert_eq!(quoted.status, 200, "{}", quoted.text);
        quoted.body["attribution"].clone()
    };
    // h's promoter: c carries the teapot, h helps.
    let helped = quote("b-1", None);
    assert_eq!(helped["resolved"]["carrying_agency"], "c", "{helped}");
    assert_eq!(helped["resolved"]["helper_agency"], "h");
    assert_eq!(helped["resolved"]["promoter_agency"], "h");
    assert_eq!(helped["pool"], "c/autumn");
    // c's own promoter: c carries, nobody helps.
    let direct = quote("b-2", None);
    assert_eq!(direct["resolved"]["carrying_agency"], "c");
    assert_eq!(direct["resolved"]["helper_agency"], Value::Null);
    // A cart without the pool's goods is carried by nobody.
    let tea = demo_cart()["lines"][0].clone();
    let uncovered = quote("b-1", Some(json!([tea])));
    assert_eq!(uncovered["resolved"]["carrying_agency"], Value::Null);
    assert_eq!(uncovered["resolved"]["promoter"], "p-h");
    // Once h leaves the pool, its promoter's sales are no longer carried by c.
    let left = p.h.delete("/v1/plaza/pools/c/autumn/members");
    assert_eq!(left.status, 204, "{}", left.text);
    assert_eq!(
        quote("b-1", None)["resolved"]["carrying_agency"],
        Value::Null
    );
    // An offer past its window carries nothing.
    let closed = p.shop.put(
        "/v1/offers/teaware",
        &json!({"spus": ["teapot-yixing"], "service_rate_ppm": 100_000, "agencies": ["c"], "until_ms": D0}),
    );
    assert_eq!(closed.status, 200);
    assert_eq!(
        quote("b-2", None)["resolved"]["carrying_agency"],
        Value::Null
    );
}

#[test]
fn the_command_line_opens_offers_publishes_finds_and_joins_pools() {
    let p = plaza();
    let base = p.server.base.clone();
    let run = |api: &Api, args: &[&str]| {
        let key = api.key.clone().unwrap();
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &base, "--key", &key]);
        crate::plaza_cli(&all)
    };
    let opened = run(
        &p.shop,
        &[
            "offer",
            "save",
            "teaware",
            "--spu",
            "teapot-yixing",
            "--rate-ppm",
            "100000",
        ],
    );
    assert_eq!(opened["service_rate_ppm"], 100_000);
    let published = run(
        &p.c,
        &[
            "pool",
            "save",
            "autumn",
            "--name",
            "Autumn",
            "--item",
            "teahouse/teaware",
            "--helper-rate-ppm",
            "300000",
        ],
    );
    assert_eq!(published["carrier"], "c");
    let found = run(&p.h, &["pool", "find", "--merchant", "teahouse"]);
    assert_eq!(found["items"][0]["id"], "autumn", "{found}");
    assert_eq!(run(&p.h, &["pool", "join", "c/autumn"])["helper"], "h");
    let key = p.h.key.clone().unwrap();
    let joined = crate::plaza_cli(&["list", "--server", &base, "--key", &key, "memberships"]);
    assert_eq!(joined["items"][0]["pool"], "autumn");
    let report = run(&p.c, &["pool", "report", "--from-ms", "0"]);
    assert_eq!(report["agency"], "c", "{report}");
    run(&p.h, &["pool", "leave", "c/autumn"]);
    let left = crate::plaza_cli(&["list", "--server", &base, "--key", &key, "memberships"]);
    assert_eq!(left["items"], json!([]));
}
