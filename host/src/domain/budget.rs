//! Budgets and usage limits: the counters behind them, reserving and releasing them (the
//! gate that consults them while a quote runs is [`super::gate`]).
//!
//! Counters are per plan and step id: `orders`, `amount` and `units` in all, `buyer/<id>`,
//! `gift_units` (赠品 stock) in all, `buyer_units/<id>` and `coupon/<code>` per subject, `day_orders/<date>` and
//! `day_amount/<date>` per day ([`super::budget_day`]). A quote only reads them (a step without room is explained
//! as `budget_exhausted`); a commit re-checks and changes them in the same transaction
//! that writes the order, so concurrent commits never overspend.
//!
//! Counters fail closed: one that cannot be read (corrupt, or the store failing) holds the
//! step back in a quote (`budget_unreadable`) and refuses a commit, refund or cancel that
//! would change it, with its own typed error. It never counts as unused.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::order::{CommitRequest, LayerBudget, Reservation};
use crate::Money;
use crate::executor::{self, BudgetLimit, Outcome, Quote};
use crate::store::{Store, StoreError, Tx, TxError, TxExt, key};

pub const ORDERS: &str = "orders";
pub const AMOUNT: &str = "amount";
pub const BUYER: &str = "buyer";
pub const COUPON: &str = "coupon";
pub const UNITS: &str = "units";
pub const BUYER_UNITS: &str = "buyer_units";
pub const GIFT_UNITS: &str = "gift_units";

/// The counters of one step of one plan.
#[derive(Debug, Clone)]
pub struct Counters {
    tenant: String,
    plan: String,
    step: String,
}

impl Counters {
    pub fn new(tenant: &str, plan: &str, step: &str) -> Counters {
        Counters {
            tenant: tenant.to_owned(),
            plan: plan.to_owned(),
            step: step.to_owned(),
        }
    }

    pub fn key(&self, limit: &str, subject: Option<&str>) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![
            self.tenant.as_bytes(),
            self.plan.as_bytes(),
            self.step.as_bytes(),
            limit.as_bytes(),
        ];
        if let Some(s) = subject {
            parts.push(s.as_bytes());
        }
        key(&parts)
    }
}

/// A count limit as the counter's type (limits are bounded at save, far below `i64::MAX`).
pub(super) fn limit(max: Option<u64>) -> Option<i64> {
    max.map(|m| i64::try_from(m).unwrap_or(i64::MAX))
}

/// A counter change inside an order transaction.
pub(super) struct Bump {
    pub key: Vec<u8>,
    pub delta: i64,
    /// The counter may not exceed this after the change.
    pub max: Option<i64>,
    pub step: String,
    pub limit: BudgetLimit,
}

/// Why counter changes were refused.
#[derive(Debug)]
pub(super) enum Refusal {
    Exhausted { step: String, limit: BudgetLimit },
    Unreadable { step: String },
}

/// Apply `bumps` inside `tx`: `Ok(Err(refusal))` when a limit has no room or a counter
/// cannot be read (the caller aborts, so nothing of the order is written).
pub(super) fn apply_bumps(tx: &mut dyn Tx, bumps: &[Bump]) -> Result<Result<(), Refusal>, TxError> {
    for b in bumps {
        let now = match tx.counter(&b.key) {
            Ok(now) => now,
            Err(TxError::Store(StoreError::Corrupt { .. })) => {
                return Ok(Err(Refusal::Unreadable {
                    step: b.step.clone(),
                }));
            }
            Err(e) => return Err(e),
        };
        let Some(next) = now.checked_add(b.delta) else {
            return Ok(Err(if b.delta > 0 {
                Refusal::Exhausted {
                    step: b.step.clone(),
                    limit: b.limit,
                }
            } else {
                Refusal::Unreadable {
                    step: b.step.clone(),
                }
            }));
        };
        if b.delta > 0 && b.max.is_some_and(|max| next > max) {
            return Ok(Err(Refusal::Exhausted {
                step: b.step.clone(),
                limit: b.limit,
            }));
        }
        tx.set_counter(&b.key, next)?;
    }
    Ok(Ok(()))
}

/// A plaza layer's plan as it ran in a quote: its budgets are reserved at commit.
pub(super) struct LayerPlan {
    pub tenant: String,
    pub plan: String,
    pub prepared: std::sync::Arc<executor::PreparedPlan>,
}

