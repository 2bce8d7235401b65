//! {{name}}: 积分抵扣 — pay part of an order with the buyer's member points.
//!
//! Configuration: `{"max_points": 500}`: use up to that many points an order; the host
//! converts them at the merchant's rate and clips them to the buyer's balance and the
//! merchant's share of the payable.

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
    /// The most points one order may spend.
    #[schemars(range(min = 1))]
    max_points: i64,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::Points;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn validate(config: &Config) -> Result<(), String> {
        if config.max_points <= 0 {
            return Err("max_points must be positive".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if input.payable_total().0 <= 0 {
            return Ok(vec![]);
        }
        Ok(vec![Effect::points(config.max_points, "积分抵扣")])
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn offers_the_points_on_an_order_with_something_to_pay() {
        let cfg = r#"{"max_points":500}"#;
        let order = cart().line(line("tea", Money(6_800), 1)).points(2_000);
        assert_eq!(
            run::<{{Type}}>(cfg, &order.input()).unwrap(),
            vec![Effect::points(500, "积分抵扣")]
        );
        assert!(run::<{{Type}}>(r#"{"max_points":0}"#, &cart().input()).is_err());
    }
}
