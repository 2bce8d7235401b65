//! Gift orders (送礼) through the real server on sled, on a manual clock: the sender pays,
//! each recipient's sub-order is accepted (switching SKU within the SPU at the same price),
//! declined, or left to expire on the host's timers; declined and expired sub-orders are
//! refunded to the sender through the order's refund path, commission and budgets with
//! them, to the fen, across a restart; a decline racing the expiry refunds once. A gift
//! bought through a promoter's (forwarded) link pays that promoter; its recipients' own
//! purchases follow their own touches.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// The demo cart (promoter p-1001, so commission is paid) as three Yixing teapots.
fn cart() -> Value {
    let mut cart = demo_cart();
    cart["lines"] = json!([{"id": "l1", "sku": "teapot-yixing", "spu": "yixing",
        "merchant": "m-teahouse", "categories": ["teaware"], "quantity": 3,
        "unit_price": 29900}]);
    cart["coupon_codes"] = json!([]);
    cart["now_ms"] = json!(NOW);
    cart
}

fn gift_to(recipients: &[&str]) -> Value {
    let recipients: Vec<Value> = (recipients.iter())
        .map(|r| json!({"recipient": r, "lines": [{"line": "l1", "quantity": 1}]}))
        .collect();
    json!({"recipients": recipients})
}

fn send(checkout: &Api, id: &str, recipients: &[&str]) -> Value {
    let mut req = commit_request(id, "teahouse-autumn", &cart());
    req["gift"] = gift_to(recipients);
    let placed = checkout.post("/v1/orders", &req);
    assert_eq!(placed.status, 201, "{}", placed.text);
    checkout.pay(id, NOW);
    placed.body
}

fn sub_state(order: &Value, recipient: &str) -> String {
    let subs = order["gift_sending"]["recipients"].as_array().unwrap();
    let sub = subs.iter().find(|s| s["recipient"] == recipient).unwrap();
    sub["state"].as_str().unwrap().to_owned()
}

/// The order once `recipient`'s sub-order left `sent`: the timer tick fires what the
/// moved clock made due. Waits for the tick, never for the deadline.
fn settled(api: &Api, order: &str, recipient: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let got = api.get(&format!("/v1/orders/{order}"));
        assert_eq!(got.status, 200, "{}", got.text);
        if sub_state(&got.body, recipient) != "sent" {
            return got.body;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{}",
            got.text
        );
        std::thread::yield_now();
    }
}

