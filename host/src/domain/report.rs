//! The merchant's day-one report over a time range: what buyers paid (GMV) and got back,
//! what the discounts cost by step and by who funds them, and the commission by party and
//! beneficiary in each of its states.
//!
//! It reads the orders placed in the range (the order-time index) with their shares, so it
//! costs one pass over those orders: a report of a day or a week, not of all time.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commission::{self, CommissionState};
use super::order::{Order, OrderStatus};
use super::{Error, Plaza, Principal, Role};
use crate::Money;
use crate::executor::plan::Funder;
use crate::store::{Table, prefix, time_part};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

/// Order-time index entries read per scan.
const BATCH: usize = 1_000;

/// Which orders a report covers.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Orders placed at or after this time (ms since the Unix epoch).
    pub from_ms: Option<i64>,
    /// Orders placed before this time.
    pub until_ms: Option<i64>,
}

/// What a step's discounts cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepCost {
    pub plan: String,
    pub step: String,
    pub funded_by: Funder,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FunderCost {
    pub funded_by: Funder,
    pub amount: Money,
}

/// One beneficiary's commission on the orders of the range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CommissionFigures {
    /// The party it was paid as (`promoter`, `carrying_agency` …).
    pub party: String,
    pub beneficiary: String,
    /// Owed, the order not yet completed.
    pub pending: Money,
    /// Owed, waiting for the next settlement run.
    pub settleable: Money,
    /// Paid by settlement runs.
    pub settled: Money,
    /// Taken back before it was paid.
    pub reversed: Money,
    /// Taken back after it was paid (carried on the beneficiary's balance).
    pub clawed_back: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Report {
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Orders placed in the range.
    pub orders: u64,
    /// Of them, cancelled or expired unpaid.
    pub cancelled: u64,
    /// What buyers paid, lines and shipping, on the orders not cancelled.
    pub gmv: Money,
    /// Given back by refunds on those orders.
    pub refunded: Money,
    /// `gmv − refunded`.
    pub net_sales: Money,
    /// Discounts given on the orders not cancelled, by plan and step.
    pub discounts: Vec<StepCost>,
    pub discounts_by_funder: Vec<FunderCost>,
    /// Commission on every order of the range (a cancelled order's is all reversed), by
    /// party and beneficiary.
    pub commission: Vec<CommissionFigures>,
}

/// Sums kept wide while a report adds up, so no partial sum can overflow.
#[derive(Default)]
struct Wide([i128; 5]);

fn money(v: i128) -> Result<Money, Error> {
    i64::try_from(v).map(Money).map_err(|_| Error::Invalid {
        field: "from_ms".into(),
        message: "the amounts of this range exceed the range of money; report a shorter one".into(),
    })
}

