//! Quoting a cart through a prepared plan, stage by stage.
//!
//! Each stage sees the result of the one before. Item price is best-of per line (every
//! item-price step is judged against the same prices; each line keeps its best). In the
//! other stages steps stack in run order, except that the members of an exclusive group are
//! judged against the same state and only one is kept.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::cart::{Cart, CartError};
use super::dispose::{Context, Delta, Waterfall, dispose};
use super::plan::{
    GroupKeep, PreparedPlan, PreparedStep, STAGES, Stacking, ThresholdBase, stage_name,
};
use super::quote::*;
use super::select;
use super::state::{State, apply, finish};
use crate::Money;
use crate::sandbox::{Sandbox, StepError};
use plaza_plugin_sdk::Stage;
use plaza_plugin_sdk::wire::{StepFields, encode_step};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What the service around the executor decides per step: circuit breaking, budgets,
/// metrics. The executor stays pure; a quote with [`NoGate`] depends only on its inputs.
pub trait Gate {
    /// Before a step runs: an error fails the step without running the plugin.
    fn before(&self, _step: &PreparedStep) -> Result<(), StepError> {
        Ok(())
    }
    /// A step's accepted proposal, before it is kept: a reason holds it back.
    fn admit(&self, _step: &PreparedStep, _cart: &Cart, _proposal: &Proposal) -> Option<Reason> {
        None
    }
    /// After the plugin ran (or was refused by `before`).
    fn after(
        &self,
        _step: &PreparedStep,
        _fuel: u64,
        _elapsed: Duration,
        _error: Option<&StepError>,
    ) {
    }
}

/// No budgets, no breaker.
#[derive(Debug, Clone, Copy)]
pub struct NoGate;

impl Gate for NoGate {}

/// What an accepted step would give away, for budget checks.
#[derive(Debug)]
pub struct Proposal<'a> {
    /// Discount plus commission.
    pub amount: Money,
    /// Coupon codes the step would redeem.
    pub coupons: Vec<&'a str>,
    /// Units of the lines the step would adjust.
    pub units: u64,
    /// Units of the free gifts it would give.
    pub gift_units: u64,
}

/// Why a quote could not be produced at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuoteError {
    #[error("invalid cart: {0}")]
    Cart(#[from] CartError),
    #[error("the cart is {size} bytes as rule input; the limit is {limit}")]
    InputTooLarge { size: usize, limit: usize },
    #[error("step {step} failed and the plan fails closed: {error}")]
    StepFailed { step: String, error: StepError },
}

/// One step's run, before the stage decides whether it is kept.
struct Run {
    fuel: u64,
    log: String,
    log_truncated: bool,
    result: Result<Delta, StepError>,
    /// Why the gate holds an accepted proposal back.
    held: Option<Reason>,
}

impl Run {
    fn applies(&self) -> bool {
        self.held.is_none() && matches!(&self.result, Ok(d) if d.applies())
    }
}

enum StepRun {
    Skipped(Reason),
    Ran(Run),
}

/// Quote `cart` through `plan`. Read-only and deterministic.
pub fn quote(sandbox: &Sandbox, plan: &PreparedPlan, cart: &Cart) -> Result<Quote, QuoteError> {
    quote_with(sandbox, plan, cart, &NoGate)
}

