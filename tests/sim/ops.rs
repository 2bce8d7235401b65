//! The steps a simulated checkout takes, and how each answer is judged: an answer is
//! acknowledged (the model takes it, and it must match), a definite refusal (the model
//! must agree), or a storage error (in doubt: retried later with the same request).

use super::model::ModelOrder;
use super::world::{PLAN, World};
use anyhow::{Result, bail, ensure};
use plaza::domain::gift_orders::{GiftRequest, GiftUnits, Recipient};
use plaza::domain::{
    CommitRequest, Error, EventRequest, EventType, Order, OrderState, RefundLineRequest,
    RefundRequest,
};
use plaza::executor::Cart;
use plaza::store::StoreError;
use serde_json::json;

/// A request whose answer was a storage error.
#[derive(Clone, Debug)]
pub enum Pending {
    Commit(Box<CommitRequest>),
    Cancel,
    Refund(RefundRequest),
    /// A gift recipient's decline.
    Decline(String),
    /// The event, and the host time it was sent at.
    Event(EventRequest, i64),
}

/// The goods on sale: sku, category, list price.
const CATALOG: [(&str, &str, i64); 8] = [
    ("longjing-250g", "tea", 12_800),
    ("biluochun-100g", "tea", 9_900),
    ("puer-cake", "tea", 35_800),
    ("teapot-yixing", "teaware", 29_900),
    ("cup-set", "teaware", 5_990),
    ("tea-tray", "teaware", 15_800),
    ("gift-box", "gift", 1_990),
    ("kettle", "teaware", 45_000),
];

/// How a storage error is told from a refusal.
/// Whether `e` is a fault the simulation injected (the write may or may not have
/// happened). Any other storage error is a bug: a transaction that names too few tables,
/// a record that does not decode.
fn in_doubt(e: &Error) -> bool {
    matches!(e, Error::Store(StoreError::Backend(m)) if m.starts_with("injected:"))
}

impl World {
    /// One step: a retry of a request in doubt, or a new request.
    pub fn step(&mut self) -> Result<()> {
        self.summary.steps += 1;
        let roll = self.rng.u32(0..1000);
        if self.firing {
            // The last run of the timers failed: which fired is in doubt until one runs
            // through.
            self.fire_timers()?;
        } else if let Some((ledger, req)) = self.settling.clone() {
            // So with a settlement run: which shares it paid is in doubt until it answers.
            self.send_settle(ledger, req)?;
        } else if !self.pending.is_empty() && roll < 300 {
            let index = self.rng.usize(0..self.pending.len());
            let id = self.pending.keys().nth(index).cloned().expect("in range");
            self.retry(&id)?;
        } else {
            match roll % 100 {
                0..18 => self.quote()?,
                18..50 => self.commit()?,
                50..57 => self.cancel()?,
                57..60 => self.decline()?,
                60..80 => self.refund()?,
                80..90 => self.event()?,
                // Timers run only when no request is in doubt, so that the model knows
                // each order's state when they do.
                90..92 if self.pending.is_empty() => self.fire_timers()?,
                // Settlement runs too, so the model knows which shares are settleable.
                92 if self.pending.is_empty() => self.settle()?,
                90..93 => self.quote()?,
                93..98 => {
                    // Mostly minutes; now and then days, past after-sale windows.
                    let ms = if self.rng.u8(0..10) == 0 {
                        self.rng.i64(1..8 * 24 * 3_600_000)
                    } else {
                        self.rng.i64(1..120_000)
                    };
                    self.clock.advance(ms);
                    self.trace(("advance", ms));
                }
                _ => {
                    self.backend.kill();
                    self.trace("kill");
                }
            }
        }
        self.recover()?;
        self.check()
    }

