//! {{name}}: a store coupon — a code the buyer presents takes a fixed amount off an order
//! that spends enough.
//!
//! Configuration: `{"code": "WELCOME10", "min_spend": 10000, "discount": 1000}` (fen).

use plaza_plugin_sdk::prelude::*;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct {{Type}};

/// See the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    code: String,
    min_spend: Money,
    discount: Money,
}

impl Rule for {{Type}} {
    type Config = Config;
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const STAGE: Stage = Stage::Coupon;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
    const CONFIG_SCHEMA: &'static str = r#"{"type":"object","additionalProperties":false,"required":["code","min_spend","discount"],"properties":{"code":{"type":"string","minLength":1},"min_spend":{"type":"integer","minimum":0},"discount":{"type":"integer","minimum":1}}}"#;

    fn validate(config: &Config) -> Result<(), String> {
        if config.code.is_empty() {
            return Err("code must not be empty".into());
        }
        if config.min_spend.0 < 0 {
            return Err("min_spend must not be negative".into());
        }
        if config.discount.0 <= 0 {
            return Err("discount must be positive".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if !input.has_coupon(&config.code) || input.threshold_amount() < config.min_spend {
            return Ok(vec![]);
        }
        let discount = config.discount.min(input.payable_total());
        let label = format!("券{}: 满{}减{}", config.code, config.min_spend, config.discount);
        Ok(vec![
            Effect::order_discount(discount, label).with_coupon(config.code.clone()),
        ])
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"code":"WELCOME10","min_spend":10000,"discount":1000}"#;

    #[test]
    fn the_presented_code_takes_its_discount() {
        let basket = cart().line(line("tea", Money(6_800), 2));
        assert!(run::<{{Type}}>(CFG, &basket.clone().input()).unwrap().is_empty());
        assert_eq!(
            run::<{{Type}}>(CFG, &basket.coupon("WELCOME10").input()).unwrap(),
            vec![
                Effect::order_discount(Money(1_000), "券WELCOME10: 满¥100.00减¥10.00")
                    .with_coupon("WELCOME10")
            ]
        );
    }
}
