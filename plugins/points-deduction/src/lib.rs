//! 积分抵扣: members pay part of the order with their points.
//!
//! Configuration: `{"threshold": 5000, "max_points": 2000}`, both optional. When the
//! threshold amount (original or current, as the plan step says) reaches `threshold`, the
//! rule offers to spend the buyer's usable points, at most `max_points` per order. The host
//! does the rest: the merchant's exchange rate, the buyer's balance and the merchant's
//! largest share of the order bound what is actually spent, and the order holds the points
//! until it is paid, cancelled or refunded.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct PointsDeduction;

/// The configuration of: 积分抵扣: members pay part of the order with their points
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    #[schemars(range(min = 0))]
    threshold: Money,
    #[serde(default)]
    #[schemars(range(min = 1))]
    max_points: Option<i64>,
}

impl Rule for PointsDeduction {
    type Config = Config;
    const STAGE: Stage = Stage::Points;
    const DESCRIPTION: &'static str = "积分抵扣: pay part of the order with member points";

    fn validate(config: &Config) -> Result<(), String> {
        if config.threshold.0 < 0 {
            return Err("threshold must not be negative".into());
        }
        if config.max_points.is_some_and(|m| m < 1) {
            return Err("max_points must be at least 1".into());
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let balance = input.cart.buyer.points;
        if balance <= 0 || input.threshold_amount() < config.threshold {
            return Ok(vec![]);
        }
        let points = config.max_points.map_or(balance, |m| m.min(balance));
        Ok(vec![Effect::points(
            points,
            format!("积分抵扣 {points} 分"),
        )])
    }
}

plaza_plugin_sdk::export_rule!(PointsDeduction);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn offers_the_balance_up_to_the_cap_over_the_threshold() {
        let cfg = r#"{"threshold":5000,"max_points":2000}"#;
        let under = cart().line(line("a", Money(4_999), 1)).points(900).input();
        assert!(run::<PointsDeduction>(cfg, &under).unwrap().is_empty());
        let some = cart().line(line("a", Money(5_000), 1)).points(900).input();
        assert_eq!(
            run::<PointsDeduction>(cfg, &some).unwrap(),
            vec![Effect::points(900, "积分抵扣 900 分")]
        );
        let many = cart()
            .line(line("a", Money(5_000), 1))
            .points(9_000)
            .input();
        assert_eq!(
            run::<PointsDeduction>(cfg, &many).unwrap(),
            vec![Effect::points(2_000, "积分抵扣 2000 分")]
        );
        let none = cart().line(line("a", Money(5_000), 1)).input();
        assert!(run::<PointsDeduction>(cfg, &none).unwrap().is_empty());
    }
}
