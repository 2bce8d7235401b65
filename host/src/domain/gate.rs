//! The gate a service quote runs with: a step's circuit breaker before it runs; its
//! presented claims and its budgets (read, never changed) before its proposal is taken;
//! its plugin's metrics after. Commit re-checks the budgets in the order's transaction.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::Plaza;
use super::budget::{
    AMOUNT, BUYER, BUYER_UNITS, COUPON, Counters, GIFT_UNITS, ORDERS, UNITS, limit,
};
use super::coupons::redeem::Presented;
use crate::executor::{BudgetLimit, Cart, Gate, PreparedStep, Proposal, Reason};
use crate::sandbox::StepError;
use crate::store::StoreError;
use std::sync::OnceLock;
use std::time::Duration;

/// The gate a service quote runs with: circuit breaker, budgets, plugin metrics.
pub struct ServiceGate<'a> {
    plaza: &'a Plaza,
    tenant: &'a str,
    plan: &'a str,
    buyer: &'a str,
    /// The claimed coupons the cart presented, for the steps that give them.
    claims: Option<&'a Presented>,
    /// Today in the tenant's time zone, read once, when a step counts by day.
    today: OnceLock<String>,
}

impl<'a> ServiceGate<'a> {
    pub fn new(plaza: &'a Plaza, tenant: &'a str, plan: &'a str, buyer: &'a str) -> Self {
        ServiceGate {
            plaza,
            tenant,
            plan,
            buyer,
            claims: None,
            today: OnceLock::new(),
        }
    }

    /// Steps that give claimed coupons redeem only what `claims` makes usable.
    pub(crate) fn with_claims(mut self, claims: &'a Presented) -> Self {
        self.claims = Some(claims);
        self
    }

    fn read(&self, c: &Counters, limit: &str, subject: Option<&str>) -> Result<i64, StoreError> {
        self.plaza.store.counter(&c.key(limit, subject))
    }

    fn today(&self) -> Result<&str, StoreError> {
        if let Some(day) = self.today.get() {
            return Ok(day);
        }
        let now = self.plaza.now_ms();
        let day = super::budget_day::today_of(&self.plaza.store, self.tenant, now)?;
        Ok(self.today.get_or_init(|| day))
    }

    /// The limit without room for `proposal`, if any.
    fn exhausted(
        &self,
        step: &PreparedStep,
        proposal: &Proposal,
    ) -> Result<Option<BudgetLimit>, StoreError> {
        let Some(budget) = &step.step.budget else {
            return Ok(None);
        };
        let c = Counters::new(self.tenant, self.plan, &step.step.id);
        let over = |used: i64, adding: i64, max: Option<i64>| {
            max.is_some_and(|max| used.checked_add(adding).is_none_or(|n| n > max))
        };
        if over(self.read(&c, ORDERS, None)?, 1, limit(budget.max_orders)) {
            return Ok(Some(BudgetLimit::Orders));
        }
        let amount = budget.max_amount.map(|m| m.0);
        if over(self.read(&c, AMOUNT, None)?, proposal.amount.0, amount) {
            return Ok(Some(BudgetLimit::Amount));
        }
        if budget.max_orders_per_buyer.is_some()
            && over(
                self.read(&c, BUYER, Some(self.buyer))?,
                1,
                limit(budget.max_orders_per_buyer),
            )
        {
            return Ok(Some(BudgetLimit::PerBuyer));
        }
        let units = i64::try_from(proposal.units).unwrap_or(i64::MAX);
        if over(self.read(&c, UNITS, None)?, units, limit(budget.max_units)) {
            return Ok(Some(BudgetLimit::Units));
        }
        if budget.max_units_per_buyer.is_some()
            && over(
                self.read(&c, BUYER_UNITS, Some(self.buyer))?,
                units,
                limit(budget.max_units_per_buyer),
            )
        {
            return Ok(Some(BudgetLimit::UnitsPerBuyer));
        }
        let gifts = i64::try_from(proposal.gift_units).unwrap_or(i64::MAX);
        if gifts > 0
            && budget.max_gift_units.is_some()
            && over(
                self.read(&c, GIFT_UNITS, None)?,
                gifts,
                limit(budget.max_gift_units),
            )
        {
            return Ok(Some(BudgetLimit::GiftUnits));
        }
        if budget.max_orders_per_coupon.is_some() {
            for code in &proposal.coupons {
                let used = self.read(&c, COUPON, Some(code))?;
                if over(used, 1, limit(budget.max_orders_per_coupon)) {
                    return Ok(Some(BudgetLimit::PerCoupon));
                }
            }
        }
        if super::budget_day::by_day(budget) {
            use super::budget_day::{DAY_AMOUNT, DAY_ORDERS};
            let day = Some(self.today()?);
            let most = limit(budget.max_orders_per_day);
            if most.is_some() && over(self.read(&c, DAY_ORDERS, day)?, 1, most) {
                return Ok(Some(BudgetLimit::OrdersPerDay));
            }
            let most = budget.max_amount_per_day.map(|m| m.0);
            if most.is_some() && over(self.read(&c, DAY_AMOUNT, day)?, proposal.amount.0, most) {
                return Ok(Some(BudgetLimit::AmountPerDay));
            }
        }
        Ok(None)
    }
}

impl Gate for ServiceGate<'_> {
    fn before(&self, step: &PreparedStep) -> Result<(), StepError> {
        self.plaza
            .breaker
            .check(self.tenant, &step.plugin.sha256)
            .map(|_| ())
            .map_err(|failures| StepError::CircuitOpen { failures })
    }

    fn admit(&self, step: &PreparedStep, _cart: &Cart, proposal: &Proposal) -> Option<Reason> {
        if let Some(reason) = self
            .claims
            .and_then(|c| c.check(&step.step.id, &proposal.coupons))
        {
            return Some(reason);
        }
        match self.exhausted(step, proposal) {
            Ok(None) => None,
            Ok(Some(limit)) => {
                self.plaza.metrics.budget_rejection(limit.as_str());
                Some(Reason::BudgetExhausted { limit })
            }
            Err(e) => {
                // Never give away what may not be there.
                tracing::error!(error = %e, step = %step.step.id, "reading budget counters");
                self.plaza.metrics.budget_rejection("unreadable");
                Some(Reason::BudgetUnreadable)
            }
        }
    }

    fn after(&self, step: &PreparedStep, fuel: u64, elapsed: Duration, error: Option<&StepError>) {
        if matches!(error, Some(StepError::CircuitOpen { .. })) {
            return;
        }
        tracing::debug!(
            plugin = %step.plugin_label,
            step = %step.step.id,
            fuel,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            failed = error.is_some(),
            "plugin evaluated"
        );
        let m = &self.plaza.metrics;
        m.plugin_run(&step.plugin_label, fuel, elapsed, error);
        self.plaza.plugin_stats.record(
            self.tenant,
            &step.stats_label,
            fuel,
            elapsed,
            error.map(|e| crate::error_type(e).unwrap_or_else(|| "unknown".to_owned())),
        );
        if self
            .plaza
            .breaker
            .record(self.tenant, &step.plugin.sha256, error)
        {
            tracing::warn!(plugin = %step.plugin_label, tenant = %self.tenant, "circuit breaker opened");
            m.breaker_trip(&step.plugin_label);
        }
    }
}
