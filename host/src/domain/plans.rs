//! Plans: versions, activation and rollback, history, diff, and quoting through one.
//!
//! Every save is a new, immutable version, checked in full (plugins resolved, each step's
//! configuration accepted by its plugin) before it is stored. Activation prepares the
//! version and swaps one `Arc` in memory after the store has it, so quotes see the old
//! plan or the new one, never a mix, and never wait.

use super::budget::ServiceGate;
use super::registry::plugin_key;
use super::tenants::ANY_ROLE;
use super::{Error, Plaza, Principal, Role, check_id, now_ms, read, write};
use crate::Money;
use crate::executor::{self, Cart, Plan, PreparedPlan, Quote};
use crate::store::{self, encode, key, prefix};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::Arc;
use utoipa::ToSchema;

/// A plan's versions and activation history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanHead {
    pub id: String,
    pub latest: u32,
    pub active: Option<u32>,
    pub versions: Vec<PlanVersionInfo>,
    /// Every activation, rollback and deactivation, oldest first.
    pub activations: Vec<Activation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanVersionInfo {
    pub version: u32,
    pub created_ms: i64,
    pub steps: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activation {
    /// The version made active (none: deactivated).
    pub version: Option<u32>,
    pub at_ms: i64,
    /// `activate`, `rollback` or `deactivate`.
    pub action: String,
}

/// One line of the plan list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: String,
    pub latest: u32,
    pub active: Option<u32>,
}

/// What changed between two versions, as an RFC 6902 JSON Patch from `from` to `to`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlanDiff {
    pub from: u32,
    pub to: u32,
    #[schema(value_type = Vec<Object>)]
    pub patch: json_patch::Patch,
}

/// A step's budget and what its orders have used of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepUsage {
    pub step: String,
    pub orders: i64,
    pub amount: Money,
    pub budget: executor::Budget,
}

/// An active plan, prepared, and the registry ids of the plugins it runs.
#[derive(Debug)]
pub(super) struct Active {
    pub plan: Arc<PreparedPlan>,
    pub plugins: Vec<String>,
}

const AUTHORS: &[Role] = &[Role::Admin, Role::Author];

fn head_key(tenant: &str, plan: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), plan.as_bytes()])
}

fn version_key(tenant: &str, plan: &str, version: u32) -> Vec<u8> {
    key(&[tenant.as_bytes(), plan.as_bytes(), &version.to_be_bytes()])
}

pub(super) fn active_key(tenant: &str, plan: &str) -> String {
    format!("{tenant}\0{plan}")
}

impl Plaza {
    /// Prepare every active plan at startup.
    pub(super) fn load_active_plans(&self) -> Result<usize, Error> {
        let mut count = 0;
        for item in self.store.plan_heads.iter() {
            let (k, v) = item?;
            let head: PlanHead = store::decode(&k, &v)?;
            let Some(version) = head.active else { continue };
            let tenant = String::from_utf8_lossy(k.split(|b| *b == 0).next().unwrap_or_default())
                .into_owned();
            let plan = self.load_version(&tenant, &head.id, version)?;
            let active = self.prepare_for(&tenant, &plan)?;
            write(&self.active).insert(active_key(&tenant, &head.id), Arc::new(active));
            count += 1;
        }
        Ok(count)
    }

    /// Resolve and check `plan` as `tenant` sees the registry.
    fn prepare_for(&self, tenant: &str, plan: &Plan) -> Result<Active, Error> {
        let used = RefCell::new(Vec::new());
        let prepared = executor::prepare(plan, &self.sandbox, |reference| {
            let registered = self.visible(tenant, reference)?;
            let r = &registered.record;
            used.borrow_mut()
                .push(plugin_key(&r.owner, &r.name, &r.version));
            Some(registered.plugin.clone())
        })?;
        Ok(Active {
            plan: Arc::new(prepared),
            plugins: used.into_inner(),
        })
    }