/// What the order's ledger says the merchant still holds (money, not commission).
fn ledger_money(api: &Api, order: &str) -> i64 {
    pages(api, &format!("/v1/orders/{order}/ledger"), "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .filter(|e| !e["kind"].as_str().unwrap().starts_with("commission"))
        .map(|e| e["amount"].as_i64().unwrap())
        .sum()
}

/// Each commission share still owed.
fn commission_left(order: &Value) -> Vec<i64> {
    (order["commissions"].as_array().unwrap().iter())
        .map(|c| c["amount"].as_i64().unwrap() - c["reversed"].as_i64().unwrap())
        .collect()
}

fn shop(clock: &ManualClock) -> (Server, Api) {
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    (server, checkout)
}

#[test]
fn one_accepts_one_declines_one_lets_it_expire_and_the_sender_gets_exactly_two_back() {
    let clock = ManualClock::at(NOW);
    let (server, checkout) = shop(&clock);
    let order = send(&checkout, "g-1", &["amy", "bo", "cai"]);
    let payable = order["lines"][0]["payable"].as_i64().unwrap();
    let commission = commission_left(&order);
    assert!(
        !commission.is_empty(),
        "the promoter earns on a gift: {order}"
    );
    assert_eq!(order["cart"]["gift"], true, "rules see a gift");
    assert_eq!(
        order["gift_sending"]["accept_by_ms"].as_i64(),
        Some(order["created_ms"].as_i64().unwrap() + DAY_MS)
    );

    // Amy switches to the red teapot: same SPU, same price.
    let accept = |recipient: &str, switch: Value| {
        checkout.post(
            &format!("/v1/orders/g-1/gift/{recipient}/accept"),
            &json!({"switch": switch}),
        )
    };
    let red = json!([{"line": "l1", "sku": "teapot-red", "spu": "yixing", "unit_price": 29900}]);
    let accepted = accept("amy", red.clone());
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(sub_state(&accepted.body, "amy"), "accepted");
    assert_eq!(accept("amy", red).status, 200, "the same accept again");
    for (bad, why) in [
        (
            json!([{"line": "l1", "sku": "big", "spu": "yixing", "unit_price": 39900}]),
            "price",
        ),
        (
            json!([{"line": "l1", "sku": "cup", "spu": "cups", "unit_price": 29900}]),
            "spu",
        ),
    ] {
        let refused = accept("bo", bad);
        assert_eq!(
            (refused.status, refused.error_type()),
            (409, "gift_switch_refused"),
            "{why}: {}",
            refused.text
        );
    }

    let declined = checkout.post("/v1/orders/g-1/gift/bo/decline", &json!({}));
    assert_eq!(declined.status, 200, "{}", declined.text);
    assert_eq!(sub_state(&declined.body, "bo"), "declined");
    assert_eq!(declined.body["refunds"][0]["id"], "gift/bo");

    // A restart between sending and expiry changes nothing; the deadline expires cai.
    let server = server.restart();
    let checkout = Api::new(&server.base, checkout.key.as_deref().unwrap());
    clock.advance(DAY_MS);
    let order = settled(&checkout, "g-1", "cai");
    assert_eq!(sub_state(&order, "cai"), "expired");
    assert_eq!(sub_state(&order, "amy"), "accepted");
    let refunds = order["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{order}");
    let refunded: i64 = refunds.iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    let line = &order["lines"][0];
    assert_eq!(line["refunded_quantity"], 2);
    assert_eq!(line["refunded"].as_i64().unwrap(), refunded);
    // Two of three units, exact to the fen: what is kept is the last third's share.
    assert_eq!(
        payable - refunded,
        payable - payable / 3 - (payable - payable / 3) / 2
    );
    assert_eq!(order["status"], "partially_refunded");
    let shipping = order["shipping"].as_i64().unwrap();
    assert_eq!(
        ledger_money(&checkout, "g-1"),
        payable - refunded + shipping
    );
    let kept: Vec<i64> = (commission.iter())
        .map(|a| a - a / 3 - (a - a / 3) / 2)
        .collect();
    assert_eq!(
        commission_left(&order),
        kept,
        "reversed pro rata, each share to the fen"
    );

    let late = accept("cai", json!([]));
    assert_eq!((late.status, late.error_type()), (409, "gift_settled"));
}

#[test]
fn a_decline_racing_the_expiry_refunds_each_sub_order_once() {
    let clock = ManualClock::at(NOW);
    let (_server, checkout) = shop(&clock);
    for n in 0..16 {
        send(&checkout, &format!("r-{n}"), &["amy", "bo", "cai"]);
    }
    clock.advance(DAY_MS);
    let answers = race(4, 4, |n| {
        checkout.post(&format!("/v1/orders/r-{n}/gift/bo/decline"), &json!({}))
    });
    for (n, a) in answers.iter().enumerate() {
        assert!(
            a.status == 200 || (a.status == 409 && a.error_type() == "gift_settled"),
            "{}",
            a.text
        );
        let order = settled(&checkout, &format!("r-{n}"), "amy");
        let bo = sub_state(&order, "bo");
        assert!(bo == "declined" || bo == "expired", "{bo}");
        let refunds = order["refunds"].as_array().unwrap();
        let bos = refunds.iter().filter(|r| r["id"] == "gift/bo").count();
        assert_eq!(bos, 1, "{order}");
        assert_eq!(refunds.len(), 3, "every sub-order once: {order}");
        assert_eq!(order["status"], "refunded");
    }
}

#[test]
fn a_gift_that_does_not_share_out_the_cart_is_refused_and_nothing_is_written() {
    let clock = ManualClock::at(NOW);
    let (_server, checkout) = shop(&clock);
    let many: Vec<String> = (0..101).map(|i| format!("f-{i}")).collect();
    let many: Vec<Value> = (many.iter())
        .map(|r| json!({"recipient": r, "lines": [{"line": "l1", "quantity": 1}]}))
        .collect();
    for (gift, field) in [
        (json!({"recipients": []}), "gift.recipients"),
        (json!({"recipients": many}), "gift.recipients"),
        (gift_to(&["amy", "bo"]), "gift.recipients"),
        (
            gift_to(&["amy", "amy", "bo"]),
            "gift.recipients[1].recipient",
        ),
        (
            json!({"recipients": [{"recipient": "amy", "lines": [{"line": "l9", "quantity": 3}]}]}),
            "gift.recipients[0].lines[0].line",
        ),
    ] {
        let mut req = commit_request("bad", "teahouse-autumn", &cart());
        req["gift"] = gift;
        let refused = checkout.post("/v1/orders", &req);
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert_eq!(refused.body["error"]["field"], field, "{}", refused.text);
    }
    assert_eq!(checkout.get("/v1/orders/bad").status, 404);
    let plain = checkout.post(
        "/v1/orders",
        &commit_request("plain", "teahouse-autumn", &cart()),
    );
    assert_eq!(plain.status, 201, "{}", plain.text);
    let not_a_gift = checkout.post("/v1/orders/plain/gift/amy/decline", &json!({}));
    assert_eq!(not_a_gift.status, 404, "{}", not_a_gift.text);
}

#[test]
fn the_command_line_sets_the_window_accepts_with_a_switch_and_declines() {
    let clock = ManualClock::at(NOW);
    let (server, checkout) = shop(&clock);
    let base = server.base.clone();
    let key = checkout.key.clone().unwrap();
    let admin = server.operator().issue_key("teahouse", "admin");
    let admin_key = admin.key.clone().unwrap();
    let cli = |key: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &base, "--key", key]);
        crate::plaza_cli(&all)
    };
    let settings = cli(&admin_key, &["settings", "--gift-accept-ms", "7200000"]);
    assert_eq!(settings["gift_accept_ms"], 7_200_000, "{settings}");
    let order = send(&checkout, "g-cli", &["amy", "bo", "cai"]);
    assert_eq!(
        order["gift_sending"]["accept_by_ms"].as_i64(),
        Some(order["created_ms"].as_i64().unwrap() + 7_200_000)
    );
    let accepted = cli(
        &key,
        &[
            "gift",
            "accept",
            "g-cli",
            "amy",
            "--switch",
            "l1=teapot-red:yixing:29900",
        ],
    );
    assert_eq!(sub_state(&accepted, "amy"), "accepted");
    assert_eq!(
        accepted["gift_sending"]["recipients"][0]["switched"][0]["sku"],
        "teapot-red"
    );
    let declined = cli(&key, &["gift", "decline", "g-cli", "bo"]);
    assert_eq!(sub_state(&declined, "bo"), "declined");
    assert_eq!(declined["refunds"][0]["id"], "gift/bo");
}

