//! Every example plugin, from its built component, through the executor.

use plaza::Money;
use plaza::executor::{self, Outcome, Reason};
use plaza_tests::{assert_reconciles, cart, one_step, plugin, plugins, quote};
use serde_json::json;

fn tea_cart(extra: serde_json::Value) -> plaza::executor::Cart {
    let mut base = json!({
        "lines": [
            {"id": "a", "sku": "tea", "merchant": "m-1", "categories": ["tea"], "quantity": 2, "unit_price": 10000},
            {"id": "b", "sku": "cup", "merchant": "m-1", "categories": ["teaware"], "quantity": 1, "unit_price": 5000}
        ],
        "buyer": {"id": "b-1"},
        "shipping_fee": 800,
        "now_ms": 0
    });
    for (k, v) in extra.as_object().expect("object") {
        base[k] = v.clone();
    }
    cart(base)
}

fn payable(q: &plaza::executor::Quote) -> Vec<i64> {
    q.lines.iter().map(|l| l.payable.0).collect()
}

#[test]
fn every_example_plugin_describes_itself_with_a_json_schema() {
    for p in plugins() {
        let d = &p.descriptor;
        assert!(!d.description.is_empty(), "{}", d.name);
        serde_json::from_str::<serde_json::Value>(&d.config_schema).expect("schema is JSON");
        assert!(
            p.size <= plaza::sandbox::DEFAULT_MAX_MODULE_BYTES,
            "{} is {} bytes",
            d.name,
            p.size
        );
    }
}

#[test]
fn threshold_discount_tiers_allocate_across_lines() {
    let plan = one_step(
        "threshold-discount",
        json!({"mode": "tiers", "tiers": [{"threshold": 20000, "discount": 2500}]}),
    );
    let q = quote(&plan, &tea_cart(json!({}))).unwrap();
    // 25.00 over 200.00 and 50.00: 20.00 and 5.00.
    assert_eq!(payable(&q), vec![18000, 4500]);
    assert_reconciles(&q);
}

#[test]
fn threshold_discount_repeat_is_capped() {
    let plan = one_step(
        "threshold-discount",
        json!({"mode": "repeat", "every": 10000, "discount": 1000, "cap": 1500}),
    );
    let q = quote(&plan, &tea_cart(json!({}))).unwrap();
    assert_eq!(q.items.discount, Money(1500));
    assert_reconciles(&q);
}

#[test]
fn percent_off_items_mode_applies_from_n_items() {
    let plan = one_step(
        "percent-off",
        json!({"mode": "items", "min_items": 3, "off": 200000, "max_discount": 10000}),
    );
    let q = quote(&plan, &tea_cart(json!({}))).unwrap();
    // 3 items: 20 % of 250.00 = 50.00.
    assert_eq!(q.items.discount, Money(5000));
    assert_eq!(payable(&q), vec![16000, 4000]);
}

#[test]
fn member_price_applies_to_members_only() {
    let plan = one_step(
        "member-price",
        json!({"tiers": {"gold": {"rate": 900000, "prices": {"cup": 4000}}}}),
    );
    let member = quote(
        &plan,
        &tea_cart(json!({"buyer": {"id": "b-1", "member_tier": "gold"}})),
    )
    .unwrap();
    assert_eq!(payable(&member), vec![18000, 4000]);
    let guest = quote(&plan, &tea_cart(json!({}))).unwrap();
    assert_eq!(
        guest.explanation[0].outcome,
        Outcome::NotApplied {
            reason: Reason::NoEffect
        }
    );
    assert_eq!(payable(&guest), vec![20000, 5000]);
}

#[test]
fn livestreamer_price_needs_that_livestreamers_attribution() {
    let plan = one_step(
        "livestreamer-price",
        json!({"livestreamer": "ls-1", "prices": {"tea": 7900}}),
    );
    let via = quote(
        &plan,
        &tea_cart(json!({"channel": "live_room", "attribution": {"livestreamer": "ls-1"}})),
    )
    .unwrap();
    assert_eq!(payable(&via), vec![15800, 5000]);
    let other = quote(
        &plan,
        &tea_cart(json!({"attribution": {"livestreamer": "ls-2"}})),
    )
    .unwrap();
    assert_eq!(payable(&other), vec![20000, 5000]);
}

#[test]
fn store_coupon_applies_to_its_category_when_presented() {
    let plan = one_step(
        "store-coupon",
        json!({"code": "TEA15", "value": {"fixed": 1500}, "min_spend": 10000, "categories": ["tea"]}),
    );
    let q = quote(&plan, &tea_cart(json!({"coupon_codes": ["TEA15"]}))).unwrap();
    assert_eq!(payable(&q), vec![18500, 5000]);
    assert_eq!(q.coupons_redeemed, vec!["TEA15".to_string()]);
    assert_eq!(q.lines[0].adjustments[0].coupon.as_deref(), Some("TEA15"));
    let without = quote(&plan, &tea_cart(json!({}))).unwrap();
    assert!(without.coupons_redeemed.is_empty());
}

#[test]
fn livestreamer_coupon_leaves_a_note_outside_the_room() {
    let plan = one_step(
        "store-coupon",
        json!({"code": "LIVE", "value": {"fixed": 1000}, "livestreamer": "ls-1"}),
    );
    let q = quote(&plan, &tea_cart(json!({"coupon_codes": ["LIVE"]}))).unwrap();
    assert_eq!(q.items.discount, Money(0));
    assert_eq!(q.notes.len(), 1);
    assert!(q.notes[0].text.contains("ls-1"));
}

#[test]
fn free_shipping_waives_the_fee_over_the_threshold() {
    let plan = one_step("free-shipping", json!({"threshold": 20000}));
    let q = quote(&plan, &tea_cart(json!({}))).unwrap();
    assert_eq!(q.shipping.payable, Money(0));
    assert_eq!(q.total.payable, Money(25000));
}

