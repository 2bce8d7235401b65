//! 满折 and N件M折: a percentage off the order, with a maximum discount.
//!
//! Configuration, one of:
//! - `{"mode": "spend", "threshold": 20000, "off": 100000, "max_discount": 5000}` — 满折:
//!   spend at least `threshold` and get `off` (parts per million, 100000 = 10 % off = 9折).
//! - `{"mode": "items", "min_items": 2, "off": 200000, "max_discount": 5000}` — N件M折: buy
//!   at least `min_items` items and get `off`.
//!
//! `max_discount` is optional. The discount is `off × current payable`, rounded down to
//! the fen, and proposed on the order for the host to allocate.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct PercentOff;

/// The configuration of: 满折 and N件M折: a percentage off the order, with a maximum discount
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Config {
    /// 满折.
    Spend {
        #[schemars(range(min = 0))]
        threshold: Money,
        #[schemars(range(min = 1, max = 1_000_000))]
        off: Ppm,
        #[serde(default)]
        #[schemars(range(min = 1))]
        max_discount: Option<Money>,
    },
    /// N件M折.
    Items {
        #[schemars(range(min = 1))]
        min_items: u32,
        #[schemars(range(min = 1, max = 1_000_000))]
        off: Ppm,
        #[serde(default)]
        #[schemars(range(min = 1))]
        max_discount: Option<Money>,
    },
}

impl Config {
    fn off_and_cap(&self) -> (Ppm, Option<Money>) {
        match self {
            Config::Spend {
                off, max_discount, ..
            }
            | Config::Items {
                off, max_discount, ..
            } => (*off, *max_discount),
        }
    }
}

fn zhe(off: Ppm) -> String {
    // 10 % off is "9折"; 15 % off is "8.5折".
    let pay = (Ppm::ONE.0 - off.0) / 10_000;
    let tenths = pay / 10;
    let rest = pay % 10;
    if rest == 0 {
        format!("{tenths}折")
    } else {
        format!("{tenths}.{rest}折")
    }
}

impl Rule for PercentOff {
    type Config = Config;
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str =
        "满折 over a spend, or N件M折 from N items, with a maximum discount";

    fn validate(config: &Config) -> Result<(), String> {
        let (off, cap) = config.off_and_cap();
        if off.0 == 0 || off > Ppm::ONE {
            return Err("off must be between 1 and 1000000 parts per million".into());
        }
        if cap.is_some_and(|c| c.0 <= 0) {
            return Err("max_discount must be positive".into());
        }
        match config {
            Config::Spend { threshold, .. } if threshold.0 < 0 => {
                Err("threshold must not be negative".into())
            }
            Config::Items { min_items: 0, .. } => Err("min_items must be at least 1".into()),
            _ => Ok(()),
        }
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let (label, eligible) = match config {
            Config::Spend { threshold, off, .. } => (
                format!("满{threshold}享{}", zhe(*off)),
                input.threshold_amount() >= *threshold,
            ),
            Config::Items { min_items, off, .. } => (
                format!("{min_items}件{}", zhe(*off)),
                input.item_count() >= u64::from(*min_items),
            ),
        };
        if !eligible {
            return Ok(vec![]);
        }
        let (off, cap) = config.off_and_cap();
        let mut discount = input.payable_total().rate_floor(off);
        if let Some(cap) = cap {
            discount = discount.min(cap);
        }
        Ok((discount.0 > 0)
            .then(|| Effect::order_discount(discount, label))
            .into_iter()
            .collect())
    }
}

plaza_plugin_sdk::export_rule!(PercentOff);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    #[test]
    fn spend_mode_takes_percentage_rounded_down() {
        let cfg = r#"{"mode":"spend","threshold":10000,"off":150000}"#;
        let input = cart().line(line("a", Money(12_345), 1)).input();
        let effects = run::<PercentOff>(cfg, &input).unwrap();
        // 15 % of 123.45 = 18.5175 → 18.51
        assert_eq!(
            effects,
            vec![Effect::order_discount(Money(1_851), "满¥100.00享8.5折")]
        );
    }

    #[test]
    fn items_mode_needs_enough_items_and_respects_cap() {
        let cfg = r#"{"mode":"items","min_items":3,"off":200000,"max_discount":5000}"#;
        let two = cart().line(line("a", Money::yuan(100), 2)).input();
        assert!(run::<PercentOff>(cfg, &two).unwrap().is_empty());
        let three = cart().line(line("a", Money::yuan(100), 3)).input();
        assert_eq!(
            run::<PercentOff>(cfg, &three).unwrap(),
            vec![Effect::order_discount(Money(5000), "3件8折")]
        );
    }

    #[test]
    fn rejects_more_than_hundred_percent() {
        let cfg = r#"{"mode":"items","min_items":1,"off":1000001}"#;
        assert!(run::<PercentOff>(cfg, &cart().input()).is_err());
    }
}
