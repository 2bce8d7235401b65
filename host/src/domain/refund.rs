//! Cancelling an order and refunding it, whole or in part, exact to the fen: refunding k
//! of the r units still held on a line gives back `remaining × k / r`, and the last unit
//! whatever is left, so a line's refunds always add up to what was paid. Commission
//! reversals and budget releases follow the same rule. Each change is one transaction
//! over the order, its ledger entries and the counters it releases.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::budget::{AMOUNT, Bump, Counters, Refusal, apply_bumps, release, release_all};
use super::commit::CHECKOUT;
use super::idempotency::request_sha256;
use super::ledger::{self, LedgerEntry, LedgerKind, Movement};
use super::lifecycle::{self, OrderState};
use super::order::{Order, OrderStatus, Refund, RefundLine, RefundRequest, order_key, share};
use super::{Error, Plaza, Principal, check_id};
use crate::Money;
use crate::store::{Table, Tx, TxError, TxExt};

/// What a change to an order writes: its ledger entries and counter changes.
pub(super) type Change = (Vec<LedgerEntry>, Vec<Bump>);

/// The tables a change to an order writes.
pub(super) const CHANGE_TABLES: [Table; 4] =
    [Table::Orders, Table::Counters, Table::Ledger, Table::Timers];

/// Write a change to an order inside `tx`: its counter changes (or their refusal), the
/// order, its ledger entries, and its timers moved from what `before` needed to what
/// `order` needs.
pub(super) fn write_change(
    tx: &mut dyn Tx,
    tenant: &str,
    before: &Order,
    order: &Order,
    entries: &[LedgerEntry],
    bumps: &[Bump],
) -> Result<Result<(), Refusal>, TxError> {
    if let Err(refusal) = apply_bumps(tx, bumps)? {
        return Ok(Err(refusal));
    }
    lifecycle::move_timers(tx, tenant, before, order)?;
    tx.put_json(Table::Orders, &order_key(tenant, &order.id), order)?;
    ledger::append(tx, tenant, &order.id, entries)?;
    Ok(Ok(()))
}

impl Plaza {
    /// Cancel a placed order: everything is given back and reversed. Cancelling a
    /// cancelled order returns it unchanged.
    pub async fn cancel(&self, who: &Principal, id: &str) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "cancel orders")?.to_owned();
        self.change_order(&tenant, id, |order, now| {
            match order.status {
                OrderStatus::Cancelled => return Ok(None),
                OrderStatus::Placed => {}
                _ => {
                    return Err(Error::conflict(
                        "order_not_cancellable",
                        format!("order {id:?} has refunds; refund the rest instead"),
                    ));
                }
            }
            if matches!(
                order.state,
                OrderState::Shipped | OrderState::Received | OrderState::Completed
            ) {
                return Err(Error::conflict(
                    "order_not_cancellable",
                    format!(
                        "order {id:?} is {}; refund it instead",
                        order.state.as_str()
                    ),
                ));
            }
            Ok(Some(cancel_all(&tenant, order, OrderState::Cancelled, now)))
        })
        .await
    }

    /// Refund some units of some lines. A refund id seen before returns the order as it
    /// is (when the request is the same) or 409.
    pub async fn refund(
        &self,
        who: &Principal,
        id: &str,
        req: RefundRequest,
    ) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "refund orders")?.to_owned();
        check_id("refund_id", &req.refund_id)?;
        if req.lines.is_empty() {
            return Err(Error::Invalid {
                field: "lines".into(),
                message: "name at least one line".into(),
            });
        }
        let request_sha256 = request_sha256(&req);
        self.change_order(&tenant, id, |order, now| {
            if let Some(seen) = order.refunds.iter().find(|r| r.id == req.refund_id) {
                return if seen.request_sha256 == request_sha256 {
                    Ok(None)
                } else {
                    Err(Error::conflict(
                        "refund_id_reused",
                        format!(
                            "refund {:?} was made with a different request",
                            req.refund_id
                        ),
                    ))
                };
            }
            if order.status == OrderStatus::Cancelled {
                return Err(Error::conflict(
                    "order_cancelled",
                    format!("order {id:?} is cancelled"),
                ));
            }
            refund_lines(&tenant, order, &req, request_sha256.clone(), now).map(Some)
        })
        .await
    }

    /// Read, change and write one order with its ledger entries and counter changes in
    /// one transaction. `change` returns `None` when there is nothing to do.
    pub(super) async fn change_order(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut Order, i64) -> Result<Option<Change>, Error>,
    ) -> Result<Order, Error> {
        let okey = order_key(tenant, id);
        let now = self.now_ms();
        let mut refused = None;
        let mut done = None;
        let outcome = self.store.transact(&CHANGE_TABLES, |tx| {
            refused = None;
            let Some(mut order) = tx.get_json::<Order>(Table::Orders, &okey)? else {
                refused = Some(Error::not_found("order", id));
                return Err(TxError::Abort);
            };
            let before = order.clone();
            let (entries, bumps) = match change(&mut order, now) {
                Ok(Some(change)) => change,
                Ok(None) => {
                    done = Some(order);
                    return Ok(());
                }
                Err(e) => {
                    refused = Some(e);
                    return Err(TxError::Abort);
                }
            };
            if let Err(refusal) = write_change(tx, tenant, &before, &order, &entries, &bumps)? {
                refused = Some(self.refused(refusal));
                return Err(TxError::Abort);
            }
            done = Some(order);
            Ok(())
        });
        match (outcome, refused) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => {
                // A refusal may rest on a change another call wrote but has not yet
                // flushed (a refund of an order whose cancel is in flight): that change
                // is durable before the refusal is.
                self.flush_if_sync().await?;
                return Err(e);
            }
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        let order = done.expect("a committed change leaves its order");
        // Flushed whether or not this call changed anything: a replay that finds its
        // change already written may be answering before the call that wrote it has
        // flushed, and the answer promises the change is durable.
        self.flush_if_sync().await?;
        Ok(order)
    }
}

