//! Activating a plan version at a time (a 双11 plan live at midnight): the schedule is on
//! the plan's head and its time is one of the host's timers, written together. When it
//! fires, the head's active version changes in the timer's transaction; the host then
//! swaps the prepared plan in memory (under the admin lock, after the store has it), so
//! quotes follow within a tick. A schedule that fell due while the host was down fires
//! after the restart. Activating by hand in between leaves the schedule in place; it can
//! be cancelled.

use super::changes::{self, Change};
use super::lifecycle::MAX_AT_MS;
use super::plans::{AUTHORS, Activation, PlanHead, active_key, head_key};
use super::timers::{self, Handler, Timer};
use super::{Error, Plaza, Principal};
use crate::store::{Table, Tx, TxError, TxExt};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// The timer kind that activates a scheduled version.
pub const PLAN_ACTIVATION: &str = "plan_activation";

/// A version to make active at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduledActivation {
    /// The version (none: deactivate the plan then).
    pub version: Option<u32>,
    pub at_ms: i64,
}

/// Plans whose head a fired schedule changed, waiting for their swap in memory.
pub(super) type Activated = Arc<Mutex<Vec<(String, String)>>>;

fn timer(tenant: &str, plan: &str, at_ms: i64) -> Timer {
    Timer::new(at_ms, PLAN_ACTIVATION, tenant, plan)
}

impl Plaza {
    /// Make `version` active at `at_ms` (after the host's clock), replacing any earlier
    /// schedule of the plan. The version is prepared now, so one that cannot run is
    /// refused now rather than at its time.
    pub async fn schedule_activation(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        version: Option<u32>,
        at_ms: i64,
    ) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "schedule activations")?.to_owned();
        let now = self.now_ms();
        if !(now + 1..=MAX_AT_MS).contains(&at_ms) {
            return Err(Error::Invalid {
                field: "at_ms".into(),
                message: format!(
                    "must be after now ({now}) and at most {MAX_AT_MS}; leave it out to activate now"
                ),
            });
        }
        self.head(&tenant, plan)?;
        if let Some(v) = version {
            let stored = self.load_version(&tenant, plan, v)?;
            self.prepare_on_pool(&tenant, stored).await?;
        }
        let _admin = self.admin.lock().await;
        let head = self.change_head(&tenant, plan, |tx, head| {
            if let Some(old) = head.scheduled {
                timers::cancel(tx, &timer(&tenant, plan, old.at_ms))?;
            }
            head.scheduled = Some(ScheduledActivation { version, at_ms });
            timers::schedule(tx, &timer(&tenant, plan, at_ms))
        })?;
        self.flush().await?;
        Ok(head)
    }

    /// Cancel the plan's scheduled activation, if any.
    pub async fn cancel_scheduled_activation(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
    ) -> Result<PlanHead, Error> {
        let tenant = who.tenant(AUTHORS, "schedule activations")?.to_owned();
        let _admin = self.admin.lock().await;
        let head = self.change_head(&tenant, plan, |tx, head| match head.scheduled.take() {
            Some(old) => timers::cancel(tx, &timer(&tenant, plan, old.at_ms)),
            None => Ok(()),
        })?;
        self.flush().await?;
        Ok(head)
    }

    /// Read, change and write a plan's head in one transaction (with its timers).
    pub(super) fn change_head(
        &self,
        tenant: &str,
        plan: &str,
        change: impl Fn(&mut dyn Tx, &mut PlanHead) -> Result<(), TxError>,
    ) -> Result<PlanHead, Error> {
        let key = head_key(tenant, plan);
        let mut done = None;
        let outcome = self.store.transact(&HEAD_TABLES, |tx| {
            let Some(mut head) = tx.get_json::<PlanHead>(Table::PlanHeads, &key)? else {
                return Err(TxError::Abort);
            };
            change(tx, &mut head)?;
            tx.put_json(Table::PlanHeads, &key, &head)?;
            let (tenant, plan) = (tenant.to_owned(), plan.to_owned());
            changes::record(tx, &self.host, Change::Plan { tenant, plan })?;
            done = Some(head);
            Ok(())
        });
        match outcome {
            Ok(()) => Ok(done.expect("a committed change leaves its head")),
            Err(TxError::Abort) => Err(Error::not_found("plan", plan)),
            Err(e) => Err(Error::from_tx(e)),
        }
    }

    /// The plans waiting to be swapped in memory.
    pub(super) fn activations(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, Vec<(String, String)>>, Error> {
        (self.activated)
            .lock()
            .map_err(|_| Error::Internal("the activation list is poisoned".into()))
    }

    /// Swap in memory the plans whose schedule fired: each to the version its stored head
    /// says is active now (under the admin lock, so memory follows the store's order).
    pub(super) async fn swap_activated(self: &Arc<Self>) -> Result<(), Error> {
        let due: Vec<(String, String)> = std::mem::take(&mut *self.activations()?);
        for (tenant, plan) in due {
            let _admin = self.admin.lock().await;
            let head = self.head(&tenant, &plan)?;
            let active = match head.active {
                Some(v) => {
                    let stored = self.load_version(&tenant, &plan, v)?;
                    Some(self.prepare_on_pool(&tenant, stored).await?)
                }
                None => None,
            };
            super::plans::swap(&self.active, active_key(&tenant, &plan), active);
            let shadow = match head.shadow {
                Some(v) => {
                    let stored = self.load_version(&tenant, &plan, v)?;
                    Some((v, self.prepare_on_pool(&tenant, stored).await?.plan))
                }
                None => None,
            };
            self.swap_shadow(&tenant, &plan, shadow);
        }
        Ok(())
    }
}

/// What a change to a plan's head writes: the head, its timers, the change feed.
const HEAD_TABLES: [Table; 4] = [
    Table::PlanHeads,
    Table::Timers,
    changes::TABLES[0],
    changes::TABLES[1],
];

/// Register scheduled activations with the host's timers (`host`: this host's id in the
/// change feed).
pub(super) fn register(timers: &mut timers::Timers, activated: Activated, host: String) {
    timers.register(PLAN_ACTIVATION, Arc::new(Activate { activated, host }));
}

struct Activate {
    activated: Activated,
    host: String,
}

impl Handler for Activate {
    fn tables(&self) -> &[Table] {
        &HEAD_TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        let (tenant, plan) = (timer.tenant.as_str(), timer.subject.as_str());
        let key = head_key(tenant, plan);
        let Some(mut head) = tx.get_json::<PlanHead>(Table::PlanHeads, &key)? else {
            return Ok(());
        };
        let Some(due) = head.scheduled.filter(|s| s.at_ms == timer.due_ms) else {
            return Ok(());
        };
        head.scheduled = None;
        head.active = due.version;
        head.activations.push(Activation {
            version: due.version,
            at_ms: timer.due_ms,
            action: "scheduled".into(),
        });
        tx.put_json(Table::PlanHeads, &key, &head)?;
        let change = Change::Plan {
            tenant: tenant.to_owned(),
            plan: plan.to_owned(),
        };
        changes::record(tx, &self.host, change)?;
        // Swapped in memory once this transaction is durable (a retried transaction may
        // add the plan twice: the swap reads the stored head either way).
        if let Ok(mut list) = self.activated.lock() {
            list.push((tenant.to_owned(), plan.to_owned()));
        }
        Ok(())
    }
}
