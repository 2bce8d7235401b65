//! The whole 二级团 story through the real server on sled, as one merchant, two agencies and
//! two promoters would live it: the merchant opens teaware to carrying agency `c` at a
//! 10 % service rate; `c` publishes a pool to helper agency `h` at a 30 % helper rate (and
//! its own plan passes `h` another 10 % of what `c` received); `h` joins with its own plan
//! paying its promoter half of what `h` received; `h` invites promoter `p-1`, who accepts;
//! a buyer opens `p-1`'s link. Every layer pays what the hand computation below says, to
//! the fen; a refund reverses every layer pro rata.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

pub(crate) const DAY: i64 = 24 * 60 * 60 * 1000;
pub(crate) const D0: i64 = 1_790_000_000_000;
const NOW: i64 = D0 + 400 * DAY;

/// A plan of one commission step of agency-waterfall with `config`.
pub(crate) fn waterfall_plan(id: &str, config: Value) -> Value {
    json!({"id": id, "steps": [{
        "id": "pass-on",
        "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": config,
    }]})
}

pub(crate) struct Story {
    pub server: Server,
    /// The host's clock (its timers tick every few ms: moving it completes orders).
    pub clock: ManualClock,
    /// The merchant's admin.
    pub shop: Api,
    pub checkout: Api,
    pub c_key: String,
    pub h: Api,
    /// The own keys of `p-1` and `p-2`.
    pub promoters: Vec<Api>,
}

pub(crate) fn story(h_plan: Option<Value>) -> Story {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    // The merchant's own plan gives nothing on this cart: its lines keep their prices.
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("p", json!({"max_orders": 100})));
    let mut no_discount = budget_plan("p", json!({"max_orders": 100}));
    no_discount["steps"][0]["config"]["tiers"][0]["threshold"] = json!(100_000_000);
    shop.apply(&no_discount);
    let checkout = operator.issue_key("teahouse", "checkout");
    let c = operator.create_tenant("c", "agency");
    let h = operator.create_tenant("h", "agency");
    assert_eq!(
        shop.put(
            "/v1/offers/teaware",
            &json!({"spus": ["teapot-yixing", "cup-set"], "service_rate_ppm": 100_000, "agencies": ["c"]}),
        )
        .status,
        200
    );
    assert_eq!(c.upload("agency-waterfall").status, 201);
    c.apply(&waterfall_plan(
        "c-plan",
        json!({"from": "carrying_agency", "helper_agency": 100_000}),
    ));
    let published = c.put(
        "/v1/pools/autumn",
        &json!({
            "name": "Autumn teaware",
            "items": [{"merchant": "teahouse", "offer": "teaware"}],
            "helper_rate_ppm": 300_000,
            "agencies": ["h"],
            "plan": "c-plan",
        }),
    );
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(h.upload("agency-waterfall").status, 201);
    if let Some(plan) = &h_plan {
        h.apply(plan);
    }
    let joined = h.post(
        "/v1/plaza/pools/c/autumn/members",
        &json!({"plan": "h-plan"}),
    );
    assert_eq!(joined.status, 201, "{}", joined.text);
    let promoters = ["p-1", "p-2"]
        .into_iter()
        .map(|id| enlist(&server, &h, id))
        .collect();
    let touched = checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-1", "buyer": "b-1", "promoter": "p-1", "at_ms": D0}),
    );
    assert_eq!(touched.status, 201, "{}", touched.text);
    Story {
        server,
        clock,
        shop,
        checkout,
        c_key: c.key.clone().unwrap(),
        h,
        promoters,
    }
}

pub(crate) fn cart(at_ms: i64) -> Value {
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!("b-1");
    cart["coupon_codes"] = json!([]);
    cart["attribution"] = json!({});
    cart["now_ms"] = json!(at_ms);
    cart
}

