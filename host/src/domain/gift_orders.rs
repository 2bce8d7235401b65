//! Gift orders (送礼): the sender pays for one order and sends its units to friends; each
//! recipient's share is a sub-order that is `sent` until the recipient accepts it (and may
//! switch to another SKU of the same SPU at the same price), declines it, or lets the
//! merchant's acceptance window (`gift_accept_ms`, 24 h by default) pass.
//!
//! A declined or expired sub-order is refunded to the sender through the order's own
//! refund path (refund id `gift/<recipient>`, which no checkout's refund id can be):
//! budgets and claims are released per their policy and commission is reversed pro rata,
//! exact to the fen. Expiry runs on the host's timers, one per order while any sub-order
//! waits; every change is one transaction over the order, so an accept and an expiry of
//! the same sub-order never both happen. The order keeps the sender's attribution.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commit::CHECKOUT;
use super::idempotency::request_sha256;
use super::ledger::LedgerEntry;
use super::order::{Order, OrderStatus, RefundLineRequest, RefundRequest};
use super::refund::Change;
use super::timers::{self, Handler, Timer};
use super::{Error, Plaza, Principal, check_id};
use crate::Money;
use crate::executor::Cart;
use crate::store::{Table, Tx, TxError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The timer that expires an order's waiting sub-orders.
pub const GIFT_ACCEPT_TIMEOUT: &str = "gift_accept_timeout";
/// Most recipients of one gift order.
pub const MAX_RECIPIENTS: usize = crate::executor::MAX_GIFT_RECIPIENTS as usize;

/// What a commit sends as a gift: each recipient's units of the order's lines, which
/// together are every unit of every line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftRequest {
    /// 1 to [`MAX_RECIPIENTS`] recipients, each named once.
    pub recipients: Vec<Recipient>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// The recipient, as the checkout knows them.
    #[schema(schema_with = crate::shape::id_schema)]
    pub recipient: String,
    /// Their units: at least one.
    pub lines: Vec<GiftUnits>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftUnits {
    pub line: String,
    #[schema(minimum = 1)]
    pub quantity: u32,
}

/// A gift order's sub-orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GiftSending {
    /// Sub-orders still `sent` at this time (host clock) expire.
    pub accept_by_ms: i64,
    pub recipients: Vec<SubOrder>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubOrderState {
    Sent,
    Accepted,
    Declined,
    Expired,
    /// The whole order was cancelled (or expired unpaid) while it waited.
    Cancelled,
}

/// One recipient's share of a gift order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubOrder {
    pub recipient: String,
    pub lines: Vec<GiftUnits>,
    pub state: SubOrderState,
    /// When it left `sent` (host clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_ms: Option<i64>,
    /// The SKUs the recipient switched to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switched: Vec<Switch>,
    /// The refund that gave a declined or expired sub-order back to the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}

/// What the recipient's checkout reports on accepting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptGift {
    /// Another SKU for some of the recipient's lines: of the line's SPU, at its unit price.
    #[serde(default)]
    pub switch: Vec<Switch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub line: String,
    #[schema(schema_with = crate::shape::text_schema)]
    pub sku: String,
    #[schema(schema_with = crate::shape::text_schema)]
    pub spu: String,
    pub unit_price: Money,
}

fn invalid(field: String, message: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        message: message.into(),
    }
}

/// Check that `gift` shares out exactly the units of `cart`.
pub(super) fn check(gift: &GiftRequest, cart: &Cart) -> Result<(), Error> {
    let n = gift.recipients.len();
    if !(1..=MAX_RECIPIENTS).contains(&n) {
        return Err(invalid(
            "gift.recipients".into(),
            format!("1 to {MAX_RECIPIENTS} recipients, not {n}"),
        ));
    }
    let mut given = vec![0u64; cart.lines.len()];
    for (i, r) in gift.recipients.iter().enumerate() {
        let field = format!("gift.recipients[{i}]");
        check_id(&format!("{field}.recipient"), &r.recipient)?;
        if gift.recipients[..i]
            .iter()
            .any(|o| o.recipient == r.recipient)
        {
            return Err(invalid(format!("{field}.recipient"), "named twice"));
        }
        if r.lines.is_empty() {
            return Err(invalid(format!("{field}.lines"), "at least one unit"));
        }
        for (j, u) in r.lines.iter().enumerate() {
            let Some(index) = cart.lines.iter().position(|l| *l.id == *u.line) else {
                return Err(invalid(
                    format!("{field}.lines[{j}].line"),
                    format!("the cart has no line {:?}", u.line),
                ));
            };
            if u.quantity == 0 {
                return Err(invalid(
                    format!("{field}.lines[{j}].quantity"),
                    "at least 1",
                ));
            }
            given[index] += u64::from(u.quantity);
        }
    }
    for (line, given) in cart.lines.iter().zip(given) {
        if given != u64::from(line.quantity) {
            return Err(invalid(
                "gift.recipients".into(),
                format!(
                    "line {:?} has {} units and the recipients are given {given}",
                    line.id, line.quantity
                ),
            ));
        }
    }
    Ok(())
}

