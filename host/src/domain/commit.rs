//! Committing an order: idempotent by order id; the cart is priced again (on the pool),
//! budgets are reserved and the order and its ledger entries written in one transaction,
//! and the answer waits until that is durable.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::budget::{Refusal, apply_bumps, reserve};
use super::commission;
use super::gate::ServiceGate;
use super::idempotency::request_sha256;
use super::incentives::accrual as incentives;
use super::ledger::{self, LedgerKind, Movement};
use super::lifecycle::{self, OrderState};
use super::order::{CommitRequest, Order, OrderGift, OrderLine, OrderStatus};
use super::order_list::time_key;
use super::points::orders::OrderPoints;
use super::{Error, Plaza, Principal, Role, check_id};
use crate::Money;
use crate::executor;
use crate::store::{Table, TxError};
use std::sync::Arc;

pub(super) const CHECKOUT: &[Role] = &[Role::Admin, Role::Checkout];

/// Why the commit transaction stopped.
enum Abort {
    Exists(Box<Order>),
    Refused(Refusal),
    /// The buyer no longer has the points the quote spent.
    PointsShort,
}

impl Plaza {
    /// Commit an order. Returns the order and whether this call created it (false: a
    /// replay of an identical request, which changes nothing).
    pub async fn commit(
        self: &Arc<Self>,
        who: &Principal,
        req: CommitRequest,
    ) -> Result<(Order, bool), Error> {
        let _running = self.foreground.enter();
        let tenant = who.tenant(CHECKOUT, "commit orders")?.to_owned();
        check_id("order_id", &req.order_id)?;
        let request_sha256 = request_sha256(&req);
        if let Some(existing) = commission::read_order(&self.store, &tenant, &req.order_id)? {
            return self.replay(existing, &request_sha256).await;
        }
        let prepared = self.active_plan(&tenant, &req.plan)?;
        let mut req = req;
        if let Some(gift) = &req.gift {
            super::gift_orders::check(gift, &req.cart)?;
            req.cart.gift = true;
            req.cart.gift_recipients = u16::try_from(gift.recipients.len())
                .expect("check keeps recipients within MAX_GIFT_RECIPIENTS");
        }
        self.apply_best_claims(who, &req.plan, &mut req.cart)
            .await?;
        let attributed = super::attribution::attribute(self, &tenant, req.cart)?;
        req.cart = attributed.cart;
        self.merchant_facts(&tenant, &prepared, &mut req.cart)?;
        let live_room = attributed.live_room.as_deref();
        let presented = self.present(&tenant, &req.plan, &mut req.cart, live_room)?;
        if let Some(refused) = presented.refusal() {
            return Err(refused);
        }
        let carry = attributed.carry;
        let (mut quote, req, layers, held) = {
            let me = self.clone();
            let owner = tenant.clone();
            let prepared = prepared.clone();
            self.on_pool(&tenant, move || {
                let gate = ServiceGate::new(&me, &owner, &req.plan, &req.cart.buyer.id)
                    .with_claims(&presented);
                let mut quote = executor::quote_with(&me.sandbox, &prepared, &req.cart, &gate)?;
                let held = presented.redeem(&mut quote);
                let layers = match &carry {
                    Some(carry) => me.run_layers(&req.cart, carry, &mut quote)?,
                    None => Vec::new(),
                };
                Ok::<_, Error>((quote, req, layers, held))
            })
            .await??
        };
        quote.attribution = Some(attributed.report.clone());
        // A step held back because its counters cannot be read refuses the commit: the
        // order would otherwise be priced as if that promotion did not exist (or a layer
        // paid as if that commission did not).
        let layer_steps = quote.layers.iter().flat_map(|l| &l.explanation);
        if let Some(held) = quote.explanation.iter().chain(layer_steps).find(|r| {
            matches!(
                r.outcome,
                executor::Outcome::NotApplied {
                    reason: executor::Reason::BudgetUnreadable
                }
            )
        }) {
            // Held back because the database is away rather than a counter corrupt: say so
            // (503), so that the checkout sends it again.
            if let Err(e @ crate::store::StoreError::Unavailable(_)) = self.store.counter(b"") {
                return Err(Error::Store(e));
            }
            return Err(Error::BudgetUnreadable {
                step: held.step.clone(),
            });
        }
        if let Some(expected) = req.expected_payable
            && expected != quote.total.payable
        {
            return Err(Error::PriceChanged {
                expected,
                actual: quote.total.payable,
            });
        }
        let now = self.now_ms();
        let settings = super::order_settings::of(&self.store, &tenant)?;
        let payment_timeout = settings.payment_timeout_ms;
        let gift_sending = (req.gift.as_ref())
            .map(|g| super::gift_orders::sending(g, now.saturating_add(settings.gift_accept_ms)));
        let points_terms = super::points::settings_of(&self.store, &tenant)?;
        let (reservations, mut bumps) = reserve(
            (&self.store, now),
            &tenant,
            &req,
            &prepared,
            &quote,
            &layers,
        )?;
        bumps.extend(
            held.iter()
                .map(|h| super::coupons::redeem::take(&tenant, h)),
        );
        let mut order = Order {
            id: req.order_id.clone(),
            plan: quote.plan.clone(),
            status: OrderStatus::Placed,
            state: OrderState::Placed,
            created_ms: now,
            pay_by_ms: Some(now.saturating_add(payment_timeout)),
            after_sale_ends_ms: None,
            events: Vec::new(),
            lines: quote
                .lines
                .iter()
                .map(|l| OrderLine {
                    id: l.id.to_string(),
                    quantity: l.quantity,
                    refunded_quantity: 0,
                    payable: l.payable,
                    refunded: Money::ZERO,
                })
                .collect(),
            shipping: quote.shipping.payable,
            shipping_refunded: Money::ZERO,
            commissions: commission::from_quote(&tenant, &quote.commissions),
            commission_shares: 0,
            reservations,
            claims: held,
            gifts: OrderGift::all_of(&quote),
            gift_sending,
            points: OrderPoints::placed(quote.points.as_ref(), &points_terms),
            incentives: Vec::new(),
            refunds: Vec::new(),
            quote: serde_json::to_value(&quote).map_err(|e| Error::Internal(e.to_string()))?,
            cart: req.cart,
            attribution: Some(attributed.report),
            request_sha256: request_sha256.clone(),
            ledger_entries: 0,
        };
        let mut movements: Vec<Movement> = order
            .lines
            .iter()
            .map(|l| Movement::money(LedgerKind::Sale, Some(&l.id), l.payable))
            .collect();
        movements.push(Movement::money(LedgerKind::Shipping, None, order.shipping));
        movements.extend(
            order
                .commissions
                .iter()
                .map(|c| Movement::commission(LedgerKind::CommissionPending, c, c.amount)),
        );
        let reference = order.id.clone();
        let entries = ledger::number(&mut order, &reference, movements, now);
        order.incentives = incentives::counted(&self.store, &tenant, &order, now)?;
        let mut abort = None;
        let tables = [
            &[
                Table::Orders,
                Table::OrderTimes,
                Table::Counters,
                Table::Ledger,
                Table::Timers,
                Table::Touches,
                Table::BuyerTouches,
                Table::PlazaOrders,
            ][..],
            &super::points::orders::TABLES,
            &commission::SHARE_TABLES,
            &incentives::ACCRUAL_TABLES,
        ]
        .concat();
        let outcome = self.store.transact(&tables, |tx| {
            abort = None;
            if let Some(existing) = commission::load_order(tx, &tenant, &order.id)? {
                abort = Some(Abort::Exists(Box::new(existing)));
                return Err(TxError::Abort);
            }
            if let Err(refusal) = apply_bumps(tx, &bumps)? {
                abort = Some(Abort::Refused(refusal));
                return Err(TxError::Abort);
            }
            if !super::points::orders::reserve(tx, &tenant, &mut order, now)? {
                abort = Some(Abort::PointsShort);
                return Err(TxError::Abort);
            }
            incentives::accrue(tx, &order, now)?;
            commission::put_order(tx, &tenant, None, &mut order)?;
            tx.put(Table::OrderTimes, &time_key(&tenant, now, &order.id), &[])?;
            lifecycle::schedule_new(tx, &tenant, &order)?;
            super::market::report::file(tx, &tenant, &order)?;
            if let Some(renewal) = &attributed.extension {
                super::attribution::put_extension(tx, &tenant, &order.id, renewal.clone(), now)?;
            }
            ledger::append(tx, &tenant, &order.id, &entries)
        });
        match (outcome, abort) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(Abort::Exists(existing))) => {
                return self.replay(*existing, &request_sha256).await;
            }
            (Err(TxError::Abort), Some(Abort::Refused(refusal))) => {
                return Err(self.refused(refusal));
            }
            (Err(TxError::Abort), Some(Abort::PointsShort)) => {
                return Err(Error::conflict(
                    "points_changed",
                    "the buyer no longer has the points this order spends; quote again",
                ));
            }
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        self.flush_if_sync().await?;
        self.metrics.orders_committed.inc();
        Ok((order, true))
    }

    /// The answer to a commit whose order id is already taken. The order found may have
    /// been written by a call that has not yet flushed it, so it is made durable before
    /// this call reports it.
    async fn replay(&self, existing: Order, request_sha256: &str) -> Result<(Order, bool), Error> {
        if existing.request_sha256 != request_sha256 {
            return Err(Error::conflict(
                "order_id_reused",
                format!(
                    "order {:?} was committed with a different request",
                    existing.id
                ),
            ));
        }
        self.flush_if_sync().await?;
        Ok((existing, false))
    }

    /// The error for refused counter changes (and its metric).
    pub(super) fn refused(&self, refusal: Refusal) -> Error {
        match refusal {
            Refusal::Exhausted {
                step,
                limit: executor::BudgetLimit::Claim,
            } => Error::conflict(
                "claim_used",
                format!("claim {step:?} was used by another order; quote again"),
            ),
            Refusal::Exhausted { step, limit } => {
                self.metrics.budget_rejection(limit.as_str());
                Error::BudgetExhausted { step, limit }
            }
            Refusal::Unreadable { step } => {
                tracing::error!(step = %step, "a budget counter is corrupt; refusing the change");
                self.metrics.budget_rejection("unreadable");
                Error::BudgetUnreadable { step }
            }
        }
    }

    pub fn order(&self, who: &Principal, id: &str) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "read orders")?;
        commission::read_order(&self.store, tenant, id)?
            .ok_or_else(|| Error::not_found("order", id))
    }
}