#[test]
fn promoter_commission_pays_attributed_lines_at_product_rates() {
    let plan = one_step(
        "promoter-commission",
        json!({"default_rate": 50000, "rates": {"cup": 100000}}),
    );
    let q = quote(
        &plan,
        &tea_cart(json!({"attribution": {"promoter": "p-9"}})),
    )
    .unwrap();
    let amounts: Vec<(String, i64)> = q
        .commissions
        .iter()
        .map(|c| (c.line.clone(), c.amount.0))
        .collect();
    assert_eq!(amounts, vec![("a".into(), 1000), ("b".into(), 500)]);
    assert!(
        q.commissions
            .iter()
            .all(|c| c.beneficiary == "p-9" && c.payer == "merchant")
    );
    let unattributed = quote(&plan, &tea_cart(json!({}))).unwrap();
    assert!(unattributed.commissions.is_empty());
}

#[test]
fn agency_waterfall_pays_each_level_out_of_what_it_received() {
    let plan = one_step(
        "agency-waterfall",
        json!({"carrying_agency": 200000, "helper_agency": 500000, "creator": 600000, "promoter_agency": 500000, "promoter": 800000}),
    );
    let attribution = json!({"carrying_agency": "ag-1", "helper_agency": "ag-2", "creator": "cr-1", "promoter_agency": "pa-1", "promoter": "p-1"});
    let q = quote(&plan, &tea_cart(json!({"attribution": attribution}))).unwrap();
    let line_a: Vec<(String, String, i64)> = q
        .commissions
        .iter()
        .filter(|c| c.line == "a")
        .map(|c| (c.payer.clone(), c.payee.clone(), c.amount.0))
        .collect();
    // 200.00 → agency 20 % = 40.00 → helper 50 % = 20.00 → creator 60 % = 12.00
    // → promoter agency 50 % = 6.00 → promoter 80 % = 4.80.
    assert_eq!(
        line_a,
        vec![
            ("merchant".into(), "carrying_agency".into(), 4000),
            ("carrying_agency".into(), "helper_agency".into(), 2000),
            ("helper_agency".into(), "creator".into(), 1200),
            ("creator".into(), "promoter_agency".into(), 600),
            ("promoter_agency".into(), "promoter".into(), 480),
        ]
    );
    assert_reconciles(&q);
}

#[test]
fn a_plugins_own_validation_refuses_bad_configuration_at_prepare() {
    let plan = json!({"id": "p", "steps": [{"id": "s", "plugin": {"name": "promoter-commission", "version": "1.0.0"},
        "config": {"default_rate": 950000}}]});
    let err = plaza_tests::prepare_in(plaza_tests::sandbox(), plan).unwrap_err();
    assert!(
        matches!(err, plaza::executor::PlanError::InvalidConfig { .. }),
        "{err:?}"
    );
    let _ = plugin("promoter-commission");
}

#[test]
fn a_compiled_artifact_is_cached_and_reused_by_a_new_sandbox() {
    use plaza::sandbox::{ArtifactCache, Limits, Sandbox};
    let dir = std::env::temp_dir().join(format!("plaza-artifacts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bytes = plaza_tests::component("free-shipping");

    let first = Sandbox::new(Limits::default(), Some(ArtifactCache::new(&dir).unwrap())).unwrap();
    let compiled = first.load(&bytes).unwrap();
    assert!(!compiled.from_cache);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(
        files.len(),
        1,
        "one artifact, named by content and engine hash"
    );

    // A new engine (as after a restart) loads the artifact instead of compiling, and it runs.
    let second = Sandbox::new(Limits::default(), Some(ArtifactCache::new(&dir).unwrap())).unwrap();
    let cached = second.load(&bytes).unwrap();
    assert!(cached.from_cache);
    assert_eq!(cached.sha256, compiled.sha256);
    let plan = executor::prepare(
        &serde_json::from_value(json!({"id": "p", "steps": [{"id": "s", "plugin": {"name": "free-shipping", "version": "1.0.0"}, "config": {"threshold": 0}}]})).unwrap(),
        &second,
        |_| Some(cached.clone()),
    )
    .unwrap();
    let q = executor::quote(&second, &plan, &tea_cart(json!({}))).unwrap();
    assert_eq!(q.shipping.payable, Money(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn steps_run_by_stage_then_priority_whatever_their_plan_order() {
    // Listed coupon first and percent-off (a store promotion) last, with priorities
    // inverted: the store promotion still runs first, as its stage comes first.
    let plan = plaza_tests::prepare(json!({"id": "p", "steps": [
        {"id": "coupon", "plugin": {"name": "store-coupon", "version": "1.0.0"},
         "config": {"code": "C", "value": {"percent": {"off": 100000}}}},
        {"id": "late", "plugin": {"name": "percent-off", "version": "1.0.0"}, "priority": 2,
         "config": {"mode": "spend", "threshold": 0, "off": 500000}},
        {"id": "early", "plugin": {"name": "threshold-discount", "version": "1.0.0"}, "priority": 1,
         "config": {"mode": "tiers", "tiers": [{"threshold": 25000, "discount": 5000}]}}
    ]}));
    let order: Vec<&str> = plan.steps.iter().map(|s| s.step.id.as_str()).collect();
    assert_eq!(order, vec!["early", "late", "coupon"]);
    let q = quote(&plan, &tea_cart(json!({"coupon_codes": ["C"]}))).unwrap();
    // 250.00 − 50.00 (满250减50, judged before the 50 % off) = 200.00 → 100.00 → coupon 10 % → 90.00.
    assert_eq!(q.items.payable, Money(9000));
    assert_reconciles(&q);
}
