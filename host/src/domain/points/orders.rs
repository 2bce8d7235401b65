//! An order's points: what it spent (held at commit, spent at payment, given back by a
//! cancel, an expiry or a refund) and what it earned (at completion, taken back by a later
//! refund). The account follows the order: every change to an order runs [`sync`] in the
//! same transaction, which moves the points the order's new state calls for, so no path
//! (cancel, refund, payment, the timers) can forget them.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::account::{Account, Entry, EntryKind, Taken};
use super::{PointsSettings, account_key};
use crate::Money;
use crate::domain::lifecycle::OrderState;
use crate::domain::order::{Order, OrderStatus};
use crate::domain::timers::{self, Handler, Timer};
use crate::executor::PointsUse;
use crate::store::{Table, Tx, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The timer kind that expires a buyer's lots.
pub const POINTS_EXPIRY: &str = "points_expiry";
/// The tables a points movement writes (with [`Table::Timers`]).
pub const TABLES: [Table; 2] = [Table::PointsAccounts, Table::PointsLedger];
/// The most points one account holds: 10¹⁵. A grant past it is refused; an order earns up
/// to it.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// The points side of an order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderPoints {
    /// Points the order spent (held when it was placed).
    pub used: i64,
    /// What they paid for its goods, fen.
    pub value: Money,
    /// The lots they came from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken: Vec<Taken>,
    /// The order was paid: what it held is spent.
    pub redeemed: bool,
    /// Given back so far (released, or returned by refunds).
    pub returned: i64,
    /// The merchant's earn rate and validity when the order was placed.
    pub earn_rate_ppm: u32,
    pub validity_days: u32,
    /// Credited when the order completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earned_ms: Option<i64>,
    pub earned: i64,
    /// Taken back by refunds after completion, and what of that the buyer had already
    /// spent.
    pub earn_reversed: i64,
    pub unrecovered: i64,
}

impl OrderPoints {
    /// An order's points when it is placed: none when it spends none and earns none.
    pub fn placed(spent: Option<&PointsUse>, settings: &PointsSettings) -> Option<OrderPoints> {
        let (used, value) = spent.map_or((0, Money::ZERO), |p| (p.points, p.value));
        (used > 0 || settings.earn_rate_ppm > 0).then(|| OrderPoints {
            used,
            value,
            earn_rate_ppm: settings.earn_rate_ppm,
            validity_days: settings.validity_days,
            ..OrderPoints::default()
        })
    }
}

/// The ledger source naming an order.
pub fn order_source(order: &str) -> String {
    format!("order:{order}")
}

/// `buyer`'s account with `tenant` inside a transaction (empty when it has none).
pub(super) fn load(tx: &mut dyn Tx, tenant: &str, buyer: &str) -> Result<Account, TxError> {
    Ok(tx
        .get_json(Table::PointsAccounts, &account_key(tenant, buyer))?
        .unwrap_or_default())
}

/// Write `account` and its new ledger `entries`.
pub(super) fn save(
    tx: &mut dyn Tx,
    tenant: &str,
    buyer: &str,
    account: &Account,
    entries: &[Entry],
) -> Result<(), TxError> {
    tx.put_json(Table::PointsAccounts, &account_key(tenant, buyer), account)?;
    for e in entries {
        let at = key(&[tenant.as_bytes(), buyer.as_bytes(), &e.seq.to_be_bytes()]);
        tx.put_json(Table::PointsLedger, &at, e)?;
    }
    Ok(())
}

/// Schedule the expiry of a lot credited to `buyer`.
pub(super) fn schedule_expiry(
    tx: &mut dyn Tx,
    tenant: &str,
    buyer: &str,
    expires_ms: Option<i64>,
) -> Result<(), TxError> {
    match expires_ms {
        Some(at) => timers::schedule(tx, &Timer::new(at, POINTS_EXPIRY, tenant, buyer)),
        None => Ok(()),
    }
}

/// Hold the points a new order spends, inside its commit: false (nothing written) when
/// the buyer no longer has them.
pub fn reserve(
    tx: &mut dyn Tx,
    tenant: &str,
    order: &mut Order,
    now: i64,
) -> Result<bool, TxError> {
    let Some(p) = order.points.as_mut().filter(|p| p.used > 0) else {
        return Ok(true);
    };
    let buyer = &order.cart.buyer.id;
    let mut account = load(tx, tenant, buyer)?;
    let mut out = Vec::new();
    let Some(taken) = account.reserve(now, &order_source(&order.id), p.used, &mut out) else {
        return Ok(false);
    };
    p.taken = taken;
    save(tx, tenant, buyer, &account, &out).map(|()| true)
}

