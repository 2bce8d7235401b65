//! 包邮: free shipping once the order spends enough.
//!
//! Configuration: `{"threshold": 9900}`. When the threshold amount (original or current, as
//! the plan step says) reaches `threshold`, the whole shipping fee is waived.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct FreeShipping;

/// The configuration of: 包邮: free shipping once the order spends enough
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[schemars(range(min = 0))]
    threshold: Money,
}

impl Rule for FreeShipping {
    type Config = Config;
    const STAGE: Stage = Stage::Shipping;
    const DESCRIPTION: &'static str = "包邮: waive shipping over a threshold";

    fn validate(config: &Config) -> Result<(), String> {
        if config.threshold.0 < 0 {
            return Err("threshold must not be negative".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let fee = Money(input.state.shipping);
        if fee.0 <= 0 || input.threshold_amount() < config.threshold {
            return Ok(vec![]);
        }
        Ok(vec![Effect::shipping_discount(
            fee,
            format!("满{}包邮", config.threshold),
        )])
    }
}

plaza_plugin_sdk::export_rule!(FreeShipping);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn waives_shipping_only_over_threshold() {
        let cfg = r#"{"threshold":9900}"#;
        let under = cart()
            .line(line("a", Money(9_899), 1))
            .shipping(Money(800))
            .input();
        assert!(run::<FreeShipping>(cfg, &under).unwrap().is_empty());
        let over = cart()
            .line(line("a", Money(9_900), 1))
            .shipping(Money(800))
            .input();
        assert_eq!(
            run::<FreeShipping>(cfg, &over).unwrap(),
            vec![Effect::shipping_discount(Money(800), "满¥99.00包邮")]
        );
    }
}
