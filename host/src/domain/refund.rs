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

use super::budget::{Bump, Refusal, apply_bumps, release_all};
use super::commission::{self, CommissionState, OrderCommission};
use super::commit::CHECKOUT;
use super::idempotency::request_sha256;
use super::ledger::{self, LedgerEntry, LedgerKind, Movement};
use super::lifecycle::{self, OrderState};
use super::order::{Order, OrderStatus, RefundRequest};
use super::{Error, Plaza, Principal, check_id};
use crate::Money;
use crate::store::{Table, Tx, TxError};

/// What a change to an order writes: its ledger entries and counter changes.
pub(super) type Change = (Vec<LedgerEntry>, Vec<Bump>);

/// The tables a change to an order writes.
pub(super) const CHANGE_TABLES: [Table; 19] = [
    Table::Orders,
    Table::Counters,
    Table::Ledger,
    Table::Timers,
    commission::SHARE_TABLES[0],
    commission::SHARE_TABLES[1],
    commission::SHARE_TABLES[2],
    commission::SHARE_TABLES[3],
    commission::SHARE_TABLES[4],
    commission::SHARE_TABLES[5],
    commission::SHARE_TABLES[6],
    super::points::orders::TABLES[0],
    super::points::orders::TABLES[1],
    super::incentives::accrual::ACCRUAL_TABLES[0],
    super::incentives::accrual::ACCRUAL_TABLES[1],
    super::incentives::accrual::ACCRUAL_TABLES[2],
    super::incentives::accrual::ACCRUAL_TABLES[3],
    super::incentives::accrual::ACCRUAL_TABLES[4],
    super::incentives::accrual::ACCRUAL_TABLES[5],
];

/// Write a change to an order inside `tx` at `now`: its counter changes (or their
/// refusal), the points its new state moves, the order and its changed commission shares,
/// its ledger entries, and its timers moved from what `before` needed to what `order`
/// needs.
pub(super) fn write_change(
    tx: &mut dyn Tx,
    tenant: &str,
    before: &Order,
    order: &mut Order,
    (entries, bumps): (&[LedgerEntry], &[Bump]),
    now: i64,
) -> Result<Result<(), Refusal>, TxError> {
    if let Err(refusal) = apply_bumps(tx, bumps)? {
        return Ok(Err(refusal));
    }
    super::points::orders::sync(tx, tenant, order, now)?;
    super::incentives::accrual::on_change(tx, before, order, now)?;
    lifecycle::move_timers(tx, tenant, before, order)?;
    commission::put_order(tx, tenant, Some(before), order)?;
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
        super::refund_lines::check_shape(&req)?;
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
            super::refund_lines::refund(&tenant, order, &req, request_sha256.clone(), now).map(Some)
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
        let now = self.now_ms();
        let mut refused = None;
        let mut done = None;
        let outcome = self.store.transact(&CHANGE_TABLES, |tx| {
            refused = None;
            let Some(mut order) = commission::load_order(tx, tenant, id)? else {
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
            if let Err(refusal) =
                write_change(tx, tenant, &before, &mut order, (&entries, &bumps), now)?
            {
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
        movements.push(Movement::money(LedgerKind::Refund, Some(&l.id), -amount));
    }
    refund_shipping(order, &mut movements);
    for c in &mut order.commissions {
        let left = c.left();
        take_back(c, left, &mut movements);
    }
    let mut bumps = Vec::new();
    for r in &mut order.reservations {
        if r.release.on_cancel {
            release_all(tenant, &order.plan.id, r, &mut bumps);
        }
    }
    super::coupons::redeem::give_back(tenant, &mut order.claims, &mut bumps);
    order.gifts.iter_mut().for_each(|g| g.returned = true);
    super::gift_orders::cancel_waiting(order, now);
    order.status = OrderStatus::Cancelled;
    lifecycle::enter(order, state);
    let reference = order.id.clone();
    (ledger::number(order, &reference, movements, now), bumps)
}

/// Give back whatever shipping the order still holds; the amount given back.
pub(super) fn refund_shipping(order: &mut Order, movements: &mut Vec<Movement>) -> Money {
    let shipping = order.shipping - order.shipping_refunded;
    order.shipping_refunded = order.shipping;
    movements.push(Movement::money(LedgerKind::ShippingRefund, None, -shipping));
    shipping
}

/// Take `back` of a commission share back: reversed while it is unpaid, clawed back once a
/// settlement paid it (the payee then owes it on its balance).
pub(super) fn take_back(c: &mut OrderCommission, back: Money, movements: &mut Vec<Movement>) {
    let kind = if c.state == CommissionState::Settled {
        c.clawed_back += back;
        LedgerKind::CommissionClawback
    } else {
        c.reversed += back;
        LedgerKind::CommissionReversed
    };
    movements.push(Movement::commission(kind, c, -back));
}
