//! Orders: commit (idempotent by order id, reserving budgets atomically), cancel and
//! refunds (full or partial, per line), each writing its ledger entries in the same
//! transaction as the order.
//!
//! Every split is exact to the fen: refunding k of the r units still held on a line gives
//! back `remaining × k / r` (rounded down), and the last unit gives back whatever is left,
//! so a line's refunds always add up to what was paid. Commission reversals and budget
//! releases follow the same rule.

use super::budget::{AMOUNT, BUYER, COUPON, Counters, ORDERS};
use super::ledger::{LedgerEntry, LedgerKind, entry_key};
use super::{Error, Plaza, Principal, Role, check_id, now_ms};
use crate::Money;
use crate::executor::quote::PlanVersion;
use crate::executor::{self, BudgetLimit, Cart, Outcome, Quote, Release};
use crate::store::{self, encode, key};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The checkout's order id: committing it again returns the same order.
    pub order_id: String,
    /// The plan whose active version prices the order.
    pub plan: String,
    pub cart: Cart,
    /// What the buyer was shown; if the order now costs something else, nothing is
    /// committed and the answer is 409 `price_changed`.
    #[serde(default)]
    pub expected_payable: Option<Money>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub plan: PlanVersion,
    pub status: OrderStatus,
    pub created_ms: i64,
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub shipping_refunded: Money,
    pub commissions: Vec<OrderCommission>,
    pub reservations: Vec<Reservation>,
    pub refunds: Vec<Refund>,
    /// The pricing as committed, with its explanation.
    #[schema(value_type = Object)]
    pub quote: serde_json::Value,
    pub cart: Cart,
    /// sha256 of the commit request: a replay must match it.
    pub request_sha256: String,
    /// Ledger entries written so far.
    pub ledger_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub id: String,
    pub quantity: u32,
    pub refunded_quantity: u32,
    pub payable: Money,
    pub refunded: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderCommission {
    pub step: String,
    pub line: String,
    pub payee: String,
    pub amount: Money,
    pub reversed: Money,
}

/// What one budgeted step reserved for this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub step: String,
    /// Money reserved (the step's discount plus commission).
    pub amount: Money,
    pub released: Money,
    /// The unreleased share of `amount` on each order line.
    pub line_shares: Vec<Money>,
    /// Count counters reserved (+1 each): `orders`, `buyer/<id>`, `coupon/<code>`.
    pub counts: Vec<(String, Option<String>)>,
    pub counts_released: bool,
    pub release: Release,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: String,
    pub lines: Vec<RefundLine>,
    pub shipping: Money,
    pub amount: Money,
    pub at_ms: i64,
    pub request_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundLine {
    pub line: String,
    pub quantity: u32,
    pub amount: Money,
    pub commission_reversed: Money,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Idempotency key of the refund within the order.
    pub refund_id: String,
    pub lines: Vec<RefundLineRequest>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineRequest {
    pub line: String,
    /// Units to refund; all units still held when absent.
    #[serde(default)]
    pub quantity: Option<u32>,
}

/// A counter change inside an order transaction.
struct Bump {
    key: Vec<u8>,
    delta: i64,
    /// The counter may not exceed this after the change.
    max: Option<i64>,
    step: String,
    limit: BudgetLimit,
}

/// Why an order transaction stopped.
enum Abort {
    Exists(Box<Order>),
    Budget { step: String, limit: BudgetLimit },
    Refused(Box<Error>),
}

fn refused(e: Error) -> Abort {
    Abort::Refused(Box::new(e))
}

type TxResult<T> = Result<T, ConflictableTransactionError<Abort>>;

const CHECKOUT: &[Role] = &[Role::Admin, Role::Checkout];

fn order_key(tenant: &str, order: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), order.as_bytes()])
}

fn sha256_json<T: Serialize>(value: &T) -> String {
    hex::encode(Sha256::digest(encode(value)))
}

/// `remaining × k / r`, and everything left when `k == r`.
fn share(remaining: Money, k: u32, r: u32) -> Money {
    if k >= r || r == 0 {
        remaining
    } else {
        Money((i128::from(remaining.0) * i128::from(k) / i128::from(r)) as i64)
    }
}

