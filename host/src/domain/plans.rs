//! Plans: versions, activation and rollback, history and diff.
//!
//! Every save is a new, immutable version, checked in full before it is stored: each
//! step's plugin is resolved and *pinned* (owner, name, version and content hash recorded
//! in the stored version) and each configuration accepted by its plugin. A stored version
//! runs exactly the pinned bytes forever after; nothing another tenant uploads can change
//! or break it.
//!
//! Preparing a version runs plugin code (configuration checks), so it happens on the
//! evaluation pool and outside the admin lock. The lock covers only the store write, the
//! flush and the in-memory swap: activation swaps one `Arc` after the store has the new
//! head, so quotes see the old plan or the new one, never a mix, and never wait.

use super::idempotency::{IdempotencyKey, Replay};
use super::page::{self, Page, Position};
use super::registry::ResolveError;
use super::tenants::ANY_ROLE;
use super::{Error, Plaza, Principal, Role, check_id, read, write};
use crate::executor::plan::{MAX_BUDGET_AMOUNT, MAX_BUDGET_COUNT};
use crate::executor::{self, Plan, PlanError, PreparedPlan};
use crate::store::{Table, TxExt, encode, first_part, key, prefix};
use serde::{Deserialize, Serialize};
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
    /// A version to make active at a time (`POST …/activate` with `at_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<super::plan_schedule::ScheduledActivation>,
    /// A version run in shadow next to the active one on recorded quotes (`PUT
    /// …/live-shadow`): it never answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanVersionInfo {
    pub version: u32,
    pub created_ms: i64,
    pub steps: usize,
    /// Size of the stored version (counts toward the tenant's storage quota).
    #[serde(default)]
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activation {
    /// The version made active (none: deactivated).
    pub version: Option<u32>,
    pub at_ms: i64,
    /// `activate`, `rollback`, `deactivate` or `scheduled`.
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

/// An active plan, prepared.
#[derive(Debug)]
pub(super) struct Active {
    pub plan: Arc<PreparedPlan>,
}

pub(super) const AUTHORS: &[Role] = &[Role::Admin, Role::Author];
/// The idempotency scope of plan saves.
const SAVE_SCOPE: &str = "plans.save";

pub(super) fn head_key(tenant: &str, plan: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), plan.as_bytes()])
}

fn version_key(tenant: &str, plan: &str, version: u32) -> Vec<u8> {
    key(&[tenant.as_bytes(), plan.as_bytes(), &version.to_be_bytes()])
}

/// Put `active` (or nothing) in memory as the plan under `key`.
pub(super) fn swap(
    map: &std::sync::RwLock<std::collections::HashMap<String, Arc<Active>>>,
    key: String,
    active: Option<Active>,
) {
    match active {
        Some(active) => write(map).insert(key, Arc::new(active)),
        None => write(map).remove(&key),
    };
}

pub(super) fn active_key(tenant: &str, plan: &str) -> String {
    format!("{tenant}\0{plan}")
}

impl Plaza {
    /// Prepare every active plan at startup.
    pub(super) fn load_active_plans(&self) -> Result<usize, Error> {
        let heads: Vec<(Vec<u8>, PlanHead)> =
            self.store
                .scan_entries(Table::PlanHeads, b"", None, usize::MAX)?;
        let mut count = 0;
        for (k, head) in heads {
            let Some(version) = head.active else { continue };
            let tenant = first_part(&k);
            let plan = self.load_version(&tenant, &head.id, version)?;
            let active = self.prepare_for(&tenant, &plan)?;
            write(&self.active).insert(active_key(&tenant, &head.id), Arc::new(active));
            if let Some(shadow) = head.shadow {
                let candidate = self.load_version(&tenant, &head.id, shadow)?;
                let prepared = self.prepare_for(&tenant, &candidate)?;
                let key = active_key(&tenant, &head.id);
                write(&self.shadows).insert(key, (shadow, prepared.plan));
            }
            count += 1;
        }
        Ok(count)
    }

    /// Record in `plan` what each step runs: owner and content hash, as `tenant` sees the
    /// registry now. Refuses references that do not resolve to exactly one plugin.
    fn pin(&self, tenant: &str, plan: &mut Plan) -> Result<(), Error> {
        for step in &mut plan.steps {
            let r = &step.plugin;
            let registered = self
                .resolve(tenant, r)
                .map_err(|e| resolve_error(&step.id, r, e))?;
            step.plugin.owner = Some(registered.record.owner.clone());
            step.plugin.sha256 = Some(registered.record.sha256.clone());
        }
        Ok(())
    }

