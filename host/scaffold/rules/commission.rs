//! {{name}}: 推客佣金 — the promoter who brought the sale earns a share of each line.
//!
//! Configuration: `{"rate": 50000}`: parts per million of what the merchant received on
//! each line (50000 = 5 %), at most 900000 (90 %).

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
    /// Parts per million of what the merchant received on each line (50000 = 5 %).
    #[schemars(range(min = 1, max = 900_000))]
    rate: Ppm,
}

impl Rule for {{Type}} {
    type Config = Config;
    const STAGE: Stage = Stage::Commission;
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn validate(config: &Config) -> Result<(), String> {
        if config.rate.0 == 0 || config.rate > plaza_plugin_sdk::MAX_COMMISSION_RATE {
            return Err("rate must be between 1 and 900000 parts per million".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let Some(promoter) = input.cart.attribution.promoter else {
            return Ok(vec![]);
        };
        let share = |i: usize| {
            let (payer, payee) = (Party::Merchant, Party::Promoter);
            Effect::commission_rate(i as u32, payer, payee, promoter, config.rate, "推客佣金")
        };
        Ok((0..input.cart.lines.len()).map(share).collect())
    }
}

plaza_plugin_sdk::export_rule!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn pays_the_promoter_on_every_line_of_an_attributed_cart() {
        let cfg = r#"{"rate":50000}"#;
        let basket = cart().line(line("tea", Money(6_800), 1));
        assert!(run::<{{Type}}>(cfg, &basket.clone().input()).unwrap().is_empty());
        let rate = Ppm(50_000);
        assert_eq!(
            run::<{{Type}}>(cfg, &basket.promoter("p-1").input()).unwrap(),
            vec![Effect::commission_rate(0, Party::Merchant, Party::Promoter, "p-1", rate, "推客佣金")]
        );
    }
}
