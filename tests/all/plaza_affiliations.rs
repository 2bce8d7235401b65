//! A promoter agency whose promoters sell another agency's goods, through the real server
//! on sled, as the 二级团 story has it: merchant `teahouse` opens teaware to carrier `c`; `c`
//! publishes a pool to helper `h`; `h` joins; promoter agency `pa` invites promoter `p-3`;
//! `h` invites `pa` to sell its goods and `pa` accepts; a buyer opens `p-3`'s link. Until
//! `pa` accepts (and after it ends the affiliation) no layer carries the sale; while it is
//! active, an order 20 days later pays every layer, `h`'s plan paying `pa` and `p-3` out of
//! what `h` received, to the fen; a refund reverses every layer's share on the line; 31
//! days later nobody is credited; a second touch wins only under last touch.

use super::plaza_layers::{D0, DAY, cart, story, waterfall_plan};
use plaza_tests::server::*;
use serde_json::{Value, json};

#[test]
fn a_promoter_agency_sells_an_affiliated_agencys_goods_only_while_both_agree() {
    // h pays the promoter agency 20 % and the promoter 50 % of what h received.
    let mut h_plan = waterfall_plan(
        "h-plan",
        json!({"from": "helper_agency", "promoter_agency": 200_000}),
    );
    h_plan["steps"].as_array_mut().unwrap().push(json!({
        "id": "to-promoter",
        "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"from": "helper_agency", "promoter": 500_000},
    }));
    let s = story(Some(h_plan));
    let operator = s.server.operator();
    let pa = operator.create_tenant("pa", "agency");
    enlist(&s.server, &pa, "p-3");
    let touched = s.checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-3", "buyer": "b-3", "promoter": "p-3", "at_ms": D0}),
    );
    assert_eq!(touched.status, 201, "{}", touched.text);
    let buyer_cart = || {
        let mut c = cart(D0 + 20 * DAY);
        c["buyer"]["id"] = json!("b-3");
        c
    };
    let quote = || {
        let q = s.checkout.post("/v1/plans/p/quote", &buyer_cart());
        assert_eq!(q.status, 200, "{}", q.text);
        q.body["attribution"].clone()
    };

    // Invited, not yet accepted: p-3 is credited, but nobody carries the goods to pa.
    let invited = s.h.put("/v1/plaza/affiliates/pa", &json!({}));
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.body["state"], "invited");
    assert_eq!(s.h.put("/v1/plaza/affiliates/pa", &json!({})).status, 200);
    let before = quote();
    assert_eq!(before["resolved"]["promoter"], "p-3");
    assert_eq!(before["resolved"]["promoter_agency"], "pa");
    assert!(before.get("pool").is_none(), "{before}");

    // Accepted: the goods come to pa through h's membership of c's pool.
    let accepted = pa.put("/v1/plaza/affiliations/h", &json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["state"], "active");
    let during = quote();
    assert_eq!(during["pool"], "c/autumn", "{during}");
    let chain = &during["resolved"];
    assert_eq!(
        (
            &chain["carrying_agency"],
            &chain["helper_agency"],
            &chain["promoter_agency"]
        ),
        (&json!("c"), &json!("h"), &json!("pa"))
    );
    let placed = s
        .checkout
        .post("/v1/orders", &commit_request("o-3", "p", &buyer_cart()));
    assert_eq!(placed.status, 201, "{}", placed.text);
    // h received 897 + 299 = 1,196 on the teapot and 539 + 179 = 718 on the cups. It pays
    // pa 20 %: 239 and 143 (floored); p-3 50 %: 598 and 359.
    let h_view = s.h.get("/v1/plaza/orders/teahouse/o-3").body;
    let paid: Vec<(String, String, i64)> = h_view["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["payer"] == "h")
        .map(|c| {
            (
                c["payee"].as_str().unwrap().to_owned(),
                c["line"].as_str().unwrap().to_owned(),
                c["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    let share = |to: &str, line: &str, fen: i64| (to.to_owned(), line.to_owned(), fen);
    assert_eq!(
        paid,
        [
            share("pa", "l2", 239),
            share("pa", "l3", 143),
            share("p-3", "l2", 598),
            share("p-3", "l3", 359),
        ],
        "{h_view}"
    );
    // pa reads what it is owed, on h's books, with its own key.
    let pa_own = operator.issue_beneficiary_key("pa");
    let balance = pa_own.get("/v1/beneficiaries/pa/balance");
    assert_eq!(
        balance.body["merchants"][0]["merchant"], "h",
        "{}",
        balance.text
    );
    assert_eq!(balance.body["total"]["pending"], 239 + 143);
    // The teapot comes back: every layer's share on it is reversed, the cups' stay.
    let refunded = s.checkout.post(
        "/v1/orders/o-3/refunds",
        &json!({"refund_id": "r-1", "lines": [{"line": "l2"}]}),
    );
    assert_eq!(refunded.status, 200, "{}", refunded.text);
    let after = s.h.get("/v1/plaza/orders/teahouse/o-3").body;
    for c in after["shares"].as_array().unwrap() {
        let left = c["amount"].as_i64().unwrap() - c["reversed"].as_i64().unwrap();
        assert_eq!(left == 0, c["line"] == "l2", "{c}");
    }
    let balance = pa_own.get("/v1/beneficiaries/pa/balance");
    assert_eq!(balance.body["total"]["pending"], 143, "{}", balance.text);

    // Each side lists it, and from the command line too.
    let listed = s.h.get("/v1/plaza/affiliates");
    assert_eq!(listed.body["items"][0], accepted.body);
    assert_eq!(
        pa.get("/v1/plaza/affiliations").body["items"][0],
        accepted.body
    );
    let base = s.server.base.clone();
    let pa_key = pa.key.clone().unwrap();
    let by_cli = crate::plaza_cli(&["list", "--server", &base, "--key", &pa_key, "affiliations"]);
    assert_eq!(by_cli["items"][0], accepted.body);

    // pa ends it (from the command line): its promoters' next carts carry nothing.
    let ended = crate::plaza_cli(&[
        "affiliation",
        "h",
        "--end",
        "--server",
        &base,
        "--key",
        &pa_key,
    ]);
    assert_eq!(ended, json!({"ended": "h"}));
    assert!(quote().get("pool").is_none());
    assert_eq!(s.h.get("/v1/plaza/affiliates").body["items"], json!([]));
    // The order placed meanwhile keeps its chain.
    let kept = s.h.get("/v1/plaza/orders/teahouse/o-3");
    assert_eq!(kept.status, 200, "{}", kept.text);
    // Invited again from the command line, and accepted: carried again.
    let h_key = s.h.key.clone().unwrap();
    let again = crate::plaza_cli(&["affiliate", "pa", "--server", &base, "--key", &h_key]);
    assert_eq!(again["state"], "invited");
    crate::plaza_cli(&["affiliation", "h", "--server", &base, "--key", &pa_key]);
    assert_eq!(quote()["pool"], "c/autumn");

    // 31 days after the touch nobody is credited, and nothing is carried.
    let mut late = buyer_cart();
    late["now_ms"] = json!(D0 + 31 * DAY);
    let q = s.checkout.post("/v1/plans/p/quote", &late);
    assert_eq!(q.body["attribution"]["resolved"]["promoter"], Value::Null);
    assert_eq!(q.body["attribution"]["uncredited"], "no_touch_in_window");
    assert!(q.body["attribution"].get("pool").is_none(), "{}", q.text);
    // A second touch, by h's own p-1 on day 5, wins only under last touch.
    let second = s.checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-4", "buyer": "b-3", "promoter": "p-1", "at_ms": D0 + 5 * DAY}),
    );
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(quote()["resolved"]["promoter"], "p-3");
    let last = s
        .shop
        .put("/v1/settings/attribution", &json!({"model": "last_touch"}));
    assert_eq!(last.status, 200, "{}", last.text);
    let by_last = quote();
    assert_eq!(by_last["resolved"]["promoter"], "p-1");
    assert_eq!(by_last["resolved"]["promoter_agency"], "h");
}

#[test]
fn bad_affiliations_are_refused_with_a_type_and_change_nothing() {
    let s = story(None);
    let operator = s.server.operator();
    let pa = operator.create_tenant("pa", "agency");
    assert_eq!(s.h.put("/v1/plaza/affiliates/pa", &json!({})).status, 201);
    let lists = || -> (Value, Value) {
        (
            s.h.get("/v1/plaza/affiliates").body,
            pa.get("/v1/plaza/affiliations").body,
        )
    };
    let before = lists();
    let cases: Vec<(Answer, u16, &str)> = vec![
        (
            s.h.put("/v1/plaza/affiliates/h", &json!({})),
            422,
            "own_agency",
        ),
        (
            s.h.put("/v1/plaza/affiliates/teahouse", &json!({})),
            409,
            "not_an_agency",
        ),
        (
            s.h.put("/v1/plaza/affiliates/nobody", &json!({})),
            404,
            "not_found",
        ),
        (
            s.h.put("/v1/plaza/affiliates/bad%20id", &json!({})),
            422,
            "invalid",
        ),
        (
            s.shop.put("/v1/plaza/affiliates/pa", &json!({})),
            409,
            "not_an_agency",
        ),
        (
            s.checkout.put("/v1/plaza/affiliates/pa", &json!({})),
            403,
            "forbidden",
        ),
        (
            pa.put("/v1/plaza/affiliations/c", &json!({})),
            404,
            "not_found",
        ),
        (pa.delete("/v1/plaza/affiliations/c"), 404, "not_found"),
        (s.h.delete("/v1/plaza/affiliates/x"), 404, "not_found"),
        (
            s.promoters[0].get("/v1/plaza/affiliations"),
            403,
            "forbidden",
        ),
    ];
    for (answer, status, kind) in cases {
        assert_eq!(
            (answer.status, answer.error_type()),
            (status, kind),
            "{}",
            answer.text
        );
    }
    assert_eq!(lists(), before, "nothing changed");
}