/// The reservations of every applied step with a budget, the merchant's (`tenant`'s plan)
/// and each layer's, and the counter changes. Day budgets count on the day of `now_ms`
/// in each budget's tenant's time zone (read from `store` only for a budget by day).
pub(super) fn reserve(
    (store, now_ms): (&Store, i64),
    tenant: &str,
    req: &CommitRequest,
    plan: &executor::PreparedPlan,
    quote: &Quote,
    layers: &[LayerPlan],
) -> Result<(Vec<Reservation>, Vec<Bump>), StoreError> {
    let mut out = (Vec::new(), Vec::new());
    // Each tenant's day, read once.
    let mut days: Vec<(String, String)> = Vec::new();
    let mut today = |tenant: &str| -> Result<String, StoreError> {
        if let Some((_, day)) = days.iter().find(|(t, _)| t == tenant) {
            return Ok(day.clone());
        }
        let day = super::budget_day::today_of(store, tenant, now_ms)?;
        days.push((tenant.to_owned(), day.clone()));
        Ok(day)
    };
    let merchant = LayerBudget {
        tenant: tenant.to_owned(),
        plan: req.plan.clone(),
    };
    reserve_plan(
        &mut out,
        (&merchant, false),
        req,
        plan,
        &quote.explanation,
        quote,
        &mut today,
    )?;
    for l in layers {
        let Some(report) = quote.layers.iter().find(|r| r.tenant == l.tenant) else {
            continue;
        };
        let books = LayerBudget {
            tenant: l.tenant.clone(),
            plan: l.plan.clone(),
        };
        reserve_plan(
            &mut out,
            (&books, true),
            req,
            &l.prepared,
            &report.explanation,
            quote,
            &mut today,
        )?;
    }
    Ok(out)
}

/// Reserve what the applied steps of `plan` (the plan `books` names, a plaza layer's when
/// `layer`; as `explanation` reports them) spent in `quote`.
fn reserve_plan(
    (reservations, bumps): &mut (Vec<Reservation>, Vec<Bump>),
    (books, layer): (&LayerBudget, bool),
    req: &CommitRequest,
    plan: &executor::PreparedPlan,
    explanation: &[executor::StepReport],
    quote: &Quote,
    today: &mut dyn FnMut(&str) -> Result<String, StoreError>,
) -> Result<(), StoreError> {
    // A layer's commission lines are on its tenant's ledger.
    let ledger = layer.then_some(books.tenant.as_str());
    for report in explanation {
        if report.outcome != Outcome::Applied {
            continue;
        }
        let Some(step) = plan.steps.iter().find(|s| s.step.id == report.step) else {
            continue;
        };
        let Some(budget) = &step.step.budget else {
            continue;
        };
        let c = Counters::new(&books.tenant, &books.plan, &report.step);
        let amount = report.discount + report.commission;
        let line_shares: Vec<Money> = quote
            .lines
            .iter()
            .map(|l| {
                let discount: Money = l
                    .adjustments
                    .iter()
                    .filter(|a| *a.step == *report.step)
                    .map(|a| a.amount)
                    .sum();
                let commission: Money = quote
                    .commissions
                    .iter()
                    .filter(|k| k.step == report.step && *k.line == *l.id)
                    .filter(|k| k.ledger.as_deref() == ledger)
                    .map(|k| k.amount)
                    .sum();
                discount + commission
            })
            .collect();
        let bump = |key, delta, max, limit| Bump {
            key,
            delta,
            max,
            step: report.step.clone(),
            limit,
        };
        // Units: the quantities of the lines the step adjusted (bounded by the cart's).
        let line_units: Vec<u32> = (quote.lines.iter())
            .map(
                |l| match l.adjustments.iter().any(|a| *a.step == *report.step) {
                    true => l.quantity,
                    false => 0,
                },
            )
            .collect();
        let units: u64 = line_units.iter().copied().map(u64::from).sum();
        let unit_delta = i64::try_from(units).unwrap_or(i64::MAX);
        let mut unit_counts = vec![(UNITS.to_owned(), None)];
        bumps.push(bump(
            c.key(UNITS, None),
            unit_delta,
            limit(budget.max_units),
            BudgetLimit::Units,
        ));
        if budget.max_units_per_buyer.is_some() {
            let buyer = &req.cart.buyer.id;
            unit_counts.push((BUYER_UNITS.to_owned(), Some(buyer.clone())));
            bumps.push(bump(
                c.key(BUYER_UNITS, Some(buyer)),
                unit_delta,
                limit(budget.max_units_per_buyer),
                BudgetLimit::UnitsPerBuyer,
            ));
        }
        let gift_units: u64 = (quote.gifts.iter())
            .filter(|g| g.step == report.step)
            .map(|g| u64::from(g.quantity))
            .sum();
        if gift_units > 0 {
            bumps.push(bump(
                c.key(GIFT_UNITS, None),
                i64::try_from(gift_units).unwrap_or(i64::MAX),
                limit(budget.max_gift_units),
                BudgetLimit::GiftUnits,
            ));
        }
        let mut counts = vec![(ORDERS.to_owned(), None)];
        bumps.push(bump(
            c.key(ORDERS, None),
            1,
            limit(budget.max_orders),
            BudgetLimit::Orders,
        ));
        bumps.push(bump(
            c.key(AMOUNT, None),
            amount.0,
            budget.max_amount.map(|m| m.0),
            BudgetLimit::Amount,
        ));
        if budget.max_orders_per_buyer.is_some() {
            let buyer = &req.cart.buyer.id;
            counts.push((BUYER.to_owned(), Some(buyer.clone())));
            bumps.push(bump(
                c.key(BUYER, Some(buyer)),
                1,
                limit(budget.max_orders_per_buyer),
                BudgetLimit::PerBuyer,
            ));
        }
        if budget.max_orders_per_coupon.is_some() {
            let mut codes: Vec<&str> = quote
                .lines
                .iter()
                .flat_map(|l| &l.adjustments)
                .chain(&quote.shipping_adjustments)
                .filter(|a| *a.step == *report.step)
                .filter_map(|a| a.coupon.as_deref())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                counts.push((COUPON.to_owned(), Some(code.to_owned())));
                bumps.push(bump(
                    c.key(COUPON, Some(code)),
                    1,
                    limit(budget.max_orders_per_coupon),
                    BudgetLimit::PerCoupon,
                ));
            }
        }
        let day = match super::budget_day::by_day(budget) {
            true => super::budget_day::reserve(
                &c,
                budget,
                &today(&books.tenant)?,
                amount,
                &report.step,
                bumps,
                &mut counts,
            ),
            false => None,
        };
        reservations.push(Reservation {
            step: report.step.clone(),
            amount,
            released: Money::ZERO,
            line_shares,
            counts,
            unit_counts,
            units,
            line_units,
            gift_units,
            counts_released: false,
            release: budget.release,
            layer: layer.then(|| books.clone()),
            day,
        });
    }
    Ok(())
}

