//! The steps a simulated checkout takes, and how each answer is judged: an answer is
//! acknowledged (the model takes it, and it must match), a definite refusal (the model
//! must agree), or a storage error (in doubt: retried later with the same request).

use super::model::ModelOrder;
use super::world::{PLAN, World};
use anyhow::{Result, bail, ensure};
use plaza::domain::{CommitRequest, Error, Order, RefundLineRequest, RefundRequest};
use plaza::executor::Cart;
use serde_json::json;

/// A request whose answer was a storage error.
#[derive(Clone, Debug)]
pub enum Pending {
    Commit(Box<CommitRequest>),
    Cancel,
    Refund(RefundRequest),
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
fn in_doubt(e: &Error) -> bool {
    matches!(e, Error::Store(_))
}

impl World {
    /// One step: a retry of a request in doubt, or a new request.
    pub fn step(&mut self) -> Result<()> {
        self.summary.steps += 1;
        let roll = self.rng.u32(0..1000);
        if !self.pending.is_empty() && roll < 300 {
            let index = self.rng.usize(0..self.pending.len());
            let id = self.pending.keys().nth(index).cloned().expect("in range");
            self.retry(&id)?;
        } else {
            match roll % 100 {
                0..20 => self.quote()?,
                20..55 => self.commit()?,
                55..65 => self.cancel()?,
                65..93 => self.refund()?,
                93..98 => {
                    let ms = self.rng.i64(1..120_000);
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
        let buyer = format!("b-{}", self.rng.u8(0..12));
        let tier = self.rng.bool().then_some("gold");
        let attribution = match self.rng.u8(0..5) {
            0 | 1 => json!({}),
            n => json!({"promoter": format!("p-{n}")}),
        };
        let coupons: Vec<&str> = if self.rng.bool() {
            vec!["TEA30"]
        } else {
            vec![]
        };
        let shipping = [0, 800, 1200, 2000][self.rng.usize(0..4)];
        serde_json::from_value(json!({
            "lines": lines,
            "buyer": {"id": buyer, "member_tier": tier},
            "attribution": attribution,
            "coupon_codes": coupons,
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
        let req = CommitRequest {
            order_id: format!("o-{}", self.next_id),
            plan: PLAN.into(),
            cart: self.cart(),
            expected_payable: None,
        };
        self.send_commit(req)
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
                self.summary.commits += 1;
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
        let wanted = self.rng.usize(1..=order.lines.len().min(3));
        let mut lines = Vec::new();
        for _ in 0..wanted {
            let line = &order.lines[self.rng.usize(0..order.lines.len())];
            let held = line.quantity - line.refunded_quantity;
            let quantity = match self.rng.u8(0..10) {
                0..3 => None,
                3 => Some(held + 1),
                _ => Some(self.rng.u32(1..=held.max(1))),
            };
            lines.push(RefundLineRequest {
                line: line.id.clone(),
                quantity,
            });
        }
        self.next_id += 1;
        let req = RefundRequest {
            refund_id: format!("r-{}", self.next_id),
            lines,
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
        }
    }
}
