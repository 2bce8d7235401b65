//! 满减 and 每满减: a fixed discount off the order once it spends enough.
//!
//! Configuration, one of:
//! - `{"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}, …]}` — 满减: the
//!   highest tier reached applies (满300减30, 满500减60 …).
//! - `{"mode": "repeat", "every": 10000, "discount": 1000, "cap": 5000}` — 每满减: every full
//!   `every` spent takes `discount` off, at most `cap` in all (`cap` optional).
//!
//! Thresholds are judged on the original or the current amount, as the plan step says.
//! The discount is proposed on the order; the host allocates it across the lines in scope.

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

/// The rule.
#[derive(Debug)]
pub struct ThresholdDiscount;

/// One 满减 tier.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[schemars(range(min = 1))]
    threshold: Money,
    #[schemars(range(min = 1))]
    discount: Money,
}

/// The configuration of: 满减 and 每满减: a fixed discount off the order once it spends enough
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Config {
    /// 满减 with tiers.
    Tiers {
        #[schemars(length(min = 1))]
        tiers: Vec<Tier>,
    },
    /// 每满减 with an optional cap.
    Repeat {
        #[schemars(range(min = 1))]
        every: Money,
        #[schemars(range(min = 1))]
        discount: Money,
        #[serde(default)]
        #[schemars(range(min = 1))]
        cap: Option<Money>,
    },
}

impl Rule for ThresholdDiscount {
    type Config = Config;
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str =
        "满减 with tiers, or 每满减 repeating per threshold with a cap";

    fn validate(config: &Config) -> Result<(), String> {
        match config {
            Config::Tiers { tiers } => {
                if tiers.is_empty() {
                    return Err("tiers: at least one tier is required".into());
                }
                for t in tiers {
                    if t.threshold.0 <= 0 || t.discount.0 <= 0 {
                        return Err("tiers: threshold and discount must be positive".into());
                    }
                    if t.discount > t.threshold {
                        return Err(format!(
                            "tiers: discount {} exceeds threshold {}",
                            t.discount, t.threshold
                        ));
                    }
                }
            }
            Config::Repeat {
                every,
                discount,
                cap,
            } => {
                if every.0 <= 0 || discount.0 <= 0 || cap.is_some_and(|c| c.0 <= 0) {
                    return Err("every, discount and cap must be positive".into());
                }
                if discount > every {
                    return Err("discount exceeds every".into());
                }
            }
        }
        Ok(())
    }

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        let spent = input.threshold_amount();
        let effect = match config {
            Config::Tiers { tiers } => tiers
                .iter()
                .filter(|t| spent >= t.threshold)
                .max_by_key(|t| t.threshold)
                .map(|t| {
                    Effect::order_discount(t.discount, format!("满{}减{}", t.threshold, t.discount))
                }),
            Config::Repeat {
                every,
                discount,
                cap,
            } => {
                let times = spent.0 / every.0;
                let mut total = Money(discount.0.saturating_mul(times));
                if let Some(cap) = cap {
                    total = total.min(*cap);
                }
                (total.0 > 0)
                    .then(|| Effect::order_discount(total, format!("每满{every}减{discount}")))
            }
        };
        Ok(effect.into_iter().collect())
    }
}

plaza_plugin_sdk::export_rule!(ThresholdDiscount);

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_plugin_sdk::testing::{cart, line, run};

    const TIERS: &str = r#"{"mode":"tiers","tiers":[{"threshold":30000,"discount":3000},{"threshold":50000,"discount":6000}]}"#;

    #[test]
    fn highest_tier_reached_applies() {
        let input = cart().line(line("a", Money::yuan(260), 2)).input();
        let effects = run::<ThresholdDiscount>(TIERS, &input).unwrap();
        assert_eq!(
            effects,
            vec![Effect::order_discount(Money(6000), "满¥500.00减¥60.00")]
        );
    }

    #[test]
    fn below_every_tier_proposes_nothing() {
        let input = cart().line(line("a", Money::yuan(299), 1)).input();
        assert!(run::<ThresholdDiscount>(TIERS, &input).unwrap().is_empty());
    }

    #[test]
    fn threshold_on_current_amount_sees_earlier_discounts() {
        let base = cart()
            .line(line("a", Money::yuan(320), 1))
            .payable(vec![Money::yuan(290)]);
        assert!(
            run::<ThresholdDiscount>(TIERS, &base.clone().input())
                .unwrap()
                .is_empty()
        );
        let on_original = base.threshold_on_original().input();
        assert_eq!(
            run::<ThresholdDiscount>(TIERS, &on_original).unwrap().len(),
            1
        );
    }

    #[test]
    fn repeat_applies_per_threshold_up_to_cap() {
        let cfg = r#"{"mode":"repeat","every":10000,"discount":1000,"cap":2500}"#;
        let input = cart().line(line("a", Money::yuan(250), 1)).input();
        let effects = run::<ThresholdDiscount>(cfg, &input).unwrap();
        assert_eq!(
            effects,
            vec![Effect::order_discount(Money(2000), "每满¥100.00减¥10.00")]
        );
        let input = cart().line(line("a", Money::yuan(990), 1)).input();
        let effects = run::<ThresholdDiscount>(cfg, &input).unwrap();
        assert_eq!(
            effects,
            vec![Effect::order_discount(Money(2500), "每满¥100.00减¥10.00")]
        );
    }

    #[test]
    fn rejects_a_discount_larger_than_its_threshold() {
        let cfg = r#"{"mode":"tiers","tiers":[{"threshold":100,"discount":200}]}"#;
        let input = cart().input();
        assert!(
            run::<ThresholdDiscount>(cfg, &input)
                .unwrap_err()
                .contains("exceeds")
        );
    }

    #[test]
    fn rejects_unknown_fields() {
        let cfg = r#"{"mode":"repeat","every":100,"discount":10,"cpa":5}"#;
        assert!(
            run::<ThresholdDiscount>(cfg, &cart().input())
                .unwrap_err()
                .contains("unknown field")
        );
    }
}