/// Quote with `gate` deciding on budgets and broken plugins.
pub fn quote_with(
    sandbox: &Sandbox,
    plan: &PreparedPlan,
    cart: &Cart,
    gate: &dyn Gate,
) -> Result<Quote, QuoteError> {
    cart.validate()?;
    // The cart is encoded once per quote; each step adds only its own few bytes.
    let encoded = cart.encode();
    let size = encoded.len();
    let limit = sandbox.limits().max_input_bytes;
    if size > limit {
        return Err(QuoteError::InputTooLarge { size, limit });
    }
    let line_ids: Vec<&str> = cart.lines.iter().map(|l| &*l.id).collect();
    let mut st = State::start(
        cart.lines.iter().map(|l| l.original()).collect(),
        cart.shipping_fee,
        Waterfall::default(),
    );
    st.reports.reserve(plan.steps.len());
    let exec = Exec {
        sandbox,
        plan,
        cart,
        encoded: &encoded,
        line_ids: &line_ids,
        gate,
        layer: None,
    };
    let mut input = Vec::new();

    for stage in STAGES {
        let steps: Vec<&PreparedStep> = plan.steps.iter().filter(|s| s.stage == stage).collect();
        if stage == Stage::ItemPrice {
            if !steps.is_empty() {
                exec.best_of(&steps, &mut st, &mut input)?;
            }
            continue;
        }
        exec.stage(&steps, &mut st, &mut input)?;
    }
    Ok(finish(plan, cart, st))
}

pub(super) struct Exec<'a> {
    pub sandbox: &'a Sandbox,
    pub plan: &'a PreparedPlan,
    pub cart: &'a Cart,
    /// The cart as the rule contract encodes it.
    pub encoded: &'a [u8],
    pub line_ids: &'a [&'a str],
    pub gate: &'a dyn Gate,
    /// In another tenant's layer: the lines it carries and whose money it spends.
    pub layer: Option<&'a super::layer::Layer>,
}

