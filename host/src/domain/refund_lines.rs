//! What a refund gives back, as shops refund: units of a line (they return), an amount of
//! a line (goods kept, money back: a price adjustment after the sale), shipping alone, or
//! everything the order still holds.
//!
//! One rule splits every part off exactly to the fen: giving back `part` of the `whole`
//! a line still holds (k of its r units, or an amount of the money it holds) gives back
//! `left × part / whole` of each thing that follows the line (its money, each commission
//! share, each budget reservation), rounded down, and all of what is left when the part
//! is the whole. So a line's refunds, in any mix of units and amounts, add up to exactly
//! what was paid, and its commission and budget follow to the fen.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::Error;
use super::budget::{AMOUNT, release, release_all, release_units};
use super::commission::OrderCommission;
use super::ledger::{self, LedgerKind, Movement};
use super::order::{
    Order, OrderStatus, Refund, RefundLine, RefundLineRequest, RefundRequest, portion,
};
use super::refund::{Change, refund_shipping, take_back};
use crate::Money;

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What a refund request must name, whatever the order holds.
pub(super) fn check_shape(req: &RefundRequest) -> Result<(), Error> {
    if req.all && (!req.lines.is_empty() || req.shipping.is_some()) {
        return Err(invalid(
            "all",
            "gives back everything left: name no lines or shipping with it",
        ));
    }
    if !req.all && req.lines.is_empty() && req.shipping.is_none() {
        return Err(invalid("lines", "name lines, shipping, or all"));
    }
    for (i, want) in req.lines.iter().enumerate() {
        match (want.quantity, want.amount) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("lines[{i}]"),
                    "refund units or an amount, not both",
                ));
            }
            (_, Some(a)) if a.0 <= 0 => {
                return Err(invalid(format!("lines[{i}].amount"), "must be positive"));
            }
            _ => {}
        }
    }
    if req.shipping.is_some_and(|s| s.0 <= 0) {
        return Err(invalid("shipping", "must be positive"));
    }
    Ok(())
}

/// Which part of a line a refund gives back.
#[derive(Clone, Copy)]
struct Part {
    part: i128,
    whole: i128,
}

impl Part {
    fn of(self, remaining: Money) -> Money {
        portion(remaining, self.part, self.whole)
    }
}

