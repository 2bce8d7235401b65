//! Attribution is the host's job, through the real server on sled: an agency invites
//! promoters who accept with their token; the merchant's checkout records touches; quotes
//! and orders are credited to whom the stored touches, the bindings and the cart's time
//! say, under the merchant's settings (lock window, first or last touch, store or
//! product scope, order renewal), never to the buyer; what the cart claims is a hint the
//! answer confirms, overrides or ignores.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const DAY: i64 = 24 * 60 * 60 * 1000;
/// The day the buyer first opens a link (cart times are days after it).
const D0: i64 = 1_790_000_000_000;
/// The host's clock: after every touch and cart time the tests use.
const NOW: i64 = D0 + 400 * DAY;

/// A merchant quoting the demo plan with attribution resolved from touches, and a
/// promoter agency `pa` whose promoters `p-1` and `p-2` accepted their invitations.
struct Market {
    server: Server,
    shop: Api,
    checkout: Api,
    agency: Api,
    /// `p-1`'s own key.
    p1: Api,
}

fn market() -> Market {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let operator = server.operator();
    let shop = shop_resolving_touches(&server);
    let checkout = operator.issue_key("teahouse", "checkout");
    let agency = operator.create_tenant("pa", "agency");
    let p1 = enlist(&server, &agency, "p-1");
    enlist(&server, &agency, "p-2");
    Market {
        server,
        shop,
        checkout,
        agency,
        p1,
    }
}

fn touch(checkout: &Api, id: &str, buyer: &str, promoter: &str, at_ms: i64) -> Answer {
    checkout.post(
        "/v1/touches",
        &json!({"touch_id": id, "buyer": buyer, "promoter": promoter, "share_link": format!("link-{id}"), "at_ms": at_ms}),
    )
}

/// The demo cart (which claims promoter `p-1001`) for `buyer` at `at_ms`.
fn cart(buyer: &str, at_ms: i64) -> Value {
    let mut cart = demo_cart();
    cart["buyer"]["id"] = json!(buyer);
    cart["now_ms"] = json!(at_ms);
    cart
}

fn quote(api: &Api, cart: &Value) -> Value {
    let quoted = api.post("/v1/plans/teahouse-autumn/quote", cart);
    assert_eq!(quoted.status, 200, "{}", quoted.text);
    quoted.body
}

