//! 满赠 and 买赠: free gift items (赠品) once the buyer buys enough.
//!
//! Configuration:
//! ```json
//! {"gift": {"sku": "tea-cup", "quantity": 1, "value": 3000, "label": "赠 品茗杯"},
//!  "min_quantity": 2, "min_amount": 0, "skus": ["teapot"], "repeat": true, "max_sets": 3}
//! ```
//! - `gift`: what one set gives — its sku, units (default 1), list value for the books
//!   (the buyer pays nothing) and the label shown (default `赠品 <sku>`).
//! - `min_quantity` (units) and `min_amount` (fen, on the original or the current amount as
//!   the plan step says): what one set takes; at least one of them, both when both given.
//! - `skus`: only these lines count (买X送Y); all the lines the step sees when absent.
//! - `repeat`: 每满赠 — a set for every full `min_quantity` / `min_amount`, at most
//!   `max_sets`; otherwise one set.
//! - `per_recipient`: on an order sent as a gift (送礼), the sets earned go to each friend
//!   it is shared out to (a greeting card per recipient).
//!
//! The host turns the gift into an order line with its own stock: cap it with the step's
//! `budget.max_gift_units`.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct GiftWithPurchase;

/// One set of gifts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gift {
    #[schemars(length(min = 1, max = 128))]
    sku: String,
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1000))]
    quantity: u32,
    #[schemars(range(min = 0))]
    value: Money,
    #[serde(default)]
    label: Option<String>,
}

fn one() -> u32 {
    1
}

/// The configuration of: 满赠 and 买赠: free gift items (赠品) once the buyer buys enough
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// At least one condition (as `validate` checks).
#[schemars(extend("anyOf" = [
    {"required": ["min_quantity"], "properties": {"min_quantity": {"minimum": 1}}},
    {"required": ["min_amount"], "properties": {"min_amount": {"minimum": 1}}}
]))]
pub struct Config {
    gift: Gift,
    #[serde(default)]
    min_quantity: u64,
    #[serde(default)]
    #[schemars(range(min = 0))]
    min_amount: Money,
    #[serde(default)]
    #[schemars(length(min = 1))]
    skus: Option<Vec<String>>,
    #[serde(default)]
    repeat: bool,
    #[serde(default)]
    #[schemars(range(min = 1))]
    max_sets: Option<u32>,
    #[serde(default)]
    per_recipient: bool,
}

/// Sets a cart of `have` earns at `per` each (`None` when `per` asks nothing).
fn sets(have: i64, per: i64) -> Option<i64> {
    (per > 0).then(|| have / per)
}

impl Rule for GiftWithPurchase {
    type Config = Config;
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str = "满赠 / 买赠: free gift items once the buyer buys enough";

    fn validate(config: &Config) -> Result<(), String> {
        let g = &config.gift;
        if g.sku.is_empty() || g.sku.len() > 128 {
            return Err("gift.sku must be 1 to 128 bytes".into());
        }
        if !(1..=1_000).contains(&g.quantity) {
            return Err("gift.quantity must be 1 to 1000".into());
        }
        if g.value.0 < 0 || config.min_amount.0 < 0 {
            return Err("gift.value and min_amount must not be negative".into());
        }
        if config.min_quantity == 0 && config.min_amount.0 == 0 {
            return Err("set min_quantity, min_amount or both".into());
        }
        if config.skus.as_ref().is_some_and(Vec::is_empty) {
            return Err("skus: name at least one, or leave it out".into());
        }
        if config.max_sets == Some(0) {
            return Err("max_sets must be at least 1".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let counts = |sku: &str| {
            config
                .skus
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == sku))
        };
        let (mut units, mut amount) = (0u64, Money::ZERO);
        for (i, line, _) in input.lines().filter(|(_, l, _)| counts(l.sku)) {
            units += u64::from(line.quantity);
            amount += input.threshold_amount_of(i);
        }
        let by_units = sets(i64::try_from(units).unwrap_or(i64::MAX), {
            i64::try_from(config.min_quantity).unwrap_or(i64::MAX)
        });
        let by_amount = sets(amount.0, config.min_amount.0);
        let earned = match (by_units, by_amount) {
            (Some(a), Some(b)) => a.min(b),
            (Some(n), None) | (None, Some(n)) => n,
            (None, None) => 0,
        };
        let most = if config.repeat {
            config.max_sets.map_or(i64::MAX, i64::from)
        } else {
            1
        };
        let recipients = match input.cart.gift_recipients {
            n if config.per_recipient && input.cart.gift => i64::from(n.max(1)),
            _ => 1,
        };
        let sets = earned.min(most).saturating_mul(recipients);
        let sets = u32::try_from(sets).unwrap_or(u32::MAX);
        if sets == 0 {
            return Ok(vec![]);
        }
        let g = &config.gift;
        let Some(quantity) = g.quantity.checked_mul(sets) else {
            return Err("too many gift units for one order".into());
        };
        let label = (g.label.clone()).unwrap_or_else(|| format!("赠品 {}", g.sku));
        Ok(vec![Effect::gift(
            g.sku.clone(),
            quantity,
            g.value.times(quantity),
            label,
        )])
    }
}

