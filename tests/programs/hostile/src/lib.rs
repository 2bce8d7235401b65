//! A rule that misbehaves on purpose, for Plaza's sandbox tests. Never put it in a real plan.
//!
//! Configuration: `{"mode": "…"}`, one of `loop` (never returns), `memory` (allocates
//! without end), `recursion` (recurses without end), `panic`, `huge-output` (hundreds of
//! large notes), `many-effects` (a thousand small discounts), `negative-line` (a discount
//! larger than the line, and a negative one), `log-flood` (logs far past the limit), `error`
//! (returns an error), `counter` (notes how many times this instance evaluated: always 1
//! when the host gives every evaluation a fresh instance), `well-behaved` (one honest 1-fen
//! discount), `foreign-coupon` (a discount redeeming a code the buyer never presented),
//! `gift` (a free gift, within the rules), `huge-strings` (two notes of 3 MiB each: far past
//! the output limit, checked before the host copies).

use plaza_plugin_sdk::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

static EVALUATIONS: AtomicU32 = AtomicU32::new(0);

/// The rule.
#[derive(Debug)]
pub struct Hostile;

/// Which way to misbehave.
#[derive(Debug, Deserialize, JsonSchema)]
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
    const STAGE: Stage = Stage::StorePromotion;
    const DESCRIPTION: &'static str = "Misbehaves on purpose (sandbox tests)";

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
            "huge-strings" => {
                let big = "x".repeat(3 << 20);
                Ok(vec![Effect::note(big.clone()), Effect::note(big)])
            }
            "huge-output" => Ok((0..300)
                .map(|i| Effect::note(format!("{i:0>100}")))
                .collect()),
            "many-effects" => Ok((0..1_000)
                .map(|_| Effect::line_discount(0, Money(1), "1 fen"))
                .collect()),
            "negative-line" => {
                let mut effects = vec![Effect::line_discount(
                    0,
                    input.payable(0) + Money(10_000),
                    "more than the line",
                )];
                if input.cart.lines.len() > 1 {
                    effects.push(Effect::line_discount(
                        1,
                        Money(-500),
                        "a surcharge in disguise",
                    ));
                }
                Ok(effects)
            }
            "log-flood" => {
                for i in 0..200 {
                    log(&format!(
                        "flooding the log, line {i:04}, padding padding padding"
                    ));
                }
                Ok(vec![])
            }
            "error" => Err("hostile plugin refused on purpose".into()),
            "counter" => {
                let n = EVALUATIONS.fetch_add(1, Ordering::Relaxed) + 1;
                Ok(vec![Effect::note(format!("evaluation {n}"))])
            }
            "well-behaved" => Ok(vec![Effect::line_discount(0, Money(1), "one fen")]),
            "gift" => Ok(vec![Effect::gift("tea-sample", 2, Money(1_500), "赠品")]),
            "foreign-coupon" => Ok(vec![
                Effect::line_discount(0, Money(100), "someone else's coupon")
                    .with_coupon("SOMEONE-ELSES"),
            ]),
            other => Err(format!("unknown mode {other}")),
        }
    }
}

plaza_plugin_sdk::export_rule!(Hostile);
