//! Free gifts (赠品) through the real server on sled: the gift-with-purchase plugin's
//! gifts become order lines, their own stock (`max_gift_units`) is never overdrawn by
//! racing commits, and a gift comes back, stock and all, with its cancelled or fully
//! refunded order (a partial refund keeps it with the buyer).

use plaza_tests::server::*;
use serde_json::{Value, json};

/// 买二赠一: a tea cup for every two teapots, at most two cups an order, five in stock.
fn plan(stock: u64) -> Value {
    json!({
        "id": "gifts",
        "steps": [{
            "id": "cup-with-teapots",
            "plugin": {"name": "gift-with-purchase", "version": "1.0.0"},
            "config": {"gift": {"sku": "tea-cup", "value": 3000, "label": "赠 品茗杯"},
                       "min_quantity": 2, "skus": ["teapot"], "repeat": true, "max_sets": 2},
            "budget": {"max_gift_units": stock}
        }]
    })
}

fn cart(buyer: &str, teapots: u32) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "teapot", "merchant": "teahouse", "quantity": teapots,
                   "unit_price": 20000}],
        "buyer": {"id": buyer},
        "now_ms": 1_790_000_000_000i64,
    })
}

/// The cups `order` carries, and whether they came back.
fn cups(order: &Value) -> (u64, bool) {
    match order["gifts"].as_array().map(Vec::as_slice) {
        None | Some([]) => (0, false),
        Some([gift]) => {
            assert_eq!(gift["sku"], "tea-cup", "{gift}");
            assert_eq!(
                gift["value"].as_u64().unwrap(),
                3000 * gift["quantity"].as_u64().unwrap()
            );
            (
                gift["quantity"].as_u64().unwrap(),
                gift["returned"].as_bool().unwrap(),
            )
        }
        Some(more) => panic!("one gift line expected: {more:?}"),
    }
}

fn given(shop: &Api) -> i64 {
    let usage = shop.get("/v1/plans/gifts/budgets");
    assert_eq!(usage.status, 200, "{}", usage.text);
    usage.body[0]["gift_units"].as_i64().unwrap()
}

fn shop(server: &Server, stock: u64) -> Api {
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("gift-with-purchase").status, 201);
    shop.apply(&plan(stock));
    shop
}

#[test]
fn racing_commits_never_give_more_gifts_than_their_stock() {
    let server = Server::start();
    let shop = shop(&server, 25);
    let answers = race(8, 5, |n| {
        let teapots = u32::try_from(n % 3 + 2).unwrap();
        let id = format!("o-{n}");
        shop.post(
            "/v1/orders",
            &commit_request(&id, "gifts", &cart(&id, teapots)),
        )
    });
    let mut cups_given = 0;
    for a in &answers {
        match a.status {
            201 => {
                let (n, returned) = cups(&a.body);
                assert!(!returned);
                assert_eq!(
                    a.body["quote"]["total"]["payable"].as_i64().unwrap(),
                    a.body["cart"]["lines"][0]["quantity"].as_i64().unwrap() * 20000,
                    "a gift costs the buyer nothing and takes nothing off"
                );
                cups_given += n;
            }
            409 => assert_eq!(a.error_type(), "budget_exhausted", "{}", a.text),
            s => panic!("unexpected {s}: {}", a.text),
        }
    }
    assert!(cups_given <= 25, "overdrawn: {cups_given}");
    assert!(
        cups_given >= 24,
        "orders of 1–2 cups fit until fewer than 2 are left: {cups_given}"
    );
    assert_eq!(given(&shop), i64::try_from(cups_given).unwrap());
}

