//! What one tenant may keep: plugin versions, plan versions, and the bytes of both.
//! Checked before anything new is stored; past a quota the answer is 403
//! `quota_exceeded` naming it.

use super::plans::PlanHead;
use super::{Error, Plaza, read};
use crate::store::{Table, prefix};

impl Plaza {
    /// Before registering a plugin version of `adding` bytes for `owner`.
    pub(super) fn check_plugin_quota(&self, owner: &str, adding: usize) -> Result<(), Error> {
        let limit = self.settings.quotas.plugins;
        let own = read(&self.plugins)
            .values()
            .filter(|r| r.record.owner == owner)
            .count();
        if own >= limit {
            return Err(Error::QuotaExceeded {
                quota: "plugins",
                limit: u64::try_from(limit).unwrap_or(u64::MAX),
            });
        }
        let heads = self.plan_heads(owner)?;
        self.check_stored_bytes(owner, &heads, u64::try_from(adding).unwrap_or(u64::MAX))
    }

    /// Before storing a plan version of `adding` bytes for `tenant`.
    pub(super) fn check_plan_quota(&self, tenant: &str, adding: u64) -> Result<(), Error> {
        let limit = self.settings.quotas.plan_versions;
        let heads = self.plan_heads(tenant)?;
        let versions: u64 = heads.iter().map(|h| u64::from(h.latest)).sum();
        if versions >= limit {
            return Err(Error::QuotaExceeded {
                quota: "plan_versions",
                limit,
            });
        }
        self.check_stored_bytes(tenant, &heads, adding)
    }

    fn plan_heads(&self, tenant: &str) -> Result<Vec<PlanHead>, Error> {
        Ok(self
            .store
            .scan(Table::PlanHeads, &prefix(&[tenant.as_bytes()]))?)
    }

    /// The tenant's plugin components and plan versions (`heads`), plus `adding`, within
    /// its storage quota.
    fn check_stored_bytes(
        &self,
        tenant: &str,
        heads: &[PlanHead],
        adding: u64,
    ) -> Result<(), Error> {
        let limit = self.settings.quotas.stored_bytes;
        let plugins: usize = read(&self.plugins)
            .values()
            .filter(|r| r.record.owner == tenant)
            .map(|r| r.record.size)
            .sum();
        let plans: u64 = heads
            .iter()
            .flat_map(|h| &h.versions)
            .map(|v| v.bytes)
            .sum();
        let stored = u64::try_from(plugins)
            .unwrap_or(u64::MAX)
            .saturating_add(plans)
            .saturating_add(adding);
        if stored > limit {
            return Err(Error::QuotaExceeded {
                quota: "stored_bytes",
                limit,
            });
        }
        Ok(())
    }
}