impl Plaza {
    /// The caller's report over `q`'s range.
    pub fn report(&self, who: &Principal, q: &ReportQuery) -> Result<Report, Error> {
        let tenant = who.tenant(&[Role::Admin], "read reports")?;
        let range = prefix(&[tenant.as_bytes()]);
        let end = q.until_ms.map(|until| {
            let mut k = range.clone();
            k.extend_from_slice(&time_part(until));
            k
        });
        let mut report = Report {
            from_ms: q.from_ms,
            until_ms: q.until_ms,
            orders: 0,
            cancelled: 0,
            gmv: Money::ZERO,
            refunded: Money::ZERO,
            net_sales: Money::ZERO,
            discounts: Vec::new(),
            discounts_by_funder: Vec::new(),
            commission: Vec::new(),
        };
        let (mut gmv, mut refunded) = (0i128, 0i128);
        let mut steps: BTreeMap<(String, String), (Funder, i128)> = BTreeMap::new();
        let mut shares: BTreeMap<(String, String), Wide> = BTreeMap::new();
        let mut funders: HashMap<(String, u32), HashMap<String, Funder>> = HashMap::new();
        // Just past every entry placed before `from_ms`.
        let mut after = q
            .from_ms
            .and_then(|since| since.checked_sub(1))
            .map(|earlier| {
                let mut k = range.clone();
                k.extend_from_slice(&time_part(earlier));
                k.push(0xff);
                k
            });
        loop {
            let keys = self
                .store
                .scan_keys(Table::OrderTimes, &range, after.as_deref(), BATCH)?;
            let full = keys.len() == BATCH;
            for k in &keys {
                if end.as_ref().is_some_and(|e| k >= e) {
                    return self.finish(report, gmv, refunded, steps, shares);
                }
                let id = String::from_utf8(k[range.len() + 9..].to_vec()).map_err(|_| {
                    Error::Internal("an order-time index entry is not an order id".into())
                })?;
                let order = commission::read_order(&self.store, tenant, &id)?
                    .ok_or_else(|| Error::Internal(format!("order {id} is indexed but missing")))?;
                report.orders += 1;
                // The merchant's books: a plaza layer's own shares are the layer's.
                for c in order.commissions.iter().filter(|c| c.ledger.is_none()) {
                    let w = &mut shares
                        .entry((c.payee_party.clone(), c.payee.clone()))
                        .or_default()
                        .0;
                    let slot = match c.state {
                        CommissionState::Pending => 0,
                        CommissionState::Settleable => 1,
                        CommissionState::Settled => 2,
                    };
                    w[slot] += i128::from(if slot == 2 { c.settled.0 } else { c.left().0 });
                    w[3] += i128::from(c.reversed.0);
                    w[4] += i128::from(c.clawed_back.0);
                }
                if order.status == OrderStatus::Cancelled {
                    report.cancelled += 1;
                    continue;
                }
                gmv += i128::from(paid(&order).0);
                refunded += i128::from(
                    order.lines.iter().map(|l| l.refunded).sum::<Money>().0
                        + order.shipping_refunded.0,
                );
                let plan = (order.plan.id.clone(), order.plan.version);
                if !funders.contains_key(&plan) {
                    let steps = self
                        .load_version(tenant, &plan.0, plan.1)
                        .map(|p| p.steps.into_iter().map(|s| (s.id, s.funded_by)).collect())
                        .unwrap_or_default();
                    funders.insert(plan.clone(), steps);
                }
                let of_plan = &funders[&plan];
                for (step, amount) in discounts(&order) {
                    let funder = of_plan.get(&step).copied().unwrap_or_default();
                    let e = steps.entry((plan.0.clone(), step)).or_insert((funder, 0));
                    e.1 += i128::from(amount.0);
                }
            }
            if !full {
                return self.finish(report, gmv, refunded, steps, shares);
            }
            after = keys.last().cloned();
        }
    }

    fn finish(
        &self,
        mut report: Report,
        gmv: i128,
        refunded: i128,
        steps: BTreeMap<(String, String), (Funder, i128)>,
        shares: BTreeMap<(String, String), Wide>,
    ) -> Result<Report, Error> {
        report.gmv = money(gmv)?;
        report.refunded = money(refunded)?;
        report.net_sales = money(gmv - refunded)?;
        let mut by_funder: BTreeMap<Funder, i128> = BTreeMap::new();
        for ((plan, step), (funded_by, amount)) in steps {
            *by_funder.entry(funded_by).or_default() += amount;
            report.discounts.push(StepCost {
                plan,
                step,
                funded_by,
                amount: money(amount)?,
            });
        }
        for (funded_by, amount) in by_funder {
            report.discounts_by_funder.push(FunderCost {
                funded_by,
                amount: money(amount)?,
            });
        }
        for ((party, beneficiary), Wide(w)) in shares {
            report.commission.push(CommissionFigures {
                party,
                beneficiary,
                pending: money(w[0])?,
                settleable: money(w[1])?,
                settled: money(w[2])?,
                reversed: money(w[3])?,
                clawed_back: money(w[4])?,
            });
        }
        Ok(report)
    }
}

/// What the buyer paid for an order: its lines and shipping.
fn paid(order: &Order) -> Money {
    order.lines.iter().map(|l| l.payable).sum::<Money>() + order.shipping
}

/// The discount each step gave on an order, from the quote it was committed with.
fn discounts(order: &Order) -> Vec<(String, Money)> {
    let q = &order.quote;
    let lines = q["lines"].as_array().into_iter().flatten();
    let adjustments = lines
        .flat_map(|l| l["adjustments"].as_array().into_iter().flatten())
        .chain(q["shipping_adjustments"].as_array().into_iter().flatten());
    let mut by_step: BTreeMap<String, i64> = BTreeMap::new();
    for a in adjustments {
        if let (Some(step), Some(amount)) = (a["step"].as_str(), a["amount"].as_i64()) {
            *by_step.entry(step.to_owned()).or_default() += amount;
        }
    }
    by_step.into_iter().map(|(s, a)| (s, Money(a))).collect()
}
