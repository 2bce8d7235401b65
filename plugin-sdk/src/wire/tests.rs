use super::*;
use crate::testing::{cart, line};
use crate::{Channel, Money, ThresholdBase};
use proptest::prelude::*;

fn sample() -> crate::testing::TestInput {
    cart()
        .line(
            line("tea", Money::yuan(12), 2)
                .category("drinks")
                .category("hot"),
        )
        .line(line("cup", Money(990), 1).merchant("m-2"))
        .member("gold")
        .coupon("SAVE5")
        .promoter("p-1")
        .channel(Channel::LiveRoom)
        .shipping(Money(800))
        .points(1_234)
        .gift_to(300)
        .threshold_on_original()
        .input()
        .with_config(r#"{"a":1}"#)
}

#[test]
fn what_is_encoded_reads_back() {
    let wire = sample();
    let input = wire.view();
    let c = &input.cart;
    assert_eq!(c.lines.len(), 2);
    assert_eq!(
        (c.lines[0].id, c.lines[0].sku, c.lines[0].merchant),
        ("l1", "tea", "m-1")
    );
    assert_eq!(c.lines[0].categories, vec!["drinks", "hot"]);
    assert_eq!((c.lines[1].quantity, c.lines[1].unit_price), (1, 990));
    assert_eq!((c.buyer.member_tier, c.buyer.points), (Some("gold"), 1_234));
    assert_eq!(c.coupon_codes, vec!["SAVE5"]);
    assert_eq!(c.attribution.promoter, Some("p-1"));
    assert_eq!(c.attribution.creator, None);
    assert_eq!(c.channel, Channel::LiveRoom);
    assert_eq!((c.gift, c.gift_recipients), (true, 300));
    assert_eq!(input.state.payable, vec![2400, 990]);
    assert_eq!((input.state.shipping, input.state.order_total), (800, 4190));
    assert_eq!(input.step.threshold_base, ThresholdBase::Original);
    assert_eq!(input.config, r#"{"a":1}"#);
}

#[test]
fn a_step_sees_only_its_lines_in_its_order() {
    let wire = sample();
    let mut step = Vec::new();
    encode_step(
        &StepFields {
            visible: &[1],
            payable: &[500],
            shipping: 0,
            order_total: 500,
            threshold_base: ThresholdBase::Current,
            config: "{}",
        },
        &mut step,
    );
    let input = read(&wire.cart, &step).unwrap();
    assert_eq!(input.cart.lines.len(), 1);
    assert_eq!(input.cart.lines[0].sku, "cup");
    assert_eq!(input.state.payable, vec![500]);
}

#[test]
fn a_step_naming_a_line_the_cart_lacks_is_refused() {
    let wire = sample();
    let mut step = Vec::new();
    let fields = StepFields {
        visible: &[2],
        payable: &[1],
        shipping: 0,
        order_total: 1,
        threshold_base: ThresholdBase::Current,
        config: "",
    };
    encode_step(&fields, &mut step);
    assert!(read(&wire.cart, &step).is_err());
}

#[test]
fn hostile_counts_and_spans_are_refused() {
    let wire = sample();
    let patch = |at: usize, value: u32| {
        let mut c = wire.cart.clone();
        c[at..at + 4].copy_from_slice(&value.to_le_bytes());
        read(&c, &wire.step).map(|_| ())
    };
    for (at, value) in [
        (4, u32::MAX),               // line count
        (8, u32::MAX / 8),           // span table entries
        (12, u32::MAX),              // text bytes
        (32, u32::MAX - 1),          // buyer id start
        (36, u32::MAX),              // buyer id length
        (52, u32::MAX),              // buyer tags length
        (56, u32::MAX),              // coupon list start
        (CART_HEADER + 4, 1 << 30),  // a line's id length
        (CART_HEADER + 36, 1 << 29), // a line's categories length
    ] {
        assert!(patch(at, value).is_err(), "offset {at} = {value} was read");
    }
    let mut step = wire.step.clone();
    step[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(read(&wire.cart, &step).is_err());
    assert!(read(&wire.cart[..wire.cart.len() - 1], &wire.step).is_err());
    assert!(read(&wire.cart, &wire.step[..3]).is_err());
    assert!(read(&[], &[]).is_err());
}

#[test]
fn an_answer_packs_address_and_length() {
    assert_eq!(
        unpack(pack(0x1234_5678, 0xFFFF_FFFF)),
        (0x1234_5678, 0xFFFF_FFFF)
    );
    assert_eq!(unpack(pack(8, 0)), (8, 0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any bytes at all: the reader answers (an error or a view) without panicking, and
    /// anything it returns lies inside the buffers.
    #[test]
    fn hostile_bytes_never_panic(cart in proptest::collection::vec(any::<u8>(), 0..600),
                                 step in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = read(&cart, &step);
    }

    /// Valid bytes with one word overwritten anywhere: never a panic.
    #[test]
    fn one_corrupt_word_never_panics(at in 0usize..400, value in any::<u32>(), in_step in any::<bool>()) {
        let wire = sample();
        let (mut cart, mut step) = (wire.cart.clone(), wire.step.clone());
        let target = if in_step { &mut step } else { &mut cart };
        let at = at % target.len().saturating_sub(3).max(1);
        if at + 4 <= target.len() {
            target[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        let _ = read(&cart, &step);
    }
}
