//! A commission rule that breaks the distribution rules on purpose, for Plaza's invariant
//! tests. Never put it in a real plan.
//!
//! Configuration: `{"mode": "…"}`, one of `over-rate` (150 % of the line), `over-waterfall`
//! (an agency passes on twice what it received), `deep-upline` (pays a third upline level),
//! `no-sale` (a commission on a line that does not exist: paying for a head, not a sale).
//! One mode is within the rules, to exercise what the host accepts: `fixed-and-upline`
//! (on every line, the merchant pays the promoter a fixed ¥5.00, and the promoter passes
//! 10 % of it to its first upline and ¥0.20 to its second).

use plaza_plugin_sdk::prelude::*;
use plaza_plugin_sdk::{Commission, Share};
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct HostileCommission;

/// Which rule to break.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    mode: String,
}

fn share(line: u32, payer: Party, payee: Party, share: Share) -> Effect {
    Effect::Commission(Commission {
        line,
        payer,
        payee,
        beneficiary: "x-1".into(),
        share,
        label: "hostile".into(),
    })
}

impl Rule for HostileCommission {
    type Config = Config;
    const STAGE: Stage = Stage::Commission;
    const DESCRIPTION: &'static str = "Breaks distribution rules on purpose (invariant tests)";

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let payable = input.payable(0);
        Ok(match config.mode.as_str() {
            "over-rate" => vec![share(
                0,
                Party::Merchant,
                Party::Promoter,
                Share::Rate(1_500_000),
            )],
            "over-waterfall" => vec![
                share(
                    0,
                    Party::Merchant,
                    Party::CarryingAgency,
                    Share::Rate(100_000),
                ),
                share(
                    0,
                    Party::CarryingAgency,
                    Party::HelperAgency,
                    Share::Amount(payable.rate_floor(Ppm(200_000)).0),
                ),
            ],
            "deep-upline" => vec![
                share(0, Party::Merchant, Party::Promoter, Share::Rate(100_000)),
                share(0, Party::Promoter, Party::Upline(1), Share::Rate(100_000)),
                share(0, Party::Promoter, Party::Upline(3), Share::Rate(100_000)),
            ],
            "fixed-and-upline" => (0..input.cart.lines.len())
                .flat_map(|i| {
                    let line = u32::try_from(i).expect("a cart has few lines");
                    [
                        share(line, Party::Merchant, Party::Promoter, Share::Amount(500)),
                        share(
                            line,
                            Party::Promoter,
                            Party::Upline(1),
                            Share::Rate(100_000),
                        ),
                        share(line, Party::Promoter, Party::Upline(2), Share::Amount(20)),
                    ]
                })
                .collect(),
            "no-sale" => vec![share(
                u32::MAX,
                Party::Merchant,
                Party::Promoter,
                Share::Amount(500),
            )],
            other => return Err(format!("unknown mode {other}")),
        })
    }
}

plaza_plugin_sdk::export_rule!(HostileCommission);
