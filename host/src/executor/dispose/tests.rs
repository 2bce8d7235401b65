//! The invariants, judged directly: no sandbox, just proposals and the state they meet.

use super::*;
use plaza_plugin_sdk::{Commission, Gift, LineAdjustment, OrderAdjustment, ShippingAdjustment};

struct Fixture {
    payable: Vec<Money>,
    shipping: Money,
    line_ids: Vec<String>,
    presented: Vec<String>,
    visible: Vec<usize>,
    waterfall: Waterfall,
}

fn fixture(payable: &[i64]) -> Fixture {
    Fixture {
        payable: payable.iter().copied().map(Money).collect(),
        shipping: Money(1_000),
        line_ids: (0..payable.len()).map(|i| format!("l{i}")).collect(),
        presented: vec!["MINE".into()],
        visible: (0..payable.len()).collect(),
        waterfall: Waterfall::default(),
    }
}

impl Fixture {
    fn judge(&self, stage: Stage, effects: Vec<Effect>) -> Result<Delta, StepError> {
        let line_ids: Vec<&str> = self.line_ids.iter().map(String::as_str).collect();
        let cx = Context {
            step: "s",
            stage,
            visible: &self.visible,
            payable: &self.payable,
            shipping: self.shipping,
            line_ids: &line_ids,
            waterfall: &self.waterfall,
            presented: &self.presented,
            buyer: "buyer-1",
            payers: None,
            points: None,
            points_spent: Default::default(),
        };
        dispose(&cx, effects)
    }
}

fn line(line: u32, discount: i64, coupon: Option<&str>) -> Effect {
    Effect::LineAdjustment(LineAdjustment {
        line,
        discount,
        label: "x".into(),
        coupon: coupon.map(str::to_owned),
    })
}

fn order(discount: i64, lines: Vec<u32>) -> Effect {
    Effect::OrderAdjustment(OrderAdjustment {
        discount,
        label: "x".into(),
        coupon: None,
        lines,
    })
}

fn commission(line: u32, payer: Party, payee: Party, share: Share) -> Effect {
    Effect::Commission(Commission {
        line,
        payer,
        payee,
        beneficiary: "p-1".into(),
        share,
        label: "c".into(),
    })
}

fn violations(result: Result<Delta, StepError>) -> Vec<String> {
    match result {
        Err(StepError::InvariantBroken { violations }) => violations,
        other => panic!("expected broken invariants, got {other:?}"),
    }
}

#[test]
fn a_discount_larger_than_what_is_payable_is_clipped_and_the_clip_explained() {
    let f = fixture(&[500, 800]);
    let delta = f
        .judge(Stage::StorePromotion, vec![line(0, 900, None)])
        .unwrap();
    assert_eq!(delta.line_discounts[0].1.amount, Money(500));
    assert_eq!(delta.clipped.len(), 1);
    assert!(
        delta.clipped[0].contains("clipped to ¥5.00"),
        "{:?}",
        delta.clipped
    );
    let shipping = f
        .judge(
            Stage::Shipping,
            vec![Effect::ShippingAdjustment(ShippingAdjustment {
                discount: 5_000,
                label: "free".into(),
            })],
        )
        .unwrap();
    assert_eq!(shipping.discount(), Money(1_000));
}

#[test]
fn a_negative_discount_fails_the_whole_step() {
    let f = fixture(&[500]);
    let v = violations(f.judge(
        Stage::StorePromotion,
        vec![line(0, 100, None), line(0, -1, None)],
    ));
    assert!(v[0].contains("surcharge"), "{v:?}");
}

#[test]
fn an_order_discount_is_allocated_to_the_fen_and_never_past_a_line() {
    let f = fixture(&[3_333, 3_333, 3_334]);
    let delta = f.judge(Stage::Coupon, vec![order(1_000, vec![])]).unwrap();
    let parts: Vec<i64> = delta
        .line_discounts
        .iter()
        .map(|(_, a)| a.amount.0)
        .collect();
    assert_eq!(parts, [333, 333, 334]);
    let f = fixture(&[100, 7]);
    let delta = f
        .judge(Stage::Coupon, vec![order(1_000, vec![0, 1, 1])])
        .unwrap();
    assert_eq!(
        delta.discount(),
        Money(107),
        "clipped to what the named lines still owe"
    );
    assert_eq!(
        delta.line_discounts.len(),
        2,
        "a line named twice counts once"
    );
}

#[test]
fn a_step_may_redeem_only_a_code_the_buyer_presented() {
    let f = fixture(&[500]);
    assert!(
        f.judge(Stage::Coupon, vec![line(0, 100, Some("MINE"))])
            .is_ok()
    );
    let v = violations(f.judge(Stage::Coupon, vec![line(0, 100, Some("THEIRS"))]));
    assert!(v[0].contains("not presented"), "{v:?}");
    let mut foreign = order(100, vec![]);
    if let Effect::OrderAdjustment(a) = &mut foreign {
        a.coupon = Some("THEIRS".into());
    }
    assert_eq!(violations(f.judge(Stage::Coupon, vec![foreign])).len(), 1);
}