    fn load_version(&self, tenant: &str, plan: &str, version: u32) -> Result<Plan, Error> {
        store::get(
            &self.store.plan_versions,
            &version_key(tenant, plan, version),
        )?
        .ok_or_else(|| Error::not_found("plan version", format!("{plan}@{version}")))
    }

    fn head(&self, tenant: &str, plan: &str) -> Result<PlanHead, Error> {
        store::get(&self.store.plan_heads, &head_key(tenant, plan))?
            .ok_or_else(|| Error::not_found("plan", plan))
    }

    /// Save `plan` as the next version of its id (creating the plan if new). The version
    /// number is the server's; the body's `version`, if any, is ignored.
    pub async fn save_plan(&self, who: &Principal, mut plan: Plan) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "change plans")?.to_owned();
        check_id("id", &plan.id)?;
        check_budgets(&plan)?;
        let head = {
            let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
            let mut head = match self.head(&tenant, &plan.id) {
                Ok(head) => head,
                Err(Error::NotFound { .. }) => PlanHead {
                    id: plan.id.clone(),
                    ..PlanHead::default()
                },
                Err(e) => return Err(e),
            };
            plan.version = head.latest + 1;
            self.prepare_for(&tenant, &plan)?;
            head.latest = plan.version;
            head.versions.push(PlanVersionInfo {
                version: plan.version,
                created_ms: now_ms(),
                steps: plan.steps.len(),
            });
            self.store
                .plan_versions
                .insert(version_key(&tenant, &plan.id, plan.version), encode(&plan))?;
            self.store
                .plan_heads
                .insert(head_key(&tenant, &plan.id), encode(&head))?;
            head
        };
        self.store.flush().await?;
        Ok(head)
    }

    /// Make `version` the active one (`None`: deactivate). Atomic for quotes.
    pub async fn activate(
        &self,
        who: &Principal,
        plan: &str,
        version: Option<u32>,
    ) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "activate plans")?.to_owned();
        let action = if version.is_some() {
            "activate"
        } else {
            "deactivate"
        };
        self.set_active(&tenant, plan, version, action).await
    }

    /// Activate the version that was active before the current one.
    pub async fn rollback(&self, who: &Principal, plan: &str) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "roll back plans")?.to_owned();
        let head = self.head(&tenant, plan)?;
        let previous = head
            .activations
            .iter()
            .rev()
            .map(|a| a.version)
            .find(|v| *v != head.active)
            .flatten()
            .ok_or_else(|| {
                Error::conflict(
                    "nothing_to_roll_back",
                    format!("plan {plan:?} has no earlier active version"),
                )
            })?;
        self.set_active(&tenant, plan, Some(previous), "rollback")
            .await
    }

    async fn set_active(
        &self,
        tenant: &str,
        plan: &str,
        version: Option<u32>,
        action: &str,
    ) -> Result<PlanHead, Error> {
        let head = {
            let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
            let mut head = self.head(tenant, plan)?;
            let active = match version {
                Some(v) => Some(self.prepare_for(tenant, &self.load_version(tenant, plan, v)?)?),
                None => None,
            };
            head.active = version;
            head.activations.push(Activation {
                version,
                at_ms: now_ms(),
                action: action.to_owned(),
            });
            self.store
                .plan_heads
                .insert(head_key(tenant, plan), encode(&head))?;
            // Swapped under the admin lock, so concurrent activations land in the order
            // the store records them.
            let key = active_key(tenant, plan);
            match active {
                Some(active) => write(&self.active).insert(key, Arc::new(active)),
                None => write(&self.active).remove(&key),
            };
            head
        };
        self.store.flush().await?;
        Ok(head)
    }

    pub fn list_plans(&self, who: &Principal) -> Result<Vec<PlanSummary>, Error> {
        let tenant = who.tenant(ANY_ROLE, "list plans")?;
        let heads: Vec<PlanHead> =
            store::scan(&self.store.plan_heads, &prefix(&[tenant.as_bytes()]))?;
        Ok(heads
            .into_iter()
            .map(|h| PlanSummary {
                id: h.id,
                latest: h.latest,
                active: h.active,
            })
            .collect())
    }

    pub fn plan_head(&self, who: &Principal, plan: &str) -> Result<PlanHead, Error> {
        let tenant = who.tenant(ANY_ROLE, "read plans")?;
        self.head(tenant, plan)
    }

    pub fn plan_version(&self, who: &Principal, plan: &str, version: u32) -> Result<Plan, Error> {
        let tenant = who.tenant(ANY_ROLE, "read plans")?;
        self.load_version(tenant, plan, version)
    }

    pub fn diff_plan(
        &self,
        who: &Principal,
        plan: &str,
        from: u32,
        to: u32,
    ) -> Result<PlanDiff, Error> {
        let tenant = who.tenant(ANY_ROLE, "read plans")?;
        let a = serde_json::to_value(self.load_version(tenant, plan, from)?)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let b = serde_json::to_value(self.load_version(tenant, plan, to)?)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(PlanDiff {
            from,
            to,
            patch: json_patch::diff(&a, &b),
        })
    }

    /// The active version of `plan`, prepared.
    pub(super) fn active_plan(&self, tenant: &str, plan: &str) -> Result<Arc<PreparedPlan>, Error> {
        read(&self.active)
            .get(&active_key(tenant, plan))
            .map(|a| a.plan.clone())
            .ok_or_else(|| Error::not_found("active plan", plan))
    }

    /// Quote `cart` through the active version of `plan` (or a stored `version`, to replay
    /// an old quote). Budgets are consulted, never reserved.
    pub fn quote(
        &self,
        who: &Principal,
        plan: &str,
        version: Option<u32>,
        cart: &Cart,
    ) -> Result<Quote, Error> {
        let tenant = who.tenant(ANY_ROLE, "quote")?;
        let prepared = match version {
            None => self.active_plan(tenant, plan)?,
            Some(v) => {
                self.prepare_for(tenant, &self.load_version(tenant, plan, v)?)?
                    .plan
            }
        };
        let gate = ServiceGate::new(self, tenant, plan, &cart.buyer.id);
        let quote = executor::quote_with(&self.sandbox, &prepared, cart, &gate)?;
        Ok(quote)
    }

    /// What the steps of the active version with a budget have used of it.
    pub fn budget_usage(&self, who: &Principal, plan: &str) -> Result<Vec<StepUsage>, Error> {
        let tenant = who.tenant(ANY_ROLE, "read budgets")?;
        let prepared = self.active_plan(tenant, plan)?;
        let mut usage = Vec::new();
        for s in &prepared.steps {
            let Some(budget) = &s.step.budget else {
                continue;
            };
            let c = super::budget::Counters::new(tenant, plan, &s.step.id);
            usage.push(StepUsage {
                step: s.step.id.clone(),
                orders: c.read(&self.store.counters, super::budget::ORDERS, None)?,
                amount: Money(c.read(&self.store.counters, super::budget::AMOUNT, None)?),
                budget: budget.clone(),
            });
        }
        Ok(usage)
    }
}

/// Budgets must be positive where set.
fn check_budgets(plan: &Plan) -> Result<(), Error> {
    for (i, step) in plan.steps.iter().enumerate() {
        let Some(b) = &step.budget else { continue };
        let bad = |name: &str| Error::Invalid {
            field: format!("steps[{i}].budget.{name}"),
            message: "must be positive".into(),
        };
        if b.max_amount.is_some_and(|m| m.0 <= 0) {
            return Err(bad("max_amount"));
        }
        for (name, v) in [
            ("max_orders", b.max_orders),
            ("max_orders_per_buyer", b.max_orders_per_buyer),
            ("max_orders_per_coupon", b.max_orders_per_coupon),
        ] {
            if v == Some(0) {
                return Err(bad(name));
            }
        }
    }
    Ok(())
}
