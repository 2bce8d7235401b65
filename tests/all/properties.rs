//! Property tests over random carts and discounts, through real plugins.

use plaza::executor::cart::{MAX_CART_TOTAL, MAX_LINES, MAX_QUANTITY};
use plaza::{MAX_UNIT_PRICE, Money, allocate};
use plaza_tests::{assert_reconciles, cart, one_step, quote};
use proptest::prelude::*;
use serde_json::json;

/// Carts at the edge of what the host accepts: prices and quantities near their maxima,
/// up to the most lines a cart may have.
fn arb_extreme_cart() -> impl Strategy<Value = plaza::executor::Cart> {
    let line = (
        (MAX_QUANTITY - 10)..=MAX_QUANTITY,
        (MAX_UNIT_PRICE.0 - 1_000)..=MAX_UNIT_PRICE.0,
    );
    (
        prop::collection::vec(line, 1..=MAX_LINES),
        0..=MAX_UNIT_PRICE.0,
    )
        .prop_map(|(lines, shipping)| {
            let lines: Vec<_> = lines
                .into_iter()
                .enumerate()
                .map(|(i, (q, price))| {
                    json!({"id": format!("l{i}"), "sku": format!("sku-{}", i % 7), "merchant": "m",
                       "categories": ["tea"], "quantity": q, "unit_price": price})
                })
                .collect();
            cart(
                json!({"lines": lines, "buyer": {"id": "b", "member_tier": "gold"},
                    "coupon_codes": ["SAVE20"], "shipping_fee": shipping,
                    "attribution": {"promoter": "p", "carrying_agency": "ag", "creator": "cr"},
                    "now_ms": 1_795_000_000_000i64}),
            )
        })
}

/// Up to 1,000 weights whose sum stays within the largest cart total, and a total from 0
/// to that sum (as parts per million of it).
fn arb_allocation() -> impl Strategy<Value = (Vec<Money>, Money)> {
    (1usize..=1_000)
        .prop_flat_map(|n| {
            let max = i64::try_from(MAX_CART_TOTAL / i128::try_from(n).unwrap()).unwrap();
            (prop::collection::vec(0..=max, n), 0u32..=1_000_000)
        })
        .prop_map(|(weights, ppm)| {
            let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            let total = i64::try_from(sum * i128::from(ppm) / 1_000_000).unwrap();
            (weights.into_iter().map(Money).collect(), Money(total))
        })
}

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
            let got = |role: &str| q.commissions.iter().filter(|x| *x.line == *line.id && x.payee == role).map(|x| x.amount.0).sum::<i64>();
            let paid = |role: &str| q.commissions.iter().filter(|x| *x.line == *line.id && x.payer == role).map(|x| x.amount.0).sum::<i64>();
            prop_assert!(paid("merchant") <= line.payable.0);
            for role in ["carrying_agency", "creator"] {
                prop_assert!(paid(role) <= got(role));
            }
        }
    }

    #[test]
    fn allocation_at_the_largest_amounts_is_exact_bounded_and_proportional((weights, total) in arb_allocation()) {
        let parts = allocate(total, &weights);
        let sum_w: i128 = weights.iter().map(|w| i128::from(w.0)).sum();
        prop_assert_eq!(parts.iter().map(|p| i128::from(p.0)).sum::<i128>(), i128::from(total.0));
        for (part, weight) in parts.iter().zip(&weights) {
            prop_assert!(part.0 >= 0 && part <= weight, "{part:?} of {weight:?}");
            if sum_w > 0 {
                // Within one fen of the exact proportional share.
                let exact_num = i128::from(total.0) * i128::from(weight.0);
                let diff = (i128::from(part.0) * sum_w - exact_num).abs();
                prop_assert!(diff < sum_w, "{part:?} is more than a fen from its share");
            }
        }
    }

    #[test]
    fn the_largest_carts_quote_without_overflow_and_reconcile(c in arb_extreme_cart()) {
        let q = quote(&plaza_tests::five_step_plan(), &c).unwrap();
        assert_reconciles(&q);
        let original: i128 = c.lines.iter().map(|l| i128::from(l.unit_price.0) * i128::from(l.quantity)).sum::<i128>()
            + i128::from(c.shipping_fee.0);
        prop_assert_eq!(i128::from(q.total.original.0), original);
        let waterfall = one_step("agency-waterfall", json!({"carrying_agency": 900_000, "creator": 900_000, "promoter": 900_000}));
        assert_reconciles(&quote(&waterfall, &c).unwrap());
    }

    #[test]
    fn quotes_are_byte_identical_for_the_same_input(c in arb_cart()) {
        let plan = plaza_tests::five_step_plan();
        let a = serde_json::to_vec(&quote(&plan, &c).unwrap()).unwrap();
        let b = serde_json::to_vec(&quote(&plan, &c).unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }
}
