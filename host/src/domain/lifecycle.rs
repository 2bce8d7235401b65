//! The order lifecycle: `placed` (budgets reserved) → `paid` → `shipped` → `received` →
//! `completed` (the after-sale window closed), or `cancelled`, or `expired` (not paid in
//! time).
//!
//! How long payment may take and how long the after-sale window lasts are the merchant's
//! [`OrderSettings`](super::order_settings::OrderSettings).
//!
//! The checkout reports what happened (`POST /v1/orders/{id}/events`, idempotent by
//! `event_id`); time does the rest through the host's [`super::timers`]: a placed order
//! unpaid at its `pay_by_ms` expires (budgets released, ledger reversed, exactly as a
//! cancel), and a received order completes at its `after_sale_ends_ms`. An order's timers
//! follow its fields: every change writes, in the same transaction, the timers the new
//! state needs and removes those the old one needed (`move_timers`).
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commit::CHECKOUT;
use super::idempotency::request_sha256;
use super::order::Order;
use super::refund::{CHANGE_TABLES, cancel_all, write_change};
use super::timers::{self, Handler, Timer};
use super::{Error, Plaza, Principal, check_id};
use crate::store::{Table, Tx, TxError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How far past the host's clock an event's `at_ms` may be (the checkout's clock runs a
/// little ahead).
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The latest time an event may carry: the last millisecond of the year 9999.
pub const MAX_AT_MS: i64 = 253_402_300_799_999;

/// The timer kinds of this module.
pub const PAYMENT_TIMEOUT: &str = "payment_timeout";
pub const AFTER_SALE_END: &str = "after_sale_end";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    #[default]
    Placed,
    Paid,
    Shipped,
    Received,
    Completed,
    Cancelled,
    Expired,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Placed => "placed",
            OrderState::Paid => "paid",
            OrderState::Shipped => "shipped",
            OrderState::Received => "received",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
        }
    }
}

/// What the checkout reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The buyer paid (only a placed order).
    Paid,
    /// The goods left (only a paid order).
    Shipped,
    /// The buyer received the goods (a shipped order, or a paid one with nothing to
    /// ship); the after-sale window starts.
    Received,
}

impl EventType {
    /// The state this event moves an order into, from the states it may come from.
    fn transition(self) -> (&'static [OrderState], OrderState) {
        match self {
            EventType::Paid => (&[OrderState::Placed], OrderState::Paid),
            EventType::Shipped => (&[OrderState::Paid], OrderState::Shipped),
            EventType::Received => (
                &[OrderState::Paid, OrderState::Shipped],
                OrderState::Received,
            ),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// Idempotency key of the event within the order.
    #[schema(schema_with = crate::shape::id_schema)]
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened (ms since the Unix epoch): not before the order's last event, not
    /// more than five minutes past the host's clock.
    #[schema(schema_with = at_ms_schema)]
    pub at_ms: i64,
}

fn at_ms_schema() -> utoipa::openapi::schema::Object {
    crate::shape::integer(0, MAX_AT_MS, "ms since the Unix epoch")
}

/// An event as applied: the answer to it, and to every replay of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub at_ms: i64,
    pub from: OrderState,
    pub to: OrderState,
    /// sha256 of the request: a replay must match it.
    pub request_sha256: String,
}

/// Put `order` into `state` (and its deadlines with it).
pub(super) fn enter(order: &mut Order, state: OrderState) {
    order.state = state;
    if state != OrderState::Placed {
        order.pay_by_ms = None;
    }
    if state != OrderState::Received {
        order.after_sale_ends_ms = None;
    }
}

/// The timers `order`'s state needs.
fn timers_of(tenant: &str, order: &Order) -> Vec<Timer> {
    let mut due = Vec::new();
    if let Some(at) = order.pay_by_ms {
        due.push(Timer::new(at, PAYMENT_TIMEOUT, tenant, &order.id));
    }
    if let Some(at) = order.after_sale_ends_ms {
        due.push(Timer::new(at, AFTER_SALE_END, tenant, &order.id));
    }
    due.extend(super::gift_orders::timer(tenant, order));
    due
}

/// Write the timers `order` needs and remove those `before` needed and it does not.
pub(super) fn move_timers(
    tx: &mut dyn Tx,
    tenant: &str,
    before: &Order,
    order: &Order,
) -> Result<(), TxError> {
    let now = timers_of(tenant, order);
    for old in timers_of(tenant, before) {
        if !now.contains(&old) {
            timers::cancel(tx, &old)?;
        }
    }
    for timer in &now {
        timers::schedule(tx, timer)?;
    }
    Ok(())
}

/// The timers a newly placed order needs, written with it.
pub(super) fn schedule_new(tx: &mut dyn Tx, tenant: &str, order: &Order) -> Result<(), TxError> {
    timers_of(tenant, order)
        .iter()
        .try_for_each(|t| timers::schedule(tx, t))
}

/// Expire `order` if it is still unpaid at `now`: true when it did.
fn expire_if_due(tenant: &str, order: &mut Order, now: i64) -> Option<super::refund::Change> {
    let due = order.state == OrderState::Placed && order.pay_by_ms.is_some_and(|at| at <= now);
    due.then(|| cancel_all(tenant, order, OrderState::Expired, now))
}

impl Plaza {
    /// Apply what the checkout reports. An event id seen before returns the event as it
    /// was applied (when the request is the same) or 409.
    pub async fn order_event(
        &self,
        who: &Principal,
        id: &str,
        req: EventRequest,
    ) -> Result<OrderEvent, Error> {
        let tenant = who.tenant(CHECKOUT, "report order events")?.to_owned();
        check_id("event_id", &req.event_id)?;
        let request_sha256 = request_sha256(&req);
        let after_sale_ms = super::order_settings::of(&self.store, &tenant)?.after_sale_ms;
        if !(0..=MAX_AT_MS).contains(&req.at_ms) {
            return Err(Error::Invalid {
                field: "at_ms".into(),
                message: format!("must be 0 to {MAX_AT_MS}"),
            });
        }
        let limit = self.now_ms().saturating_add(MAX_CLOCK_SKEW_MS);
        if req.at_ms > limit {
            return Err(Error::Invalid {
                field: "at_ms".into(),
                message: format!(
                    "{} is in the future (the host's clock says {limit} at most)",
                    req.at_ms
                ),
            });
        }
        // Set when the order turned out to be past its payment deadline: the expiry is
        // written, and the event refused.
        let expired = std::sync::atomic::AtomicBool::new(false);
        let order = self
            .change_order(&tenant, id, |order, now| {
                expired.store(false, std::sync::atomic::Ordering::Relaxed);
                if let Some(seen) = order.events.iter().find(|e| e.event_id == req.event_id) {
                    return if seen.request_sha256 == request_sha256 {
                        Ok(None)
                    } else {
                        Err(Error::conflict(
                            "event_id_reused",
                            format!("event {:?} was sent with a different request", req.event_id),
                        ))
                    };
                }
                if let Some(change) = expire_if_due(&tenant, order, now) {
                    expired.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Ok(Some(change));
                }
                let (from, to) = req.kind.transition();
                if !from.contains(&order.state) {
                    return Err(wrong_state(id, order.state));
                }
                let last = order.events.last().map_or(order.created_ms, |e| e.at_ms);
                if req.at_ms < last {
                    return Err(Error::Invalid {
                        field: "at_ms".into(),
                        message: format!("{} is before the order's last event ({last})", req.at_ms),
                    });
                }
                order.events.push(OrderEvent {
                    event_id: req.event_id.clone(),
                    kind: req.kind,
                    at_ms: req.at_ms,
                    from: order.state,
                    to,
                    request_sha256: request_sha256.clone(),
                });
                enter(order, to);
                if to == OrderState::Received {
                    order.after_sale_ends_ms = Some(req.at_ms.saturating_add(after_sale_ms));
                }
                Ok(Some((Vec::new(), Vec::new())))
            })
            .await?;
        if expired.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(wrong_state(id, order.state));
        }
        Ok(order
            .events
            .iter()
            .find(|e| e.event_id == req.event_id)
            .expect("an applied event is on its order")
            .clone())
    }
}

