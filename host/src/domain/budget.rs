//! Budgets and usage limits: the counters behind them, and the gate that consults them
//! (and the circuit breaker) while a quote runs.
//!
//! Counters are per plan and step id: `orders` and `amount` in all, `buyer/<id>` and
//! `coupon/<code>` per subject. A quote only reads them (a step without room is explained
//! as `budget_exhausted`); a commit re-checks and increments them in the same sled
//! transaction that writes the order, so concurrent commits never overspend.

use super::Plaza;
use crate::executor::Cart;
use crate::executor::{BudgetLimit, Gate, PreparedStep, Proposal, Reason};
use crate::sandbox::StepError;
use crate::store::{self, StoreError, key};
use sled::Tree;
use std::time::Duration;

pub const ORDERS: &str = "orders";
pub const AMOUNT: &str = "amount";
pub const BUYER: &str = "buyer";
pub const COUPON: &str = "coupon";

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

    pub fn read(&self, tree: &Tree, limit: &str, subject: Option<&str>) -> Result<i64, StoreError> {
        Ok(store::counter(
            tree.get(self.key(limit, subject))?.as_deref(),
        ))
    }
}

/// The gate a service quote runs with: circuit breaker, budgets, plugin metrics.
pub struct ServiceGate<'a> {
    plaza: &'a Plaza,
    tenant: &'a str,
    plan: &'a str,
    buyer: &'a str,
}

impl<'a> ServiceGate<'a> {
    pub fn new(plaza: &'a Plaza, tenant: &'a str, plan: &'a str, buyer: &'a str) -> Self {
        ServiceGate {
            plaza,
            tenant,
            plan,
            buyer,
        }
    }

    fn exhausted(
        &self,
        step: &PreparedStep,
        proposal: &Proposal,
    ) -> Result<Option<BudgetLimit>, StoreError> {
        let Some(budget) = &step.step.budget else {
            return Ok(None);
        };
        let tree = &self.plaza.store.counters;
        let c = Counters::new(self.tenant, self.plan, &step.step.id);
        if let Some(max) = budget.max_orders
            && c.read(tree, ORDERS, None)? + 1 > max as i64
        {
            return Ok(Some(BudgetLimit::Orders));
        }
        if let Some(max) = budget.max_amount
            && c.read(tree, AMOUNT, None)? + proposal.amount.0 > max.0
        {
            return Ok(Some(BudgetLimit::Amount));
        }
        if let Some(max) = budget.max_orders_per_buyer
            && c.read(tree, BUYER, Some(self.buyer))? + 1 > max as i64
        {
            return Ok(Some(BudgetLimit::PerBuyer));
        }
        if let Some(max) = budget.max_orders_per_coupon {
            for code in &proposal.coupons {
                if c.read(tree, COUPON, Some(code))? + 1 > max as i64 {
                    return Ok(Some(BudgetLimit::PerCoupon));
                }
            }
        }
        Ok(None)
    }
}

impl Gate for ServiceGate<'_> {
    fn before(&self, step: &PreparedStep) -> Result<(), StepError> {
        self.plaza
            .breaker
            .check(&step.plugin.sha256)
            .map_err(|failures| StepError::CircuitOpen { failures })
    }

    fn admit(&self, step: &PreparedStep, _cart: &Cart, proposal: &Proposal) -> Option<Reason> {
        // A counter that cannot be read holds the step back: never give away what may
        // not be there.
        let limit = self.exhausted(step, proposal).unwrap_or_else(|e| {
            tracing::error!(error = %e, step = %step.step.id, "reading budget counters");
            Some(BudgetLimit::Orders)
        })?;
        self.plaza.metrics.budget_rejection(limit.as_str());
        Some(Reason::BudgetExhausted { limit })
    }

    fn after(&self, step: &PreparedStep, fuel: u64, elapsed: Duration, error: Option<&StepError>) {
        if matches!(error, Some(StepError::CircuitOpen { .. })) {
            return;
        }
        tracing::debug!(
            plugin = %step.plugin_label,
            step = %step.step.id,
            fuel,
            micros = elapsed.as_micros() as u64,
            failed = error.is_some(),
            "plugin evaluated"
        );
        let m = &self.plaza.metrics;
        m.plugin_run(&step.plugin_label, fuel, elapsed, error);
        if self
            .plaza
            .breaker
            .record(&step.plugin.sha256, error.is_some())
        {
            tracing::warn!(plugin = %step.plugin_label, "circuit breaker opened");
            m.breaker_trip(&step.plugin_label);
        }
    }
}
