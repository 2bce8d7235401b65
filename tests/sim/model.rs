//! The reference model: what every acknowledged order must hold, computed on its own from
//! the commit's answer and the refund and cancel requests that followed, with the rule
//! Plaza documents (refunding k of the r units still held gives back `left × k / r`, the
//! last unit whatever is left) written out again here in i128, and the lifecycle's
//! transitions and deadlines written out again too.

use anyhow::{Result, bail, ensure};
use plaza::domain::gift_orders::SubOrderState;
use plaza::domain::order_settings::{DEFAULT_AFTER_SALE_MS, DEFAULT_PAYMENT_TIMEOUT_MS};
use plaza::domain::{
    CommissionState, EventRequest, EventType, Order, OrderState, OrderStatus, RefundLineRequest,
    RefundRequest,
};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub quantity: u32,
    pub refunded_quantity: u32,
    pub payable: i64,
    pub refunded: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commission {
    pub line: String,
    pub amount: i64,
    /// Taken back before a settlement paid it.
    pub reversed: i64,
    /// Taken back after.
    pub clawed: i64,
    pub state: CommissionState,
    /// The plaza layer whose books it is on (`None`: the merchant's).
    pub ledger: Option<String>,
    pub payer: String,
    pub payee: String,
    /// Paid by a layer out of what it received (not by the merchant).
    pub passed_on: bool,
}

impl Commission {
    fn left(&self) -> i64 {
        self.amount - self.reversed - self.clawed
    }

    /// Take `back` of it: reversed while unpaid, clawed back once settled.
    fn take_back(&mut self, back: i64) {
        if self.state == CommissionState::Settled {
            self.clawed += back;
        } else {
            self.reversed += back;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub amount: i64,
    pub released: i64,
    pub line_shares: Vec<i64>,
    pub counts_released: bool,
    pub on_cancel: bool,
    pub on_refund: bool,
}

/// One acknowledged order as the model expects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOrder {
    pub status: OrderStatus,
    pub state: OrderState,
    pub pay_by: Option<i64>,
    pub after_sale_ends: Option<i64>,
    /// Events applied (id, type, time), and when the last event (or the commit)
    /// happened.
    pub events: Vec<(String, EventType, i64)>,
    pub last_at: i64,
    pub lines: Vec<Line>,
    pub shipping: i64,
    pub shipping_refunded: i64,
    pub commissions: Vec<Commission>,
    pub reservations: Vec<Reservation>,
    /// The claimed coupons it redeemed: (claim, given back on cancel and full refund,
    /// given back).
    pub claims: Vec<(String, bool, bool)>,
    pub refunds: Vec<String>,
    /// A gift order's deadline and sub-orders: (recipient, its units by line, state).
    pub gift: Option<(i64, Vec<GiftSub>)>,
}

/// One recipient's sub-order of a gift order.
pub type GiftSub = (String, Vec<(String, u32)>, SubOrderState);

/// `left × part / whole`, or all of `left` for the whole of it (k of r units, or an
/// amount of the money a line holds).
fn portion(left: i64, part: i128, whole: i128) -> i64 {
    if part >= whole || whole <= 0 {
        return left;
    }
    let part = i128::from(left) * part / whole;
    i64::try_from(part).expect("a share is smaller than the whole")
}

impl ModelOrder {
    /// An order in the model's terms (as a commit answered it, or as the store holds it).
    pub fn of(order: &Order) -> ModelOrder {
        ModelOrder {
            status: order.status,
            state: order.state,
            pay_by: order.pay_by_ms,
            after_sale_ends: order.after_sale_ends_ms,
            events: order
                .events
                .iter()
                .map(|e| (e.event_id.clone(), e.kind, e.at_ms))
                .collect(),
            last_at: order.events.last().map_or(order.created_ms, |e| e.at_ms),
            lines: order
                .lines
                .iter()
                .map(|l| Line {
                    id: l.id.clone(),
                    quantity: l.quantity,
                    refunded_quantity: l.refunded_quantity,
                    payable: l.payable.0,
                    refunded: l.refunded.0,
                })
                .collect(),
            shipping: order.shipping.0,
            shipping_refunded: order.shipping_refunded.0,
            commissions: order
                .commissions
                .iter()
                .map(|c| Commission {
                    line: c.line.clone(),
                    amount: c.amount.0,
                    reversed: c.reversed.0,
                    clawed: c.clawed_back.0,
                    ledger: c.ledger.clone(),
                    state: c.state,
                    payer: c.payer.clone(),
                    payee: c.payee.clone(),
                    passed_on: c.payer_party != plaza::domain::commission::MERCHANT,
                })
                .collect(),
            reservations: order
                .reservations
                .iter()
                .map(|r| Reservation {
                    amount: r.amount.0,
                    released: r.released.0,
                    line_shares: r.line_shares.iter().map(|s| s.0).collect(),
                    counts_released: r.counts_released,
                    on_cancel: r.release.on_cancel,
                    on_refund: r.release.on_refund,
                })
                .collect(),
            claims: order
                .claims
                .iter()
                .map(|c| (c.claim.clone(), c.returns, c.returned))
                .collect(),
            refunds: order.refunds.iter().map(|r| r.id.clone()).collect(),
            gift: order.gift_sending.as_ref().map(|g| {
                let subs = (g.recipients.iter())
                    .map(|s| {
                        let lines = s.lines.iter().map(|u| (u.line.clone(), u.quantity));
                        (s.recipient.clone(), lines.collect(), s.state)
                    })
                    .collect();
                (g.accept_by_ms, subs)
            }),
        }
    }

