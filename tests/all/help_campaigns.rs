//! Invite-to-help (助力) through the real server on sled: six helpers racing for a
//! five-helper initiation complete it exactly once (one reward claim), a helper counts
//! once, helps once per campaign and never for itself, the campaign's rules and clock
//! hold, a reward that ran out refuses the completing help without counting it, and every
//! other tenant's and party's key is refused.

use plaza::clock::ManualClock;
use plaza_tests::server::*;
use serde_json::{Value, json};

const HOUR: i64 = 60 * 60 * 1000;
const NOW: i64 = 1_790_000_000_000;

/// The demo merchant with coupon template `reward` (stock `stock`) and campaign `five`
/// (five helpers, 24 hours, running a week from now on).
fn shop(stock: u32, extra: Value) -> (Server, Api, Api) {
    let server = Server::start_with_clock(|_| {}, ManualClock::at(NOW));
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    let t = shop.post(
        "/v1/coupons",
        &json!({"id": "reward", "name": "30 off for five friends", "plan": "teahouse-autumn",
            "step": "tea-coupon", "code": "TEA30", "stock": stock,
            "validity": {"days_from_claim": {"days": 7}}}),
    );
    assert_eq!(t.status, 201, "{}", t.text);
    let mut campaign = json!({"id": "five", "name": "Five friends", "template": "reward",
        "helpers_required": 5, "from_ms": NOW, "until_ms": NOW + 7 * 24 * HOUR});
    for (k, v) in extra.as_object().into_iter().flatten() {
        campaign[k] = v.clone();
    }
    let c = shop.post("/v1/help-campaigns", &campaign);
    assert_eq!(c.status, 201, "{}", c.text);
    (server, shop, checkout)
}

fn initiate(api: &Api, buyer: &str) -> Answer {
    api.post(
        "/v1/help-campaigns/five/initiations",
        &json!({"buyer": {"id": buyer}}),
    )
}

fn help(api: &Api, initiator: &str, helper: &str) -> Answer {
    api.post(
        &format!("/v1/help-campaigns/five/initiations/{initiator}/helps"),
        &json!({"helper": {"id": helper}}),
    )
}

