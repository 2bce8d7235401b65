//! {{name}}: 包邮 — the shipping fee waived on an order that spends enough.
//!
//! Configuration: `{"threshold": 9900}` (fen).

use plaza_plugin_sdk::prelude::*;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct {{Type}};

/// See the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    threshold: Money,
}

impl Rule for {{Type}} {
    type Config = Config;
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const STAGE: Stage = Stage::Shipping;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
    const CONFIG_SCHEMA: &'static str = r#"{"type":"object","additionalProperties":false,"required":["threshold"],"properties":{"threshold":{"type":"integer","minimum":0}}}"#;

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
