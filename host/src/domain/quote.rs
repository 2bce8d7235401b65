//! Quoting a cart through a tenant's plan, on the evaluation pool, and reading what the
//! plan's budgets have used.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::budget::{AMOUNT, Counters, GIFT_UNITS, ORDERS, UNITS};
use super::gate::ServiceGate;
use super::tenants::ANY_ROLE;
use super::{Error, Plaza, Principal};
use crate::Money;
use crate::executor::{self, Cart, Quote};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// A step's budget and what its orders have used of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepUsage {
    pub step: String,
    pub orders: i64,
    pub amount: Money,
    /// Units of the lines its orders adjusted.
    pub units: i64,
    /// Units of free gifts given.
    pub gift_units: i64,
    /// Today's use of a budget by day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<super::budget_day::DayUsage>,
    pub budget: executor::Budget,
}

impl Plaza {
    /// Quote `cart` through the active version of `plan` (or a stored `version`, to replay
    /// an old quote). Budgets are consulted, never reserved.
    pub async fn quote(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        version: Option<u32>,
        cart: Cart,
    ) -> Result<Quote, Error> {
        let _running = self.foreground.enter();
        let tenant = who.tenant(ANY_ROLE, "quote")?.to_owned();
        let source = match version {
            None => Source::Active(self.active_plan(&tenant, plan)?),
            Some(v) => Source::Stored(Box::new(self.load_version(&tenant, plan, v)?)),
        };
        let mut cart = cart;
        self.apply_best_claims(who, plan, &mut cart).await?;
        // The merchant's record, read once: how it attributes and what it records.
        let (attribution, recording) = match (self.store)
            .get::<super::Tenant>(crate::store::Table::Tenants, tenant.as_bytes())?
        {
            Some(t) => (t.attribution, t.recording),
            None => Default::default(),
        };
        let attributed = super::attribution::attribute_with(self, &tenant, &attribution, cart)?;
        let live_room = attributed.live_room;
        let (cart, report, carry) = (attributed.cart, attributed.report, attributed.carry);
        let mut cart = cart;
        let presented = self.present(&tenant, plan, &mut cart, live_room.as_deref())?;
        // The cart the plan runs, when this quote is one to record.
        let sampled = match &source {
            Source::Active(live) => self.sample(recording).map(|settings| {
                let shadow = (self.shadow_of(&tenant, plan))
                    .map(|(version, candidate)| (Arc::clone(live), candidate, version));
                (settings, cart.clone(), shadow)
            }),
            Source::Stored(_) => None,
        };
        let me = self.clone();
        let (owner, plan) = (tenant.clone(), plan.to_owned());
        let mut quote = self
            .on_pool(&tenant, move || {
                let prepared = match source {
                    Source::Active(prepared) => prepared,
                    Source::Stored(stored) => me.prepare_for(&owner, &stored)?.plan,
                };
                let mut cart = cart;
                me.merchant_facts(&owner, &prepared, &mut cart)?;
                let gate =
                    ServiceGate::new(&me, &owner, &plan, &cart.buyer.id).with_claims(&presented);
                let mut quote = executor::quote_with(&me.sandbox, &prepared, &cart, &gate)?;
                presented.redeem(&mut quote);
                if let Some(carry) = &carry {
                    me.run_layers(&cart, carry, &mut quote)?;
                }
                Ok::<_, Error>(quote)
            })
            .await??;
        quote.attribution = Some(report);
        if let Some((settings, cart, shadow)) = sampled {
            let recorded = super::recording::Recorded {
                seq: 0,
                plan: quote.plan.id.clone(),
                version: quote.plan.version,
                at_ms: self.now_ms(),
                cart,
                shadow: None,
            };
            self.record(&tenant, settings, recorded, shadow);
        }
        Ok(quote)
    }

    /// What the steps of the active version with a budget have used of it.
    pub fn budget_usage(&self, who: &Principal, plan: &str) -> Result<Vec<StepUsage>, Error> {
        let tenant = who.tenant(ANY_ROLE, "read budgets")?;
        let prepared = self.active_plan(tenant, plan)?;
        let mut usage = Vec::new();
        let by_day = (prepared.steps.iter())
            .any(|s| (s.step.budget.as_ref()).is_some_and(super::budget_day::by_day));
        let today = match by_day {
            true => Some(super::budget_day::today_of(
                &self.store,
                tenant,
                self.now_ms(),
            )?),
            false => None,
        };
        for s in &prepared.steps {
            let Some(budget) = &s.step.budget else {
                continue;
            };
            let c = Counters::new(tenant, plan, &s.step.id);
            usage.push(StepUsage {
                step: s.step.id.clone(),
                orders: self.store.counter(&c.key(ORDERS, None))?,
                amount: Money(self.store.counter(&c.key(AMOUNT, None))?),
                units: self.store.counter(&c.key(UNITS, None))?,
                gift_units: self.store.counter(&c.key(GIFT_UNITS, None))?,
                today: match (super::budget_day::by_day(budget), &today) {
                    (true, Some(day)) => {
                        Some(super::budget_day::usage(&self.store, &c, day.clone())?)
                    }
                    _ => None,
                },
                budget: budget.clone(),
            });
        }
        Ok(usage)
    }
}

/// Which version a quote runs.
enum Source {
    Active(Arc<executor::PreparedPlan>),
    Stored(Box<executor::Plan>),
}
