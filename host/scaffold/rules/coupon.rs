//! {{name}}: a store coupon — a code the buyer presents takes a fixed amount off an order
//! that spends enough.
//!
//! Configuration: `{"code": "WELCOME10", "min_spend": 10000, "discount": 1000}` (fen).

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

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
    /// The code the buyer presents.
    #[schemars(length(min = 1))]
    code: String,
    /// The least the order must spend (fen).
    #[schemars(range(min = 0))]
    min_spend: Money,
    /// The amount off (fen).
    #[schemars(range(min = 1))]
    discount: Money,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::Coupon;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

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
