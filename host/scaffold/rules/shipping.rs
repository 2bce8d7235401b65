//! {{name}}: 包邮 — the shipping fee waived on an order that spends enough.
//!
//! Configuration: `{"threshold": 9900}` (fen).

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
    /// Shipping is free from this amount (fen).
    #[schemars(range(min = 0))]
    threshold: Money,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::Shipping;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

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
        let label = format!("满{}包邮", config.threshold);
        Ok(vec![Effect::shipping_discount(fee, label)])
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn waives_the_fee_from_the_threshold_on() {
        let cfg = r#"{"threshold":9900}"#;
        let under = cart().line(line("tea", Money(9_899), 1)).shipping(Money(800));
        assert!(run::<{{Type}}>(cfg, &under.input()).unwrap().is_empty());
        let over = cart().line(line("tea", Money(9_900), 1)).shipping(Money(800));
        assert_eq!(
            run::<{{Type}}>(cfg, &over.input()).unwrap(),
            vec![Effect::shipping_discount(Money(800), "满¥99.00包邮")]
        );
    }
}
