//! The pipeline state a quote carries from step to step, applying an accepted step to it,
//! and turning the final state into the [`Quote`].
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::cart::Cart;
use super::dispose::{Delta, Waterfall};
use super::plan::{PreparedPlan, PreparedStep};
use super::points::{PointsUse, Spent};
use super::quote::*;
use crate::Money;

/// The pipeline state between steps.
pub(super) struct State {
    pub payable: Vec<Money>,
    pub shipping: Money,
    /// Lines some earlier step discounted (for exclusive stacking).
    pub discounted: Vec<bool>,
    pub adjustments: Vec<Vec<Adjustment>>,
    pub shipping_adjustments: Vec<Adjustment>,
    pub gifts: Vec<GiftLine>,
    pub commissions: Vec<CommissionLine>,
    pub coupons: Vec<String>,
    pub notes: Vec<Note>,
    pub waterfall: Waterfall,
    pub reports: Vec<StepReport>,
    pub fuel: u64,
    /// Points the steps spent so far.
    pub points: Spent,
}

impl State {
    /// The state before the first step: lines owing `payable`, shipping `shipping`, the
    /// commission paid so far in `waterfall`.
    pub(super) fn start(payable: Vec<Money>, shipping: Money, waterfall: Waterfall) -> State {
        let n = payable.len();
        State {
            payable,
            shipping,
            discounted: vec![false; n],
            adjustments: vec![Vec::new(); n],
            shipping_adjustments: Vec::new(),
            gifts: Vec::new(),
            commissions: Vec::new(),
            coupons: Vec::new(),
            notes: Vec::new(),
            waterfall,
            reports: Vec::new(),
            fuel: 0,
            points: Spent::default(),
        }
    }
}

pub(super) fn apply(ps: &PreparedStep, delta: Delta, st: &mut State, line_ids: &[&str]) {
    let step = &ps.step.id;
    st.points.points += delta.points.points;
    st.points.value += delta.points.value;
    for (line, a) in delta.line_discounts {
        st.payable[line] -= a.amount;
        st.discounted[line] = true;
        if let Some(code) = &a.coupon
            && !st.coupons.iter().any(|c| **c == **code)
        {
            st.coupons.push(code.to_string());
        }
        st.adjustments[line].push(a);
    }
    for a in delta.shipping_discounts {
        st.shipping -= a.amount;
        st.shipping_adjustments.push(a);
    }
    for c in delta.commissions {
        st.waterfall.record(&c);
        st.commissions.push(CommissionLine {
            step: step.clone(),
            line: line_ids[c.line].to_owned(),
            payer: c.payer.name(),
            payee: c.payee.name(),
            beneficiary: c.beneficiary,
            amount: c.amount,
            label: c.label,
            ledger: None,
        });
    }
    for g in delta.gifts {
        st.gifts.push(GiftLine {
            step: step.clone(),
            sku: g.sku,
            quantity: g.quantity,
            value: g.value,
            label: g.label,
        });
    }
}

pub(super) fn finish(plan: &PreparedPlan, cart: &Cart, st: State) -> Quote {
    let lines: Vec<QuotedLine> = cart
        .lines
        .iter()
        .zip(st.adjustments)
        .zip(&st.payable)
        .map(|((line, adjustments), payable)| QuotedLine {
            id: line.id.clone(),
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            original: line.original(),
            discount: line.original() - *payable,
            payable: *payable,
            adjustments,
        })
        .collect();
    let items = Amounts {
        original: lines.iter().map(|l| l.original).sum(),
        discount: lines.iter().map(|l| l.discount).sum(),
        payable: lines.iter().map(|l| l.payable).sum(),
    };
    let shipping = Amounts {
        original: cart.shipping_fee,
        discount: cart.shipping_fee - st.shipping,
        payable: st.shipping,
    };
    Quote {
        plan: PlanVersion {
            id: plan.id.clone(),
            version: plan.version,
        },
        lines,
        gifts: st.gifts,
        items,
        shipping,
        shipping_adjustments: st.shipping_adjustments,
        total: Amounts {
            original: items.original + shipping.original,
            discount: items.discount + shipping.discount,
            payable: items.payable + shipping.payable,
        },
        commissions: st.commissions,
        coupons_redeemed: st.coupons,
        notes: st.notes,
        explanation: st.reports,
        fuel: st.fuel,
        attribution: None,
        layers: Vec::new(),
        claims: Vec::new(),
        points: cart
            .points
            .filter(|_| st.points.points > 0)
            .map(|offer| PointsUse {
                points: st.points.points,
                value: st.points.value,
                balance: offer.balance,
            }),
    }
}