/// Give everything back and reverse everything: a cancel, or an expiry (`state`).
pub(super) fn cancel_all(tenant: &str, order: &mut Order, state: OrderState, now: i64) -> Change {
    let mut movements = Vec::new();
    for l in &mut order.lines {
        let amount = l.payable - l.refunded;
        l.refunded_quantity = l.quantity;
        l.refunded = l.payable;
        movements.push(Movement::new(
            LedgerKind::Refund,
            Some(&l.id),
            None,
            -amount,
        ));
    }
    refund_shipping(order, &mut movements);
    for c in &mut order.commissions {
        let left = c.amount - c.reversed;
        c.reversed = c.amount;
        movements.push(Movement::new(
            LedgerKind::CommissionReversed,
            Some(&c.line),
            Some(&c.payee),
            -left,
        ));
    }
    let mut bumps = Vec::new();
    for r in &mut order.reservations {
        if r.release.on_cancel {
            release_all(tenant, &order.plan.id, r, &mut bumps);
        }
    }
    order.status = OrderStatus::Cancelled;
    lifecycle::enter(order, state);
    let reference = order.id.clone();
    (ledger::number(order, &reference, movements, now), bumps)
}

fn refund_lines(
    tenant: &str,
    order: &mut Order,
    req: &RefundRequest,
    request_sha256: String,
    now: i64,
) -> Result<Change, Error> {
    let mut movements = Vec::new();
    let mut bumps = Vec::new();
    let mut lines = Vec::new();
    for (i, want) in req.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let Some(index) = order.lines.iter().position(|l| l.id == want.line) else {
            return Err(Error::Invalid {
                field: format!("{field}.line"),
                message: format!("order has no line {:?}", want.line),
            });
        };
        let line = &mut order.lines[index];
        let held = line.quantity - line.refunded_quantity;
        let k = want.quantity.unwrap_or(held);
        if k == 0 || k > held {
            return Err(Error::Invalid {
                field: format!("{field}.quantity"),
                message: format!("{k} units asked, {held} still refundable"),
            });
        }
        let amount = share(line.payable - line.refunded, k, held);
        line.refunded_quantity += k;
        line.refunded += amount;
        movements.push(Movement::new(
            LedgerKind::Refund,
            Some(&line.id),
            None,
            -amount,
        ));
        let mut reversed = Money::ZERO;
        for c in order.commissions.iter_mut().filter(|c| c.line == want.line) {
            let back = share(c.amount - c.reversed, k, held);
            c.reversed += back;
            reversed += back;
            movements.push(Movement::new(
                LedgerKind::CommissionReversed,
                Some(&c.line),
                Some(&c.payee),
                -back,
            ));
        }
        for r in order
            .reservations
            .iter_mut()
            .filter(|r| r.release.on_refund)
        {
            let back = share(r.line_shares[index], k, held);
            if back.0 != 0 {
                r.line_shares[index] -= back;
                r.released += back;
                let c = Counters::new(tenant, &order.plan.id, &r.step);
                bumps.push(release(c.key(AMOUNT, None), back, &r.step));
            }
        }
        lines.push(RefundLine {
            line: want.line.clone(),
            quantity: k,
            amount,
            commission_reversed: reversed,
        });
    }
    let everything = order
        .lines
        .iter()
        .all(|l| l.refunded_quantity == l.quantity);
    let mut shipping = Money::ZERO;
    if everything {
        shipping = refund_shipping(order, &mut movements);
        let plan = order.plan.id.clone();
        for r in order
            .reservations
            .iter_mut()
            .filter(|r| r.release.on_refund)
        {
            release_all(tenant, &plan, r, &mut bumps);
        }
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

/// Give back whatever shipping the order still holds; the amount given back.
fn refund_shipping(order: &mut Order, movements: &mut Vec<Movement>) -> Money {
    let shipping = order.shipping - order.shipping_refunded;
    order.shipping_refunded = order.shipping;
    movements.push(Movement::new(
        LedgerKind::ShippingRefund,
        None,
        None,
        -shipping,
    ));
    shipping
}