    /// Resolve and check `plan` (pinned or not) as `tenant` sees the registry. Runs plugin
    /// code: call it on the pool (or at startup).
    pub(super) fn prepare_for(&self, tenant: &str, plan: &Plan) -> Result<Active, Error> {
        let failed = std::cell::RefCell::new(None);
        let prepared = executor::prepare(plan, &self.sandbox, |reference| {
            match self.resolve(tenant, reference) {
                Ok(registered) => Some(registered.plugin.clone()),
                Err(e) => {
                    failed.borrow_mut().get_or_insert(e);
                    None
                }
            }
        });
        match (prepared, failed.into_inner()) {
            (Ok(plan), _) => Ok(Active {
                plan: Arc::new(plan),
            }),
            (Err(PlanError::UnknownPlugin { step, .. }), Some(e)) => {
                let reference = &plan
                    .steps
                    .iter()
                    .find(|s| s.id == step)
                    .expect("the failing step is in the plan")
                    .plugin;
                Err(resolve_error(&step, reference, e))
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    /// Prepare `plan` for `tenant` on the evaluation pool.
    pub(super) async fn prepare_on_pool(
        self: &Arc<Self>,
        tenant: &str,
        plan: Plan,
    ) -> Result<Active, Error> {
        let me = self.clone();
        let owner = tenant.to_owned();
        self.on_pool(tenant, move || me.prepare_for(&owner, &plan))
            .await?
    }

    pub(super) fn load_version(
        &self,
        tenant: &str,
        plan: &str,
        version: u32,
    ) -> Result<Plan, Error> {
        self.store
            .get(Table::PlanVersions, &version_key(tenant, plan, version))?
            .ok_or_else(|| Error::not_found("plan version", format!("{plan}@{version}")))
    }

    pub(super) fn head(&self, tenant: &str, plan: &str) -> Result<PlanHead, Error> {
        self.store
            .get(Table::PlanHeads, &head_key(tenant, plan))?
            .ok_or_else(|| Error::not_found("plan", plan))
    }

    /// Save `plan` as the next version of its id (creating the plan if new). The version
    /// number is the server's; the body's `version`, if any, is ignored. With an
    /// idempotency key, a retry of the same request returns the first answer (`false`:
    /// nothing new was saved) and a different request under the same key is refused.
    ///
    /// With `based_on` (the `If-Match` of the request: the latest version the change was
    /// made from, 0 for a new plan), the save is refused with 412 when another version was
    /// saved since: of two concurrent saves based on one version, one succeeds.
    pub async fn save_plan(
        self: &Arc<Self>,
        who: &Principal,
        mut plan: Plan,
        idempotency: Option<IdempotencyKey>,
        based_on: Option<u32>,
    ) -> Result<(PlanHead, bool), Error> {
        let tenant = who.tenant(AUTHORS, "change plans")?.to_owned();
        check_id("id", &plan.id)?;
        for (i, step) in plan.steps.iter().enumerate() {
            check_id(&format!("steps[{i}].id"), &step.id)?;
        }
        check_budgets(&plan)?;
        let replay = Replay::new(&tenant, SAVE_SCOPE, idempotency, &plan);
        if let Some(head) = self.replayed(&replay).await? {
            return Ok((head, false));
        }
        self.pin(&tenant, &mut plan)?;
        let prepared = self.prepare_on_pool(&tenant, plan.clone()).await?.plan;
        let me = self.clone();
        self.on_pool(&tenant, move || {
            crate::executor::probe::anti_pyramid(&me.sandbox, &prepared)
        })
        .await??;
        let _admin = self.admin.lock().await;
        if let Some(head) = self.replayed(&replay).await? {
            return Ok((head, false));
        }
        let mut head = match self.head(&tenant, &plan.id) {
            Ok(head) => head,
            Err(Error::NotFound { .. }) => PlanHead {
                id: plan.id.clone(),
                ..PlanHead::default()
            },
            Err(e) => return Err(e),
        };
        if let Some(expected) = based_on
            && expected != head.latest
        {
            return Err(Error::PreconditionFailed {
                expected,
                latest: head.latest,
            });
        }
        plan.version = head.latest.checked_add(1).ok_or_else(|| {
            Error::conflict(
                "plan_versions_exhausted",
                "this plan has no version numbers left",
            )
        })?;
        let stored = encode(&plan);
        let bytes = u64::try_from(stored.len()).unwrap_or(u64::MAX);
        self.check_plan_quota(&tenant, bytes)?;
        head.latest = plan.version;
        head.versions.push(PlanVersionInfo {
            version: plan.version,
            created_ms: self.now_ms(),
            steps: plan.steps.len(),
            bytes,
        });
        let mut saved = None;
        self.store
            .transact(
                &[Table::PlanVersions, Table::PlanHeads, Table::Idempotency],
                |tx| {
                    tx.put(
                        Table::PlanVersions,
                        &version_key(&tenant, &plan.id, plan.version),
                        &stored,
                    )?;
                    // A scheduled activation may have fired since the head was read.
                    let key = head_key(&tenant, &plan.id);
                    let mut head = head.clone();
                    if let Some(stored) = tx.get_json::<PlanHead>(Table::PlanHeads, &key)? {
                        head.active = stored.active;
                        head.activations = stored.activations;
                        head.scheduled = stored.scheduled;
                    }
                    tx.put_json(Table::PlanHeads, &key, &head)?;
                    replay.record(tx, &head)?;
                    saved = Some(head);
                    Ok(())
                },
            )
            .map_err(Error::from_tx)?;
        self.flush().await?;
        Ok((saved.expect("a committed save leaves its head"), true))
    }

    /// Make `version` the active one (`None`: deactivate). Atomic for quotes.
    pub async fn activate(
        self: &Arc<Self>,
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
    pub async fn rollback(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
    ) -> Result<PlanHead, Error> {
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
        self: &Arc<Self>,
        tenant: &str,
        plan: &str,
        version: Option<u32>,
        action: &str,
    ) -> Result<PlanHead, Error> {
        self.head(tenant, plan)?;
        let active = match version {
            Some(v) => {
                let stored = self.load_version(tenant, plan, v)?;
                Some(self.prepare_on_pool(tenant, stored).await?)
            }
            None => None,
        };
        let _admin = self.admin.lock().await;
        let at_ms = self.now_ms();
        let head = self.change_head(tenant, plan, |_, head| {
            head.active = version;
            head.activations.push(Activation {
                version,
                at_ms,
                action: action.to_owned(),
            });
            Ok(())
        })?;
        self.flush().await?;
        // Swapped under the admin lock, after the store has it, so memory follows the
        // store in the order the store records activations.
        swap(&self.active, active_key(tenant, plan), active);
        Ok(head)
    }

    /// The tenant's plans, by id.
    pub fn list_plans(&self, who: &Principal, at: &Position) -> Result<Page<PlanSummary>, Error> {
        let tenant = who.tenant(ANY_ROLE, "list plans")?;
        let heads: Page<PlanHead> = page::scan(
            &self.store,
            Table::PlanHeads,
            &prefix(&[tenant.as_bytes()]),
            at,
        )?;
        Ok(Page {
            items: heads
                .items
                .into_iter()
                .map(|h| PlanSummary {
                    id: h.id,
                    latest: h.latest,
                    active: h.active,
                })
                .collect(),
            next: heads.next,
        })
    }

    /// A plan's versions, oldest first.
    pub fn list_versions(
        &self,
        who: &Principal,
        plan: &str,
        at: &Position,
    ) -> Result<Page<PlanVersionInfo>, Error> {
        let tenant = who.tenant(ANY_ROLE, "read plans")?;
        let head = self.head(tenant, plan)?;
        let versions = head
            .versions
            .into_iter()
            .map(|v| (v.version.to_be_bytes().to_vec(), v))
            .collect();
        Ok(page::of(versions, at))
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
}

fn resolve_error(step: &str, r: &executor::plan::PluginRef, e: ResolveError) -> Error {
    let (name, version) = (r.name.clone(), r.version.clone());
    let step = step.to_owned();
    Error::Plan(match e {
        ResolveError::Unknown => PlanError::UnknownPlugin {
            step,
            name,
            version,
        },
        ResolveError::Ambiguous { owners } => PlanError::AmbiguousPlugin {
            step,
            name,
            version,
            owners,
        },
        ResolveError::ContentChanged { pinned, registered } => PlanError::PluginChanged {
            step,
            name,
            version,
            pinned,
            registered,
        },
    })
}

/// Budgets must be within bounds where set: counts 1 to [`MAX_BUDGET_COUNT`], amounts 1
/// fen to [`MAX_BUDGET_AMOUNT`].
fn check_budgets(plan: &Plan) -> Result<(), Error> {
    for (i, step) in plan.steps.iter().enumerate() {
        let Some(b) = &step.budget else { continue };
        let bad = |name: &str, message: String| Error::Invalid {
            field: format!("steps[{i}].budget.{name}"),
            message,
        };
        for (name, v) in [
            ("max_amount", b.max_amount),
            ("max_amount_per_day", b.max_amount_per_day),
        ] {
            if let Some(m) = v
                && !(1..=MAX_BUDGET_AMOUNT.0).contains(&m.0)
            {
                return Err(bad(
                    name,
                    format!("must be 1 to {} fen", MAX_BUDGET_AMOUNT.0),
                ));
            }
        }
        for (name, v) in [
            ("max_orders", b.max_orders),
            ("max_orders_per_buyer", b.max_orders_per_buyer),
            ("max_orders_per_coupon", b.max_orders_per_coupon),
            ("max_units", b.max_units),
            ("max_units_per_buyer", b.max_units_per_buyer),
            ("max_orders_per_day", b.max_orders_per_day),
            ("max_gift_units", b.max_gift_units),
        ] {
            if let Some(v) = v
                && !(1..=MAX_BUDGET_COUNT).contains(&v)
            {
                return Err(bad(name, format!("must be 1 to {MAX_BUDGET_COUNT}")));
            }
        }
    }
    Ok(())
}