    /// Settle `recipient`'s sub-order as `state` (declined or expired) and refund the
    /// units the order still holds of it to the sender, as `gift/<recipient>`.
    fn give_gift_back(&mut self, index: usize, state: SubOrderState) {
        let Some((_, subs)) = &mut self.gift else {
            return;
        };
        let (recipient, units, st) = &mut subs[index];
        *st = state;
        let lines: Vec<RefundLineRequest> = (units.iter())
            .filter_map(|(line, quantity)| {
                let l = self.lines.iter().find(|l| l.id == *line)?;
                let k = (*quantity).min(l.quantity - l.refunded_quantity);
                (k > 0).then(|| RefundLineRequest {
                    line: line.clone(),
                    quantity: Some(k),
                    amount: None,
                })
            })
            .collect();
        if lines.is_empty() {
            return;
        }
        let req = RefundRequest {
            refund_id: format!("gift/{recipient}"),
            lines,
            shipping: None,
            all: false,
        };
        self.refund(&req).expect("a gift's units are refundable");
    }

    /// A decline of `recipient`'s sub-order: `Ok(true)` when it changes the order.
    pub fn decline(&mut self, recipient: &str) -> Result<bool, &'static str> {
        let Some((_, subs)) = &self.gift else {
            return Err("not_found");
        };
        let Some(index) = subs.iter().position(|s| s.0 == recipient) else {
            return Err("not_found");
        };
        match subs[index].2 {
            SubOrderState::Declined => Ok(false),
            SubOrderState::Sent => {
                self.give_gift_back(index, SubOrderState::Declined);
                Ok(true)
            }
            _ => Err("gift_settled"),
        }
    }

    /// A recipient who has not answered yet, if any.
    pub fn waiting_recipient(&self) -> Option<String> {
        let (_, subs) = self.gift.as_ref()?;
        subs.iter()
            .find(|s| s.2 == SubOrderState::Sent)
            .map(|s| s.0.clone())
    }

    /// A newly committed order must carry the payment deadline the documented timeout
    /// gives it.
    pub fn placed_at(&self, created_ms: i64) -> bool {
        self.state == OrderState::Placed
            && self.pay_by == Some(created_ms + DEFAULT_PAYMENT_TIMEOUT_MS)
            && self.after_sale_ends.is_none()
    }

