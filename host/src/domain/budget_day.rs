//! Budgets by day: orders and money a step may give away per calendar day in the time zone
//! of the tenant whose budget it is (`utc_offset_minutes` of its order settings).
//!
//! The day is the host's (its clock, never the cart's `now_ms`, which the checkout
//! chooses): an order counts on the day it was committed, and a refund or cancel gives
//! back to that day's counters, whenever it comes. Counters are `day_orders/<date>` and
//! `day_amount/<date>` beside the step's others, `<date>` as `2026-12-06`.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::budget::{Bump, Counters};
use super::order::Reservation;
use crate::Money;
use crate::executor::{Budget, BudgetLimit};
use crate::store::{Store, StoreError};

pub const DAY_ORDERS: &str = "day_orders";
pub const DAY_AMOUNT: &str = "day_amount";

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The calendar date at `now_ms` in the zone `utc_offset_minutes` east of UTC, as
/// `YYYY-MM-DD` (or `day<N>`, days since 1970, for a clock outside the years ±9999).
pub fn local_day(now_ms: i64, utc_offset_minutes: i32) -> String {
    let local = now_ms.saturating_add(i64::from(utc_offset_minutes) * MINUTE_MS);
    let days = local.div_euclid(DAY_MS);
    (days.checked_add(UNIX_EPOCH_JULIAN_DAY))
        .and_then(|j| i32::try_from(j).ok())
        .and_then(|j| time::Date::from_julian_day(j).ok())
        .map_or_else(|| format!("day{days}"), |d| d.to_string())
}

/// Today for `tenant`'s budgets at `now_ms`.
pub(super) fn today_of(store: &Store, tenant: &str, now_ms: i64) -> Result<String, StoreError> {
    let settings = super::order_settings::of(store, tenant)?;
    Ok(local_day(now_ms, settings.utc_offset_minutes))
}

/// Whether `budget` counts anything by day.
pub fn by_day(budget: &Budget) -> bool {
    budget.max_orders_per_day.is_some() || budget.max_amount_per_day.is_some()
}

/// The day counters an order reserves on `day` for a step that gives away `amount`: the
/// counter changes, and the reservation's record of them (its day, its count).
pub(super) fn reserve(
    c: &Counters,
    budget: &Budget,
    day: &str,
    amount: Money,
    step: &str,
    bumps: &mut Vec<Bump>,
    counts: &mut Vec<(String, Option<String>)>,
) -> Option<String> {
    let bump = |key, delta, max, limit| Bump {
        key,
        delta,
        max,
        step: step.to_owned(),
        limit,
    };
    if let Some(max) = budget.max_orders_per_day {
        counts.push((DAY_ORDERS.to_owned(), Some(day.to_owned())));
        bumps.push(bump(
            c.key(DAY_ORDERS, Some(day)),
            1,
            Some(i64::try_from(max).unwrap_or(i64::MAX)),
            BudgetLimit::OrdersPerDay,
        ));
    }
    let max = budget.max_amount_per_day?;
    bumps.push(bump(
        c.key(DAY_AMOUNT, Some(day)),
        amount.0,
        Some(max.0),
        BudgetLimit::AmountPerDay,
    ));
    Some(day.to_owned())
}

/// Give `amount` of `r`'s money back to the day it was reserved on, if it counts by day.
pub(super) fn release(c: &Counters, r: &Reservation, amount: Money, bumps: &mut Vec<Bump>) {
    if let Some(day) = &r.day
        && amount.0 != 0
    {
        bumps.push(super::budget::release(
            c.key(DAY_AMOUNT, Some(day)),
            amount,
            &r.step,
        ));
    }
}

/// What a step has used of its day budgets today.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DayUsage {
    /// The date in the budget's time zone, `YYYY-MM-DD`.
    pub day: String,
    pub orders: i64,
    pub amount: Money,
}

pub(super) fn usage(store: &Store, c: &Counters, day: String) -> Result<DayUsage, StoreError> {
    Ok(DayUsage {
        orders: store.counter(&c.key(DAY_ORDERS, Some(&day)))?,
        amount: Money(store.counter(&c.key(DAY_AMOUNT, Some(&day)))?),
        day,
    })
}

#[cfg(test)]
mod tests {
    use super::local_day;

    #[test]
    fn days_turn_at_the_zones_midnight() {
        // 2026-12-05T16:00:00Z is midnight of the 6th in UTC+8.
        let t = 1_796_486_400_000;
        assert_eq!(local_day(t - 1, 480), "2026-12-05");
        assert_eq!(local_day(t, 480), "2026-12-06");
        assert_eq!(local_day(t, 0), "2026-12-05");
        assert_eq!(local_day(t, -300), "2026-12-05");
        assert_eq!(local_day(0, 0), "1970-01-01");
        assert_eq!(local_day(-1, 0), "1969-12-31");
        assert!(local_day(i64::MAX, 840).starts_with("day"));
    }
}