/// The sub-orders of a new gift order.
pub(super) fn sending(gift: &GiftRequest, accept_by_ms: i64) -> GiftSending {
    GiftSending {
        accept_by_ms,
        recipients: (gift.recipients.iter())
            .map(|r| SubOrder {
                recipient: r.recipient.clone(),
                lines: r.lines.clone(),
                state: SubOrderState::Sent,
                settled_ms: None,
                switched: Vec::new(),
                refund_id: None,
            })
            .collect(),
    }
}

/// The timer `order` needs: while a sub-order waits on a live order.
pub(super) fn timer(tenant: &str, order: &Order) -> Option<Timer> {
    let g = order.gift_sending.as_ref()?;
    let waiting = g.recipients.iter().any(|s| s.state == SubOrderState::Sent);
    (waiting && order.status != OrderStatus::Cancelled)
        .then(|| Timer::new(g.accept_by_ms, GIFT_ACCEPT_TIMEOUT, tenant, &order.id))
}

/// The order was cancelled: its waiting sub-orders with it.
pub(super) fn cancel_waiting(order: &mut Order, now: i64) {
    for s in (order.gift_sending.iter_mut()).flat_map(|g| &mut g.recipients) {
        if s.state == SubOrderState::Sent {
            s.state = SubOrderState::Cancelled;
            s.settled_ms = Some(now);
        }
    }
}

/// Settle sub-order `index` as `state` (declined or expired) and refund its units, as
/// far as the order still holds them, to the sender.
fn give_back(
    tenant: &str,
    order: &mut Order,
    index: usize,
    state: SubOrderState,
    now: i64,
) -> Result<Change, Error> {
    let Some(sending) = order.gift_sending.as_mut() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let sub = &mut sending.recipients[index];
    sub.state = state;
    sub.settled_ms = Some(now);
    let mut lines = Vec::new();
    for u in &sub.lines {
        let held = (order.lines.iter())
            .find(|l| l.id == u.line)
            .map_or(0, |l| l.quantity - l.refunded_quantity);
        let quantity = u.quantity.min(held);
        if quantity > 0 {
            lines.push(RefundLineRequest {
                line: u.line.clone(),
                quantity: Some(quantity),
                amount: None,
            });
        }
    }
    if lines.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let refund_id = format!("gift/{}", sub.recipient);
    sub.refund_id = Some(refund_id.clone());
    let req = RefundRequest {
        refund_id,
        lines,
        shipping: None,
        all: false,
    };
    let sha = request_sha256(&req);
    super::refund_lines::refund(tenant, order, &req, sha, now)
}

fn join((mut entries, mut bumps): Change, (more, more_bumps): Change) -> Change {
    entries.extend(more);
    bumps.extend(more_bumps);
    (entries, bumps)
}

/// The sub-order of `recipient` in `order`, or 404.
fn sub_order(order: &Order, recipient: &str) -> Result<usize, Error> {
    (order.gift_sending.as_ref())
        .and_then(|g| g.recipients.iter().position(|s| s.recipient == recipient))
        .ok_or_else(|| Error::not_found("gift recipient", recipient))
}

