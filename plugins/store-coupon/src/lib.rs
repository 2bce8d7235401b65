//! Store coupon by code: fixed amount or percent off, minimum spend, product scope, and
//! optionally usable only through one livestreamer (主播券).
//!
//! Configuration:
//! ```json
//! {"code": "SAVE20", "value": {"fixed": 2000}, "min_spend": 10000,
//!  "skus": [], "categories": ["tea"], "livestreamer": null}
//! ```
//! `value` is `{"fixed": amount}` or `{"percent": {"off": ppm, "max": amount}}` (`max`
//! optional). Empty `skus` and `categories` mean every line; otherwise a line is eligible
//! when its sku is listed or it has a listed category. The minimum spend is judged on the
//! eligible lines. Below it, the rule leaves a note saying how much more to spend.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct StoreCoupon;

/// What the coupon is worth.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Value {
    /// A fixed amount off.
    Fixed(#[schemars(range(min = 1))] Money),
    /// A share off, optionally capped.
    Percent {
        #[schemars(range(min = 1, max = 1_000_000))]
        off: Ppm,
        #[serde(default)]
        #[schemars(range(min = 1))]
        max: Option<Money>,
    },
}

/// The configuration of a store coupon by code (主播券 when bound to a livestreamer).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[schemars(length(min = 1))]
    code: String,
    value: Value,
    #[serde(default)]
    #[schemars(range(min = 0))]
    min_spend: Money,
    #[serde(default)]
    skus: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    livestreamer: Option<String>,
}

impl Config {
    fn covers(&self, line: &Line) -> bool {
        (self.skus.is_empty() && self.categories.is_empty())
            || self.skus.iter().any(|s| s == line.sku)
            || line.in_any_category(&self.categories)
    }
}

impl Rule for StoreCoupon {
    type Config = Config;
    const STAGE: Stage = Stage::Coupon;
    const DESCRIPTION: &'static str = "Store coupon by code: fixed or percent, minimum spend, product scope, optional livestreamer";

    fn validate(config: &Config) -> Result<(), String> {
        if config.code.is_empty() {
            return Err("code must not be empty".into());
        }
        if config.min_spend.0 < 0 {
            return Err("min_spend must not be negative".into());
        }
        match config.value {
            Value::Fixed(amount) if amount.0 <= 0 => Err("fixed value must be positive".into()),
            Value::Percent { off, .. } if off.0 == 0 || off > Ppm::ONE => {
                Err("percent off must be between 1 and 1000000 ppm".into())
            }
            Value::Percent { max: Some(max), .. } if max.0 <= 0 => {
                Err("max must be positive".into())
            }
            _ => Ok(()),
        }
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        if !input.has_coupon(&config.code) {
            return Ok(vec![]);
        }
        if let Some(ls) = &config.livestreamer
            && input.cart.attribution.livestreamer != Some(ls.as_str())
        {
            return Ok(vec![Effect::note(format!(
                "券{}仅限主播{ls}直播间使用",
                config.code
            ))]);
        }
        let eligible: Vec<u32> = input
            .lines()
            .filter(|(_, l, _)| config.covers(l))
            .map(|(i, _, _)| i)
            .collect();
        let spent: Money = eligible.iter().map(|i| input.threshold_amount_of(*i)).sum();
        if eligible.is_empty() || spent < config.min_spend {
            let short = config.min_spend - spent;
            return Ok(vec![Effect::note(format!(
                "券{}还差{short}可用",
                config.code
            ))]);
        }
        let payable: Money = eligible.iter().map(|i| input.payable(*i)).sum();
        let discount = match config.value {
            Value::Fixed(amount) => amount,
            Value::Percent { off, max } => {
                let d = payable.rate_floor(off);
                max.map_or(d, |m| d.min(m))
            }
        };
        Ok(vec![
            Effect::lines_discount(eligible, discount, format!("优惠券{}", config.code))
                .with_coupon(&config.code),
        ])
    }
}

plaza_plugin_sdk::export_rule!(StoreCoupon);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn fixed_coupon_applies_to_scoped_lines_when_presented() {
        let cfg =
            r#"{"code":"TEA20","value":{"fixed":2000},"min_spend":10000,"categories":["tea"]}"#;
        let base = cart()
            .line(line("green", Money::yuan(80), 1).category("tea"))
            .line(line("cup", Money::yuan(50), 1))
            .line(line("black", Money::yuan(30), 1).category("tea"));
        assert!(
            run::<StoreCoupon>(cfg, &base.clone().input())
                .unwrap()
                .is_empty()
        );
        let effects = run::<StoreCoupon>(cfg, &base.coupon("TEA20").input()).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::lines_discount(vec![0, 2], Money(2000), "优惠券TEA20").with_coupon("TEA20")
            ]
        );
    }

    #[test]
    fn below_minimum_spend_leaves_a_note() {
        let cfg = r#"{"code":"C","value":{"fixed":500},"min_spend":10000}"#;
        let input = cart()
            .line(line("a", Money::yuan(60), 1))
            .coupon("C")
            .input();
        assert_eq!(
            run::<StoreCoupon>(cfg, &input).unwrap(),
            vec![Effect::note("券C还差¥40.00可用")]
        );
    }

    #[test]
    fn percent_coupon_is_capped() {
        let cfg = r#"{"code":"P","value":{"percent":{"off":200000,"max":3000}}}"#;
        let input = cart()
            .line(line("a", Money::yuan(500), 1))
            .coupon("P")
            .input();
        assert_eq!(
            run::<StoreCoupon>(cfg, &input).unwrap(),
            vec![Effect::lines_discount(vec![0], Money(3000), "优惠券P").with_coupon("P")]
        );
    }

    #[test]
    fn livestreamer_coupon_needs_that_livestreamer() {
        let cfg = r#"{"code":"LIVE","value":{"fixed":1000},"livestreamer":"ls-9"}"#;
        let base = cart().line(line("a", Money::yuan(50), 1)).coupon("LIVE");
        assert!(matches!(
            run::<StoreCoupon>(cfg, &base.clone().input()).unwrap()[..],
            [Effect::Note(_)]
        ));
        let via = base.livestreamer("ls-9").input();
        assert!(matches!(
            run::<StoreCoupon>(cfg, &via).unwrap()[..],
            [Effect::OrderAdjustment(_)]
        ));
    }
}
