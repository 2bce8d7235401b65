//! Property tests over random carts and discounts, through real plugins.

use plaza_tests::{assert_reconciles, cart, one_step, quote};
use proptest::prelude::*;
use serde_json::json;

fn arb_cart() -> impl Strategy<Value = plaza::executor::Cart> {
    let line = (1u32..20, 0i64..500_000, 0usize..3);
    (prop::collection::vec(line, 1..25), 0i64..3_000).prop_map(|(lines, shipping)| {
        let lines: Vec<_> = lines
            .into_iter()
            .enumerate()
            .map(|(i, (q, price, cat))| {
                let category = ["a", "b", "c"][cat];
                json!({"id": format!("l{i}"), "sku": format!("s{i}"), "merchant": "m",
                       "categories": [category], "quantity": q, "unit_price": price})
            })
            .collect();
        cart(json!({"lines": lines, "buyer": {"id": "b"}, "coupon_codes": ["X"], "shipping_fee": shipping,
                    "attribution": {"promoter": "p", "carrying_agency": "ag", "creator": "cr"}, "now_ms": 0}))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn order_discounts_allocate_exactly_and_never_make_a_line_negative(
        c in arb_cart(),
        amount in 1i64..10_000_000,
        scoped in any::<bool>(),
    ) {
        let categories = if scoped { json!(["a", "c"]) } else { json!([]) };
        let plan = one_step("store-coupon", json!({"code": "X", "value": {"fixed": amount}, "categories": categories}));
        let q = quote(&plan, &c).unwrap();
        assert_reconciles(&q);
        let eligible: i64 = c.lines.iter()
            .filter(|l| !scoped || l.categories.iter().any(|x| x == "a" || x == "c"))
            .map(|l| l.original().0).sum();
        // The whole coupon, or everything that was payable when it is worth more.
        prop_assert_eq!(q.items.discount.0, amount.min(eligible));
    }

    #[test]
    fn a_waterfall_never_pays_more_than_each_level_received(c in arb_cart(), r1 in 0u32..=900_000, r2 in 0u32..=900_000, r3 in 0u32..=900_000) {
        let plan = one_step("agency-waterfall", json!({"carrying_agency": r1, "creator": r2, "promoter": r3}));
        let q = quote(&plan, &c).unwrap();
        assert_reconciles(&q);
        for line in &q.lines {
            let got = |role: &str| q.commissions.iter().filter(|x| x.line == line.id && x.payee == role).map(|x| x.amount.0).sum::<i64>();
            let paid = |role: &str| q.commissions.iter().filter(|x| x.line == line.id && x.payer == role).map(|x| x.amount.0).sum::<i64>();
            prop_assert!(paid("merchant") <= line.payable.0);
            for role in ["carrying_agency", "creator"] {
                prop_assert!(paid(role) <= got(role));
            }
        }
    }

    #[test]
    fn quotes_are_byte_identical_for_the_same_input(c in arb_cart()) {
        let plan = plaza_tests::five_step_plan();
        let a = serde_json::to_vec(&quote(&plan, &c).unwrap()).unwrap();
        let b = serde_json::to_vec(&quote(&plan, &c).unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }
}
