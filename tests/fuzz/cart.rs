//! Cart JSON → validation → the contract's wire encoding: never a panic; every accepted
//! cart totals inside the documented bound, encodes, and reads back through the SDK's
//! reader exactly as it was sent.

use plaza::executor::Cart;
use plaza::executor::cart::MAX_CART_TOTAL;
use plaza_plugin_sdk::ThresholdBase;
use plaza_plugin_sdk::wire::read;

pub fn check(data: &[u8]) {
    let Ok(cart) = serde_json::from_slice::<Cart>(data) else {
        return;
    };
    if cart.validate().is_err() {
        return;
    }
    let mut total = i128::from(cart.shipping_fee.0);
    for line in &cart.lines {
        let original = i128::from(line.unit_price.0) * i128::from(line.quantity);
        assert_eq!(i128::from(line.original().0), original, "line {}", line.id);
        total += original;
    }
    assert!(
        (0..=MAX_CART_TOTAL).contains(&total),
        "an accepted cart totals {total}, past the documented bound"
    );

    let bytes = cart.encode();
    let payable: Vec<i64> = cart.lines.iter().map(|l| l.original().0).collect();
    let order_total = payable.iter().sum::<i64>() + cart.shipping_fee.0;
    let step = super::whole_cart_step(&cart, ThresholdBase::Current, "{}");
    let input = read(&bytes, &step).expect("an accepted cart reads back through the SDK");
    let seen = &input.cart;
    assert_eq!(seen.lines.len(), cart.lines.len());
    for (sent, got) in cart.lines.iter().zip(&seen.lines) {
        assert_eq!(got.id, &*sent.id);
        assert_eq!(got.sku, &*sent.sku);
        assert_eq!(got.spu, sent.spu.as_deref().unwrap_or(&sent.sku));
        assert_eq!(got.merchant, sent.merchant);
        assert_eq!(got.categories.to_vec(), sent.categories);
        assert_eq!(got.tags.to_vec(), sent.tags);
        assert_eq!(
            (got.quantity, got.unit_price),
            (sent.quantity, sent.unit_price.0)
        );
    }
    assert_eq!(seen.buyer.id, cart.buyer.id);
    assert_eq!(seen.buyer.member_tier, cart.buyer.member_tier.as_deref());
    assert_eq!(seen.buyer.tags.to_vec(), cart.buyer.tags);
    assert_eq!(seen.coupon_codes.to_vec(), cart.coupon_codes);
    assert_eq!(
        seen.attribution.promoter,
        cart.attribution.promoter.as_deref()
    );
    assert_eq!(
        seen.attribution.share_link,
        cart.attribution.share_link.as_deref()
    );
    assert_eq!((seen.gift, seen.now_ms), (cart.gift, cart.now_ms));
    assert_eq!(input.state.payable, payable);
    assert_eq!(input.state.order_total, order_total);
}