    /// Whether a cancel is accepted (`Ok(true)`: it changes the order).
    pub fn cancel(&mut self) -> Result<bool, &'static str> {
        match self.status {
            OrderStatus::Cancelled => return Ok(false),
            OrderStatus::Placed => {}
            _ => return Err("order_not_cancellable"),
        }
        if matches!(
            self.state,
            OrderState::Shipped | OrderState::Received | OrderState::Completed
        ) {
            return Err("order_not_cancellable");
        }
        self.give_back_all(OrderState::Cancelled);
        Ok(true)
    }

    fn give_back_all(&mut self, state: OrderState) {
        for l in &mut self.lines {
            l.refunded_quantity = l.quantity;
            l.refunded = l.payable;
        }
        self.shipping_refunded = self.shipping;
        for c in &mut self.commissions {
            c.take_back(c.left());
        }
        for r in &mut self.reservations {
            if r.on_cancel {
                release_all(r);
            }
        }
        give_back(&mut self.claims);
        for sub in self.gift.iter_mut().flat_map(|(_, subs)| subs) {
            if sub.2 == SubOrderState::Sent {
                sub.2 = SubOrderState::Cancelled;
            }
        }
        self.status = OrderStatus::Cancelled;
        self.enter(state);
    }

    fn enter(&mut self, state: OrderState) {
        self.state = state;
        if state != OrderState::Placed {
            self.pay_by = None;
        }
        if state != OrderState::Received {
            self.after_sale_ends = None;
        }
    }

    /// Apply what the timers due at `now` do: an unpaid order past its deadline expires,
    /// a received one past its after-sale window completes, a gift's sub-orders still
    /// waiting past its deadline expire (refunded). True when something changed.
    pub fn fire_due(&mut self, now: i64) -> bool {
        let lifecycle = self.fire_lifecycle(now);
        self.fire_gift(now) || lifecycle
    }

    /// What the order's payment deadline or after-sale window does at `now`.
    pub fn fire_lifecycle(&mut self, now: i64) -> bool {
        let mut changed = false;
        if self.state == OrderState::Placed && self.pay_by.is_some_and(|at| at <= now) {
            self.give_back_all(OrderState::Expired);
            changed = true;
        } else if self.state == OrderState::Received
            && self.after_sale_ends.is_some_and(|at| at <= now)
        {
            self.enter(OrderState::Completed);
            for c in &mut self.commissions {
                c.state = CommissionState::Settleable;
            }
            changed = true;
        }
        changed
    }

    /// What the gift's deadline does at `now`. Completion and a gift's refunds commute:
    /// whichever timer fires first, the same.
    pub fn fire_gift(&mut self, now: i64) -> bool {
        let mut changed = false;
        let due = (self.gift.as_ref()).is_some_and(|(at, _)| *at <= now);
        if due && self.status != OrderStatus::Cancelled {
            let waiting: Vec<usize> = (self.gift.iter().flat_map(|(_, subs)| subs.iter()))
                .enumerate()
                .filter(|(_, s)| s.2 == SubOrderState::Sent)
                .map(|(i, _)| i)
                .collect();
            for i in waiting {
                self.give_gift_back(i, SubOrderState::Expired);
                changed = true;
            }
        }
        changed
    }

    /// What a settlement run on the books of `ledger` (`None`: the merchant's) does to the
    /// order: every settleable share on those books with something left is paid. The
    /// number of shares it paid.
    pub fn settle(&mut self, ledger: Option<&str>) -> u64 {
        let mut paid = 0;
        for c in &mut self.commissions {
            if c.state == CommissionState::Settleable
                && c.left() != 0
                && c.ledger.as_deref() == ledger
            {
                c.state = CommissionState::Settled;
                paid += 1;
            }
        }
        paid
    }

    /// Apply an event at host time `now`; `Err` names why Plaza must refuse it. A refusal
    /// may still change the order: an unpaid order past its deadline expires first.
    pub fn event(&mut self, req: &EventRequest, now: i64) -> Result<bool, &'static str> {
        if let Some((_, kind, at)) = self.events.iter().find(|e| e.0 == req.event_id) {
            return if (*kind, *at) == (req.kind, req.at_ms) {
                Ok(false)
            } else {
                Err("event_id_reused")
            };
        }
        if self.state == OrderState::Placed && self.pay_by.is_some_and(|at| at <= now) {
            self.give_back_all(OrderState::Expired);
            return Err("order_state");
        }
        let (from, to): (&[OrderState], OrderState) = match req.kind {
            EventType::Paid => (&[OrderState::Placed], OrderState::Paid),
            EventType::Shipped => (&[OrderState::Paid], OrderState::Shipped),
            EventType::Received => (
                &[OrderState::Paid, OrderState::Shipped],
                OrderState::Received,
            ),
        };
        if !from.contains(&self.state) {
            return Err("order_state");
        }
        if req.at_ms < self.last_at {
            return Err("invalid");
        }
        self.events
            .push((req.event_id.clone(), req.kind, req.at_ms));
        self.last_at = req.at_ms;
        self.enter(to);
        if to == OrderState::Received {
            self.after_sale_ends = Some(req.at_ms + DEFAULT_AFTER_SALE_MS);
        }
        Ok(true)
    }

    /// Apply a refund request; `Err` names why Plaza must refuse it (nothing changes).
    pub fn refund(&mut self, req: &RefundRequest) -> Result<bool, &'static str> {
        if self.refunds.contains(&req.refund_id) {
            return Ok(false);
        }
        if self.status == OrderStatus::Cancelled {
            return Err("order_cancelled");
        }
        if req.all && (!req.lines.is_empty() || req.shipping.is_some())
            || !req.all && req.lines.is_empty() && req.shipping.is_none()
        {
            return Err("invalid");
        }
        let mut next = self.clone();
        let wanted: Vec<(String, Option<u32>, Option<i64>)> = if req.all {
            next.lines
                .iter()
                .filter(|l| l.refunded_quantity < l.quantity)
                .map(|l| (l.id.clone(), None, None))
                .collect()
        } else {
            req.lines
                .iter()
                .map(|w| (w.line.clone(), w.quantity, w.amount.map(|a| a.0)))
                .collect()
        };
        for (id, quantity, amount) in &wanted {
            let Some(index) = next.lines.iter().position(|l| l.id == *id) else {
                return Err("invalid");
            };
            let line = &mut next.lines[index];
            let held = line.quantity - line.refunded_quantity;
            let left = line.payable - line.refunded;
            // The part of the line given back: k of the units held, or an amount of the
            // money held (no units return).
            let (part, whole, units) = match (quantity, amount) {
                (Some(_), Some(_)) => return Err("invalid"),
                (None, Some(a)) if *a <= 0 || *a > left => return Err("invalid"),
                (None, Some(a)) => (i128::from(*a), i128::from(left), 0),
                (k, None) => {
                    let k = k.unwrap_or(held);
                    if k == 0 || k > held {
                        return Err("invalid");
                    }
                    (i128::from(k), i128::from(held), k)
                }
            };
            line.refunded += portion(left, part, whole);
            line.refunded_quantity += units;
            for c in next.commissions.iter_mut().filter(|c| c.line == *id) {
                let back = portion(c.left(), part, whole);
                c.take_back(back);
            }
            keep_what_is_passed_on(&mut next.commissions, id);
            for r in next.reservations.iter_mut().filter(|r| r.on_refund) {
                let back = portion(r.line_shares[index], part, whole);
                r.line_shares[index] -= back;
                r.released += back;
            }
        }
        let mut shipping_back = 0;
        if let Some(s) = req.shipping {
            if s.0 <= 0 || s.0 > next.shipping - next.shipping_refunded {
                return Err("invalid");
            }
            next.shipping_refunded += s.0;
            shipping_back = s.0;
        }
        let units_back = next.lines.iter().all(|l| l.refunded_quantity == l.quantity);
        if units_back {
            shipping_back += next.shipping - next.shipping_refunded;
            next.shipping_refunded = next.shipping;
        }
        if wanted.is_empty() && shipping_back == 0 {
            return Err("invalid");
        }
        let money_back = next.lines.iter().all(|l| l.refunded == l.payable)
            && next.shipping_refunded == next.shipping;
        if units_back || money_back {
            for r in next.reservations.iter_mut().filter(|r| r.on_refund) {
                release_all(r);
            }
            give_back(&mut next.claims);
            next.status = OrderStatus::Refunded;
        } else {
            next.status = OrderStatus::PartiallyRefunded;
        }
        next.refunds.push(req.refund_id.clone());
        *self = next;
        Ok(true)
    }

    /// The order still holds units or money to refund.
    pub fn refundable(&self) -> bool {
        self.status != OrderStatus::Cancelled
            && (self.lines.iter().any(|l| l.refunded_quantity < l.quantity)
                || self.lines.iter().any(|l| l.refunded < l.payable)
                || self.shipping_refunded < self.shipping)
    }

    /// Compare with what the store holds.
    pub fn matches(&self, stored: &ModelOrder) -> Result<()> {
        if self != stored {
            bail!("expected {self:#?}\nstored {stored:#?}");
        }
        Ok(())
    }
}

