//! The contract's binary shapes (0.2) on arbitrary bytes: the SDK's reader of a cart and
//! step (what a rule runs on) and the host's decoder of a rule's answer (what a rule
//! hands back). Never out of bounds, never a loop past what the bytes vouch for; a
//! decoded answer encodes back to an answer that decodes the same.

use plaza_plugin_sdk::wire::{decode_answer, encode_answer, read};
use plaza_plugin_sdk::{Effect, ThresholdBase};

pub fn check(data: &[u8]) {
    if let Ok(answer) = decode_answer(data) {
        let again = decode_answer(&encode_answer(&answer)).expect("an encoded answer decodes");
        assert_eq!(again, answer);
    }
    // The first two bytes say where the cart ends and the step begins.
    let Some((split, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let at = usize::from(u16::from_le_bytes(*split)).min(rest.len());
    let (cart, step) = rest.split_at(at);
    if let Ok(input) = read(cart, step) {
        // Every field, every list item: the reader hands out lists unread.
        let seen = format!("{input:?}");
        assert!(!seen.is_empty());
        for line in &input.cart.lines {
            for text in line.categories.iter().chain(line.tags.iter()) {
                assert!(text.len() <= cart.len());
            }
        }
        assert_eq!(input.state.payable.len(), input.cart.lines.len());
    }
}

/// Inputs that reach deep on the first run: the demo cart and a step on it in the
/// target's split shape, and an answer with one effect of every kind (`fuzz_corpus`
/// replays them with the committed corpus, and they are its `seed-*` files).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let cart = plaza::examples::demo_cart();
    let bytes = cart.encode();
    let step = super::whole_cart_step(
        &cart,
        ThresholdBase::Original,
        r#"{"threshold":10000,"discount":1500}"#,
    );
    let split = u16::try_from(bytes.len()).expect("the demo cart is small");
    let mut cart_and_step = split.to_le_bytes().to_vec();
    cart_and_step.extend_from_slice(&bytes);
    cart_and_step.extend_from_slice(&step);

    let effects: Vec<Effect> = serde_json::from_value(serde_json::json!([
        {"line_adjustment": {"line": 0, "discount": 300, "label": "member", "coupon": "VIP"}},
        {"order_adjustment": {"discount": 1500, "label": "满减", "lines": [0, 1]}},
        {"shipping_adjustment": {"discount": 800, "label": "free shipping"}},
        {"commission": {"line": 1, "payer": "merchant", "payee": {"upline": 1},
            "beneficiary": "p-1", "share": {"rate": 50000}, "label": "推客"}},
        {"commission": {"line": 0, "payer": "promoter", "payee": "promoter_agency",
            "beneficiary": "a-1", "share": {"amount": 120}, "label": "agency"}},
        {"gift": {"sku": "gift-1", "quantity": 2, "value": 990, "label": "送礼"}},
        {"note": "why"}
    ]))
    .expect("effects in the contract's JSON");
    vec![
        ("seed-demo-cart-and-step", cart_and_step),
        ("seed-every-effect", encode_answer(&Ok(effects))),
        (
            "seed-refusal",
            encode_answer(&Err("no such coupon".to_owned())),
        ),
    ]
}