/// Which promoter an order's commission went to (one, or none).
fn credited(order: &Value) -> Option<String> {
    let mut who: Vec<&str> = (order["commissions"].as_array().unwrap().iter())
        .filter(|c| c["payee_party"] == "promoter")
        .map(|c| c["payee"].as_str().unwrap())
        .collect();
    who.dedup();
    assert!(who.len() <= 1, "{who:?}");
    who.first().map(|w| (*w).to_owned())
}

#[test]
fn a_gift_bought_through_a_forwarded_link_pays_its_promoter_and_recipients_buy_on_their_own_touches()
 {
    let clock = ManualClock::at(NOW);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    shop_resolving_touches(&server);
    let operator = server.operator();
    let checkout = operator.issue_key("teahouse", "checkout");
    let agency = operator.create_tenant("pa", "agency");
    enlist(&server, &agency, "p-1");
    enlist(&server, &agency, "p-2");
    let touch = |id: &str, buyer: &str, promoter: &str, link: &str| {
        let t = json!({"touch_id": id, "buyer": buyer, "promoter": promoter,
                       "share_link": link, "at_ms": NOW - DAY_MS});
        let recorded = checkout.post("/v1/touches", &t);
        assert_eq!(recorded.status, 201, "{}", recorded.text);
    };
    // p-1 shared the teapot with ann, who forwarded the link to sam: the link carries
    // p-1, so sam opening it is sam's touch of p-1.
    touch("t-ann", "ann", "p-1", "link-p1-teapot");
    touch("t-sam", "sam", "p-1", "link-p1-teapot");
    // Amy has never opened a promoter's link; bo opened p-2's.
    touch("t-bo", "bo", "p-2", "link-p2-teapot");

    // Sam sends two teapots to amy and bo; the cart's own claim (p-1001) is a hint only.
    let mut gift = cart();
    gift["buyer"]["id"] = json!("sam");
    gift["lines"][0]["quantity"] = json!(2);
    let mut req = commit_request("g-sam", "teahouse-autumn", &gift);
    req["gift"] = gift_to(&["amy", "bo"]);
    let placed = checkout.post("/v1/orders", &req);
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order = placed.body;
    assert_eq!(credited(&order).as_deref(), Some("p-1"), "{order}");
    assert_eq!(order["attribution"]["resolved"]["promoter"], "p-1");
    assert_eq!(
        order["attribution"]["resolved"]["share_link"],
        "link-p1-teapot"
    );
    let commission = commission_left(&order);
    checkout.pay("g-sam", NOW);

    // Amy accepts and bo declines: p-1 keeps the commission on amy's teapot, to the fen.
    let accepted = checkout.post("/v1/orders/g-sam/gift/amy/accept", &json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let declined = checkout.post("/v1/orders/g-sam/gift/bo/decline", &json!({}));
    assert_eq!(declined.status, 200, "{}", declined.text);
    let kept: Vec<i64> = commission.iter().map(|a| a - a / 2).collect();
    assert_eq!(commission_left(&declined.body), kept, "{}", declined.text);
    assert_eq!(credited(&declined.body).as_deref(), Some("p-1"));

    // Their own purchases afterwards follow their own touches, not the gift's.
    let own = |buyer: &str, id: &str| {
        let mut mine = cart();
        mine["buyer"]["id"] = json!(buyer);
        let placed = checkout.post("/v1/orders", &commit_request(id, "teahouse-autumn", &mine));
        assert_eq!(placed.status, 201, "{}", placed.text);
        placed.body
    };
    let amys = own("amy", "o-amy");
    assert_eq!(credited(&amys), None, "{amys}");
    assert_eq!(
        amys["attribution"]["uncredited"], "no_touch_in_window",
        "{amys}"
    );
    let bos = own("bo", "o-bo");
    assert_eq!(credited(&bos).as_deref(), Some("p-2"), "{bos}");
}