/// Claims whose template gives them back are the buyer's again.
/// Each share rounded down on its own could leave a layer keeping less on `line` than it
/// passes on: until none does, take the excess back from what it passes on, the share
/// keeping most first (then the earliest).
fn keep_what_is_passed_on(cs: &mut [Commission], line: &str) {
    loop {
        let mut changed = false;
        let payers: std::collections::BTreeSet<String> = (cs.iter())
            .filter(|c| c.line == line && c.passed_on)
            .map(|c| c.payer.clone())
            .collect();
        for payer in payers {
            let keeps: i64 = (cs.iter())
                .filter(|c| c.line == line && c.payee == payer)
                .map(Commission::left)
                .sum();
            let passes = |c: &Commission| c.line == line && c.passed_on && c.payer == payer;
            let passed: i64 = cs.iter().filter(|c| passes(c)).map(Commission::left).sum();
            let mut excess = passed - keeps;
            if excess <= 0 {
                continue;
            }
            let mut out: Vec<usize> = (0..cs.len()).filter(|i| passes(&cs[*i])).collect();
            out.sort_by_key(|i| (std::cmp::Reverse(cs[*i].left()), *i));
            for i in out {
                let take = excess.min(cs[i].left());
                cs[i].take_back(take);
                excess -= take;
            }
            changed = true;
        }
        if !changed {
            return;
        }
    }
}

