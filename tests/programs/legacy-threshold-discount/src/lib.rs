//! A source fixture of contract `plaza:rules@0.1.0`: the 满减 rule of the
//! `threshold-discount` example (tiers mode), written as 0.1 plugins were, with wit-bindgen
//! over the frozen `plugin-sdk/wit/plaza-rules.wit`, built to a component. Plaza must keep
//! loading and running it, and quote with it exactly as with the 0.2 example.
//!
//! Configuration: `{"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}, …]}`.
//! It logs the amount it judged, through 0.1's `log` import.

// The export glue wit-bindgen generates is `unsafe` (raw ABI functions).
#![allow(unsafe_code)]

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../plugin-sdk/wit",
        world: "plaza:rules/rule",
    });
}

use bindings::plaza::rules::host::log;
use bindings::plaza::rules::types::{
    Descriptor, Effect, Input, OrderAdjustment, Stage, ThresholdBase,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tier {
    threshold: i64,
    discount: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[allow(dead_code)]
    mode: String,
    tiers: Vec<Tier>,
}

fn parse(config: &str) -> Result<Config, String> {
    let config: Config =
        serde_json::from_str(config).map_err(|e| format!("invalid configuration: {e}"))?;
    if config.mode != "tiers" || config.tiers.is_empty() {
        return Err("tiers: at least one tier is required".into());
    }
    Ok(config)
}

/// An amount as the SDK's `Money` shows it: `¥300.00`.
fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

#[derive(Debug)]
struct LegacyThresholdDiscount;

impl bindings::Guest for LegacyThresholdDiscount {
    fn describe() -> Descriptor {
        Descriptor {
            name: "legacy-threshold-discount".into(),
            version: "0.1.0".into(),
            stage: Stage::StorePromotion,
            description: "满减 with tiers, built against contract 0.1".into(),
            config_schema: r#"{"type":"object","required":["mode","tiers"]}"#.into(),
        }
    }

    fn validate_config(config: String) -> Result<(), String> {
        parse(&config).map(|_| ())
    }

    fn evaluate(input: Input) -> Result<Vec<Effect>, String> {
        let config = parse(&input.config)?;
        let spent: i64 = match input.step.threshold_base {
            ThresholdBase::Original => input
                .cart
                .lines
                .iter()
                .map(|l| l.unit_price * i64::from(l.quantity))
                .sum(),
            ThresholdBase::Current => input.state.payable.iter().sum(),
        };
        log(&format!("judged {spent} fen"));
        Ok(config
            .tiers
            .iter()
            .filter(|t| spent >= t.threshold)
            .max_by_key(|t| t.threshold)
            .map(|t| {
                Effect::OrderAdjustment(OrderAdjustment {
                    discount: t.discount,
                    label: format!("满{}减{}", yuan(t.threshold), yuan(t.discount)),
                    coupon: None,
                    lines: Vec::new(),
                })
            })
            .into_iter()
            .collect())
    }
}

bindings::export!(LegacyThresholdDiscount with_types_in bindings);