plaza_plugin_sdk::export_rule!(GiftWithPurchase);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const BUY_TWO_TEAPOTS: &str = r#"{"gift":{"sku":"tea-cup","value":3000,"label":"赠 品茗杯"},
        "min_quantity":2,"skus":["teapot"],"repeat":true,"max_sets":2}"#;

    #[test]
    fn a_set_per_two_teapots_up_to_the_most_sets() {
        let gifts = |teapots: u32| {
            let input = cart()
                .line(line("teapot", Money::yuan(100), teapots))
                .line(line("tea", Money::yuan(50), 9))
                .input();
            run::<GiftWithPurchase>(BUY_TWO_TEAPOTS, &input).unwrap()
        };
        assert!(gifts(1).is_empty(), "the tea does not count");
        assert_eq!(
            gifts(3),
            vec![Effect::gift("tea-cup", 1, Money(3000), "赠 品茗杯")]
        );
        assert_eq!(
            gifts(9),
            vec![Effect::gift("tea-cup", 2, Money(6000), "赠 品茗杯")]
        );
    }

    #[test]
    fn an_amount_and_a_quantity_must_both_be_met() {
        let cfg = r#"{"gift":{"sku":"towel","value":500},"min_quantity":2,"min_amount":20000}"#;
        let run_on = |price: i64, n: u32| {
            let input = cart().line(line("a", Money::yuan(price), n)).input();
            run::<GiftWithPurchase>(cfg, &input).unwrap()
        };
        assert!(run_on(300, 1).is_empty(), "one unit is too few");
        assert!(run_on(50, 3).is_empty(), "150.00 is too little");
        assert_eq!(
            run_on(100, 20),
            vec![Effect::gift("towel", 1, Money(500), "赠品 towel")],
            "without repeat, one set"
        );
    }

    #[test]
    fn a_card_for_each_friend_a_gift_is_shared_out_to() {
        let cfg = r#"{"gift":{"sku":"card","value":200},"min_quantity":1,"per_recipient":true}"#;
        let cards = |input: &plaza_plugin_sdk::testing::TestInput| {
            run::<GiftWithPurchase>(cfg, input).unwrap()[0].clone()
        };
        let bought = || cart().line(line("tea", Money::yuan(80), 3));
        assert_eq!(
            cards(&bought().gift_to(3).input()),
            Effect::gift("card", 3, Money(600), "赠品 card")
        );
        assert_eq!(
            cards(&bought().input()),
            Effect::gift("card", 1, Money(200), "赠品 card"),
            "an order for oneself gets one set"
        );
    }

    #[test]
    fn a_rule_that_asks_nothing_is_refused() {
        let cfg = r#"{"gift":{"sku":"towel","value":500}}"#;
        let err = run::<GiftWithPurchase>(cfg, &cart().input()).unwrap_err();
        assert!(err.contains("min_quantity"), "{err}");
    }
}
