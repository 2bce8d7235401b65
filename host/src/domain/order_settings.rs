//! A merchant's order settings: how long a placed order waits for payment, how long
//! after receipt the buyer may still ask for a refund, and the merchant's time zone (its
//! days: a step's daily hours). They apply from the moment they are saved: a placed order
//! keeps the deadline it was given, a received order the window it was given.

use super::tenants::{ANY_ROLE, Tenant};
use super::{Error, Plaza, Principal, Role};
use crate::store::{Store, StoreError, Table};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// How long a placed order waits for payment, by default.
pub const DEFAULT_PAYMENT_TIMEOUT_MS: i64 = 30 * MINUTE_MS;
/// Payment timeouts a merchant may choose: a minute to a week.
pub const PAYMENT_TIMEOUT_MS: (i64, i64) = (MINUTE_MS, 7 * DAY_MS);
/// How long after receipt the buyer may still ask for a refund, by default.
pub const DEFAULT_AFTER_SALE_MS: i64 = 7 * DAY_MS;
/// After-sale windows a merchant may choose: none to 90 days.
pub const AFTER_SALE_MS: (i64, i64) = (0, 90 * DAY_MS);
/// How long a gift's recipients have to accept it, by default.
pub const DEFAULT_GIFT_ACCEPT_MS: i64 = DAY_MS;
/// Acceptance windows a merchant may choose: an hour to 7 days.
pub const GIFT_ACCEPT_MS: (i64, i64) = (60 * MINUTE_MS, 7 * DAY_MS);
/// UTC offsets a merchant may choose, in minutes: UTC−12:00 to UTC+14:00.
pub const UTC_OFFSET_MINUTES: (i32, i32) = (-12 * 60, 14 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OrderSettings {
    /// A placed order unpaid this long after it was placed expires.
    #[schema(schema_with = payment_timeout_schema)]
    pub payment_timeout_ms: i64,
    /// A received order completes this long after receipt (its after-sale window).
    #[schema(schema_with = after_sale_schema)]
    pub after_sale_ms: i64,
    /// The merchant's time zone as minutes east of UTC (480, UTC+8, by default): a step's
    /// daily hours are its local hours. A fixed offset: a zone with daylight saving time
    /// sets the offset it wants its days cut at.
    #[schema(minimum = -720, maximum = 840)]
    pub utc_offset_minutes: i32,
    /// A gift order's recipients have this long after it was placed to accept; a sub-order
    /// still waiting then expires and is refunded to the sender.
    #[schema(schema_with = gift_accept_schema)]
    pub gift_accept_ms: i64,
}

impl Default for OrderSettings {
    fn default() -> Self {
        OrderSettings {
            payment_timeout_ms: DEFAULT_PAYMENT_TIMEOUT_MS,
            after_sale_ms: DEFAULT_AFTER_SALE_MS,
            utc_offset_minutes: crate::executor::window::DEFAULT_UTC_OFFSET_MINUTES,
            gift_accept_ms: DEFAULT_GIFT_ACCEPT_MS,
        }
    }
}

fn payment_timeout_schema() -> utoipa::openapi::schema::Object {
    let (least, most) = PAYMENT_TIMEOUT_MS;
    crate::shape::integer(least, most, "ms, a minute to 7 days (default 30 minutes)")
}

fn gift_accept_schema() -> utoipa::openapi::schema::Object {
    let (least, most) = GIFT_ACCEPT_MS;
    crate::shape::integer(least, most, "ms, an hour to 7 days (default 24 hours)")
}

fn after_sale_schema() -> utoipa::openapi::schema::Object {
    let (least, most) = AFTER_SALE_MS;
    crate::shape::integer(least, most, "ms, 0 to 90 days (default 7 days)")
}

impl OrderSettings {
    fn check(&self) -> Result<(), Error> {
        let (least, most) = UTC_OFFSET_MINUTES;
        let offsets = (i64::from(least), i64::from(most));
        for (field, value, (least, most)) in [
            (
                "payment_timeout_ms",
                self.payment_timeout_ms,
                PAYMENT_TIMEOUT_MS,
            ),
            ("after_sale_ms", self.after_sale_ms, AFTER_SALE_MS),
            ("gift_accept_ms", self.gift_accept_ms, GIFT_ACCEPT_MS),
            (
                "utc_offset_minutes",
                i64::from(self.utc_offset_minutes),
                offsets,
            ),
        ] {
            if !(least..=most).contains(&value) {
                return Err(Error::Invalid {
                    field: field.into(),
                    message: format!("must be {least} to {most}"),
                });
            }
        }
        Ok(())
    }
}

/// `tenant`'s order settings (the defaults until it saves its own).
pub(super) fn of(store: &Store, tenant: &str) -> Result<OrderSettings, StoreError> {
    Ok(store
        .get::<Tenant>(Table::Tenants, tenant.as_bytes())?
        .map(|t| t.orders)
        .unwrap_or_default())
}

impl Plaza {
    pub fn order_settings(&self, who: &Principal) -> Result<OrderSettings, Error> {
        let tenant = who.tenant(ANY_ROLE, "read order settings")?;
        Ok(of(&self.store, tenant)?)
    }

    /// Save the caller's order settings (its admin's): the whole object, so saving the
    /// same settings again changes nothing.
    pub async fn set_order_settings(
        &self,
        who: &Principal,
        settings: OrderSettings,
    ) -> Result<OrderSettings, Error> {
        let tenant = who.tenant(&[Role::Admin], "change order settings")?;
        settings.check()?;
        self.update_tenant(tenant, |t| t.orders = settings).await?;
        Ok(settings)
    }
}