/// Apply `req` to `order` (see the module docs).
pub(super) fn refund(
    tenant: &str,
    order: &mut Order,
    req: &RefundRequest,
    request_sha256: String,
    now: i64,
) -> Result<Change, Error> {
    let wanted: Vec<RefundLineRequest> = if req.all {
        order
            .lines
            .iter()
            .filter(|l| l.refunded_quantity < l.quantity)
            .map(|l| RefundLineRequest {
                line: l.id.clone(),
                quantity: None,
                amount: None,
            })
            .collect()
    } else {
        req.lines.clone()
    };
    let mut movements = Vec::new();
    let mut bumps = Vec::new();
    let mut lines = Vec::new();
    for (i, want) in wanted.iter().enumerate() {
        let field = format!("lines[{i}]");
        let Some(index) = order.lines.iter().position(|l| l.id == want.line) else {
            return Err(invalid(
                format!("{field}.line"),
                format!("order has no line {:?}", want.line),
            ));
        };
        let line = &order.lines[index];
        let held = line.quantity - line.refunded_quantity;
        let left = line.payable - line.refunded;
        let (part, units) = match want.amount {
            Some(amount) if amount > left => {
                return Err(invalid(
                    format!("{field}.amount"),
                    format!("{amount} asked, {left} still refundable"),
                ));
            }
            Some(amount) => {
                let part = Part {
                    part: i128::from(amount.0),
                    whole: i128::from(left.0),
                };
                (part, 0)
            }
            None => {
                let k = want.quantity.unwrap_or(held);
                if k == 0 || k > held {
                    return Err(invalid(
                        format!("{field}.quantity"),
                        format!("{k} units asked, {held} still refundable"),
                    ));
                }
                let part = Part {
                    part: i128::from(k),
                    whole: i128::from(held),
                };
                (part, k)
            }
        };
        let amount = part.of(left);
        let line = &mut order.lines[index];
        line.refunded_quantity += units;
        line.refunded += amount;
        movements.push(Movement::money(LedgerKind::Refund, Some(&line.id), -amount));
        let mut reversed = Money::ZERO;
        for c in order.commissions.iter_mut().filter(|c| c.line == want.line) {
            let back = part.of(c.left());
            take_back(c, back, &mut movements);
            if c.ledger.is_none() {
                reversed += back;
            }
        }
        for (i, back) in passed_on_excess(&order.commissions, &want.line) {
            let c = &mut order.commissions[i];
            take_back(c, back, &mut movements);
            if c.ledger.is_none() {
                reversed += back;
            }
        }
        for r in order
            .reservations
            .iter_mut()
            .filter(|r| r.release.on_refund)
        {
            let back = part.of(r.line_shares[index]);
            if back.0 != 0 {
                r.line_shares[index] -= back;
                r.released += back;
                let c = r.counters(tenant, &order.plan.id);
                bumps.push(release(c.key(AMOUNT, None), back, &r.step));
                super::budget_day::release(&c, r, back, &mut bumps);
            }
            release_units((tenant, &order.plan.id), r, index, units, &mut bumps);
        }
        lines.push(RefundLine {
            line: want.line.clone(),
            quantity: units,
            amount,
            commission_reversed: reversed,
        });
    }
    let mut shipping = Money::ZERO;
    if let Some(asked) = req.shipping {
        let left = order.shipping - order.shipping_refunded;
        if asked > left {
            return Err(invalid(
                "shipping",
                format!("{asked} asked, {left} of the shipping still refundable"),
            ));
        }
        order.shipping_refunded += asked;
        movements.push(Movement::money(LedgerKind::ShippingRefund, None, -asked));
        shipping = asked;
    }
    let units_back = order
        .lines
        .iter()
        .all(|l| l.refunded_quantity == l.quantity);
    if units_back {
        // Every unit came back: so does the shipping.
        shipping += refund_shipping(order, &mut movements);
    }
    if lines.is_empty() && shipping.0 == 0 {
        return Err(invalid("all", "the order holds nothing more to refund"));
    }
    let money_back = order.lines.iter().all(|l| l.refunded == l.payable)
        && order.shipping_refunded == order.shipping;
    if units_back || money_back {
        let plan = order.plan.id.clone();
        for r in order
            .reservations
            .iter_mut()
            .filter(|r| r.release.on_refund)
        {
            release_all(tenant, &plan, r, &mut bumps);
        }
        super::coupons::redeem::give_back(tenant, &mut order.claims, &mut bumps);
        order.gifts.iter_mut().for_each(|g| g.returned = true);
        order.status = OrderStatus::Refunded;
    } else {
        order.status = OrderStatus::PartiallyRefunded;
    }
    let amount = lines.iter().map(|l| l.amount).sum::<Money>() + shipping;
    order.refunds.push(Refund {
        id: req.refund_id.clone(),
        lines,
        shipping,
        amount,
        at_ms: now,
        request_sha256,
    });
    let reference = req.refund_id.clone();
    Ok((ledger::number(order, &reference, movements, now), bumps))
}

/// What else to take back on `line` after each share was taken back in proportion,
/// rounded down on its own: a layer that passes money on could then keep 1 fen less than
/// it passes on. Until no payer on the line (other than the merchant) passes on more than
/// it keeps, the difference is taken back from what it passes on, the share keeping most
/// first (then the earliest). By index into `commissions`.
fn passed_on_excess(commissions: &[OrderCommission], line: &str) -> Vec<(usize, Money)> {
    let on_line: Vec<usize> = (0..commissions.len())
        .filter(|i| commissions[*i].line == line)
        .collect();
    let passes_on = |c: &OrderCommission| c.payer_party != super::commission::MERCHANT;
    let mut payers: Vec<&str> = (on_line.iter())
        .map(|i| &commissions[*i])
        .filter(|c| passes_on(c))
        .map(|c| c.payer.as_str())
        .collect();
    payers.sort_unstable();
    payers.dedup();
    let mut kept: Vec<Money> = commissions.iter().map(OrderCommission::left).collect();
    let mut extra: Vec<Money> = vec![Money::ZERO; commissions.len()];
    loop {
        let mut changed = false;
        for payer in &payers {
            let sum = |f: &dyn Fn(&OrderCommission) -> bool| -> Money {
                on_line
                    .iter()
                    .filter(|i| f(&commissions[**i]))
                    .map(|i| kept[*i])
                    .sum()
            };
            let keeps = sum(&|c| c.payee == *payer);
            let passed = sum(&|c| c.payer == *payer && passes_on(c));
            let Some(mut excess) = passed.checked_sub(keeps).filter(|e| e.0 > 0) else {
                continue;
            };
            let mut out: Vec<usize> = (on_line.iter().copied())
                .filter(|i| commissions[*i].payer == *payer && passes_on(&commissions[*i]))
                .collect();
            out.sort_by(|a, b| kept[*b].cmp(&kept[*a]).then(a.cmp(b)));
            for i in out {
                let take = excess.min(kept[i]);
                kept[i] -= take;
                extra[i] += take;
                excess -= take;
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
    (extra.into_iter().enumerate())
        .filter(|(_, m)| m.0 > 0)
        .collect()
}