impl Plaza {
    /// Commit an order. Returns the order and whether this call created it (false: a
    /// replay of an identical request, which changes nothing).
    pub async fn commit(
        &self,
        who: &Principal,
        req: CommitRequest,
    ) -> Result<(Order, bool), Error> {
        let tenant = who.tenant(CHECKOUT, "commit orders")?.to_owned();
        check_id("order_id", &req.order_id)?;
        let request_sha256 = sha256_json(&req);
        let okey = order_key(&tenant, &req.order_id);
        if let Some(existing) = store::get::<Order>(&self.store.orders, &okey)? {
            return replay(existing, &request_sha256);
        }
        let prepared = self.active_plan(&tenant, &req.plan)?;
        let gate = super::budget::ServiceGate::new(self, &tenant, &req.plan, &req.cart.buyer.id);
        let quote = executor::quote_with(&self.sandbox, &prepared, &req.cart, &gate)?;
        if let Some(expected) = req.expected_payable
            && expected != quote.total.payable
        {
            return Err(Error::PriceChanged {
                expected,
                actual: quote.total.payable,
            });
        }
        let now = now_ms();
        let (reservations, bumps) = reserve(&tenant, &req, &prepared, &quote);
        let mut order = Order {
            id: req.order_id.clone(),
            plan: quote.plan.clone(),
            status: OrderStatus::Placed,
            created_ms: now,
            lines: quote
                .lines
                .iter()
                .map(|l| OrderLine {
                    id: l.id.clone(),
                    quantity: l.quantity,
                    refunded_quantity: 0,
                    payable: l.payable,
                    refunded: Money::ZERO,
                })
                .collect(),
            shipping: quote.shipping.payable,
            shipping_refunded: Money::ZERO,
            commissions: quote
                .commissions
                .iter()
                .map(|c| OrderCommission {
                    step: c.step.clone(),
                    line: c.line.clone(),
                    payee: c.beneficiary.clone(),
                    amount: c.amount,
                    reversed: Money::ZERO,
                })
                .collect(),
            reservations,
            refunds: Vec::new(),
            quote: serde_json::to_value(&quote).map_err(|e| Error::Internal(e.to_string()))?,
            cart: req.cart,
            request_sha256: request_sha256.clone(),
            ledger_entries: 0,
        };
        let mut entries = Vec::new();
        for l in &order.lines {
            entries.push((LedgerKind::Sale, Some(l.id.clone()), None, l.payable));
        }
        if order.shipping.0 > 0 {
            entries.push((LedgerKind::Shipping, None, None, order.shipping));
        }
        for c in &order.commissions {
            entries.push((
                LedgerKind::CommissionPending,
                Some(c.line.clone()),
                Some(c.payee.clone()),
                c.amount,
            ));
        }
        let reference = order.id.clone();
        let entries = ledger_entries(&mut order, &reference, entries, now);
        let s = &self.store;
        let outcome =
            (&s.orders, &s.counters, &s.ledger).transaction(|(orders, counters, ledger)| {
                if let Some(existing) = orders.get(&okey)? {
                    let existing: Order = store::decode(&okey, &existing)
                        .map_err(|e| ConflictableTransactionError::Abort(refused(e.into())))?;
                    return Err(ConflictableTransactionError::Abort(Abort::Exists(
                        Box::new(existing),
                    )));
                }
                apply_bumps(counters, &bumps)?;
                orders.insert(okey.as_slice(), encode(&order))?;
                write_entries(ledger, &tenant, &order.id, &entries)?;
                Ok(())
            });
        match outcome {
            Ok(()) => {}
            Err(TransactionError::Abort(Abort::Exists(existing))) => {
                return replay(*existing, &request_sha256);
            }
            Err(TransactionError::Abort(Abort::Budget { step, limit })) => {
                self.metrics.budget_rejection(limit.as_str());
                return Err(Error::BudgetExhausted { step, limit });
            }
            Err(TransactionError::Abort(Abort::Refused(e))) => return Err(*e),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        if self.settings.sync_writes {
            self.store.flush().await?;
        }
        self.metrics.orders_committed.inc();
        Ok((order, true))
    }

    pub fn order(&self, who: &Principal, id: &str) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "read orders")?;
        store::get(&self.store.orders, &order_key(tenant, id))?
            .ok_or_else(|| Error::not_found("order", id))
    }

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
            let mut entries = Vec::new();
            for l in &mut order.lines {
                let amount = l.payable - l.refunded;
                l.refunded_quantity = l.quantity;
                l.refunded = l.payable;
                entries.push((LedgerKind::Refund, Some(l.id.clone()), None, -amount));
            }
            if order.shipping.0 > 0 {
                order.shipping_refunded = order.shipping;
                entries.push((LedgerKind::ShippingRefund, None, None, -order.shipping));
            }
            for c in &mut order.commissions {
                let left = c.amount - c.reversed;
                c.reversed = c.amount;
                entries.push((
                    LedgerKind::CommissionReversed,
                    Some(c.line.clone()),
                    Some(c.payee.clone()),
                    -left,
                ));
            }
            let mut bumps = Vec::new();
            for r in &mut order.reservations {
                if r.release.on_cancel {
                    release_all(&tenant, &order.plan.id, r, &mut bumps);
                }
            }
            order.status = OrderStatus::Cancelled;
            let reference = order.id.clone();
            Ok(Some((
                ledger_entries(order, &reference, entries, now),
                bumps,
            )))
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
        let request_sha256 = sha256_json(&req);
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
    async fn change_order(
        &self,
        tenant: &str,
        id: &str,
        change: impl Fn(&mut Order, i64) -> Result<Option<(Vec<LedgerEntry>, Vec<Bump>)>, Error>,
    ) -> Result<Order, Error> {
        let okey = order_key(tenant, id);
        let now = now_ms();
        let s = &self.store;
        let outcome =
            (&s.orders, &s.counters, &s.ledger).transaction(|(orders, counters, ledger)| {
                let Some(bytes) = orders.get(&okey)? else {
                    return Err(ConflictableTransactionError::Abort(refused(
                        Error::not_found("order", id),
                    )));
                };
                let mut order: Order = store::decode(&okey, &bytes)
                    .map_err(|e| ConflictableTransactionError::Abort(refused(e.into())))?;
                let Some((entries, bumps)) = change(&mut order, now)
                    .map_err(|e| ConflictableTransactionError::Abort(refused(e)))?
                else {
                    return Ok((order, false));
                };
                apply_bumps(counters, &bumps)?;
                orders.insert(okey.as_slice(), encode(&order))?;
                write_entries(ledger, tenant, id, &entries)?;
                Ok((order, true))
            });
        let (order, changed) = match outcome {
            Ok(done) => done,
            Err(TransactionError::Abort(Abort::Refused(e))) => return Err(*e),
            Err(TransactionError::Abort(Abort::Exists(_) | Abort::Budget { .. })) => {
                return Err(Error::Internal(
                    "releasing a budget cannot exceed it".into(),
                ));
            }
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        };
        if changed && self.settings.sync_writes {
            self.store.flush().await?;
        }
        Ok(order)
    }
}