fn give_back(claims: &mut [(String, bool, bool)]) {
    for (_, returns, returned) in claims.iter_mut() {
        *returned |= *returns;
    }
}

fn release_all(r: &mut Reservation) {
    r.released = r.amount;
    r.line_shares.iter_mut().for_each(|s| *s = 0);
    r.counts_released = true;
}

/// What holds of any stored order, whatever happened to it: amounts within bounds and
/// its ledger (`entries`: kind, amount, seq) summing to what it still holds.
pub fn check_order(order: &Order, entries: &[(String, i64, u32)]) -> Result<()> {
    let mut money = 0i64;
    let mut commission = 0i64;
    for (i, (kind, amount, seq)) in entries.iter().enumerate() {
        ensure!(*seq as usize == i + 1, "ledger seq {seq} at position {i}");
        ensure!(*amount != 0, "a zero ledger entry");
        match kind.as_str() {
            "commission_pending" | "commission_reversed" | "commission_clawback" => {
                commission += amount
            }
            _ => money += amount,
        }
    }
    ensure!(
        entries.len() == order.ledger_entries as usize,
        "order counts {} ledger entries, {} stored",
        order.ledger_entries,
        entries.len()
    );
    let mut held = order.shipping.0 - order.shipping_refunded.0;
    ensure!(
        (0..=order.shipping.0).contains(&order.shipping_refunded.0),
        "shipping refunded {:?} of {:?}",
        order.shipping_refunded,
        order.shipping
    );
    for l in &order.lines {
        ensure!(l.payable.0 >= 0, "line {} payable {:?}", l.id, l.payable);
        ensure!(
            (0..=l.payable.0).contains(&l.refunded.0),
            "line {} refunded {:?} of {:?}",
            l.id,
            l.refunded,
            l.payable
        );
        ensure!(l.refunded_quantity <= l.quantity, "line {} units", l.id);
        if l.refunded_quantity == l.quantity {
            ensure!(l.refunded == l.payable, "line {} fully refunded", l.id);
        }
        held += l.payable.0 - l.refunded.0;
    }
    ensure!(money == held, "ledger money {money}, order holds {held}");
    let due: i64 = order.commissions.iter().map(|c| c.left().0).sum();
    ensure!(
        order
            .commissions
            .iter()
            .all(|c| (0..=c.amount.0).contains(&(c.reversed.0 + c.clawed_back.0))),
        "a commission reversed beyond its amount"
    );
    ensure!(
        commission == due,
        "ledger commission {commission}, due {due}"
    );
    // Across every layer, through any refunds: on each line, whoever passes money on still
    // holds at least what it passed on (a waterfall pays only out of what came in).
    let mut holds: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for c in &order.commissions {
        *holds.entry((&c.line, &c.payee)).or_default() += c.left().0;
        // A layer's payer is on its own books, yet it pays out of what it received here.
        if c.payer_party != plaza::domain::commission::MERCHANT {
            *holds.entry((&c.line, &c.payer)).or_default() -= c.left().0;
        }
    }
    if let Some(((line, who), held)) = holds.iter().find(|(_, held)| **held < 0) {
        bail!(
            "{who} passed on {} more than it holds on line {line}",
            -held
        );
    }
    for r in &order.reservations {
        let shares: i64 = r.line_shares.iter().map(|s| s.0).sum();
        ensure!(
            (0..=r.amount.0).contains(&r.released.0) && shares == r.amount.0 - r.released.0,
            "reservation {} holds {shares} of {:?} with {:?} released",
            r.step,
            r.amount,
            r.released
        );
    }
    let all_back = order
        .lines
        .iter()
        .all(|l| l.refunded_quantity == l.quantity);
    // A refund of every fen (by amount, the units kept) also refunds the order.
    let money_back = order.lines.iter().all(|l| l.refunded == l.payable)
        && order.shipping_refunded == order.shipping;
    let state = order.state;
    ensure!(
        order.pay_by_ms.is_some() == (state == OrderState::Placed),
        "a {state:?} order with payment deadline {:?}",
        order.pay_by_ms
    );
    ensure!(
        order.after_sale_ends_ms.is_some() == (state == OrderState::Received),
        "a {state:?} order with after-sale end {:?}",
        order.after_sale_ends_ms
    );
    if matches!(state, OrderState::Cancelled | OrderState::Expired) {
        ensure!(
            order.status == OrderStatus::Cancelled,
            "{state:?} but {:?}",
            order.status
        );
    }
    let gone = matches!(order.status, OrderStatus::Cancelled | OrderStatus::Refunded);
    for g in &order.gifts {
        ensure!(
            g.returned == gone && g.quantity > 0,
            "a {:?} order's gift {g:?}",
            order.status
        );
    }
    match order.status {
        OrderStatus::Placed => ensure!(order.refunds.is_empty(), "placed with refunds"),
        OrderStatus::Refunded => ensure!(
            (all_back || money_back) && held == 0,
            "refunded but {held} held"
        ),
        OrderStatus::Cancelled => ensure!(all_back && held == 0, "cancelled but {held} held"),
        OrderStatus::PartiallyRefunded => {
            ensure!(!all_back && !money_back, "partially refunded, all back")
        }
    }
    Ok(())
}