/// The commission of `quote` as (step, line, payer, beneficiary, amount), in order.
pub(crate) fn shares(commissions: &Value) -> Vec<(String, String, String, String, i64)> {
    commissions
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["step"].as_str().unwrap().to_owned(),
                c["line"].as_str().unwrap().to_owned(),
                c["payer"].as_str().unwrap().to_owned(),
                c["beneficiary"].as_str().unwrap().to_owned(),
                c["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

pub(crate) fn share(
    step: &str,
    line: &str,
    payer: &str,
    to: &str,
    amount: i64,
) -> (String, String, String, String, i64) {
    (step.into(), line.into(), payer.into(), to.into(), amount)
}

#[test]
fn every_layer_pays_its_hand_computed_share_and_a_refund_reverses_each_pro_rata() {
    let s = story(Some(waterfall_plan(
        "h-plan",
        json!({"from": "helper_agency", "promoter": 500_000}),
    )));
    let day20 = s.checkout.post("/v1/plans/p/quote", &cart(D0 + 20 * DAY));
    assert_eq!(day20.status, 200, "{}", day20.text);
    let q = &day20.body;
    assert_eq!(q["attribution"]["resolved"]["promoter"], "p-1");
    assert_eq!(q["attribution"]["pool"], "c/autumn");
    // The merchant's checkout sees the merchant's books: the teapot (l2, 29,900) and the
    // cups (l3, 17,970) each pay c the offer's 10 %. The tea (l1) is not in the pool. What
    // c and h pass on is theirs, read below through their own views.
    assert_eq!(
        shares(&q["commissions"]),
        [
            share("offer:teaware", "l2", "merchant", "c", 2_990),
            share("offer:teaware", "l3", "merchant", "c", 1_797),
        ],
        "{q}"
    );
    assert!(q.get("layers").is_none(), "{q}");
    assert!(!day20.text.contains("pass-on") && !day20.text.contains("pool:"));

    // Committed: the order's shares are the quote's, and each party nets its part.
    let placed = s.checkout.post(
        "/v1/orders",
        &commit_request("o-1", "p", &cart(D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let net = |order: &str| -> Vec<(String, String, i64)> {
        let parties = s.checkout.get(&format!("/v1/orders/{order}/parties"));
        parties
            .body
            .as_array()
            .unwrap_or_else(|| panic!("{}", parties.text))
            .iter()
            .filter(|p| p["party"] != "merchant")
            .map(|p| {
                (
                    p["party"].as_str().unwrap().to_owned(),
                    p["id"].as_str().unwrap().to_owned(),
                    p["net"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // The merchant's books: c keeps what the merchant paid it.
    assert_eq!(net("o-1"), [("carrying_agency".into(), "c".into(), 4_787)]);
    // Each agency's plaza report: its pool, the carried lines' GMV, what it received and
    // paid on.
    let figures = |api: &Api| {
        let report = api.get("/v1/plaza/report");
        assert_eq!(report.status, 200, "{}", report.text);
        let pool = &report.body["pools"][0];
        assert_eq!(pool["pool"], "c/autumn");
        assert_eq!(report.body["pools"].as_array().unwrap().len(), 1);
        let n = |f: &str| pool[f].as_i64().unwrap();
        (
            n("orders"),
            n("gmv"),
            n("received"),
            n("paid_out"),
            n("net"),
        )
    };
    let c = Api::new(&s.server.base, &s.c_key);
    assert_eq!(figures(&c), (1, 29_900 + 17_970, 4_787, 1_914, 2_873));
    assert_eq!(figures(&s.h), (1, 29_900 + 17_970, 1_914, 957, 957));
    assert_eq!(
        s.checkout.get("/v1/plaza/report").status,
        403,
        "a merchant's checkout key reads no agency's report"
    );
    // Each agency sees the order as its own: the carried lines, its shares, its layer.
    let seen = |api: &Api| {
        let listed = api.get("/v1/plaza/orders");
        assert_eq!(listed.status, 200, "{}", listed.text);
        assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
        let one = api.get("/v1/plaza/orders/teahouse/o-1");
        assert_eq!(one.body, listed.body["items"][0]);
        one.body
    };
    // Each layer's hand computation, as the agency sees it. Teapot: c received 2,990 and
    // pays h 30 % = 897 (the pool) and its own plan's 10 % = 299; h received 1,196 and pays
    // p-1 half = 598. Cups: 1,797 to c; 539 (30 %, floored) and 179 to h; h pays half of
    // its 718 = 359.
    let by_h = seen(&s.h);
    assert_eq!(by_h["layer"]["tenant"], "h", "h's own layer, not c's");
    assert_eq!(by_h["layer"]["explanation"][0]["step"], "pass-on");
    assert_eq!(by_h["layer"]["received"], 897 + 539 + 299 + 179);
    assert_eq!(by_h["layer"]["paid_out"], 598 + 359);
    let lines: Vec<&str> = by_h["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["l2", "l3"], "the carried lines only");
    let amounts = |view: &Value| -> Vec<i64> {
        view["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["amount"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(amounts(&by_h), [897, 539, 299, 179, 598, 359]);
    let by_c = seen(&c);
    assert_eq!(by_c["layer"]["tenant"], "c");
    assert_eq!(by_c["layer"]["received"], 2_990 + 1_797);
    assert_eq!(by_c["layer"]["paid_out"], 897 + 539 + 299 + 179);
    assert_eq!(amounts(&by_c), [2_990, 1_797, 897, 539, 299, 179]);
    // What c passes on is on c's books; h's plan's shares on h's.
    let ledgers = |view: &Value| -> Vec<Value> {
        view["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["ledger"].clone())
            .collect()
    };
    assert_eq!(
        ledgers(&by_h),
        [
            json!("c"),
            json!("c"),
            json!("c"),
            json!("c"),
            json!("h"),
            json!("h")
        ]
    );
    // The same from the command line.
    let h_key = s.h.key.clone().unwrap();
    let base = s.server.base.clone();
    let by_cli = crate::plaza_cli(&[
        "pool",
        "order",
        "teahouse/o-1",
        "--server",
        &base,
        "--key",
        &h_key,
    ]);
    assert_eq!(by_cli, by_h);
    let listed = crate::plaza_cli(&["list", "--server", &base, "--key", &h_key, "plaza-orders"]);
    assert_eq!(listed["items"][0], by_h);
    let outsider = s.server.operator().create_tenant("x", "agency");
    assert_eq!(outsider.get("/v1/plaza/orders/teahouse/o-1").status, 404);
    assert_eq!(outsider.get("/v1/plaza/orders").body["items"], json!([]));
    // The teapot comes back: every layer's share on it is reversed; the cups' stay.
    let refunded = s.checkout.post(
        "/v1/orders/o-1/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l2"}]}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text);
    assert_eq!(net("o-1"), [("carrying_agency".into(), "c".into(), 1_797)]);
    assert_eq!(figures(&c), (1, 17_970, 1_797, 718, 1_079));
    assert_eq!(figures(&s.h), (1, 17_970, 718, 359, 359));

    // 31 days after the touch nobody is credited, and no layer runs.
    let day31 = s.checkout.post("/v1/plans/p/quote", &cart(D0 + 31 * DAY));
    assert_eq!(day31.body["commissions"], json!([]), "{}", day31.text);
    assert!(day31.body.get("layers").is_none());
    // A second touch by p-2 on day 5 takes the buyer only under last touch.
    let second = s.checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-2", "buyer": "b-1", "promoter": "p-2", "at_ms": D0 + 5 * DAY}),
    );
    assert_eq!(second.status, 201);
    let first = s.checkout.post("/v1/plans/p/quote", &cart(D0 + 20 * DAY));
    assert_eq!(first.body["attribution"]["resolved"]["promoter"], "p-1");
    let last = s
        .server
        .operator()
        .issue_key("teahouse", "admin")
        .put("/v1/settings/attribution", &json!({"model": "last_touch"}));
    assert_eq!(last.status, 200);
    let by_last = s.checkout.post("/v1/plans/p/quote", &cart(D0 + 20 * DAY));
    assert_eq!(by_last.body["attribution"]["resolved"]["promoter"], "p-2");
    let placed = s.checkout.post(
        "/v1/orders",
        &commit_request("o-2", "p", &cart(D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let p2_paid: i64 = s.h.get("/v1/plaza/orders/teahouse/o-2").body["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["payee"] == "p-2")
        .map(|c| c["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(p2_paid, 598 + 359);
}

#[test]
fn a_layer_without_an_active_plan_pays_nothing_further_and_says_why() {
    let s = story(None);
    let h_layer = |order: &str| {
        let placed = s
            .checkout
            .post("/v1/orders", &commit_request(order, "p", &cart(D0 + DAY)));
        assert_eq!(placed.status, 201, "{}", placed.text);
        let seen = s.h.get(&format!("/v1/plaza/orders/teahouse/{order}"));
        assert_eq!(seen.status, 200, "{}", seen.text);
        seen.body
    };
    let idle = h_layer("o-1");
    assert_eq!(idle["layer"]["tenant"], "h");
    assert_eq!(idle["layer"]["outcome"]["type"], "plan_not_active");
    assert_eq!(idle["layer"]["paid_out"], 0);
    assert!(
        idle["shares"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["payee"] != "p-1"),
        "nobody below h is paid"
    );
    // A helper plan that tries to spend the carrier's money is refused in its layer.
    s.h.apply(&waterfall_plan(
        "h-plan",
        json!({"from": "carrying_agency", "helper_agency": 500_000}),
    ));
    let grabbing = h_layer("o-2");
    assert_eq!(
        grabbing["layer"]["explanation"][0]["outcome"], "failed",
        "{grabbing}"
    );
    assert_eq!(grabbing["layer"]["paid_out"], 0);
}
