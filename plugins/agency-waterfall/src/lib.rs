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
//!
//! `"from"` starts the chain lower, for an agency's own layer of a plaza quote: with
//! `"from": "helper_agency"` the helper agency pays the parties after it (creator, promoter
//! agency, promoter) out of what it received, and the rates of the parties above it are
//! not allowed. One of `merchant` (the default), `carrying_agency`, `helper_agency`,
//! `promoter_agency`.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct AgencyWaterfall;

/// The configuration of: 二级团 waterfall commission: each party pays the next out of what it received.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
// A chain that starts lower pays no party above where it starts (as `validate` checks).
#[schemars(extend("allOf" = [
    {"if": {"required": ["from"], "properties": {"from": {"const": "carrying_agency"}}},
     "then": {"properties": {"carrying_agency": {"const": 0}}}},
    {"if": {"required": ["from"], "properties": {"from": {"const": "helper_agency"}}},
     "then": {"properties": {"carrying_agency": {"const": 0}, "helper_agency": {"const": 0}}}},
    {"if": {"required": ["from"], "properties": {"from": {"const": "promoter_agency"}}},
     "then": {"properties": {"carrying_agency": {"const": 0}, "helper_agency": {"const": 0},
                             "creator": {"const": 0}, "promoter_agency": {"const": 0}}}}
]))]
pub struct Config {
    from: From,
    #[schemars(range(max = 900_000))]
    carrying_agency: Ppm,
    #[schemars(range(max = 900_000))]
    helper_agency: Ppm,
    #[schemars(range(max = 900_000))]
    creator: Ppm,
    #[schemars(range(max = 900_000))]
    promoter_agency: Ppm,
    #[schemars(range(max = 900_000))]
    promoter: Ppm,
}

/// Who pays first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum From {
    #[default]
    Merchant,
    CarryingAgency,
    HelperAgency,
    PromoterAgency,
}

impl From {
    fn party(self) -> Party {
        match self {
            From::Merchant => Party::Merchant,
            From::CarryingAgency => Party::CarryingAgency,
            From::HelperAgency => Party::HelperAgency,
            From::PromoterAgency => Party::PromoterAgency,
        }
    }

    /// Where in the chain (carrying, helper, creator, promoter agency, promoter) paying
    /// starts.
    fn first_payee(self) -> usize {
        match self {
            From::Merchant => 0,
            From::CarryingAgency => 1,
            From::HelperAgency => 2,
            From::PromoterAgency => 4,
        }
    }
}

impl Rule for AgencyWaterfall {
    type Config = Config;
    const STAGE: Stage = Stage::Commission;
    const DESCRIPTION: &'static str =
        "二级团 waterfall: each party pays the next out of what it received";

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
        if rates[..c.from.first_payee()].iter().any(|r| r.0 > 0) {
            return Err("a chain that starts lower pays no party above where it starts".into());
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
            let mut payer = c.from.party();
            for (role, who, rate, label) in &chain[c.from.first_payee()..] {
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
    fn a_chain_from_the_helper_agency_pays_only_the_parties_below_it() {
        let cfg = r#"{"from":"helper_agency","promoter":500000}"#;
        let input = cart()
            .line(line("a", Money::yuan(100), 1))
            .attribution(|a| {
                a.carrying_agency = Some("c".into());
                a.helper_agency = Some("h".into());
                a.promoter = Some("p-1".into());
            })
            .input();
        let effects = run::<AgencyWaterfall>(cfg, &input).unwrap();
        assert_eq!(
            effects,
            vec![Effect::commission_rate(
                0,
                Party::HelperAgency,
                Party::Promoter,
                "p-1",
                Ppm(500_000),
                "推客佣金"
            )]
        );
        let above = r#"{"from":"helper_agency","carrying_agency":1}"#;
        assert!(run::<AgencyWaterfall>(above, &input).is_err());
    }

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