impl Exec<'_> {
    /// Run the steps of one stage (not item price): each exclusive group keeps one member.
    pub(super) fn stage(
        &self,
        steps: &[&PreparedStep],
        st: &mut State,
        input: &mut Vec<u8>,
    ) -> Result<(), QuoteError> {
        let mut done = vec![false; steps.len()];
        for i in 0..steps.len() {
            if done[i] {
                continue;
            }
            let members: Vec<usize> = match &steps[i].step.exclusive_group {
                None => vec![i],
                Some(g) => (i..steps.len())
                    .filter(|&j| {
                        steps[j]
                            .step
                            .exclusive_group
                            .as_ref()
                            .is_some_and(|o| o.name == g.name)
                    })
                    .collect(),
            };
            for &j in &members {
                done[j] = true;
            }
            let group: Vec<&PreparedStep> = members.iter().map(|&j| steps[j]).collect();
            self.group(&group, st, input)?;
        }
        Ok(())
    }

    /// Run one step against the current state, without applying it.
    fn run(&self, ps: &PreparedStep, st: &State, input: &mut Vec<u8>) -> StepRun {
        let step = &ps.step;
        let offset =
            (self.cart.utc_offset_minutes).unwrap_or(super::window::DEFAULT_UTC_OFFSET_MINUTES);
        if step
            .window
            .is_some_and(|w| !w.contains(self.cart.now_ms, offset))
        {
            return StepRun::Skipped(Reason::OutsideWindow);
        }
        match step.scope.cart_excluded(self.cart) {
            Some("channel") => return StepRun::Skipped(Reason::ChannelNotInScope),
            Some(_) => return StepRun::Skipped(Reason::AudienceNotInScope),
            None => {}
        }
        let exclusive = step.stacking == Stacking::Exclusive;
        let visible: Vec<usize> = (0..self.cart.lines.len())
            .filter(|&i| {
                step.scope.covers(&self.cart.lines[i])
                    && !(exclusive && st.discounted[i])
                    && self.layer.is_none_or(|l| l.lines[i])
            })
            .collect();
        if visible.is_empty() {
            return StepRun::Skipped(Reason::NoLinesInScope);
        }
        let payable: Vec<i64> = visible.iter().map(|&i| st.payable[i].0).collect();
        // Checked: a validated cart totals inside i64 (`cart::MAX_CART_TOTAL`).
        let items: Money = visible.iter().map(|&i| st.payable[i]).sum();
        // Line indices fit u32: a cart has at most `cart::MAX_LINES` lines.
        #[allow(clippy::cast_possible_truncation)]
        let indices: Vec<u32> = visible.iter().map(|&i| i as u32).collect();
        encode_step(
            &StepFields {
                visible: &indices,
                payable: &payable,
                shipping: st.shipping.0,
                order_total: (items + st.shipping).0,
                threshold_base: match step.threshold_base {
                    ThresholdBase::Original => plaza_plugin_sdk::ThresholdBase::Original,
                    ThresholdBase::Current => plaza_plugin_sdk::ThresholdBase::Current,
                },
                config: &ps.config_json,
            },
            input,
        );
        if let Err(error) = self.gate.before(ps) {
            self.gate.after(ps, 0, Duration::ZERO, Some(&error));
            return StepRun::Ran(Run {
                fuel: 0,
                log: String::new(),
                log_truncated: false,
                result: Err(error),
                held: None,
            });
        }
        let started = Instant::now();
        let evaluation = self.sandbox.evaluate(&ps.plugin, self.encoded, input);
        let result = evaluation.result.and_then(|effects| {
            let cx = Context {
                step: &step.id,
                stage: ps.stage,
                visible: &visible,
                payable: &st.payable,
                shipping: st.shipping,
                line_ids: self.line_ids,
                waterfall: &st.waterfall,
                presented: &self.cart.coupon_codes,
                buyer: &self.cart.buyer.id,
                payers: self.layer.map(|l| l.payers.as_slice()),
                points: self.cart.points.as_ref().filter(|_| self.layer.is_none()),
                points_spent: st.points,
            };
            dispose(&cx, effects)
        });
        self.gate.after(
            ps,
            evaluation.fuel,
            started.elapsed(),
            result.as_ref().err(),
        );
        let held = match &result {
            Ok(delta) if delta.applies() => {
                let coupons = delta
                    .line_discounts
                    .iter()
                    .map(|(_, a)| a)
                    .chain(&delta.shipping_discounts)
                    .filter_map(|a| a.coupon.as_deref())
                    .collect();
                let mut lines: Vec<usize> = delta.line_discounts.iter().map(|(i, _)| *i).collect();
                lines.sort_unstable();
                lines.dedup();
                let units = (lines.iter())
                    .filter_map(|i| self.cart.lines.get(*i))
                    .map(|l| u64::from(l.quantity))
                    .sum();
                let proposal = Proposal {
                    amount: delta.discount() + delta.commission(),
                    coupons,
                    units,
                    gift_units: delta.gifts.iter().map(|g| u64::from(g.quantity)).sum(),
                };
                self.gate.admit(ps, self.cart, &proposal)
            }
            _ => None,
        };
        StepRun::Ran(Run {
            fuel: evaluation.fuel,
            log: evaluation.log,
            log_truncated: evaluation.log_truncated,
            result,
            held,
        })
    }

    /// Run the members of one exclusive group (or a lone step) and keep one.
    fn group(
        &self,
        members: &[&PreparedStep],
        st: &mut State,
        input: &mut Vec<u8>,
    ) -> Result<(), QuoteError> {
        let runs: Vec<StepRun> = members.iter().map(|ps| self.run(ps, st, input)).collect();
        let keep = members[0]
            .step
            .exclusive_group
            .as_ref()
            .map_or(GroupKeep::First, |g| g.keep);
        let values: Vec<Option<Money>> = runs
            .iter()
            .map(|r| match r {
                StepRun::Ran(run @ Run { result: Ok(d), .. }) if run.applies() => {
                    Some(d.discount() + d.commission())
                }
                _ => None,
            })
            .collect();
        let kept = select::group_member(keep, &values);
        for (i, (ps, run)) in members.iter().zip(runs).enumerate() {
            let excluded = match (kept, &ps.step.exclusive_group) {
                (Some(k), Some(g)) if k != i => Some(Reason::ExcludedByGroup {
                    group: g.name.clone(),
                    kept: members[k].step.id.clone(),
                }),
                _ => None,
            };
            self.settle(ps, run, excluded, st, |_| true)?;
        }
        Ok(())
    }

    /// Item price: every step sees the same prices; each line keeps the biggest discount.
    fn best_of(
        &self,
        steps: &[&PreparedStep],
        st: &mut State,
        input: &mut Vec<u8>,
    ) -> Result<(), QuoteError> {
        let runs: Vec<StepRun> = steps.iter().map(|ps| self.run(ps, st, input)).collect();
        let offers: Vec<Option<Vec<(usize, Money)>>> = runs
            .iter()
            .map(|run| match run {
                StepRun::Ran(Run {
                    result: Ok(delta),
                    held: None,
                    ..
                }) => Some(
                    delta
                        .line_discounts
                        .iter()
                        .map(|(line, a)| (*line, a.amount))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        let winner = select::best_per_line(self.cart.lines.len(), &offers);
        for (s, (ps, run)) in steps.iter().zip(runs).enumerate() {
            let proposed_any = matches!(&run, StepRun::Ran(Run { result: Ok(d), held: None, .. }) if !d.line_discounts.is_empty());
            let won_any = winner.iter().any(|w| w.is_some_and(|(ws, _)| ws == s));
            let superseded = (proposed_any && !won_any).then(|| {
                let by = winner.iter().flatten().next().map_or(0, |(ws, _)| *ws);
                Reason::Superseded {
                    by: steps[by].step.id.clone(),
                }
            });
            self.settle(ps, run, superseded, st, |line| {
                winner[line].is_some_and(|(ws, _)| ws == s)
            })?;
        }
        Ok(())
    }

    /// Record a step's outcome and, unless `excluded`, apply its delta (line discounts only
    /// on lines `keep_line` accepts).
    fn settle(
        &self,
        ps: &PreparedStep,
        run: StepRun,
        excluded: Option<Reason>,
        st: &mut State,
        keep_line: impl Fn(usize) -> bool,
    ) -> Result<(), QuoteError> {
        let mut report = StepReport {
            step: ps.step.id.clone(),
            plugin: ps.plugin_label.clone(),
            stage: stage_name(ps.stage),
            outcome: Outcome::Applied,
            fuel: 0,
            discount: Money::ZERO,
            commission: Money::ZERO,
            clipped: Vec::new(),
            log: String::new(),
            log_truncated: false,
        };
        let run = match run {
            StepRun::Skipped(reason) => {
                report.outcome = Outcome::NotApplied { reason };
                st.reports.push(report);
                return Ok(());
            }
            StepRun::Ran(run) => run,
        };
        report.fuel = run.fuel;
        report.log = run.log;
        report.log_truncated = run.log_truncated;
        st.fuel += run.fuel;
        let mut delta = match run.result {
            Ok(delta) => delta,
            Err(error) => {
                if self.plan.on_failure == super::plan::FailurePolicy::FailClosed {
                    return Err(QuoteError::StepFailed {
                        step: ps.step.id.clone(),
                        error,
                    });
                }
                report.outcome = Outcome::Failed { error };
                st.reports.push(report);
                return Ok(());
            }
        };
        delta.line_discounts.retain(|(line, _)| keep_line(*line));
        let notes = std::mem::take(&mut delta.notes);
        st.notes.extend(notes.into_iter().map(|text| Note {
            step: ps.step.id.clone(),
            text,
        }));
        report.outcome = match excluded.or(run.held) {
            Some(reason) => Outcome::NotApplied { reason },
            None if !delta.applies() => Outcome::NotApplied {
                reason: Reason::NoEffect,
            },
            None => Outcome::Applied,
        };
        if report.outcome == Outcome::Applied {
            report.discount = delta.discount();
            report.commission = delta.commission();
            report.clipped = std::mem::take(&mut delta.clipped);
            apply(ps, delta, st, self.line_ids);
        } else if matches!(
            report.outcome,
            Outcome::NotApplied {
                reason: Reason::NoEffect
            }
        ) {
            // Clipped to nothing: the clip is why.
            report.clipped = delta.clipped;
        }
        st.reports.push(report);
        Ok(())
    }
}
