//! {{name}}: 会员价 — a member tier pays a fixed unit price for some SKUs.
//!
//! Configuration: `{"tier": "gold", "prices": {"tea": 5800}}` (fen per unit).

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The rule.
#[derive(Debug)]
pub struct {{Type}};

// The configuration a plan step gives the rule. Its JSON Schema, derived from this type
// (doc comments become descriptions), is what plan authors see; `validate` below must
// refuse exactly what the schema refuses: `plaza plugin test` checks it on the fixtures.
/// {{description}}
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The member tier the prices are for.
    #[schemars(length(min = 1))]
    tier: String,
    /// Unit price per sku (fen).
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 0}))]
    prices: BTreeMap<String, Money>,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::ItemPrice;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn validate(config: &Config) -> Result<(), String> {
        if config.tier.is_empty() {
            return Err("tier must not be empty".into());
        }
        match config.prices.iter().find(|(_, p)| p.0 < 0) {
            Some((sku, _)) => Err(format!("the price of {sku} must not be negative")),
            None => Ok(()),
        }
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if input.cart.buyer.member_tier != Some(config.tier.as_str()) {
            return Ok(vec![]);
        }
        let mut effects = Vec::new();
        for (i, line) in input.cart.lines.iter().enumerate() {
            let Some(price) = config.prices.get(line.sku) else {
                continue;
            };
            let discount = (Money(line.unit_price) - *price).times(line.quantity);
            if discount.0 > 0 {
                let label = format!("会员价({})", config.tier);
                effects.push(Effect::line_discount(i as u32, discount, label));
            }
        }
        Ok(effects)
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"tier":"gold","prices":{"tea":5800}}"#;

    #[test]
    fn the_tier_pays_its_price_for_the_listed_skus() {
        let basket = cart()
            .line(line("tea", Money(6_800), 2))
            .line(line("cup", Money(3_900), 1));
        assert!(run::<{{Type}}>(CFG, &basket.clone().input()).unwrap().is_empty());
        assert_eq!(
            run::<{{Type}}>(CFG, &basket.member("gold").input()).unwrap(),
            vec![Effect::line_discount(0, Money(2_000), "会员价(gold)")]
        );
    }
}