fn replay(existing: Order, request_sha256: &str) -> Result<(Order, bool), Error> {
    if existing.request_sha256 == request_sha256 {
        Ok((existing, false))
    } else {
        Err(Error::conflict(
            "order_id_reused",
            format!(
                "order {:?} was committed with a different request",
                existing.id
            ),
        ))
    }
}

/// The reservations of every applied step with a budget, and the counter changes.
fn reserve(
    tenant: &str,
    req: &CommitRequest,
    plan: &executor::PreparedPlan,
    quote: &Quote,
) -> (Vec<Reservation>, Vec<Bump>) {
    let mut reservations = Vec::new();
    let mut bumps = Vec::new();
    for report in &quote.explanation {
        if report.outcome != Outcome::Applied {
            continue;
        }
        let Some(step) = plan.steps.iter().find(|s| s.step.id == report.step) else {
            continue;
        };
        let Some(budget) = &step.step.budget else {
            continue;
        };
        let c = Counters::new(tenant, &req.plan, &report.step);
        let amount = report.discount + report.commission;
        let line_shares: Vec<Money> = quote
            .lines
            .iter()
            .map(|l| {
                let discount: Money = l
                    .adjustments
                    .iter()
                    .filter(|a| a.step == report.step)
                    .map(|a| a.amount)
                    .sum();
                let commission: Money = quote
                    .commissions
                    .iter()
                    .filter(|k| k.step == report.step && k.line == l.id)
                    .map(|k| k.amount)
                    .sum();
                discount + commission
            })
            .collect();
        let max = |m: Option<u64>| m.map(|m| m as i64);
        let mut counts = vec![(ORDERS.to_owned(), None)];
        bumps.push(Bump {
            key: c.key(ORDERS, None),
            delta: 1,
            max: max(budget.max_orders),
            step: report.step.clone(),
            limit: BudgetLimit::Orders,
        });
        bumps.push(Bump {
            key: c.key(AMOUNT, None),
            delta: amount.0,
            max: budget.max_amount.map(|m| m.0),
            step: report.step.clone(),
            limit: BudgetLimit::Amount,
        });
        if budget.max_orders_per_buyer.is_some() {
            counts.push((BUYER.to_owned(), Some(req.cart.buyer.id.clone())));
            bumps.push(Bump {
                key: c.key(BUYER, Some(&req.cart.buyer.id)),
                delta: 1,
                max: max(budget.max_orders_per_buyer),
                step: report.step.clone(),
                limit: BudgetLimit::PerBuyer,
            });
        }
        if budget.max_orders_per_coupon.is_some() {
            let mut codes: Vec<&str> = quote
                .lines
                .iter()
                .flat_map(|l| &l.adjustments)
                .chain(&quote.shipping_adjustments)
                .filter(|a| a.step == report.step)
                .filter_map(|a| a.coupon.as_deref())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                counts.push((COUPON.to_owned(), Some(code.to_owned())));
                bumps.push(Bump {
                    key: c.key(COUPON, Some(code)),
                    delta: 1,
                    max: max(budget.max_orders_per_coupon),
                    step: report.step.clone(),
                    limit: BudgetLimit::PerCoupon,
                });
            }
        }
        reservations.push(Reservation {
            step: report.step.clone(),
            amount,
            released: Money::ZERO,
            line_shares,
            counts,
            counts_released: false,
            release: budget.release,
        });
    }
    (reservations, bumps)
}