fn wallet(api: &Api, buyer: &str) -> Vec<Value> {
    pages(api, &format!("/v1/buyers/{buyer}/coupons"), "")
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn six_helpers_racing_for_five_complete_each_initiation_exactly_once() {
    let (_server, shop, checkout) = shop(100, json!({}));
    const INITIATORS: usize = 20;
    for i in 0..INITIATORS {
        assert_eq!(initiate(&checkout, &format!("b-{i}")).status, 201);
    }
    // Per initiator six distinct helpers, all at once (12 threads).
    let answers = race(12, INITIATORS * 6 / 12, |n| {
        let (i, h) = (n % INITIATORS, n / INITIATORS);
        (i, help(&checkout, &format!("b-{i}"), &format!("h-{i}-{h}")))
    });
    for i in 0..INITIATORS {
        let mine: Vec<&Answer> = (answers.iter())
            .filter(|(j, _)| *j == i)
            .map(|(_, a)| a)
            .collect();
        let counted = mine.iter().filter(|a| a.status == 201).count();
        let late: Vec<&str> = (mine.iter())
            .filter(|a| a.status != 201)
            .map(|a| a.error_type())
            .collect();
        assert_eq!((counted, late), (5, vec!["already_complete"]), "b-{i}");
        let b = format!("b-{i}");
        let p = checkout
            .get(&format!("/v1/help-campaigns/five/initiations/{b}"))
            .body;
        assert_eq!(
            (&p["state"], &p["needed"]),
            (&json!("completed"), &json!(0))
        );
        assert_eq!(p["helpers"].as_array().unwrap().len(), 5);
        let held = wallet(&checkout, &b);
        assert_eq!(held.len(), 1, "one reward: {held:?}");
        assert_eq!(held[0]["id"], format!("help:five:{b}"));
        assert_eq!(p["claim"], held[0]["id"]);
    }
    let c = shop.get("/v1/help-campaigns/five").body;
    assert_eq!((&c["started"], &c["completed"]), (&json!(20), &json!(20)));
    assert_eq!(shop.get("/v1/coupons/reward").body["claimed"], 20);

    // The same helper twice counts once, racing or not.
    assert_eq!(initiate(&checkout, "b-x").status, 201);
    let twice = race(8, 1, |_| help(&checkout, "b-x", "h-x"));
    assert_eq!(twice.iter().filter(|a| a.status == 201).count(), 1);
    assert!(twice.iter().all(|a| [200, 201].contains(&a.status)));
    let p = checkout.get("/v1/help-campaigns/five/initiations/b-x").body;
    assert_eq!((&p["helpers"], &p["needed"]), (&json!(["h-x"]), &json!(4)));
}

#[test]
fn the_campaigns_rules_and_clock_hold_and_a_reward_that_ran_out_counts_no_help() {
    let (_server, admin, checkout) =
        shop(1, json!({"helpers_required": 2, "new_helpers_only": true}));
    let new_helper = |initiator: &str, helper: &str| {
        checkout.post(
            &format!("/v1/help-campaigns/five/initiations/{initiator}/helps"),
            &json!({"helper": {"id": helper, "new_customer": true}}),
        )
    };
    assert_eq!(initiate(&checkout, "b-1").status, 201);
    assert_eq!(initiate(&checkout, "b-1").status, 200, "one per buyer");
    assert_eq!(initiate(&checkout, "b-2").status, 201);
    assert_eq!(help(&checkout, "b-1", "h-1").error_type(), "not_eligible");
    assert_eq!(new_helper("b-1", "b-1").error_type(), "own_initiation");
    assert_eq!(new_helper("b-1", "h-1").status, 201);
    assert_eq!(new_helper("b-2", "h-1").error_type(), "already_helped");
    assert_eq!(help(&checkout, "b-9", "h-9").status, 404, "no initiation");
    // b-1 completes and takes the only unit; b-2's completing help is refused, uncounted.
    assert_eq!(new_helper("b-1", "h-2").status, 201);
    assert_eq!(new_helper("b-2", "h-3").status, 201);
    let ran_out = new_helper("b-2", "h-4");
    assert_eq!(
        (ran_out.status, ran_out.error_type()),
        (409, "out_of_stock"),
        "{}",
        ran_out.text
    );
    let p = checkout.get("/v1/help-campaigns/five/initiations/b-2").body;
    assert_eq!(p["helpers"], json!(["h-3"]));
    assert_eq!(initiate(&checkout, "b-3").error_type(), "out_of_stock");
    assert!(wallet(&checkout, "b-2").is_empty());

    // An initiation has 24 hours; the campaign a week.
    let (server, _, checkout) = shop(10, json!({}));
    let clock = server.clock.as_ref().unwrap();
    assert_eq!(initiate(&checkout, "b-1").status, 201);
    clock.advance(24 * HOUR);
    assert_eq!(
        help(&checkout, "b-1", "h-1").error_type(),
        "initiation_expired"
    );
    let p = checkout.get("/v1/help-campaigns/five/initiations/b-1").body;
    assert_eq!(p["state"], "expired");
    clock.advance(7 * 24 * HOUR);
    assert_eq!(initiate(&checkout, "b-2").error_type(), "campaign_closed");

    // A checkout may not claim under a reward's id; a reward may not be bound to a room.
    let taken = checkout.post(
        "/v1/coupons/reward/claims",
        &json!({"claim_id": "help:five:b-7", "buyer": {"id": "b-7"}}),
    );
    assert_eq!(taken.status, 422, "{}", taken.text);
    let ch = admin.post(
        "/v1/coupons",
        &json!({"id": "in-live", "name": "n", "plan": "teahouse-autumn", "step": "tea-coupon",
            "code": "TEA30", "stock": 5, "validity": {"days_from_claim": {"days": 7}},
            "bindings": {"channel": "live_room"}}),
    );
    assert_eq!(ch.status, 201, "{}", ch.text);
    let bound = admin.post(
        "/v1/help-campaigns",
        &json!({"id": "b", "name": "b", "template": "in-live", "helpers_required": 1,
            "from_ms": NOW, "until_ms": NOW + HOUR}),
    );
    assert_eq!((bound.status, bound.error_type()), (422, "template_bound"));
}

#[test]
fn every_other_tenant_and_party_is_refused_and_the_cli_runs_a_campaign() {
    let (server, shop, checkout) = shop(10, json!({"helpers_required": 1}));
    assert_eq!(initiate(&checkout, "b-1").status, 201);
    let before = shop.get("/v1/help-campaigns/five").text;
    let operator = server.operator();
    let strangers = strangers(&server);
    let author = operator.issue_key("teahouse", "author");
    for (who, api) in &strangers {
        for a in [
            api.get("/v1/help-campaigns/five"),
            api.get("/v1/help-campaigns/five/initiations/b-1"),
            initiate(api, "b-2"),
            help(api, "b-1", "h-1"),
        ] {
            assert!([403, 404].contains(&a.status), "{who}: {}", a.text);
        }
        let listed = api.get("/v1/help-campaigns");
        assert!(
            listed.status != 200 || listed.body["items"] == json!([]),
            "{who}"
        );
    }
    assert_eq!(
        help(&author, "b-1", "h-1").status,
        403,
        "an author records no helps"
    );
    assert_eq!(
        shop.get("/v1/help-campaigns/five").text,
        before,
        "nothing changed"
    );

    let base = server.base.clone();
    let (admin, till) = (shop.key.clone().unwrap(), checkout.key.clone().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campaign.json");
    let campaign = json!({"id": "two", "name": "Two friends", "template": "reward",
        "helpers_required": 2, "from_ms": NOW, "until_ms": NOW + HOUR});
    std::fs::write(&file, campaign.to_string()).unwrap();
    let cli = |args: &[&str], key: &str| {
        let mut all = args.to_vec();
        all.extend(["--server", &base, "--key", key]);
        crate::plaza_cli(&all)
    };
    let created = cli(&["help-campaign", "create", file.to_str().unwrap()], &admin);
    assert_eq!(created["helpers_required"], 2);
    let started = cli(
        &["help-campaign", "initiate", "two", "--buyer", "b-5"],
        &till,
    );
    assert_eq!(started["needed"], 2);
    cli(
        &[
            "help-campaign",
            "record-help",
            "two",
            "b-5",
            "--helper",
            "h-1",
        ],
        &till,
    );
    let done = cli(
        &[
            "help-campaign",
            "record-help",
            "two",
            "b-5",
            "--helper",
            "h-2",
        ],
        &till,
    );
    assert_eq!(done["state"], "completed", "{done}");
    let progress = cli(&["help-campaign", "progress", "two", "b-5"], &till);
    assert_eq!(progress["claim"], "help:two:b-5");
    let listed = crate::plaza_cli(&["list", "--server", &base, "--key", &admin, "help-campaigns"]);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
}
