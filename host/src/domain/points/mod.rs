//! Member points: a merchant's points program (`/v1/settings/points`), each buyer's
//! account with it (`/v1/buyers/{buyer}/points`), its ledger, and the merchant's grants.
//!
//! - **Earn**: a completed order (its after-sale window closed) credits
//!   `earn_rate_ppm` of what the buyer paid for its goods, net of refunds, in a lot that
//!   expires `validity_days` later (the terms as they stood when the order was placed).
//! - **Spend**: a points-stage rule proposes points to spend; the host offers the cart the
//!   buyer's usable balance and holds the rule to the exchange rate, the balance and
//!   `max_share_ppm` of the goods ([`crate::executor::points`]). Commit reserves the points
//!   in the order's transaction; payment spends them; a cancel or expiry releases them; a
//!   refund returns them in proportion to the goods refunded; a refund after completion
//!   takes back what the order earned, as far as the buyer still holds it.
//! - **Expire**: each lot's expiry is one of the host's timers.
//!
//! Every movement is a ledger [`Entry`]; an account always equals the sum of its ledger.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

pub mod account;
mod grants;
pub mod orders;

pub use account::{Account, Entry, EntryKind, Lot};
pub use grants::{NewPointsGrant, PointsAccount, PointsGrant};

use super::tenants::{ANY_ROLE, Tenant};
use super::{Error, Plaza, Principal, Role};
use crate::executor::Exchange;
use crate::store::{Store, StoreError, Table, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest validity a merchant may give points: ten years.
pub const MAX_VALIDITY_DAYS: u32 = 3_650;

/// A merchant's points program. The defaults earn nothing and spend nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsSettings {
    /// Points earned per fen paid, in parts per million (10,000: one point per yuan);
    /// 0 to 1,000,000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub earn_rate_ppm: u32,
    /// What points are worth when spent (100 points pay 1 yuan when absent).
    #[serde(default)]
    pub exchange: Exchange,
    /// The largest share of an order's goods points may pay, in parts per million;
    /// 0 (points cannot be spent) to 1,000,000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub max_share_ppm: u32,
    /// Days earned or granted points stay usable (365 when absent); 0: they never
    /// expire. At most 3,650.
    #[serde(default = "default_validity_days")]
    #[schema(minimum = 0, maximum = 3_650)]
    pub validity_days: u32,
}

fn default_validity_days() -> u32 {
    365
}

impl Default for PointsSettings {
    fn default() -> Self {
        PointsSettings {
            earn_rate_ppm: 0,
            exchange: Exchange::default(),
            max_share_ppm: 0,
            validity_days: default_validity_days(),
        }
    }
}

impl PointsSettings {
    fn check(&self) -> Result<(), Error> {
        let limits = [
            ("earn_rate_ppm", self.earn_rate_ppm, 0, 1_000_000),
            (
                "exchange.points",
                self.exchange.points,
                1,
                crate::executor::points::MAX_EXCHANGE,
            ),
            (
                "exchange.fen",
                self.exchange.fen,
                1,
                crate::executor::points::MAX_EXCHANGE,
            ),
            ("max_share_ppm", self.max_share_ppm, 0, 1_000_000),
            ("validity_days", self.validity_days, 0, MAX_VALIDITY_DAYS),
        ];
        for (field, value, least, most) in limits {
            if !(least..=most).contains(&value) {
                return Err(Error::Invalid {
                    field: field.into(),
                    message: format!("must be {least} to {most}"),
                });
            }
        }
        Ok(())
    }

    /// When points credited at `now` expire.
    pub fn expiry(&self, now: i64) -> Option<i64> {
        (self.validity_days > 0).then(|| now.saturating_add(i64::from(self.validity_days) * DAY_MS))
    }
}

/// When points credited at `now` expire, valid `validity_days` (0: never).
pub fn expiry(validity_days: u32, now: i64) -> Option<i64> {
    (validity_days > 0).then(|| now.saturating_add(i64::from(validity_days) * DAY_MS))
}

/// `tenant`'s points settings (the defaults until it saves its own).
pub(super) fn settings_of(store: &Store, tenant: &str) -> Result<PointsSettings, StoreError> {
    Ok(store
        .get::<Tenant>(Table::Tenants, tenant.as_bytes())?
        .map(|t| t.points)
        .unwrap_or_default())
}

/// Where `buyer`'s account with `tenant` is stored.
pub(super) fn account_key(tenant: &str, buyer: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), buyer.as_bytes()])
}

/// `buyer`'s account with `tenant` (empty when it has none).
pub(super) fn account_of(store: &Store, tenant: &str, buyer: &str) -> Result<Account, StoreError> {
    Ok(store
        .get(Table::PointsAccounts, &account_key(tenant, buyer))?
        .unwrap_or_default())
}

impl Plaza {
    pub fn points_settings(&self, who: &Principal) -> Result<PointsSettings, Error> {
        let tenant = who.tenant(ANY_ROLE, "read points settings")?;
        Ok(settings_of(&self.store, tenant)?)
    }

    /// Save the caller's points program (its admin's): the whole object. Orders placed
    /// before keep the terms they were placed under.
    pub async fn set_points_settings(
        &self,
        who: &Principal,
        settings: PointsSettings,
    ) -> Result<PointsSettings, Error> {
        let tenant = who.tenant(&[Role::Admin], "change points settings")?;
        settings.check()?;
        self.update_tenant(tenant, |t| t.points = settings).await?;
        Ok(settings)
    }
}