#[test]
fn a_gift_comes_back_with_its_cancelled_or_fully_refunded_order_and_stays_with_a_partial_one() {
    let server = Server::start();
    let shop = shop(&server, 5);
    let commit = |id: &str, teapots: u32| {
        let placed = shop.post(
            "/v1/orders",
            &commit_request(id, "gifts", &cart(id, teapots)),
        );
        assert_eq!(placed.status, 201, "{}", placed.text);
        placed.body
    };
    assert_eq!(
        cups(&commit("o-1", 1)),
        (0, false),
        "one teapot earns nothing"
    );
    assert_eq!(cups(&commit("o-2", 5)), (2, false), "two sets at most");
    assert_eq!(cups(&commit("o-3", 4)), (2, false));
    let late = commit("o-4", 4);
    assert_eq!(
        cups(&late),
        (0, false),
        "one cup left, a set of two does not fit"
    );
    let step = &late["quote"]["explanation"][0];
    assert_eq!(step["reason"]["limit"], "gift_units", "{step}");
    assert_eq!(given(&shop), 4);

    let cancelled = shop.post("/v1/orders/o-2/cancel", &json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cups(&cancelled.body), (2, true));
    assert_eq!(given(&shop), 2, "the cancel put two cups back in stock");

    let refund = |id: &str, quantity: u32| {
        let answer = shop.post(
            "/v1/orders/o-3/refunds",
            &json!({"refund_id": id, "lines": [{"line": "l1", "quantity": quantity}]}),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body
    };
    assert_eq!(cups(&refund("r-1", 1)), (2, false), "a partial refund");
    assert_eq!(given(&shop), 2);
    assert_eq!(cups(&refund("r-2", 3)), (2, true), "the rest of the order");
    assert_eq!(given(&shop), 0);
    assert_eq!(
        cups(&commit("o-5", 6)),
        (2, false),
        "the stock is there again"
    );

    // A stock out of range is refused at save.
    let mut bad = plan(1);
    bad["id"] = "bad".into();
    bad["steps"][0]["budget"]["max_gift_units"] = 0.into();
    let refused = shop.post("/v1/plans", &bad);
    assert_eq!(refused.status, 422, "{}", refused.text);
}

/// A card for each friend a gift order is shared out to: rules see how many recipients a
/// gift has, from the checkout's cart at quote and from the gift itself at commit.
#[test]
fn rules_see_how_many_friends_a_gift_is_shared_out_to() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("gift-with-purchase").status, 201);
    shop.apply(&json!({
        "id": "cards",
        "steps": [{
            "id": "card-per-friend",
            "plugin": {"name": "gift-with-purchase", "version": "1.0.0"},
            "config": {"gift": {"sku": "card", "value": 200}, "min_quantity": 1,
                       "per_recipient": true}
        }]
    }));
    let card_units = |order: &Value| order["gifts"][0]["quantity"].as_u64().unwrap();

    let mut asked = cart("b-1", 4);
    asked["gift"] = json!(true);
    asked["gift_recipients"] = json!(2);
    let quoted = shop.post("/v1/plans/cards/quote", &asked);
    assert_eq!(quoted.status, 200, "{}", quoted.text);
    assert_eq!(quoted.body["gifts"][0]["quantity"], 2, "{}", quoted.text);

    let mut req = commit_request("o-gift", "cards", &cart("b-1", 4));
    let share = |r: &str, n: u32| json!({"recipient": r, "lines": [{"line": "l1", "quantity": n}]});
    req["gift"] = json!({"recipients": [share("f-1", 2), share("f-2", 1), share("f-3", 1)]});
    let placed = shop.post("/v1/orders", &req);
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(card_units(&placed.body), 3, "{}", placed.text);
    assert_eq!(placed.body["cart"]["gift_recipients"], 3);

    let own = shop.post(
        "/v1/orders",
        &commit_request("o-own", "cards", &cart("b-2", 4)),
    );
    assert_eq!(
        card_units(&own.body),
        1,
        "an order for oneself: {}",
        own.text
    );

    for (recipients, gift) in [(101, true), (2, false)] {
        let mut bad = cart("b-3", 1);
        bad["gift"] = json!(gift);
        bad["gift_recipients"] = json!(recipients);
        let refused = shop.post("/v1/plans/cards/quote", &bad);
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert_eq!(
            refused.body["error"]["field"], "cart.gift_recipients",
            "{}",
            refused.text
        );
    }
}
