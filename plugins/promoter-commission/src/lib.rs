//! 推客佣金: promoter commission at a per-product rate, only on lines attributed to a promoter.
//!
//! Configuration: `{"default_rate": 50000, "rates": {"sku-1": 100000}}` (parts per million of
//! the line's final payable amount; 50000 = 5 %). A sku listed in `rates` uses its own rate,
//! others `default_rate`; a rate of 0 pays nothing. Gifts earn commission like any sale.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The rule.
#[derive(Debug)]
pub struct PromoterCommission;

/// The configuration of: 推客佣金: promoter commission at a per-product rate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    #[schemars(range(max = 900_000))]
    default_rate: Ppm,
    #[serde(default)]
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 0, "maximum": 900_000, "description": "parts per million"}))]
    rates: BTreeMap<String, Ppm>,
}

impl Rule for PromoterCommission {
    type Config = Config;
    const STAGE: Stage = Stage::Commission;
    const DESCRIPTION: &'static str =
        "推客佣金: per-product commission rate on promoter-attributed lines";

    fn validate(config: &Config) -> Result<(), String> {
        if config.default_rate > plaza_plugin_sdk::MAX_COMMISSION_RATE
            || config
                .rates
                .values()
                .any(|r| *r > plaza_plugin_sdk::MAX_COMMISSION_RATE)
        {
            return Err("rates must not exceed 900000 ppm (90 %)".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let Some(promoter) = input.cart.attribution.promoter else {
            return Ok(vec![]);
        };
        Ok(input
            .cart
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let rate = config
                    .rates
                    .get(line.sku)
                    .copied()
                    .unwrap_or(config.default_rate);
                (rate.0 > 0).then(|| {
                    Effect::commission_rate(
                        i as u32,
                        Party::Merchant,
                        Party::Promoter,
                        promoter,
                        rate,
                        "推客佣金",
                    )
                })
            })
            .collect())
    }
}

plaza_plugin_sdk::export_rule!(PromoterCommission);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"default_rate":50000,"rates":{"b":0,"c":120000}}"#;

    #[test]
    fn pays_per_product_rates_on_attributed_carts_only() {
        let base = cart()
            .line(line("a", Money::yuan(10), 1))
            .line(line("b", Money::yuan(10), 1))
            .line(line("c", Money::yuan(10), 1));
        assert!(
            run::<PromoterCommission>(CFG, &base.clone().input())
                .unwrap()
                .is_empty()
        );
        let effects = run::<PromoterCommission>(CFG, &base.promoter("p-7").input()).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::commission_rate(
                    0,
                    Party::Merchant,
                    Party::Promoter,
                    "p-7",
                    Ppm(50_000),
                    "推客佣金"
                ),
                Effect::commission_rate(
                    2,
                    Party::Merchant,
                    Party::Promoter,
                    "p-7",
                    Ppm(120_000),
                    "推客佣金"
                ),
            ]
        );
    }

    #[test]
    fn refuses_rates_over_ninety_percent() {
        assert!(run::<PromoterCommission>(r#"{"default_rate":900001}"#, &cart().input()).is_err());
    }
}
