//! A plan version activated at a time, through the real server and its timers: quotes
//! see the old version until the host's clock reaches the time and the new one after,
//! a schedule can be replaced or cancelled, and only the plan's authors may do either.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

/// Plan `id` taking `discount` off from 100.00.
fn plan(id: &str, discount: i64) -> Value {
    let mut plan = budget_plan(id, json!({"max_orders": 1_000}));
    plan["steps"][0]["config"]["tiers"][0]["discount"] = json!(discount);
    plan
}

fn version_quoted(shop: &Api, plan: &str) -> i64 {
    let cart = json!({
        "lines": [{"id": "l1", "sku": "teapot", "merchant": "teahouse", "quantity": 1,
                   "unit_price": 20_000}],
        "buyer": {"id": "b-1"},
        "now_ms": T0,
    });
    let q = shop.post(&format!("/v1/plans/{plan}/quote"), &cart);
    assert_eq!(q.status, 200, "{}", q.text);
    q.body["plan"]["version"].as_i64().unwrap()
}

fn schedule(api: &Api, plan: &str, version: u32, at_ms: i64) -> Answer {
    api.post(
        &format!("/v1/plans/{plan}/activate"),
        &json!({"version": version, "at_ms": at_ms}),
    )
}

/// A server on a manual clock whose timers tick every 5 ms, and a merchant whose plan `p`
/// has version 1 active (10.00 off) and version 2 saved (20.00 off).
fn shop_with_two_versions() -> (ManualClock, Server, Api) {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&plan("p", 1_000));
    assert_eq!(shop.post("/v1/plans", &plan("p", 2_000)).status, 201);
    (clock, server, shop)
}

/// Once quotes of plan `p` see `version`: it is active, no schedule is left, and the last
/// activation is the schedule's, at `at_ms`.
fn fired(shop: &Api, version: u32, at_ms: i64) {
    wait_until(|| version_quoted(shop, "p") == i64::from(version));
    let head = shop.get("/v1/plans/p").body;
    assert_eq!(
        (&head["active"], head.get("scheduled")),
        (&json!(version), None)
    );
    let last = head["activations"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last,
        json!({"version": version, "at_ms": at_ms, "action": "scheduled"})
    );
}

/// Once `probe` holds: the server's timer tick fires what the moved clock made due.
fn wait_until(probe: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !probe() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never happened"
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_version_scheduled_for_a_time_goes_live_then_and_a_cancelled_one_never() {
    let (clock, server, shop) = shop_with_two_versions();

    // Refused: a time not after the host's clock, a version that does not exist.
    let past = schedule(&shop, "p", 2, T0);
    assert_eq!(past.status, 422, "{}", past.text);
    assert_eq!(schedule(&shop, "p", 9, T0 + HOUR).status, 404);
    let checkout = shop.issue_key("teahouse", "checkout");
    assert_eq!(schedule(&checkout, "p", 2, T0 + HOUR).status, 403);
    for (who, api) in strangers(&server) {
        let a = schedule(&api, "p", 2, T0 + HOUR);
        assert!([403, 404].contains(&a.status), "{who}: {}", a.text);
        let c = api.delete("/v1/plans/p/scheduled-activation");
        assert!([403, 404].contains(&c.status), "{who}: {}", c.text);
    }
    assert!(shop.get("/v1/plans/p").body.get("scheduled").is_none());

    // An author schedules version 2 for an hour from now; it replaces a first schedule.
    let author = shop.issue_key("teahouse", "author");
    assert_eq!(schedule(&author, "p", 2, T0 + 2 * HOUR).status, 200);
    let head = schedule(&author, "p", 2, T0 + HOUR);
    assert_eq!(head.status, 200, "{}", head.text);
    assert_eq!(
        head.body["scheduled"],
        json!({"version": 2, "at_ms": T0 + HOUR})
    );
    assert_eq!(
        (head.body["active"].as_i64(), version_quoted(&shop, "p")),
        (Some(1), 1)
    );

    clock.set(T0 + HOUR - 1);
    assert_eq!(version_quoted(&shop, "p"), 1, "not before its time");
    clock.set(T0 + HOUR);
    fired(&shop, 2, T0 + HOUR);

    // Back to version 1 in an hour, through the command line; then cancelled. A second
    // plan scheduled after it shows the timers ran past its time.
    let (base, key) = (server.base.clone(), shop.key.clone().unwrap());
    let cli = |args: &[&str]| {
        let mut all = vec!["activate", "--server", &base, "--key", &key];
        all.extend_from_slice(args);
        crate::plaza_cli(&all)
    };
    let at = (T0 + 2 * HOUR).to_string();
    let scheduled = cli(&["p", "--version", "1", "--at-ms", &at]);
    assert_eq!(scheduled["scheduled"]["version"], 1);
    let cancelled = cli(&["p", "--cancel-scheduled"]);
    assert!(cancelled.get("scheduled").is_none(), "{cancelled}");
    shop.apply(&plan("q", 500));
    assert_eq!(shop.post("/v1/plans", &plan("q", 700)).status, 201);
    assert_eq!(schedule(&shop, "q", 2, T0 + 3 * HOUR).status, 200);
    clock.set(T0 + 3 * HOUR);
    wait_until(|| version_quoted(&shop, "q") == 2);
    assert_eq!(
        version_quoted(&shop, "p"),
        2,
        "the cancelled schedule never fired"
    );
    assert_eq!(shop.get("/v1/plans/p").body["active"], 2);
}

#[test]
fn a_schedule_that_fell_due_while_the_server_was_down_fires_after_the_restart() {
    let (clock, server, shop) = shop_with_two_versions();
    assert_eq!(schedule(&shop, "p", 2, T0 + HOUR).status, 200);
    let key = shop.key.clone().unwrap();
    // The time passes while the store is closed.
    let server = server.restart_after(|_| clock.set(T0 + 2 * HOUR));
    let shop = Api::new(&server.base, &key);
    fired(&shop, 2, T0 + HOUR);
}
