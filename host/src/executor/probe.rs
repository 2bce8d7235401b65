//! The anti-pyramid rules at plan save. Evaluation already refuses a commission that pays
//! a third upline level, pays on no sold line (paying for recruiting) or pays the buyer;
//! saving a plan probes for the same thing before any order meets it. Its commission steps
//! run once, outside their scope, window and budget, on a probe cart (one line, every
//! party of the chain named, a buyer of its own); a step whose proposal breaks one of those
//! rules refuses the save, naming the step. A plugin that pays only on carts unlike the
//! probe is still held to the rules at evaluation.

use super::cart::{Attribution, Buyer, Cart, CartLine, Channel};
use super::dispose::is_anti_pyramid;
use super::plan::{FailurePolicy, PlanError, PreparedPlan};
use super::quote::Outcome;
use super::run::{NoGate, quote_with};
use crate::Money;
use crate::sandbox::{Sandbox, StepError};
use plaza_plugin_sdk::Stage;

/// The buyer of the probe cart.
pub const PROBE_BUYER: &str = "probe-buyer";

fn probe_cart() -> Cart {
    let party = |role: &str| Some(format!("probe-{role}"));
    Cart {
        best_claims: false,
        lines: vec![CartLine {
            id: "probe-line".into(),
            sku: "probe-sku".into(),
            spu: None,
            merchant: "probe-merchant".into(),
            categories: vec!["probe".into()],
            tags: Vec::new(),
            quantity: 1,
            unit_price: Money(100_000),
        }],
        buyer: Buyer {
            id: PROBE_BUYER.into(),
            ..Buyer::default()
        },
        channel: Channel::LiveRoom,
        attribution: Attribution {
            promoter: party("promoter"),
            promoter_agency: party("promoter-agency"),
            creator: party("creator"),
            livestreamer: party("livestreamer"),
            carrying_agency: party("carrying-agency"),
            helper_agency: party("helper-agency"),
            share_link: party("share-link"),
        },
        coupon_codes: Vec::new(),
        claims: Vec::new(),
        gift: false,
        gift_recipients: 0,
        shipping_fee: Money::ZERO,
        now_ms: 0,
        points: None,
        utc_offset_minutes: None,
    }
}

/// Probe `plan`'s commission steps for the anti-pyramid rules.
pub fn anti_pyramid(sandbox: &Sandbox, plan: &PreparedPlan) -> Result<(), PlanError> {
    let mut probe = plan.clone();
    probe.on_failure = FailurePolicy::Skip;
    probe.steps.retain(|s| s.stage == Stage::Commission);
    if probe.steps.is_empty() {
        return Ok(());
    }
    for s in &mut probe.steps {
        s.step.scope = Default::default();
        s.step.window = None;
        s.step.budget = None;
        s.step.exclusive_group = None;
    }
    let Ok(quote) = quote_with(sandbox, &probe, &probe_cart(), &NoGate) else {
        return Ok(());
    };
    for report in quote.explanation {
        if let Outcome::Failed {
            error: StepError::InvariantBroken { violations },
        } = report.outcome
            && let Some(violation) = violations.into_iter().find(|v| is_anti_pyramid(v))
        {
            return Err(PlanError::PyramidRefused {
                step: report.step,
                violation,
            });
        }
    }
    Ok(())
}