fn settled(order: &Order, index: usize) -> Error {
    let sub = &order
        .gift_sending
        .as_ref()
        .expect("a gift order")
        .recipients[index];
    Error::conflict(
        "gift_settled",
        format!(
            "the gift to {:?} is already {}",
            sub.recipient,
            serde_json::to_value(sub.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
    )
}

/// Why `switch` may not replace a line of `order` for this recipient, if it may not.
fn check_switch(order: &Order, sub: &SubOrder, switch: &[Switch]) -> Result<(), Error> {
    for (i, s) in switch.iter().enumerate() {
        let field = format!("switch[{i}]");
        if !sub.lines.iter().any(|u| u.line == s.line) {
            return Err(invalid(
                format!("{field}.line"),
                format!("not one of {:?}'s lines", sub.recipient),
            ));
        }
        if switch[..i].iter().any(|o| o.line == s.line) {
            return Err(invalid(format!("{field}.line"), "switched twice"));
        }
        let line = (order.cart.lines.iter())
            .find(|l| *l.id == *s.line)
            .ok_or_else(|| Error::Internal(format!("order line {} not in its cart", s.line)))?;
        if line.spu.as_deref() != Some(s.spu.as_str()) {
            return Err(Error::conflict(
                "gift_switch_refused",
                format!("{:?} is not of line {:?}'s SPU", s.sku, s.line),
            ));
        }
        if line.unit_price != s.unit_price {
            return Err(Error::conflict(
                "gift_switch_refused",
                format!(
                    "{:?} costs {}, line {:?} {}: a gift never changes price",
                    s.sku, s.unit_price, s.line, line.unit_price
                ),
            ));
        }
    }
    Ok(())
}

impl Plaza {
    /// The recipient accepted their gift (switching SKUs as `req` says). Accepting again
    /// with the same switch returns the order as it is.
    pub async fn accept_gift(
        &self,
        who: &Principal,
        id: &str,
        recipient: &str,
        req: AcceptGift,
    ) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "accept gifts")?.to_owned();
        self.change_order(&tenant, id, |order, now| {
            let index = sub_order(order, recipient)?;
            let sending = order.gift_sending.as_ref().expect("a gift order");
            let sub = &sending.recipients[index];
            match sub.state {
                SubOrderState::Accepted if sub.switched == req.switch => return Ok(None),
                SubOrderState::Sent => {}
                _ => return Err(settled(order, index)),
            }
            if order.status == OrderStatus::Cancelled {
                return Err(Error::conflict(
                    "order_cancelled",
                    format!("order {id:?} is cancelled"),
                ));
            }
            if now >= sending.accept_by_ms {
                return Err(Error::conflict(
                    "gift_expired",
                    format!("the gift to {recipient:?} was not accepted in time"),
                ));
            }
            check_switch(order, sub, &req.switch)?;
            let sub = &mut order
                .gift_sending
                .as_mut()
                .expect("a gift order")
                .recipients[index];
            sub.state = SubOrderState::Accepted;
            sub.settled_ms = Some(now);
            sub.switched = req.switch.clone();
            Ok(Some((Vec::new(), Vec::new())))
        })
        .await
    }

    /// The recipient declined their gift: its units are refunded to the sender. Declining
    /// again returns the order as it is.
    pub async fn decline_gift(
        &self,
        who: &Principal,
        id: &str,
        recipient: &str,
    ) -> Result<Order, Error> {
        let tenant = who.tenant(CHECKOUT, "decline gifts")?.to_owned();
        self.change_order(&tenant, id, |order, now| {
            let index = sub_order(order, recipient)?;
            let sub = &order
                .gift_sending
                .as_ref()
                .expect("a gift order")
                .recipients[index];
            match sub.state {
                SubOrderState::Declined => return Ok(None),
                SubOrderState::Sent => {}
                _ => return Err(settled(order, index)),
            }
            give_back(&tenant, order, index, SubOrderState::Declined, now).map(Some)
        })
        .await
    }
}

/// Register this module's timer work.
pub(super) fn register(timers: &mut timers::Timers) {
    timers.register(GIFT_ACCEPT_TIMEOUT, std::sync::Arc::new(Expire));
}

/// An order's acceptance window closed: its waiting sub-orders expire and are refunded.
struct Expire;

impl Handler for Expire {
    fn tables(&self) -> &[Table] {
        &super::refund::CHANGE_TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        super::lifecycle::on_order(tx, timer, |tenant, order| {
            let Some(g) = order.gift_sending.as_ref() else {
                return Ok(None);
            };
            if order.status == OrderStatus::Cancelled || g.accept_by_ms > timer.due_ms {
                return Ok(None);
            }
            let waiting: Vec<usize> = (g.recipients.iter().enumerate())
                .filter(|(_, s)| s.state == SubOrderState::Sent)
                .map(|(i, _)| i)
                .collect();
            let mut change: Change = (Vec::<LedgerEntry>::new(), Vec::new());
            for i in waiting {
                match give_back(tenant, order, i, SubOrderState::Expired, timer.due_ms) {
                    Ok(more) => change = join(change, more),
                    Err(e) => {
                        // Left in place for the operator; it blocks no other timer.
                        tracing::error!(error = %e, order = %order.id, "expiring a gift");
                        return Err(TxError::Abort);
                    }
                }
            }
            Ok(Some(change))
        })
    }
}
