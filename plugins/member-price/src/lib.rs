//! 会员价: member price by member tier.
//!
//! Configuration: `{"tiers": {"gold": {"rate": 900000, "prices": {"sku-1": 8800}}}}`. For a
//! buyer of a listed tier, each line's unit price becomes the tier's fixed price for that sku
//! if there is one, otherwise `rate` × list price (parts per million, rounded down; 900000 =
//! 9折). The rule proposes the difference as a line discount. Item-price rules are best-of:
//! the host keeps, per line, the best of all item-price proposals.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The rule.
#[derive(Debug)]
pub struct MemberPrice;

/// Prices of one tier.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPrices {
    /// Price as a share of the list price, for skus without a fixed price.
    #[serde(default)]
    #[schemars(range(max = 1_000_000))]
    rate: Option<Ppm>,
    /// Fixed unit price per sku.
    #[serde(default)]
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 0, "description": "fen (1 = ¥0.01)"}))]
    prices: BTreeMap<String, Money>,
}

/// The configuration of: 会员价: member price by member tier
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    tiers: BTreeMap<String, TierPrices>,
}

impl Rule for MemberPrice {
    type Config = Config;
    const STAGE: Stage = Stage::ItemPrice;
    const DESCRIPTION: &'static str =
        "会员价: member price per tier, fixed per sku or a share of list price";

    fn validate(config: &Config) -> Result<(), String> {
        for (tier, p) in &config.tiers {
            if p.rate.is_some_and(|r| r > Ppm::ONE) {
                return Err(format!("tier {tier}: rate above 100 %"));
            }
            if let Some((sku, _)) = p.prices.iter().find(|(_, price)| price.0 < 0) {
                return Err(format!("tier {tier}: negative price for {sku}"));
            }
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let Some(tier) = input.cart.buyer.member_tier else {
            return Ok(vec![]);
        };
        let Some(prices) = config.tiers.get(tier) else {
            return Ok(vec![]);
        };
        let mut effects = Vec::new();
        for (i, line) in input.cart.lines.iter().enumerate() {
            let unit = Money(line.unit_price);
            let member_unit = match (prices.prices.get(line.sku), prices.rate) {
                (Some(price), _) => *price,
                (None, Some(rate)) => unit.rate_floor(rate),
                (None, None) => continue,
            };
            let discount = (unit - member_unit).times(line.quantity);
            if discount.0 > 0 {
                effects.push(Effect::line_discount(
                    i as u32,
                    discount,
                    format!("会员价({tier})"),
                ));
            }
        }
        Ok(effects)
    }
}

plaza_plugin_sdk::export_rule!(MemberPrice);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"tiers":{"gold":{"rate":900000,"prices":{"tea":8800}}}}"#;

    #[test]
    fn fixed_price_wins_over_rate_and_rate_covers_the_rest() {
        let input = cart()
            .line(line("tea", Money::yuan(100), 2))
            .line(line("cup", Money(3_999), 1))
            .member("gold")
            .input();
        let effects = run::<MemberPrice>(CFG, &input).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::line_discount(0, Money(2_400), "会员价(gold)"),
                // 90 % of 39.99 = 35.991 → 35.99, so 4.00 off
                Effect::line_discount(1, Money(400), "会员价(gold)"),
            ]
        );
    }

    #[test]
    fn non_members_and_other_tiers_get_nothing() {
        let anon = cart().line(line("tea", Money::yuan(100), 1)).input();
        assert!(run::<MemberPrice>(CFG, &anon).unwrap().is_empty());
        let silver = cart()
            .line(line("tea", Money::yuan(100), 1))
            .member("silver")
            .input();
        assert!(run::<MemberPrice>(CFG, &silver).unwrap().is_empty());
    }
}
