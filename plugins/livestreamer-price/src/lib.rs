//! 主播专属价: a livestreamer's exclusive price, valid only when the sale is attributed to
//! that livestreamer (their live room or share link).
//!
//! Configuration: `{"livestreamer": "ls-1", "prices": {"sku-1": 6900}}`. Lines of listed
//! skus get the exclusive unit price, proposed as a line discount. Item-price rules are
//! best-of: the host keeps, per line, the best of all item-price proposals.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The rule.
#[derive(Debug)]
pub struct LivestreamerPrice;

/// The configuration of: 主播专属价: a livestreamer's exclusive unit prices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[schemars(length(min = 1))]
    livestreamer: String,
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 0, "description": "fen (1 = ¥0.01)"}))]
    prices: BTreeMap<String, Money>,
}

impl Rule for LivestreamerPrice {
    type Config = Config;
    const STAGE: Stage = Stage::ItemPrice;
    const DESCRIPTION: &'static str =
        "主播专属价: exclusive unit prices through one livestreamer's room or link";

    fn validate(config: &Config) -> Result<(), String> {
        if config.livestreamer.is_empty() {
            return Err("livestreamer must not be empty".into());
        }
        if config.prices.values().any(|p| p.0 < 0) {
            return Err("prices must not be negative".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if input.cart.attribution.livestreamer != Some(config.livestreamer.as_str()) {
            return Ok(vec![]);
        }
        let label = format!("主播专属价({})", config.livestreamer);
        Ok(input
            .cart
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let price = config.prices.get(line.sku)?;
                let discount = (Money(line.unit_price) - *price).times(line.quantity);
                (discount.0 > 0).then(|| Effect::line_discount(i as u32, discount, label.clone()))
            })
            .collect())
    }
}

plaza_plugin_sdk::export_rule!(LivestreamerPrice);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"livestreamer":"ls-1","prices":{"lipstick":6900}}"#;

    #[test]
    fn exclusive_price_needs_that_livestreamer() {
        let base = cart().line(line("lipstick", Money::yuan(99), 2)).line(line(
            "brush",
            Money::yuan(20),
            1,
        ));
        let with = base.clone().livestreamer("ls-1").input();
        assert_eq!(
            run::<LivestreamerPrice>(CFG, &with).unwrap(),
            vec![Effect::line_discount(0, Money(6_000), "主播专属价(ls-1)")]
        );
        let other = base.clone().livestreamer("ls-2").input();
        assert!(run::<LivestreamerPrice>(CFG, &other).unwrap().is_empty());
        assert!(
            run::<LivestreamerPrice>(CFG, &base.input())
                .unwrap()
                .is_empty()
        );
    }
}
