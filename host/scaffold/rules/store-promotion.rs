//! {{name}}: 满减 — a fixed amount off an order that spends enough.
//!
//! Configuration: `{"threshold": 10000, "discount": 1000}` (fen): ¥10 off from ¥100.

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
    /// The least the order must spend (fen).
    #[schemars(range(min = 0))]
    threshold: Money,
    /// The amount off (fen).
    #[schemars(range(min = 1))]
    discount: Money,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn validate(config: &Config) -> Result<(), String> {
        if config.threshold.0 < 0 {
            return Err("threshold must not be negative".into());
        }
        if config.discount.0 <= 0 {
            return Err("discount must be positive".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if input.threshold_amount() < config.threshold {
            return Ok(vec![]);
        }
        let discount = config.discount.min(input.payable_total());
        let label = format!("满{}减{}", config.threshold, config.discount);
        Ok(vec![Effect::order_discount(discount, label)])
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const CFG: &str = r#"{"threshold":10000,"discount":1000}"#;

    #[test]
    fn takes_the_discount_from_the_threshold_on() {
        let under = cart().line(line("tea", Money(9_999), 1)).input();
        assert!(run::<{{Type}}>(CFG, &under).unwrap().is_empty());
        let over = cart().line(line("tea", Money(6_800), 2)).input();
        assert_eq!(
            run::<{{Type}}>(CFG, &over).unwrap(),
            vec![Effect::order_discount(Money(1_000), "满¥100.00减¥10.00")]
        );
    }

    #[test]
    fn refuses_a_discount_of_nothing() {
        let cfg = r#"{"threshold":10000,"discount":0}"#;
        assert!(run::<{{Type}}>(cfg, &cart().input()).is_err());
    }
}