fn wrong_state(id: &str, state: OrderState) -> Error {
    Error::conflict("order_state", format!("order {id:?} is {}", state.as_str()))
}

/// Register this module's timer work.
pub(super) fn register(timers: &mut timers::Timers) {
    timers.register(PAYMENT_TIMEOUT, std::sync::Arc::new(Expire));
    timers.register(AFTER_SALE_END, std::sync::Arc::new(Complete));
}

/// A placed order's payment deadline passed: it expires.
struct Expire;

impl Handler for Expire {
    fn tables(&self) -> &[Table] {
        &CHANGE_TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        on_order(tx, timer, |tenant, order| {
            Ok(expire_if_due(tenant, order, timer.due_ms))
        })
    }
}

/// A received order's after-sale window closed: it completes.
struct Complete;

impl Handler for Complete {
    fn tables(&self) -> &[Table] {
        &CHANGE_TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        on_order(tx, timer, |_, order| {
            let due = order.state == OrderState::Received
                && order
                    .after_sale_ends_ms
                    .is_some_and(|at| at <= timer.due_ms);
            Ok(due.then(|| {
                enter(order, OrderState::Completed);
                super::commission::make_settleable(order, timer.due_ms);
                (Vec::new(), Vec::new())
            }))
        })
    }
}

/// Change the timer's order with `change` (nothing when it returns `None`: the order
/// moved on, and the timer is only removed; an error leaves the timer in place).
pub(super) fn on_order(
    tx: &mut dyn Tx,
    timer: &Timer,
    change: impl FnOnce(&str, &mut Order) -> Result<Option<super::refund::Change>, TxError>,
) -> Result<(), TxError> {
    let tenant = timer.tenant.as_str();
    let Some(mut order) = super::commission::load_order(tx, tenant, &timer.subject)? else {
        return Ok(());
    };
    let before = order.clone();
    let Some((entries, bumps)) = change(tenant, &mut order)? else {
        return Ok(());
    };
    match write_change(
        tx,
        tenant,
        &before,
        &mut order,
        (&entries, &bumps),
        timer.due_ms,
    )? {
        Ok(()) => Ok(()),
        // Releases never run out; a corrupt counter waits for the operator.
        Err(_) => Err(TxError::Abort),
    }
}
