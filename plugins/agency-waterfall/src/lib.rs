//! 二级团 waterfall commission: merchant → carrying agency → helper agency → creator →
//! promoter agency → promoter, each party paying the next out of what it received.
//!
//! Configuration (parts per million, each of what the *payer* received on the line):
//! ```json
//! {"carrying_agency": 200000, "helper_agency": 500000, "creator": 600000,
//!  "promoter_agency": 500000, "promoter": 800000}
//! ```
//! The parties present in the cart's attribution form the chain, in that order; an absent
//! party is skipped and the next present one is paid by the last one paid. The merchant pays
//! the first party `carrying_agency` of the line's final payable amount (the service rate).
//! Any rate may be omitted (0: that party is not paid, and the chain continues from the last
//! party that was). Each rate is at most 90 %.

use plaza_plugin_sdk::prelude::*;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct AgencyWaterfall;

/// See the crate docs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    carrying_agency: Ppm,
    helper_agency: Ppm,
    creator: Ppm,
    promoter_agency: Ppm,
    promoter: Ppm,
}

impl Rule for AgencyWaterfall {
    type Config = Config;
    const NAME: &'static str = "agency-waterfall";
    const VERSION: &'static str = "1.0.0";
    const STAGE: Stage = Stage::Commission;
    const DESCRIPTION: &'static str =
        "二级团 waterfall: each party pays the next out of what it received";
    const CONFIG_SCHEMA: &'static str = r#"{"type":"object","properties":{"carrying_agency":{"type":"integer","minimum":0,"maximum":900000},"helper_agency":{"type":"integer","minimum":0,"maximum":900000},"creator":{"type":"integer","minimum":0,"maximum":900000},"promoter_agency":{"type":"integer","minimum":0,"maximum":900000},"promoter":{"type":"integer","minimum":0,"maximum":900000}}}"#;

    fn validate(c: &Config) -> Result<(), String> {
        let rates = [
            c.carrying_agency,
            c.helper_agency,
            c.creator,
            c.promoter_agency,
            c.promoter,
        ];
        if rates
            .iter()
            .any(|r| *r > plaza_plugin_sdk::MAX_COMMISSION_RATE)
        {
            return Err("rates must not exceed 900000 ppm (90 %)".into());
        }
        Ok(())
    }

    fn evaluate(c: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let a = &input.cart.attribution;
        let chain = [
            (
                Party::CarryingAgency,
                &a.carrying_agency,
                c.carrying_agency,
                "机构服务费",
            ),
            (
                Party::HelperAgency,
                &a.helper_agency,
                c.helper_agency,
                "帮卖机构分成",
            ),
            (Party::Creator, &a.creator, c.creator, "达人佣金"),
            (
                Party::PromoterAgency,
                &a.promoter_agency,
                c.promoter_agency,
                "推客机构分成",
            ),
            (Party::Promoter, &a.promoter, c.promoter, "推客佣金"),
        ];
        let mut effects = Vec::new();
        for (line, _, payable) in input.lines() {
            if payable.0 <= 0 {
                continue;
            }
            let mut payer = Party::Merchant;
            for (role, who, rate, label) in &chain {
                let (Some(who), true) = (who, rate.0 > 0) else {
                    continue;
                };
                effects.push(Effect::commission_rate(
                    line, payer, *role, *who, *rate, *label,
                ));
                payer = *role;
            }
        }
        Ok(effects)
    }
}

plaza_plugin_sdk::export_rule!(AgencyWaterfall);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn each_present_party_is_paid_by_the_one_before() {
        let cfg = r#"{"carrying_agency":200000,"helper_agency":500000,"creator":600000,"promoter":800000}"#;
        let input = cart()
            .line(line("a", Money::yuan(100), 1))
            .attribution(|a| {
                a.carrying_agency = Some("ag-1".into());
                a.creator = Some("cr-1".into());
                a.promoter = Some("p-1".into());
            })
            .input();
        let effects = run::<AgencyWaterfall>(cfg, &input).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::commission_rate(
                    0,
                    Party::Merchant,
                    Party::CarryingAgency,
                    "ag-1",
                    Ppm(200_000),
                    "机构服务费"
                ),
                Effect::commission_rate(
                    0,
                    Party::CarryingAgency,
                    Party::Creator,
                    "cr-1",
                    Ppm(600_000),
                    "达人佣金"
                ),
                Effect::commission_rate(
                    0,
                    Party::Creator,
                    Party::Promoter,
                    "p-1",
                    Ppm(800_000),
                    "推客佣金"
                ),
            ]
        );
    }
}