/// Move the points `order`'s state calls for: spend what it holds once paid, give back
/// in proportion to the goods refunded (all of it when cancelled), credit what it earned
/// once completed and take back what later refunds un-earn.
pub fn sync(tx: &mut dyn Tx, tenant: &str, order: &mut Order, now: i64) -> Result<(), TxError> {
    let Some(p) = order.points.as_ref() else {
        return Ok(());
    };
    let goods: i64 = order.lines.iter().map(|l| l.payable.0).sum();
    let refunded: i64 = order.lines.iter().map(|l| l.refunded.0).sum();
    let returned = if order.status == OrderStatus::Cancelled {
        p.used
    } else if goods > 0 {
        share(p.used, refunded, goods)
    } else {
        let units: u32 = order.lines.iter().map(|l| l.quantity).sum();
        let back: u32 = order.lines.iter().map(|l| l.refunded_quantity).sum();
        share(p.used, i64::from(back), i64::from(units.max(1)))
    };
    let paid = !matches!(
        order.state,
        OrderState::Placed | OrderState::Cancelled | OrderState::Expired
    );
    let completed = order.state == OrderState::Completed;
    let earns = Money(goods - refunded)
        .rate_floor(crate::Ppm(p.earn_rate_ppm))
        .0
        .min(MAX_BALANCE);
    let source = order_source(&order.id);
    let buyer = order.cart.buyer.id.clone();
    let p = order.points.as_mut().expect("checked above");
    let mut account: Option<Account> = None;
    let mut out = Vec::new();
    if paid && !p.redeemed {
        p.redeemed = true;
        if p.used > p.returned {
            opened(&mut account, tx, tenant, &buyer)?.redeem(
                now,
                &source,
                p.used - p.returned,
                &mut out,
            );
        }
    }
    if returned > p.returned {
        let a = opened(&mut account, tx, tenant, &buyer)?;
        a.give_back(
            now,
            &source,
            &mut p.taken,
            returned - p.returned,
            !p.redeemed,
            &mut out,
        );
        p.returned = returned;
    }
    if completed && p.earned_ms.is_none() {
        p.earned_ms = Some(now);
        let a = opened(&mut account, tx, tenant, &buyer)?;
        let credit = earns.min(MAX_BALANCE - a.balance).max(0);
        if credit > 0 {
            let expires = super::expiry(p.validity_days, now);
            a.credit(now, EntryKind::Earn, &source, credit, expires, &mut out);
            schedule_expiry(tx, tenant, &buyer, expires)?;
            p.earned = credit;
        }
    } else if p.earned_ms.is_some() && p.earned - p.earn_reversed > earns {
        let back = p.earned - p.earn_reversed - earns;
        opened(&mut account, tx, tenant, &buyer)?.reverse(now, &source, back, &mut out);
        p.earn_reversed += back;
        p.unrecovered += out.last().map_or(0, |e| e.unrecovered);
    }
    match account {
        Some(a) if !out.is_empty() => save(tx, tenant, &buyer, &a, &out),
        _ => Ok(()),
    }
}

/// The account in `slot`, read on first use.
fn opened<'a>(
    slot: &'a mut Option<Account>,
    tx: &mut dyn Tx,
    tenant: &str,
    buyer: &str,
) -> Result<&'a mut Account, TxError> {
    if slot.is_none() {
        *slot = Some(load(tx, tenant, buyer)?);
    }
    Ok(slot.as_mut().expect("just read"))
}

/// `part / whole` of `n`, rounded down (`whole` > 0, `part` ≤ `whole`).
fn share(n: i64, part: i64, whole: i64) -> i64 {
    let exact = i128::from(n) * i128::from(part.min(whole)) / i128::from(whole);
    i64::try_from(exact).expect("a share of n is at most n")
}

/// Register the expiry of lots with the host's timers.
pub(in crate::domain) fn register(timers: &mut timers::Timers) {
    timers.register(POINTS_EXPIRY, std::sync::Arc::new(Expire));
}

/// A buyer's lot reached its expiry.
struct Expire;

impl Handler for Expire {
    fn tables(&self) -> &[Table] {
        &TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        let (tenant, buyer) = (timer.tenant.as_str(), timer.subject.as_str());
        let mut account = load(tx, tenant, buyer)?;
        let mut out = Vec::new();
        account.expire_due(timer.due_ms, &mut out);
        if out.is_empty() {
            return Ok(());
        }
        save(tx, tenant, buyer, &account, &out)
    }
}
