//! Composed plans: stage order, best-of item prices, exclusive groups, stacking, scope,
//! windows, failure policy, and hand-computed totals to the fen.

use plaza::Money;
use plaza::examples::{demo_cart, demo_plan};
use plaza::executor::{self, Outcome, Reason};
use plaza_tests::{assert_reconciles, cart, plugins, prepare, quote, sandbox};
use serde_json::json;

fn demo_prepared() -> executor::PreparedPlan {
    executor::prepare(&demo_plan(), sandbox(), |r| {
        plaza::examples::find(plugins(), &r.name, &r.version)
    })
    .unwrap()
}

#[test]
fn member_price_then_manjian_then_coupon_then_free_shipping_then_commission_to_the_fen() {
    let q = quote(&demo_prepared(), &demo_cart()).unwrap();
    // By hand (see host/demo): member price gold 95折, longjing fixed at 115.00:
    //   l1 2 × (128.00 − 115.00) = 26.00 off → 230.00
    //   l2 299.00 × 95 % = 284.05            → 284.05 (14.95 off)
    //   l3 59.90 × 95 % = 56.905 → 56.90; 3 × 3.00 = 9.00 off → 170.70
    // 满600减70 on 684.75 allocated by payable: 23.51 / 29.03 (+1 fen, largest remainder) / 17.45
    //   → 206.49 / 255.01 / 153.25
    // TEA30 coupon on the tea line only: 206.49 − 30.00 = 176.49
    // free shipping over 99.00: 12.00 → 0
    // promoter 5 %, teapot 10 %, rounded down: 8.82 / 25.50 / 7.66
    let lines: Vec<(&str, i64, i64)> = q
        .lines
        .iter()
        .map(|l| (&*l.id, l.discount.0, l.payable.0))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("l1", 7951, 17649),
            ("l2", 4399, 25501),
            ("l3", 2645, 15325)
        ]
    );
    let l1: Vec<(&str, i64)> = q.lines[0]
        .adjustments
        .iter()
        .map(|a| (&*a.step, a.amount.0))
        .collect();
    assert_eq!(
        l1,
        vec![
            ("gold-member-price", 2600),
            ("autumn-manjian", 2351),
            ("tea-coupon", 3000)
        ]
    );
    let l2: Vec<i64> = q.lines[1].adjustments.iter().map(|a| a.amount.0).collect();
    assert_eq!(l2, vec![1495, 2904]);
    let l3: Vec<i64> = q.lines[2].adjustments.iter().map(|a| a.amount.0).collect();
    assert_eq!(l3, vec![900, 1745]);
    assert_eq!((q.shipping.original.0, q.shipping.payable.0), (1200, 0));
    assert_eq!(q.items.payable, Money(58475));
    assert_eq!(q.total.payable, Money(58475));
    assert_eq!(q.total.discount, Money(16195));
    let commission: Vec<i64> = q.commissions.iter().map(|c| c.amount.0).collect();
    assert_eq!(commission, vec![882, 2550, 766]);
    assert_eq!(q.coupons_redeemed, vec!["TEA30".to_string()]);
    assert!(
        q.explanation
            .iter()
            .all(|s| s.outcome == Outcome::Applied && s.fuel > 0)
    );
    assert_reconciles(&q);
}

#[test]
fn the_same_input_gives_byte_identical_output() {
    let plan = demo_prepared();
    let a = serde_json::to_vec(&quote(&plan, &demo_cart()).unwrap()).unwrap();
    let b = serde_json::to_vec(&quote(&plan, &demo_cart()).unwrap()).unwrap();
    assert_eq!(a, b);
}

