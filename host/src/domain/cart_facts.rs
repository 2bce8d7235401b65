//! What the host tells a cart about its merchant before a plan runs, never taken from the
//! request: the buyer's usable points and the merchant's terms (when the plan has a
//! points step), and the merchant's time zone (when a step is live only some hours of the
//! day). One read of the merchant's record, and only when the plan needs it.

use super::tenants::Tenant;
use super::{Error, Plaza};
use crate::Ppm;
use crate::executor::{Cart, PointsOffer, PreparedPlan};
use crate::store::Table;
use plaza_plugin_sdk::Stage;

impl Plaza {
    pub(in crate::domain) fn merchant_facts(
        &self,
        tenant: &str,
        plan: &PreparedPlan,
        cart: &mut Cart,
    ) -> Result<(), Error> {
        let points = plan.steps.iter().any(|s| s.stage == Stage::Points);
        let hours = (plan.steps.iter()).any(|s| s.step.window.is_some_and(|w| w.daily.is_some()));
        if !points && !hours {
            return Ok(());
        }
        let merchant: Tenant = self
            .store
            .get(Table::Tenants, tenant.as_bytes())?
            .ok_or_else(|| Error::not_found("tenant", tenant))?;
        if hours {
            cart.utc_offset_minutes = Some(merchant.orders.utc_offset_minutes);
        }
        if points {
            let account = super::points::account_of(&self.store, tenant, &cart.buyer.id)?;
            cart.points = Some(PointsOffer {
                balance: account.usable(cart.now_ms),
                exchange: merchant.points.exchange,
                max_share: Ppm(merchant.points.max_share_ppm),
            });
        }
        Ok(())
    }
}
