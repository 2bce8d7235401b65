use super::*;
use crate::{Money, Ppm};
use proptest::prelude::*;

fn every_kind() -> Vec<Effect> {
    vec![
        Effect::line_discount(3, Money(150), "会员价"),
        Effect::LineAdjustment(LineAdjustment {
            line: 0,
            discount: 1,
            label: String::new(),
            coupon: Some("SAVE5".into()),
        }),
        Effect::OrderAdjustment(OrderAdjustment {
            discount: 3000,
            label: "满300减30".into(),
            coupon: None,
            lines: vec![0, 2, 7],
        }),
        Effect::ShippingAdjustment(ShippingAdjustment {
            discount: 800,
            label: "包邮".into(),
        }),
        Effect::commission_rate(
            1,
            Party::Merchant,
            Party::Promoter,
            "p-7",
            Ppm(50_000),
            "推客佣金",
        ),
        Effect::Commission(Commission {
            line: 2,
            payer: Party::Upline(1),
            payee: Party::Upline(2),
            beneficiary: "u-2".into(),
            share: Share::Amount(i64::MIN),
            label: "上级".into(),
        }),
        Effect::Gift(Gift {
            sku: "tea-sample".into(),
            quantity: u32::MAX,
            value: 1200,
            label: "赠品".into(),
        }),
        Effect::points(i64::MAX, "积分抵扣"),
        Effect::Note("no coupon matched ✓".into()),
    ]
}

#[test]
fn every_kind_of_effect_travels_intact() {
    let answer = Ok(every_kind());
    assert_eq!(decode_answer(&encode_answer(&answer)), Ok(answer));
    let empty = Ok(vec![]);
    assert_eq!(encode_answer(&empty).len(), ANSWER_HEADER);
    assert_eq!(decode_answer(&encode_answer(&empty)), Ok(empty));
}

#[test]
fn a_rules_error_travels_as_its_message() {
    let answer = Err("invalid configuration: missing field `rate`".to_owned());
    assert_eq!(decode_answer(&encode_answer(&answer)), Ok(answer));
}

#[test]
fn hostile_answers_are_refused() {
    let good = encode_answer(&Ok(every_kind()));
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        decode_answer(&b)
    };
    let record = |i: usize| ANSWER_HEADER + EFFECT_RECORD * i;
    for (at, bytes, why) in [
        (0, &b"PZA1"[..], "magic"),
        (4, &[2][..], "status"),
        (4, &[1][..], "an error with effects"),
        (8, &u32::MAX.to_le_bytes()[..], "effect count"),
        (12, &(u32::MAX / 4).to_le_bytes()[..], "list entries"),
        (16, &u32::MAX.to_le_bytes()[..], "text bytes"),
        (record(0), &[9][..], "effect kind"),
        (record(4) + 1, &[8][..], "payer"),
        (record(4) + 5, &[2][..], "share kind"),
        (record(0) + 24, &u32::MAX.to_le_bytes()[..], "label start"),
        (
            record(0) + 28,
            &(1u32 << 31).to_le_bytes()[..],
            "label length",
        ),
        // The label 会员价 is 9 bytes: one byte in is the middle of 会.
        (record(0) + 24, &1u32.to_le_bytes()[..], "a split character"),
        (record(2) + 40, &u32::MAX.to_le_bytes()[..], "list start"),
        (record(2) + 44, &4u32.to_le_bytes()[..], "list length"),
    ] {
        assert!(patched(at, bytes).is_err(), "{why} was read");
    }
    // A rate that does not fit u32.
    assert!(patched(record(4) + 16, &(1i64 << 40).to_le_bytes()).is_err());
    assert!(decode_answer(&good[..good.len() - 1]).is_err());
    assert!(decode_answer(&[good.clone(), vec![0]].concat()).is_err());
    assert!(decode_answer(&[]).is_err());
    assert!(decode_answer(br#"{"Ok":[]}"#).is_err());
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9满减佣金 -]{0,12}"
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![
        Just(Party::Merchant),
        Just(Party::CarryingAgency),
        Just(Party::HelperAgency),
        Just(Party::Creator),
        Just(Party::PromoterAgency),
        Just(Party::Promoter),
        Just(Party::Livestreamer),
        any::<u8>().prop_map(Party::Upline),
    ]
}

fn effect() -> impl Strategy<Value = Effect> {
    prop_oneof![
        (
            any::<u32>(),
            any::<i64>(),
            text(),
            proptest::option::of(text())
        )
            .prop_map(|(line, discount, label, coupon)| Effect::LineAdjustment(
                LineAdjustment {
                    line,
                    discount,
                    label,
                    coupon
                }
            )),
        (
            any::<i64>(),
            text(),
            proptest::option::of(text()),
            proptest::collection::vec(any::<u32>(), 0..5)
        )
            .prop_map(|(discount, label, coupon, lines)| Effect::OrderAdjustment(
                OrderAdjustment {
                    discount,
                    label,
                    coupon,
                    lines
                }
            )),
        (any::<i64>(), text()).prop_map(|(discount, label)| Effect::ShippingAdjustment(
            ShippingAdjustment { discount, label }
        )),
        (
            any::<u32>(),
            party(),
            party(),
            text(),
            prop_oneof![
                any::<i64>().prop_map(Share::Amount),
                any::<u32>().prop_map(Share::Rate)
            ],
            text()
        )
            .prop_map(|(line, payer, payee, beneficiary, share, label)| {
                Effect::Commission(Commission {
                    line,
                    payer,
                    payee,
                    beneficiary,
                    share,
                    label,
                })
            }),
        (text(), any::<u32>(), any::<i64>(), text()).prop_map(|(sku, quantity, value, label)| {
            Effect::Gift(Gift {
                sku,
                quantity,
                value,
                label,
            })
        }),
        (any::<i64>(), text()).prop_map(|(points, label)| Effect::points(points, label)),
        text().prop_map(Effect::Note),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Whatever a rule answers, the host reads exactly that.
    #[test]
    fn any_answer_round_trips(effects in proptest::collection::vec(effect(), 0..20)) {
        let answer = Ok(effects);
        prop_assert_eq!(decode_answer(&encode_answer(&answer)), Ok(answer));
    }

    /// Any bytes at all: a typed refusal or effects, never a panic.
    #[test]
    fn hostile_answer_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_answer(&bytes);
    }

    /// A valid answer with one word overwritten anywhere: never a panic.
    #[test]
    fn one_corrupt_word_in_an_answer_never_panics(at in 0usize..600, value in any::<u32>()) {
        let mut bytes = encode_answer(&Ok(every_kind()));
        let at = at % (bytes.len() - 3);
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let _ = decode_answer(&bytes);
    }
}