fn two_line_cart(extra: serde_json::Value) -> executor::Cart {
    let mut base = json!({
        "lines": [
            {"id": "a", "sku": "lipstick", "merchant": "m-1", "categories": ["beauty"], "quantity": 1, "unit_price": 9900},
            {"id": "b", "sku": "brush", "merchant": "m-1", "categories": ["tools"], "quantity": 1, "unit_price": 3000}
        ],
        "buyer": {"id": "b-1", "member_tier": "gold"},
        "channel": "live_room",
        "attribution": {"livestreamer": "ls-1"},
        "coupon_codes": ["C10", "C20"],
        "now_ms": 1_000
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    cart(base)
}

#[test]
fn item_prices_are_best_of_per_line_never_stacked() {
    let plan = prepare(json!({"id": "p", "steps": [
        {"id": "member", "plugin": {"name": "member-price", "version": "1.0.0"},
         "config": {"tiers": {"gold": {"rate": 900000}}}},
        {"id": "live", "plugin": {"name": "livestreamer-price", "version": "1.0.0"},
         "config": {"livestreamer": "ls-1", "prices": {"lipstick": 6900}}}
    ]}));
    let q = quote(&plan, &two_line_cart(json!({}))).unwrap();
    // lipstick: member 89.10 vs live 69.00 → live; brush: member 27.00 only.
    assert_eq!(q.lines[0].payable, Money(6900));
    assert_eq!(q.lines[1].payable, Money(2700));
    assert_eq!(q.lines[0].adjustments.len(), 1);
    assert_eq!(&*q.lines[0].adjustments[0].step, "live");
    assert_reconciles(&q);

    let member_only = prepare(json!({"id": "p", "steps": [
        {"id": "member", "plugin": {"name": "member-price", "version": "1.0.0"},
         "config": {"tiers": {"gold": {"rate": 900000}}}},
        {"id": "live", "plugin": {"name": "livestreamer-price", "version": "1.0.0"},
         "config": {"livestreamer": "ls-1", "prices": {"lipstick": 9500}}}
    ]}));
    let q = quote(&member_only, &two_line_cart(json!({}))).unwrap();
    assert_eq!(
        q.explanation[1].outcome,
        Outcome::NotApplied {
            reason: Reason::Superseded {
                by: "member".into()
            }
        }
    );
}

#[test]
fn an_exclusive_group_keeps_only_its_best_member() {
    let coupon = |id: &str, code: &str, amount: i64| {
        json!({"id": id, "plugin": {"name": "store-coupon", "version": "1.0.0"},
               "config": {"code": code, "value": {"fixed": amount}},
               "exclusive_group": {"name": "one-coupon"}})
    };
    let plan = prepare(
        json!({"id": "p", "steps": [coupon("c10", "C10", 1000), coupon("c20", "C20", 2000)]}),
    );
    let q = quote(&plan, &two_line_cart(json!({}))).unwrap();
    assert_eq!(q.items.discount, Money(2000));
    assert_eq!(
        q.explanation[0].outcome,
        Outcome::NotApplied {
            reason: Reason::ExcludedByGroup {
                group: "one-coupon".into(),
                kept: "c20".into()
            }
        }
    );
    assert_eq!(q.explanation[1].outcome, Outcome::Applied);
    assert_reconciles(&q);
}

#[test]
fn an_exclusive_step_sees_only_undiscounted_lines() {
    let plan = prepare(json!({"id": "p", "steps": [
        {"id": "live", "plugin": {"name": "livestreamer-price", "version": "1.0.0"},
         "config": {"livestreamer": "ls-1", "prices": {"lipstick": 6900}}},
        {"id": "no-stack", "plugin": {"name": "percent-off", "version": "1.0.0"},
         "config": {"mode": "spend", "threshold": 0, "off": 100000}, "stacking": "exclusive"}
    ]}));
    let q = quote(&plan, &two_line_cart(json!({}))).unwrap();
    // 10 % off only the brush, which the livestreamer price did not touch.
    assert_eq!(q.lines[0].payable, Money(6900));
    assert_eq!(q.lines[1].payable, Money(2700));
}

#[test]
fn scope_channel_audience_and_window_are_explained() {
    let step = |id: &str, extra: serde_json::Value| {
        let mut s = json!({"id": id, "plugin": {"name": "percent-off", "version": "1.0.0"},
                            "config": {"mode": "spend", "threshold": 0, "off": 100000}});
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    let plan = prepare(json!({"id": "p", "steps": [
        step("later", json!({"window": {"from_ms": 5_000}})),
        step("search-only", json!({"scope": {"channels": ["search"]}})),
        step("silver-only", json!({"scope": {"member_tiers": ["silver"]}})),
        step("tools-only", json!({"scope": {"categories": ["tools"]}})),
        step("nothing", json!({"scope": {"skus": ["not-in-cart"]}}))
    ]}));
    let q = quote(&plan, &two_line_cart(json!({}))).unwrap();
    let reasons: Vec<&Outcome> = q.explanation.iter().map(|s| &s.outcome).collect();
    assert_eq!(
        reasons,
        vec![
            &Outcome::NotApplied {
                reason: Reason::OutsideWindow
            },
            &Outcome::NotApplied {
                reason: Reason::ChannelNotInScope
            },
            &Outcome::NotApplied {
                reason: Reason::AudienceNotInScope
            },
            &Outcome::Applied,
            &Outcome::NotApplied {
                reason: Reason::NoLinesInScope
            },
        ]
    );
    // Only the brush (tools) got 10 % off.
    assert_eq!((q.lines[0].payable.0, q.lines[1].payable.0), (9900, 2700));
}

#[test]
fn thresholds_can_be_judged_on_the_original_amount() {
    let steps = |base: &str| {
        json!({"id": "p", "steps": [
            {"id": "member", "plugin": {"name": "member-price", "version": "1.0.0"},
             "config": {"tiers": {"gold": {"rate": 500000}}}},
            {"id": "mj", "plugin": {"name": "threshold-discount", "version": "1.0.0"},
             "config": {"mode": "tiers", "tiers": [{"threshold": 10000, "discount": 1000}]}, "threshold_base": base}
        ]})
    };
    // Original 129.00, after half price 64.50: the threshold of 100.00 is met only on original.
    let on_current = quote(&prepare(steps("current")), &two_line_cart(json!({}))).unwrap();
    assert_eq!(on_current.items.payable, Money(6450));
    let on_original = quote(&prepare(steps("original")), &two_line_cart(json!({}))).unwrap();
    assert_eq!(on_original.items.payable, Money(5450));
}

#[test]
fn a_bad_cart_is_refused_with_the_offending_field() {
    let plan = prepare(json!({"id": "p", "steps": [
        {"id": "s", "plugin": {"name": "free-shipping", "version": "1.0.0"}, "config": {"threshold": 0}}]}));
    let mut c = two_line_cart(json!({}));
    c.lines[1].quantity = 0;
    let err = quote(&plan, &c).unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).unwrap()["field"],
        "lines[1].quantity"
    );
    c.lines.clear();
    assert!(matches!(
        quote(&plan, &c),
        Err(executor::QuoteError::Cart(executor::CartError::Empty))
    ));
    let unknown = serde_json::from_value::<executor::Cart>(
        json!({"lines": [], "buyer": {"id": "b"}, "now_ms": 0, "coupon": "X"}),
    );
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}