/// Give back everything a reservation still holds.
pub(super) fn release_all(tenant: &str, plan: &str, r: &mut Reservation, bumps: &mut Vec<Bump>) {
    let c = r.counters(tenant, plan);
    let left = r.amount - r.released;
    if left.0 != 0 {
        bumps.push(release(c.key(AMOUNT, None), left, &r.step));
        super::budget_day::release(&c, r, left, bumps);
    }
    r.released = r.amount;
    r.line_shares.iter_mut().for_each(|s| *s = Money::ZERO);
    if !r.counts_released {
        for (limit, subject) in &r.counts {
            bumps.push(Bump {
                key: c.key(limit, subject.as_deref()),
                delta: -1,
                max: None,
                step: r.step.clone(),
                limit: BudgetLimit::Orders,
            });
        }
        give_units_back(&c, r, i64::try_from(r.units).unwrap_or(i64::MAX), bumps);
        if r.gift_units > 0 {
            bumps.push(Bump {
                key: c.key(GIFT_UNITS, None),
                delta: -i64::try_from(r.gift_units).unwrap_or(i64::MAX),
                max: None,
                step: r.step.clone(),
                limit: BudgetLimit::GiftUnits,
            });
        }
        r.counts_released = true;
    }
}

/// Give back the units of order line `index` a refund took back (`refunded` of them), as
/// far as `r` holds them there, when its budget releases on refund.
pub(super) fn release_units(
    (tenant, plan): (&str, &str),
    r: &mut Reservation,
    index: usize,
    refunded: u32,
    bumps: &mut Vec<Bump>,
) {
    if !r.release.on_refund || r.counts_released {
        return;
    }
    let Some(held) = r.line_units.get_mut(index) else {
        return;
    };
    let back = refunded.min(*held);
    if back == 0 {
        return;
    }
    *held -= back;
    r.units -= u64::from(back);
    give_units_back(&r.counters(tenant, plan), r, i64::from(back), bumps);
}

/// Give `units` back to each unit counter `r` holds (`units`, `buyer_units/<id>`).
fn give_units_back(c: &Counters, r: &Reservation, units: i64, bumps: &mut Vec<Bump>) {
    for (limit, subject) in &r.unit_counts {
        bumps.push(Bump {
            key: c.key(limit, subject.as_deref()),
            delta: -units,
            max: None,
            step: r.step.clone(),
            limit: BudgetLimit::Units,
        });
    }
}

/// Give `amount` back to a step's money counter.
pub(super) fn release(key: Vec<u8>, amount: Money, step: &str) -> Bump {
    Bump {
        key,
        delta: (-amount).0,
        max: None,
        step: step.to_owned(),
        limit: BudgetLimit::Amount,
    }
}