/// Who the quote's commission went to (one beneficiary, or none).
fn credited(quote: &Value) -> Option<String> {
    let mut who: Vec<&str> = quote["commissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["beneficiary"].as_str().unwrap())
        .collect();
    who.dedup();
    assert!(who.len() <= 1, "{who:?}");
    who.first().map(|w| (*w).to_owned())
}

fn claim(quote: &Value, field: &str) -> Value {
    quote["attribution"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .map(|c| c["outcome"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn a_touch_locks_the_buyer_to_its_promoter_for_the_window_and_the_order_keeps_the_chain() {
    let m = market();
    assert_eq!(touch(&m.checkout, "t-1", "b-42", "p-1", D0).status, 201);
    // 20 days later: p-1 is credited, with its agency; the cart's claim is overridden.
    let day20 = quote(&m.checkout, &cart("b-42", D0 + 20 * DAY));
    assert_eq!(credited(&day20).as_deref(), Some("p-1"), "{day20}");
    let a = &day20["attribution"];
    assert_eq!(a["source"], "touches");
    assert_eq!(a["touch"], "t-1");
    assert_eq!(a["resolved"]["promoter"], "p-1");
    assert_eq!(a["resolved"]["promoter_agency"], "pa");
    assert_eq!(a["resolved"]["share_link"], "link-t-1");
    assert_eq!(a["locked_until_ms"], D0 + 30 * DAY);
    assert_eq!(claim(&day20, "promoter"), "overridden");
    // 31 days later: nobody; the claim is ignored.
    let day31 = quote(&m.checkout, &cart("b-42", D0 + 31 * DAY));
    assert_eq!(credited(&day31), None, "{day31}");
    assert_eq!(day31["attribution"]["uncredited"], "no_touch_in_window");
    assert_eq!(claim(&day31, "promoter"), "ignored");
    // A claim of the promoter the touches give is confirmed.
    let mut claimed = cart("b-42", D0 + 20 * DAY);
    claimed["attribution"] = json!({"promoter": "p-1"});
    assert_eq!(
        claim(&quote(&m.checkout, &claimed), "promoter"),
        "confirmed"
    );

    // A second touch by p-2 on day 10 wins only under last touch.
    assert_eq!(
        touch(&m.checkout, "t-2", "b-42", "p-2", D0 + 10 * DAY).status,
        201
    );
    let first = quote(&m.checkout, &cart("b-42", D0 + 20 * DAY));
    assert_eq!(credited(&first).as_deref(), Some("p-1"));
    let saved = m.shop.put(
        "/v1/settings/attribution",
        &json!({"source": "touches", "model": "last_touch"}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    let last = quote(&m.checkout, &cart("b-42", D0 + 20 * DAY));
    assert_eq!(credited(&last).as_deref(), Some("p-2"));
    assert_eq!(last["attribution"]["touch"], "t-2");
    // Before p-2's touch existed in time, p-1 still wins under last touch.
    let before = quote(&m.checkout, &cart("b-42", D0 + 5 * DAY));
    assert_eq!(credited(&before).as_deref(), Some("p-1"));

    // The order records the chain and the touch that won; the list filters by it.
    let placed = m.checkout.post(
        "/v1/orders",
        &commit_request("o-1", "teahouse-autumn", &cart("b-42", D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.body["attribution"]["touch"], "t-2");
    assert_eq!(placed.body["cart"]["attribution"]["promoter"], "p-2");
    assert_eq!(
        placed.body["quote"]["attribution"],
        placed.body["attribution"]
    );
    let listed = m.checkout.get("/v1/orders?promoter=p-2");
    assert_eq!(listed.body["items"][0]["id"], "o-1", "{}", listed.text);
    // p-1 reads itself with its own key, and nobody else.
    assert_eq!(m.p1.get("/v1/promoters/p-1").body["agency"], "pa");
    assert_eq!(m.p1.get("/v1/promoters/p-2").status, 404);
    assert_eq!(m.p1.get("/v1/beneficiaries/p-1/balance").status, 200);
}

#[test]
fn nobody_earns_on_their_own_purchase_and_a_suspended_promoter_is_passed_over() {
    let m = market();
    // p-1 opened its own link and then buys: nobody is credited.
    assert_eq!(touch(&m.checkout, "t-own", "p-1", "p-1", D0).status, 201);
    let own = quote(&m.checkout, &cart("p-1", D0 + DAY));
    assert_eq!(credited(&own), None, "{own}");
    assert_eq!(own["attribution"]["uncredited"], "self_purchase");
    // Even a merchant trusting its checkout drops a claimed party that is the buyer.
    let trusting = m
        .shop
        .put("/v1/settings/attribution", &json!({"source": "checkout"}));
    assert_eq!(trusting.status, 200);
    let mut claimed = cart("p-1001", D0 + DAY);
    claimed["attribution"] = json!({"promoter": "p-1001"});
    let trusted = quote(&m.checkout, &claimed);
    assert_eq!(credited(&trusted), None, "{trusted}");
    assert_eq!(trusted["attribution"]["uncredited"], "self_purchase");
    let resolving = m
        .shop
        .put("/v1/settings/attribution", &json!({"source": "touches"}));
    assert_eq!(resolving.status, 200);

    // b-7 opened p-1's link, then p-2's; p-1 is suspended: the lock passes to p-2.
    assert_eq!(touch(&m.checkout, "t-a", "b-7", "p-1", D0).status, 201);
    assert_eq!(
        touch(&m.checkout, "t-b", "b-7", "p-2", D0 + DAY).status,
        201
    );
    let suspended = m.agency.post("/v1/promoters/p-1/suspend", &json!({}));
    assert_eq!(suspended.status, 200, "{}", suspended.text);
    assert_eq!(suspended.body["state"], "suspended");
    let passed = quote(&m.checkout, &cart("b-7", D0 + 2 * DAY));
    assert_eq!(credited(&passed).as_deref(), Some("p-2"), "{passed}");
    // A suspended promoter's new touches are refused.
    let refused = touch(&m.checkout, "t-c", "b-8", "p-1", D0);
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.error_type(), "promoter_not_active");
    let again = m.agency.post("/v1/promoters/p-1/suspend", &json!({}));
    assert_eq!(again.error_type(), "promoter_state");
    assert_eq!(
        m.agency
            .post("/v1/promoters/p-1/reinstate", &json!({}))
            .status,
        200
    );
    let back = quote(&m.checkout, &cart("b-7", D0 + 2 * DAY));
    assert_eq!(credited(&back).as_deref(), Some("p-1"));
    // Unbound: another agency may invite it; until then it earns nothing.
    let unbound = m.agency.delete("/v1/promoters/p-1");
    assert_eq!(unbound.body["state"], "unbound", "{}", unbound.text);
    assert_eq!(m.agency.get("/v1/promoters/p-1").status, 404);
    let listed = m.agency.get("/v1/promoters");
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p-2"]);
    assert_eq!(
        credited(&quote(&m.checkout, &cart("b-7", D0 + 2 * DAY))).as_deref(),
        Some("p-2")
    );
    let other = m.server.operator().create_tenant("qa", "agency");
    enlist(&m.server, &other, "p-1");
    assert_eq!(
        credited(&quote(&m.checkout, &cart("b-7", D0 + 2 * DAY))).as_deref(),
        Some("p-1"),
        "bound again, its touch counts again"
    );
}

#[test]
fn product_scope_and_order_renewal_follow_the_merchants_settings() {
    let m = market();
    let saved = m.shop.put(
        "/v1/settings/attribution",
        &json!({"source": "touches", "scope": "product", "order_extends_lock": true, "lock_days": 30}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    let on_teapot = m.checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-pot", "buyer": "b-1", "promoter": "p-1", "product": "teapot-yixing", "at_ms": D0}),
    );
    assert_eq!(on_teapot.status, 201, "{}", on_teapot.text);
    // A cart with the teapot is credited; a cart without it is not.
    assert_eq!(
        credited(&quote(&m.checkout, &cart("b-1", D0 + DAY))).as_deref(),
        Some("p-1")
    );
    let mut tea_only = cart("b-1", D0 + DAY);
    tea_only["lines"] = json!([tea_only["lines"][0].clone()]);
    assert_eq!(credited(&quote(&m.checkout, &tea_only)), None);
    // An order on day 20 renews the lock: on day 45 (the touch's own lock ended on day
    // 30) the buyer is still p-1's, until day 50.
    let placed = m.checkout.post(
        "/v1/orders",
        &commit_request("o-1", "teahouse-autumn", &cart("b-1", D0 + 20 * DAY)),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    let renewal = m.checkout.get("/v1/touches/order:o-1");
    assert_eq!(renewal.status, 200, "{}", renewal.text);
    assert_eq!(renewal.body["product"], "teapot-yixing");
    let day45 = quote(&m.checkout, &cart("b-1", D0 + 45 * DAY));
    assert_eq!(credited(&day45).as_deref(), Some("p-1"), "{day45}");
    assert_eq!(day45["attribution"]["touch"], "order:o-1");
    assert_eq!(day45["attribution"]["locked_until_ms"], D0 + 50 * DAY);
    let day51 = quote(&m.checkout, &cart("b-1", D0 + 51 * DAY));
    assert_eq!(credited(&day51), None);
    let touches = m.checkout.get("/v1/buyers/b-1/touches");
    let ids: Vec<&str> = touches.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["touch_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t-pot", "order:o-1"], "oldest first");
}

#[test]
fn the_same_cart_and_touches_quote_byte_identically_across_a_restart() {
    let m = market();
    assert_eq!(touch(&m.checkout, "t-1", "b-42", "p-1", D0).status, 201);
    assert_eq!(
        touch(&m.checkout, "t-2", "b-42", "p-2", D0 + DAY).status,
        201
    );
    let path = "/v1/plans/teahouse-autumn/quote";
    let before = m.checkout.post(path, &cart("b-42", D0 + 2 * DAY)).text;
    let key = m.checkout.key.clone().unwrap();
    let server = m.server.restart();
    let after = Api::new(&server.base, &key)
        .post(path, &cart("b-42", D0 + 2 * DAY))
        .text;
    assert_eq!(before, after);
    assert!(before.contains("\"touch\":\"t-1\""), "{before}");
}

#[test]
fn bad_touches_and_invitations_are_refused_with_a_type_and_change_nothing() {
    let m = market();
    let base = json!({"touch_id": "t-1", "buyer": "b-1", "promoter": "p-1", "at_ms": D0});
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    for (body, status, kind) in [
        (with("promoter", json!("p-404")), 422, "unknown_promoter"),
        (with("at_ms", json!(NOW + DAY)), 422, "invalid"),
        (with("at_ms", json!(-1)), 422, "invalid"),
        (with("touch_id", json!("order:o-1")), 422, "invalid"),
        (with("buyer", json!("")), 422, "invalid"),
        (with("surprise", json!(1)), 422, "invalid_body"),
    ] {
        let refused = m.checkout.post("/v1/touches", &body);
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert_eq!(refused.error_type(), kind, "{body}");
    }
    assert_eq!(
        m.checkout.get("/v1/buyers/b-1/touches").body["items"],
        json!([])
    );
    assert_eq!(m.checkout.post("/v1/touches", &base).status, 201);
    assert_eq!(
        m.checkout.post("/v1/touches", &base).status,
        200,
        "a replay"
    );
    let reused = m
        .checkout
        .post("/v1/touches", &with("at_ms", json!(D0 + 1)));
    assert_eq!(reused.status, 409);
    assert_eq!(reused.error_type(), "touch_id_reused");
    assert_eq!(m.checkout.get("/v1/touches/t-1").body["at_ms"], D0);

    // Invitations: only an agency invites; a bound promoter is not taken; tokens are
    // single-use and exact.
    let by_merchant = m.shop.post(
        "/v1/promoters",
        &json!({"id": "p-9", "kind": "promoter", "name": "x"}),
    );
    assert_eq!(by_merchant.error_type(), "not_an_agency");
    let rival = m.server.operator().create_tenant("rival", "agency");
    let taken = rival.post(
        "/v1/promoters",
        &json!({"id": "p-1", "kind": "promoter", "name": "x"}),
    );
    assert_eq!(taken.status, 409);
    assert_eq!(taken.error_type(), "promoter_bound");
    let invited = m.agency.post(
        "/v1/promoters",
        &json!({"id": "c-1", "kind": "creator", "name": "creator"}),
    );
    let token = invited.body["invite_token"].as_str().unwrap().to_owned();
    let anyone = Api::anonymous(&m.server.base);
    let wrong = anyone.post(
        "/v1/promoters/c-1/accept",
        &json!({"invite_token": "pz_0000"}),
    );
    assert_eq!(wrong.error_type(), "invite_invalid");
    let accept = json!({ "invite_token": token });
    assert_eq!(anyone.post("/v1/promoters/c-1/accept", &accept).status, 201);
    assert_eq!(
        anyone
            .post("/v1/promoters/c-1/accept", &accept)
            .error_type(),
        "invite_invalid",
        "used"
    );
    // A creator's touch credits the creator.
    assert_eq!(touch(&m.checkout, "t-c", "b-c", "c-1", D0).status, 201);
    let credited_creator = quote(&m.checkout, &cart("b-c", D0 + DAY));
    assert_eq!(
        credited_creator["attribution"]["resolved"]["creator"],
        "c-1"
    );
    assert_eq!(
        credited_creator["attribution"]["resolved"]["promoter"],
        Value::Null
    );
    let bad_settings = m
        .shop
        .put("/v1/settings/attribution", &json!({"lock_days": 0}));
    assert_eq!(bad_settings.status, 422);
    assert_eq!(
        m.shop.get("/v1/settings/attribution").body["lock_days"],
        30,
        "unchanged"
    );
}

#[test]
fn other_tenants_and_parties_cannot_reach_an_agencys_promoters_or_a_merchants_touches() {
    let m = market();
    assert_eq!(touch(&m.checkout, "t-1", "b-42", "p-1", D0).status, 201);
    let operator = m.server.operator();
    let rival_shop = operator.create_tenant("rival-shop", "merchant");
    let rival_agency = operator.create_tenant("rival-agency", "agency");
    let p2 = operator.issue_beneficiary_key("p-2");
    for (who, api) in [
        ("rival merchant", &rival_shop),
        ("rival agency", &rival_agency),
    ] {
        for (method, path) in [
            ("GET", "/v1/touches/t-1"),
            ("GET", "/v1/promoters/p-1"),
            ("POST", "/v1/promoters/p-1/suspend"),
            ("POST", "/v1/promoters/p-1/reinstate"),
            ("DELETE", "/v1/promoters/p-1"),
        ] {
            let answer = match method {
                "GET" => api.get(path),
                "DELETE" => api.delete(path),
                _ => api.post(path, &json!({})),
            };
            let refused = if path.starts_with("/v1/promoters") && who == "rival merchant" {
                // A merchant has no promoters: refused for what it is, or not found.
                [404, 409].contains(&answer.status)
            } else {
                answer.status == 404
            };
            assert!(refused, "{who} {method} {path}: {}", answer.text);
        }
        // Lists read only the caller's own range.
        assert_eq!(api.get("/v1/buyers/b-42/touches").body["items"], json!([]));
    }
    assert_eq!(rival_agency.get("/v1/promoters").body["items"], json!([]));
    // A promoter's key reads only itself.
    assert_eq!(p2.get("/v1/promoters/p-1").status, 404);
    assert_eq!(p2.get("/v1/promoters/p-2").status, 200);
    for path in [
        "/v1/touches/t-1",
        "/v1/promoters",
        "/v1/buyers/b-42/touches",
    ] {
        assert_eq!(p2.get(path).status, 403, "{path}");
    }
    assert_eq!(
        m.agency.get("/v1/promoters/p-1").body["state"],
        "active",
        "nothing changed"
    );
}

#[test]
fn the_command_line_invites_accepts_records_touches_and_sets_attribution() {
    let m = market();
    let agency_key = m.agency.key.clone().unwrap();
    let shop_key = m.shop.key.clone().unwrap();
    let as_key = |key: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &m.server.base, "--key", key]);
        crate::plaza_cli(&all)
    };
    let invited = as_key(
        &agency_key,
        &["promoter", "invite", "p-3", "--name", "three"],
    );
    let token = invited["invite_token"].as_str().unwrap();
    let accepted = crate::plaza_cli(&[
        "promoter",
        "accept",
        "p-3",
        "--token",
        token,
        "--server",
        &m.server.base,
    ]);
    assert_eq!(accepted["promoter"]["state"], "active");
    let at = D0.to_string();
    let touched = as_key(
        &shop_key,
        &[
            "touch",
            "--touch-id",
            "t-9",
            "--buyer",
            "b-9",
            "--promoter",
            "p-3",
            "--at-ms",
            &at,
        ],
    );
    assert_eq!(touched["promoter"], "p-3");
    let settings = as_key(&shop_key, &["attribution", "--model", "last_touch"]);
    assert_eq!(settings["model"], "last_touch", "{settings}");
    // A list takes the server before the list's name.
    let list = |key: &str, what: &[&str]| {
        let mut all = vec!["list", "--server", &m.server.base, "--key", key];
        all.extend_from_slice(what);
        crate::plaza_cli(&all)
    };
    let listed = list(&agency_key, &["promoters"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(
        as_key(&agency_key, &["promoter", "suspend", "p-3"])["state"],
        "suspended"
    );
    assert_eq!(
        list(&shop_key, &["touches", "b-9"])["items"][0]["touch_id"],
        "t-9"
    );
}

#[test]
fn a_live_room_visit_credits_its_livestreamer_and_the_carts_claim_is_only_a_hint() {
    let m = market();
    let invited = m.agency.post(
        "/v1/promoters",
        &json!({"id": "live-1", "kind": "livestreamer", "name": "Live room 1"}),
    );
    assert_eq!(invited.status, 201, "{}", invited.text);
    let accepted = Api::anonymous(&m.server.base).post(
        "/v1/promoters/live-1/accept",
        &json!({"invite_token": invited.body["invite_token"]}),
    );
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let visit = m.checkout.post(
        "/v1/touches",
        &json!({"touch_id": "t-live", "buyer": "b-7", "promoter": "live-1", "channel": "live_room", "at_ms": D0}),
    );
    assert_eq!(visit.status, 201, "{}", visit.text);
    // The visit credits live-1 as the livestreamer, whatever the cart claims.
    let mut claimed_other = cart("b-7", D0 + DAY);
    claimed_other["attribution"] = json!({"livestreamer": "live-2"});
    let q = quote(&m.checkout, &claimed_other);
    let resolved = &q["attribution"]["resolved"];
    assert_eq!(resolved["livestreamer"], "live-1", "{q}");
    assert_eq!(
        (&resolved["promoter"], &resolved["promoter_agency"]),
        (&Value::Null, &json!("pa"))
    );
    assert_eq!(claim(&q, "livestreamer"), "overridden");
    let mut claimed_same = cart("b-7", D0 + DAY);
    claimed_same["attribution"] = json!({"livestreamer": "live-1"});
    assert_eq!(
        claim(&quote(&m.checkout, &claimed_same), "livestreamer"),
        "confirmed"
    );
    // A buyer who never visited: the cart's livestreamer is its word alone.
    let mut unvisited = cart("b-8", D0 + DAY);
    unvisited["attribution"] = json!({"livestreamer": "live-1"});
    let q = quote(&m.checkout, &unvisited);
    assert_eq!(claim(&q, "livestreamer"), "unverified");
    assert_eq!(q["attribution"]["resolved"]["livestreamer"], "live-1");
    // Past its window the visit credits nobody.
    let q = quote(&m.checkout, &cart("b-7", D0 + 31 * DAY));
    assert_eq!(
        q["attribution"]["resolved"]["livestreamer"],
        Value::Null,
        "{q}"
    );
}