    fn cart(&mut self) -> Cart {
        let lines = self.rng.usize(1..=5);
        let mut skus: Vec<usize> = (0..CATALOG.len()).collect();
        self.rng.shuffle(&mut skus);
        let lines: Vec<serde_json::Value> = skus[..lines]
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let (sku, category, price) = CATALOG[s];
                let quantity = if self.rng.u8(0..10) == 0 {
                    self.rng.u32(6..=40)
                } else {
                    self.rng.u32(1..=5)
                };
                json!({"id": format!("l{i}"), "sku": sku, "merchant": "m-teahouse",
                    "categories": [category], "quantity": quantity, "unit_price": price})
            })
            .collect();
        let b = self.rng.u8(0..12);
        let buyer = format!("b-{b}");
        let tier = self.rng.bool().then_some("gold");
        let attribution = match self.rng.u8(0..5) {
            0 | 1 => json!({}),
            n => json!({"promoter": format!("p-{n}")}),
        };
        // A typed code (which the bound step refuses), one of the buyer's claims (some
        // used by earlier orders), another buyer's claim, the best of the buyer's claims
        // as the host chooses them, or nothing.
        let (coupons, claims, best): (Vec<&str>, Vec<String>, bool) = match self.rng.u8(0..9) {
            0 => (vec!["TEA30"], vec![], false),
            1..=3 => {
                let k = self.rng.u8(0..super::market::CLAIMS_PER_BUYER);
                (vec![], vec![super::market::claim_id(b, k)], false)
            }
            4 => (
                vec![],
                vec![super::market::claim_id((b + 1) % 12, 0)],
                false,
            ),
            5 => (vec![], vec![], true),
            _ => (vec![], vec![], false),
        };
        let shipping = [0, 800, 1200, 2000][self.rng.usize(0..4)];
        serde_json::from_value(json!({
            "lines": lines,
            "buyer": {"id": buyer, "member_tier": tier},
            "attribution": attribution,
            "coupon_codes": coupons,
            "claims": claims,
            "best_claims": best,
            "shipping_fee": shipping,
            "now_ms": self.clock_ms(),
        }))
        .expect("the simulated cart is valid")
    }

    fn clock_ms(&self) -> i64 {
        use plaza::clock::Clock as _;
        self.clock.now_ms()
    }

    fn quote(&mut self) -> Result<()> {
        let cart = self.cart();
        let (plaza, who) = (self.plaza.clone(), self.who.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.quote(&who, PLAN, None, cart).await });
        self.summary.quotes += 1;
        match answer {
            Ok(quote) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    crate::assert_reconciles(&quote)
                }))
                .map_err(|_| anyhow::anyhow!("a quote does not reconcile: {quote:?}"))?;
                self.trace(("quote", quote.total.payable.0));
            }
            Err(e) if in_doubt(&e) => self.trace("quote failed"),
            Err(e) => bail!("quote: unexpected {e}"),
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.next_id += 1;
        let cart = self.cart();
        // Now and then the buyer sends the order as a gift to one to three friends.
        let gift = (self.rng.u8(0..6) == 0).then(|| self.gift(&cart));
        let req = CommitRequest {
            order_id: format!("o-{}", self.next_id),
            plan: PLAN.into(),
            cart,
            expected_payable: None,
            gift,
        };
        self.send_commit(req)
    }

    /// Every unit of `cart` shared out over one to three recipients, each given one.
    fn gift(&mut self, cart: &Cart) -> GiftRequest {
        let units: u32 = cart.lines.iter().map(|l| l.quantity).sum();
        let n = self.rng.u32(1..=3).min(units);
        let mut recipients: Vec<Recipient> = (0..n)
            .map(|i| Recipient {
                recipient: format!("friend-{i}"),
                lines: Vec::new(),
            })
            .collect();
        let mut next = 0;
        for line in &cart.lines {
            for _ in 0..line.quantity {
                // Each recipient gets a unit first; then at random.
                let r = if next < n { next } else { self.rng.u32(0..n) };
                next += 1;
                let lines = &mut recipients[r as usize].lines;
                match lines.iter_mut().find(|u| *u.line == *line.id) {
                    Some(u) => u.quantity += 1,
                    None => lines.push(GiftUnits {
                        line: line.id.to_string(),
                        quantity: 1,
                    }),
                }
            }
        }
        GiftRequest { recipients }
    }

    /// A gift's recipient declines (now and then one already answered, or an order that
    /// is not a gift).
    fn decline(&mut self) -> Result<()> {
        let Some(id) = self.pick_order(|o| o.waiting_recipient().is_some()) else {
            return Ok(());
        };
        let recipient = self.model[&id]
            .waiting_recipient()
            .unwrap_or_else(|| "friend-0".to_owned());
        self.send_decline(&id, recipient)
    }

    fn send_decline(&mut self, id: &str, recipient: String) -> Result<()> {
        let (plaza, who) = (self.plaza.clone(), self.who.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.decline_gift(&who, id, &recipient).await });
        self.pending.remove(id);
        let mut expected = self.model[id].clone();
        let verdict = expected.decline(&recipient);
        match answer {
            Ok(order) => {
                ensure!(
                    verdict.is_ok(),
                    "decline {id} {recipient}: accepted, the model refuses"
                );
                self.summary.declines += 1;
                self.acknowledge(id, expected, &order, "declined")?;
            }
            Err(e) if in_doubt(&e) => {
                self.trace(("decline in doubt", id));
                self.pending
                    .insert(id.to_owned(), Pending::Decline(recipient));
            }
            Err(Error::Conflict { kind, .. }) => {
                ensure!(
                    verdict == Err(kind),
                    "decline {id}: {kind}, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
            }
            Err(Error::NotFound { .. }) => {
                ensure!(
                    verdict == Err("not_found"),
                    "decline {id}: 404, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
            }
            Err(e) => bail!("decline {id}: unexpected {e}"),
        }
        Ok(())
    }

    fn send_commit(&mut self, req: CommitRequest) -> Result<()> {
        let id = req.order_id.clone();
        let (plaza, who, sent) = (self.plaza.clone(), self.who.clone(), req.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.commit(&who, sent).await });
        self.pending.remove(&id);
        match answer {
            Ok((order, _created)) => {
                let model = ModelOrder::of(&order);
                // A retry may answer an order placed at an earlier step.
                ensure!(
                    model.placed_at(order.created_ms) && order.created_ms <= self.clock_ms(),
                    "commit {id}: placed as {model:?} at {}",
                    order.created_ms
                );
                self.summary.commits += 1;
                if order.quote.get("layers").is_some() {
                    self.summary.layered += 1;
                }
                let gifts = order.gifts.iter().map(|g| u64::from(g.quantity));
                self.summary.gift_units += gifts.sum::<u64>();
                self.trace(("committed", &id, order.quote.to_string()));
                self.model.insert(id, ModelOrder::of(&order));
            }
            Err(e) if in_doubt(&e) => {
                self.trace(("commit in doubt", &id));
                self.pending.insert(id, Pending::Commit(Box::new(req)));
            }
            Err(Error::BudgetExhausted { step, .. } | Error::BudgetUnreadable { step }) => {
                self.summary.refused_commits += 1;
                self.trace(("commit refused", &id, step));
            }
            Err(Error::Conflict {
                kind: kind @ ("claim_used" | "claim_not_redeemable" | "points_changed"),
                ..
            }) => {
                self.summary.refused_commits += 1;
                self.trace(("commit refused", &id, kind));
            }
            Err(e) => bail!("commit {id}: unexpected {e}"),
        }
        Ok(())
    }

    /// An acknowledged order with no request in doubt, preferring ones `fit` accepts.
    fn pick_order(&mut self, fit: impl Fn(&ModelOrder) -> bool) -> Option<String> {
        let free: Vec<&String> = self
            .model
            .keys()
            .filter(|id| !self.pending.contains_key(*id))
            .collect();
        let fitting: Vec<&String> = free
            .iter()
            .copied()
            .filter(|id| fit(&self.model[*id]))
            .collect();
        let from = if fitting.is_empty() || self.rng.u8(0..20) == 0 {
            free
        } else {
            fitting
        };
        if from.is_empty() {
            return None;
        }
        Some(from[self.rng.usize(0..from.len())].clone())
    }

    fn cancel(&mut self) -> Result<()> {
        let Some(id) = self.pick_order(|o| o.status == plaza::domain::OrderStatus::Placed) else {
            return Ok(());
        };
        self.send_cancel(&id)
    }

    fn send_cancel(&mut self, id: &str) -> Result<()> {
        let (plaza, who) = (self.plaza.clone(), self.who.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.cancel(&who, id).await });
        self.pending.remove(id);
        let mut expected = self.model[id].clone();
        let verdict = expected.cancel();
        match answer {
            Ok(order) => {
                ensure!(verdict.is_ok(), "cancel {id}: accepted, the model refuses");
                self.summary.cancels += 1;
                self.acknowledge(id, expected, &order, "cancelled")?;
            }
            Err(e) if in_doubt(&e) => {
                self.trace(("cancel in doubt", id));
                self.pending.insert(id.to_owned(), Pending::Cancel);
            }
            Err(Error::Conflict { kind, .. }) => {
                ensure!(
                    verdict == Err(kind),
                    "cancel {id}: {kind}, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
                self.trace(("cancel refused", id));
            }
            Err(e) => bail!("cancel {id}: unexpected {e}"),
        }
        Ok(())
    }

    fn refund(&mut self) -> Result<()> {
        let Some(id) = self.pick_order(ModelOrder::refundable) else {
            return Ok(());
        };
        let order = self.model[&id].clone();
        self.next_id += 1;
        let refund_id = format!("r-{}", self.next_id);
        // Shops refund units, amounts, shipping alone, or everything left.
        let req = match self.rng.u8(0..10) {
            0 => RefundRequest {
                refund_id,
                lines: Vec::new(),
                shipping: None,
                all: true,
            },
            1 => {
                let left = order.shipping - order.shipping_refunded;
                RefundRequest {
                    refund_id,
                    lines: Vec::new(),
                    shipping: Some(plaza::Money(self.rng.i64(1..=left.max(1) + 1))),
                    all: false,
                }
            }
            _ => {
                let wanted = self.rng.usize(1..=order.lines.len().min(3));
                let mut lines = Vec::new();
                for _ in 0..wanted {
                    let line = &order.lines[self.rng.usize(0..order.lines.len())];
                    let held = line.quantity - line.refunded_quantity;
                    let left = line.payable - line.refunded;
                    let (quantity, amount) = match self.rng.u8(0..12) {
                        0..3 => (None, None),
                        3 => (Some(held + 1), None),
                        4..6 => (None, Some(plaza::Money(self.rng.i64(1..=left.max(1))))),
                        6 => (None, Some(plaza::Money(left + 1))),
                        _ => (Some(self.rng.u32(1..=held.max(1))), None),
                    };
                    lines.push(RefundLineRequest {
                        line: line.id.clone(),
                        quantity,
                        amount,
                    });
                }
                RefundRequest {
                    refund_id,
                    lines,
                    shipping: None,
                    all: false,
                }
            }
        };
        self.send_refund(&id, req)
    }

    fn send_refund(&mut self, id: &str, req: RefundRequest) -> Result<()> {
        let (plaza, who, sent) = (self.plaza.clone(), self.who.clone(), req.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.refund(&who, id, sent).await });
        self.pending.remove(id);
        let mut expected = self.model[id].clone();
        let verdict = expected.refund(&req);
        match answer {
            Ok(order) => {
                ensure!(verdict.is_ok(), "refund {id}: accepted, the model refuses");
                self.summary.refunds += 1;
                self.acknowledge(id, expected, &order, "refunded")?;
            }
            Err(e) if in_doubt(&e) => {
                self.trace(("refund in doubt", id));
                self.pending.insert(id.to_owned(), Pending::Refund(req));
            }
            Err(Error::Invalid { .. }) => {
                ensure!(
                    verdict == Err("invalid"),
                    "refund {id}: invalid, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
                self.trace(("refund invalid", id));
            }
            Err(Error::Conflict { kind, .. }) => {
                ensure!(
                    verdict == Err(kind),
                    "refund {id}: {kind}, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
                self.trace(("refund refused", id));
            }
            Err(e) => bail!("refund {id}: unexpected {e}"),
        }
        Ok(())
    }

    /// Report what happened to an order: mostly the next step of its lifecycle, now and
    /// then one that does not fit, an event sent again, or a time before the last event.
    fn event(&mut self) -> Result<()> {
        // Half the time an order already under way, so that orders reach their after-sale
        // window, complete and get settled (and refunded after that).
        let onward = self.rng.bool();
        let Some(id) = self.pick_order(|o| match o.state {
            OrderState::Paid | OrderState::Shipped => true,
            OrderState::Placed => !onward,
            _ => false,
        }) else {
            return Ok(());
        };
        let order = &self.model[&id];
        let kind = match (order.state, self.rng.u8(0..10)) {
            (_, 0) => {
                [EventType::Paid, EventType::Shipped, EventType::Received][self.rng.usize(0..3)]
            }
            (OrderState::Placed, _) => EventType::Paid,
            (OrderState::Paid, n) if n < 3 => EventType::Received,
            (OrderState::Paid, _) => EventType::Shipped,
            _ => EventType::Received,
        };
        let now = self.clock_ms();
        let req = match (order.events.last(), self.rng.u8(0..20)) {
            // Sent again: mostly the same request, now and then another under its id.
            (Some((event_id, kind, at_ms)), 0) => EventRequest {
                event_id: event_id.clone(),
                kind: *kind,
                at_ms: *at_ms,
            },
            (Some((event_id, _, _)), 1) => EventRequest {
                event_id: event_id.clone(),
                kind,
                at_ms: now,
            },
            _ => {
                let at_ms = if self.rng.u8(0..20) == 0 {
                    order.last_at - 1
                } else {
                    now
                };
                self.next_id += 1;
                EventRequest {
                    event_id: format!("e-{}", self.next_id),
                    kind,
                    at_ms,
                }
            }
        };
        self.send_event(&id, req, now)
    }

    /// Send `req`, first sent at host time `sent` (a retry judges a change that already
    /// landed at the time it landed).
    fn send_event(&mut self, id: &str, req: EventRequest, sent: i64) -> Result<()> {
        let (plaza, who, request) = (self.plaza.clone(), self.who.clone(), req.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.order_event(&who, id, request).await });
        self.pending.remove(id);
        let landed = self
            .stored_order(id)
            .is_some_and(|o| o.events.iter().any(|e| e.event_id == req.event_id));
        let judged_at = if landed { sent } else { self.clock_ms() };
        let mut expected = self.model[id].clone();
        let verdict = expected.event(&req, judged_at);
        match answer {
            Ok(applied) => {
                ensure!(verdict.is_ok(), "event {id}: accepted, the model refuses");
                ensure!(applied.event_id == req.event_id && applied.kind == req.kind);
                self.summary.events += 1;
                self.trace(("event", id, &req.event_id));
                self.model.insert(id.to_owned(), expected);
            }
            Err(e) if in_doubt(&e) => {
                self.trace(("event in doubt", id));
                self.pending
                    .insert(id.to_owned(), Pending::Event(req, sent));
            }
            Err(Error::Invalid { .. }) => {
                ensure!(
                    verdict == Err("invalid"),
                    "event {id}: invalid, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
                self.trace(("event invalid", id));
            }
            Err(Error::Conflict { kind, .. }) => {
                ensure!(
                    verdict == Err(kind),
                    "event {id}: {kind}, model {verdict:?}"
                );
                self.summary.refused_changes += 1;
                self.trace(("event refused", id));
                // A refusal that expired the order first: that expiry is acknowledged.
                self.model.insert(id.to_owned(), expected);
            }
            Err(e) => bail!("event {id}: unexpected {e}"),
        }
        Ok(())
    }

    /// Run the host's due timers. On success the model applies every due deadline; on a
    /// storage error which fired is in doubt until a later run goes through.
    pub(super) fn fire_timers(&mut self) -> Result<()> {
        let plaza = self.plaza.clone();
        let answer = self
            .runtime
            .block_on(async { plaza.fire_due_timers().await });
        match answer {
            Ok(fired) => {
                let now = self.clock_ms();
                for order in self.model.values_mut() {
                    order.fire_due(now);
                }
                self.firing = false;
                self.timers_ran_at = Some(now);
                self.summary.timers_fired += fired.fired;
                self.trace(("timers", fired.fired));
                ensure!(
                    fired.left == 0,
                    "{} due timers were left in place",
                    fired.left
                );
            }
            Err(e) if in_doubt(&e) => {
                self.firing = true;
                self.trace("timers in doubt");
            }
            Err(e) => bail!("timers: unexpected {e}"),
        }
        Ok(())
    }

    /// A settlement run up to now, on the books of the merchant or of one of the plaza's
    /// agencies whose layers pay (`c`, `h`), by its admin.
    fn settle(&mut self) -> Result<()> {
        self.next_id += 1;
        let req = plaza::domain::SettlementRequest {
            settlement_id: format!("s-{}", self.next_id),
            until_ms: self.clock_ms(),
        };
        let ledger = match self.rng.u8(0..3) {
            0 => None,
            1 => Some("c".to_owned()),
            _ => Some("h".to_owned()),
        };
        self.send_settle(ledger, req)
    }

    pub(super) fn send_settle(
        &mut self,
        ledger: Option<String>,
        req: plaza::domain::SettlementRequest,
    ) -> Result<()> {
        let who = match &ledger {
            None => self.who.clone(),
            Some(agency) => plaza::domain::Principal::Member {
                tenant: agency.clone(),
                role: plaza::domain::Role::Admin,
            },
        };
        let (plaza, sent) = (self.plaza.clone(), req.clone());
        let answer = self
            .runtime
            .block_on(async { plaza.settle(&who, sent).await });
        match answer {
            Ok((run, _)) => {
                let paid: u64 = self
                    .model
                    .values_mut()
                    .map(|o| o.settle(ledger.as_deref()))
                    .sum();
                self.settling = None;
                self.summary.settled += run.shares;
                self.trace(("settle", &req.settlement_id, run.shares));
                ensure!(
                    run.shares == paid,
                    "settlement {} paid {} shares, the model {paid}",
                    req.settlement_id,
                    run.shares
                );
            }
            Err(e) if in_doubt(&e) => {
                self.settling = Some((ledger, req));
                self.trace("settlement in doubt");
            }
            Err(e) => bail!("settlement: unexpected {e}"),
        }
        Ok(())
    }

    /// The model takes an acknowledged change; the answer must be what it computed.
    fn acknowledge(
        &mut self,
        id: &str,
        expected: ModelOrder,
        order: &Order,
        what: &str,
    ) -> Result<()> {
        expected.matches(&ModelOrder::of(order))?;
        self.trace((what, id, order.ledger_entries));
        self.model.insert(id.to_owned(), expected);
        Ok(())
    }

    /// Send a request in doubt again, exactly as it was.
    pub(super) fn retry(&mut self, id: &str) -> Result<()> {
        self.summary.retries += 1;
        match self.pending[id].clone() {
            Pending::Commit(req) => self.send_commit(*req),
            Pending::Cancel => self.send_cancel(id),
            Pending::Refund(req) => self.send_refund(id, req),
            Pending::Decline(recipient) => self.send_decline(id, recipient),
            Pending::Event(req, sent) => self.send_event(id, req, sent),
        }
    }
}
