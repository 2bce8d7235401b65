//! Live shadow: a candidate version named on the plan (`PUT /v1/plans/{plan}/live-shadow`)
//! runs next to live traffic. Each quote the tenant's recording samples (`recording.rs`)
//! is also run, after the answer went out, through the active version and the candidate,
//! both as a shadow run does (`shadow.rs`: no budgets, breakers or claims), and the two
//! outcomes are kept with the recorded cart. The answer is never touched: the candidate
//! runs after it, on a copy of the cart. `GET …/live-shadow` totals what the current
//! candidate would have changed so far.
//!
//! The candidate is part of the plan's head, so it reaches every host through the change
//! feed like an activation, and survives restarts.

use super::plans::{AUTHORS, PlanHead, active_key};
use super::recording;
use super::shadow::{Outcome, ShadowDifference, Tally, Totals};
use super::{Error, Plaza, Principal, read, write};
use crate::executor::PreparedPlan;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Which version to run in shadow.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveShadowRequest {
    /// A stored version of the plan; `null` stops the shadow.
    #[schema(minimum = 1)]
    pub version: Option<u32>,
}

/// What the active version and the candidate made of one recorded quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiveShadow {
    /// The candidate.
    pub version: u32,
    pub baseline: Outcome,
    pub candidate: Outcome,
}

/// What the plan's candidate would have changed on the quotes recorded while it ran.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LiveShadowReport {
    pub plan: String,
    /// The candidate running now (none: no shadow).
    pub version: Option<u32>,
    /// Recorded quotes it ran on.
    pub carts: u64,
    /// Of those, quotes whose payable, discount, commission or error differ.
    pub changed: u64,
    pub baseline: Totals,
    pub candidate: Totals,
    pub difference: ShadowDifference,
}

impl Plaza {
    /// The candidate `tenant`'s `plan` runs in shadow, if any: its version, prepared.
    pub(super) fn shadow_of(&self, tenant: &str, plan: &str) -> Option<(u32, Arc<PreparedPlan>)> {
        read(&self.shadows).get(&active_key(tenant, plan)).cloned()
    }

    pub(super) fn swap_shadow(
        &self,
        tenant: &str,
        plan: &str,
        shadow: Option<(u32, Arc<PreparedPlan>)>,
    ) {
        let key = active_key(tenant, plan);
        match shadow {
            Some(p) => write(&self.shadows).insert(key, p),
            None => write(&self.shadows).remove(&key),
        };
    }

    /// Run `version` of `plan` in shadow from now on (`None`: stop).
    pub async fn set_live_shadow(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        version: Option<u32>,
    ) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "run plans in shadow")?.to_owned();
        self.head(&tenant, plan)?;
        let prepared = match version {
            Some(v) => {
                let stored = self.load_version(&tenant, plan, v)?;
                Some((v, self.prepare_on_pool(&tenant, stored).await?.plan))
            }
            None => None,
        };
        let _admin = self.admin.lock().await;
        let head = self.change_head(&tenant, plan, |_, head| {
            head.shadow = version;
            Ok(())
        })?;
        self.flush().await?;
        self.swap_shadow(&tenant, plan, prepared);
        Ok(head)
    }

    /// Totals of the current candidate over the quotes recorded while it ran.
    pub fn live_shadow_report(
        &self,
        who: &Principal,
        plan: &str,
    ) -> Result<LiveShadowReport, Error> {
        let tenant = who.tenant(AUTHORS, "read shadow reports")?;
        let head = self.head(tenant, plan)?;
        let recorded = recording::of_plan(&self.store, tenant, plan)?;
        let runs = (recorded.iter())
            .filter_map(|r| r.shadow.as_ref())
            .filter(|s| Some(s.version) == head.shadow);
        let mut tally = Tally::default();
        for run in runs {
            tally.add(&run.baseline, &run.candidate)?;
        }
        Ok(LiveShadowReport {
            plan: plan.to_owned(),
            version: head.shadow,
            carts: tally.carts,
            changed: tally.changed,
            difference: tally.difference()?,
            baseline: tally.baseline,
            candidate: tally.candidate,
        })
    }
}