#[test]
fn a_line_out_of_scope_is_refused() {
    let mut f = fixture(&[500, 500]);
    f.visible = vec![1];
    let v = violations(f.judge(Stage::StorePromotion, vec![line(1, 10, None)]));
    assert!(v[0].contains("not in the step's scope"), "{v:?}");
    let delta = f
        .judge(Stage::StorePromotion, vec![line(0, 10, None)])
        .unwrap();
    assert_eq!(
        delta.line_discounts[0].0, 1,
        "the plugin's line 0 is cart line 1"
    );
}

#[test]
fn commission_and_discounts_stay_in_their_own_stages() {
    let f = fixture(&[1_000]);
    let c = commission(0, Party::Merchant, Party::Promoter, Share::Rate(100_000));
    assert_eq!(violations(f.judge(Stage::Coupon, vec![c])).len(), 1);
    assert_eq!(
        violations(f.judge(Stage::Commission, vec![line(0, 1, None)])).len(),
        1
    );
}

#[test]
fn commission_is_bounded_by_the_rate_cap_the_waterfall_and_two_upline_levels() {
    let f = fixture(&[10_000]);
    let accepted = f
        .judge(
            Stage::Commission,
            vec![
                commission(
                    0,
                    Party::Merchant,
                    Party::CarryingAgency,
                    Share::Rate(500_000),
                ),
                commission(
                    0,
                    Party::CarryingAgency,
                    Party::Promoter,
                    Share::Amount(4_500),
                ),
                commission(0, Party::Merchant, Party::Upline(2), Share::Amount(100)),
            ],
        )
        .unwrap();
    assert_eq!(accepted.commission(), Money(5_000 + 4_500 + 100));
    for (effect, why) in [
        (
            commission(0, Party::Merchant, Party::Promoter, Share::Rate(900_001)),
            "90 %",
        ),
        (
            commission(0, Party::Merchant, Party::Promoter, Share::Amount(9_001)),
            "exceeds 90 %",
        ),
        (
            commission(0, Party::Merchant, Party::Upline(3), Share::Amount(1)),
            "anti-pyramid",
        ),
        (
            commission(0, Party::Promoter, Party::Merchant, Share::Amount(1)),
            "cannot pay",
        ),
        (
            commission(5, Party::Merchant, Party::Promoter, Share::Amount(1)),
            "nothing is paid for recruiting",
        ),
        (
            commission(0, Party::Merchant, Party::Promoter, Share::Amount(-1)),
            "negative commission",
        ),
        (
            Effect::Commission(Commission {
                beneficiary: "buyer-1".into(),
                ..match commission(0, Party::Merchant, Party::Promoter, Share::Amount(1)) {
                    Effect::Commission(c) => c,
                    _ => unreachable!(),
                }
            }),
            "own purchase",
        ),
    ] {
        let v = violations(f.judge(Stage::Commission, vec![effect]));
        assert!(v[0].contains(why), "{why}: {v:?}");
    }
    // A level that passes on more than 90 % of what it received breaks the waterfall.
    let v = violations(f.judge(
        Stage::Commission,
        vec![
            commission(
                0,
                Party::Merchant,
                Party::CarryingAgency,
                Share::Amount(1_000),
            ),
            commission(
                0,
                Party::CarryingAgency,
                Party::HelperAgency,
                Share::Amount(600),
            ),
            commission(
                0,
                Party::CarryingAgency,
                Party::Promoter,
                Share::Amount(600),
            ),
        ],
    ));
    assert!(v[0].contains("waterfall broken"), "{v:?}");
}

#[test]
fn gifts_are_bounded_and_notes_cut_at_a_char_boundary() {
    let f = fixture(&[1_000]);
    let gift = |quantity, value| {
        Effect::Gift(Gift {
            sku: "tea-sample".into(),
            quantity,
            value,
            label: "gift".into(),
        })
    };
    let delta = f.judge(Stage::StorePromotion, vec![gift(2, 500)]).unwrap();
    assert!(delta.applies());
    assert_eq!(
        delta.discount(),
        Money::ZERO,
        "a gift costs the buyer nothing"
    );
    for bad in [gift(0, 1), gift(MAX_GIFT_QUANTITY + 1, 1), gift(1, -1)] {
        assert_eq!(
            violations(f.judge(Stage::StorePromotion, vec![bad])).len(),
            1
        );
    }
    let note = f
        .judge(Stage::StorePromotion, vec![Effect::Note("满".repeat(200))])
        .unwrap();
    assert!(note.notes[0].len() <= MAX_NOTE_BYTES);
    assert!(note.notes[0].chars().all(|c| c == '满'));
}
