//! A rule that misbehaves on purpose, for Plaza's sandbox tests. Never put it in a real plan.
//!
//! Configuration: `{"mode": "…"}`, one of `loop` (never returns), `memory` (allocates
//! without end), `recursion` (recurses without end), `panic`, `huge-output` (thousands of
//! large notes), `many-effects` (thousands of small discounts), `negative-line` (a discount
//! larger than the line, and a negative one), `log-flood` (logs far past the limit), `error`
//! (returns an error), `well-behaved` (one honest 1-fen discount).

use plaza_plugin_sdk::prelude::*;
use serde::Deserialize;
use std::hint::black_box;

/// The rule.
#[derive(Debug)]
pub struct Hostile;

/// See the crate docs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    mode: String,
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    black_box(recurse(depth + 1)) + frame[7]
}

impl Rule for Hostile {
    type Config = Config;
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = "0.1.0";
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str = "Misbehaves on purpose (sandbox tests)";
    const CONFIG_SCHEMA: &'static str = r#"{"type":"object","required":["mode"]}"#;

    fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
        match config.mode.as_str() {
            "loop" => {
                let mut i = 0u64;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "recursion" => Ok(vec![Effect::note(recurse(0).to_string())]),
            "panic" => panic!("hostile plugin panicked on purpose"),
            "huge-output" => Ok((0..4_000).map(|i| Effect::note(format!("{i:0>100}"))).collect()),
            "many-effects" => Ok((0..5_000).map(|_| Effect::line_discount(0, Money(1), "1 fen")).collect()),
            "negative-line" => {
                let mut effects = vec![Effect::line_discount(0, input.payable(0) + Money(10_000), "more than the line")];
                if input.cart.lines.len() > 1 {
                    effects.push(Effect::line_discount(1, Money(-500), "a surcharge in disguise"));
                }
                Ok(effects)
            }
            "log-flood" => {
                for i in 0..200 {
                    log(&format!("flooding the log, line {i:04}, padding padding padding"));
                }
                Ok(vec![])
            }
            "error" => Err("hostile plugin refused on purpose".into()),
            "well-behaved" => Ok(vec![Effect::line_discount(0, Money(1), "one fen")]),
            other => Err(format!("unknown mode {other}")),
        }
    }
}

plaza_plugin_sdk::export_rule!(Hostile);