fn apply_bumps(counters: &TransactionalTree, bumps: &[Bump]) -> TxResult<()> {
    for b in bumps {
        let now = store::counter(counters.get(&b.key)?.as_deref());
        let next = now + b.delta;
        if b.delta > 0 && b.max.is_some_and(|max| next > max) {
            return Err(ConflictableTransactionError::Abort(Abort::Budget {
                step: b.step.clone(),
                limit: b.limit,
            }));
        }
        counters.insert(b.key.as_slice(), &next.to_be_bytes())?;
    }
    Ok(())
}

fn write_entries(
    ledger: &TransactionalTree,
    tenant: &str,
    order: &str,
    entries: &[LedgerEntry],
) -> TxResult<()> {
    for e in entries {
        ledger.insert(entry_key(tenant, order, e.seq), encode(e))?;
    }
    Ok(())
}

/// Number new ledger entries after the order's last one.
fn ledger_entries(
    order: &mut Order,
    reference: &str,
    entries: Vec<(LedgerKind, Option<String>, Option<String>, Money)>,
    at_ms: i64,
) -> Vec<LedgerEntry> {
    entries
        .into_iter()
        .filter(|(_, _, _, amount)| amount.0 != 0)
        .map(|(kind, line, party, amount)| {
            order.ledger_entries += 1;
            LedgerEntry {
                seq: order.ledger_entries,
                kind,
                line,
                party,
                amount,
                reference: reference.to_owned(),
                at_ms,
            }
        })
        .collect()
}

/// Give back everything a reservation still holds.
fn release_all(tenant: &str, plan: &str, r: &mut Reservation, bumps: &mut Vec<Bump>) {
    let c = Counters::new(tenant, plan, &r.step);
    let left = r.amount - r.released;
    if left.0 != 0 {
        bumps.push(release(c.key(AMOUNT, None), left.0, &r.step));
    }
    r.released = r.amount;
    r.line_shares.iter_mut().for_each(|s| *s = Money::ZERO);
    if !r.counts_released {
        for (limit, subject) in &r.counts {
            bumps.push(release(c.key(limit, subject.as_deref()), 1, &r.step));
        }
        r.counts_released = true;
    }
}

fn release(key: Vec<u8>, amount: i64, step: &str) -> Bump {
    Bump {
        key,
        delta: -amount,
        max: None,
        step: step.to_owned(),
        limit: BudgetLimit::Amount,
    }
}

fn refund_lines(
    tenant: &str,
    order: &mut Order,
    req: &RefundRequest,
    request_sha256: String,
    now: i64,
) -> Result<(Vec<LedgerEntry>, Vec<Bump>), Error> {
    let mut entries = Vec::new();
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
        entries.push((LedgerKind::Refund, Some(line.id.clone()), None, -amount));
        let mut reversed = Money::ZERO;
        for c in order.commissions.iter_mut().filter(|c| c.line == want.line) {
            let back = share(c.amount - c.reversed, k, held);
            c.reversed += back;
            reversed += back;
            entries.push((
                LedgerKind::CommissionReversed,
                Some(c.line.clone()),
                Some(c.payee.clone()),
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
                bumps.push(release(c.key(AMOUNT, None), back.0, &r.step));
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
        shipping = order.shipping - order.shipping_refunded;
        order.shipping_refunded = order.shipping;
        entries.push((LedgerKind::ShippingRefund, None, None, -shipping));
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
    Ok((ledger_entries(order, &reference, entries, now), bumps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_successive_partial_refunds_add_up_to_the_whole() {
        let mut left = Money(1001);
        let mut held = 3;
        let mut paid_back = Money::ZERO;
        for k in [1, 1, 1] {
            let back = share(left, k, held);
            left -= back;
            held -= k;
            paid_back += back;
        }
        assert_eq!(paid_back, Money(1001));
        assert_eq!(left, Money::ZERO);
    }

    #[test]
    fn a_share_rounds_down_until_the_last_unit() {
        assert_eq!(share(Money(1001), 1, 3), Money(333));
        assert_eq!(share(Money(1001), 3, 3), Money(1001));
    }
}
