//! Listing a tenant's orders: in the order they were placed, filtered by time, status,
//! buyer, promoter and plan, a page at a time.
//!
//! Orders are found through the order-time index (written in the commit's transaction), so
//! a listing walks them oldest first and returns each order present when it started
//! exactly once, while new orders keep arriving. A page reads at most
//! [`SCAN_FACTOR`] × `limit` index entries: with a selective filter it may come back short
//! (even empty) with a cursor to continue from, rather than scan a whole history at once.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commit::CHECKOUT;
use super::order::{Order, OrderStatus};
use super::page::{self, Page};
use super::{Error, Plaza, Principal};
use crate::Money;
use crate::executor::quote::PlanVersion;
use crate::store::{Table, key, prefix, time_part};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Index entries one page may read, per item asked for.
pub const SCAN_FACTOR: usize = 10;

/// Which orders to list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Placed at or after this time (ms since the Unix epoch).
    pub from_ms: Option<i64>,
    /// Placed before this time.
    pub until_ms: Option<i64>,
    pub status: Option<OrderStatus>,
    pub buyer: Option<String>,
    /// The promoter the cart was attributed to.
    pub promoter: Option<String>,
    pub plan: Option<String>,
    /// Orders per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^([0-9a-f]{2}){1,1024}$")]
    pub after: Option<String>,
}

/// One order in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: String,
    pub plan: PlanVersion,
    pub status: OrderStatus,
    pub created_ms: i64,
    pub buyer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promoter: Option<String>,
    /// What the buyer paid: lines and shipping.
    pub paid: Money,
    pub refunded: Money,
    /// Commission on the merchant's books still due (granted minus reversed).
    pub commission: Money,
}

impl From<&Order> for OrderSummary {
    fn from(o: &Order) -> Self {
        OrderSummary {
            id: o.id.clone(),
            plan: o.plan.clone(),
            status: o.status,
            created_ms: o.created_ms,
            buyer: o.cart.buyer.id.clone(),
            promoter: o.cart.attribution.promoter.clone(),
            paid: o.lines.iter().map(|l| l.payable).sum::<Money>() + o.shipping,
            refunded: o.lines.iter().map(|l| l.refunded).sum::<Money>() + o.shipping_refunded,
            commission: o
                .commissions
                .iter()
                .filter(|c| c.ledger.is_none())
                .map(|c| c.amount - c.reversed)
                .sum(),
        }
    }
}

impl OrderQuery {
    fn admits(&self, o: &Order) -> bool {
        self.status.is_none_or(|s| s == o.status)
            && self.buyer.as_ref().is_none_or(|b| *b == o.cart.buyer.id)
            && self.plan.as_ref().is_none_or(|p| *p == o.plan.id)
            && self
                .promoter
                .as_ref()
                .is_none_or(|p| o.cart.attribution.promoter.as_ref() == Some(p))
    }
}

/// The order-time index key of an order.
pub(super) fn time_key(tenant: &str, created_ms: i64, order: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), &time_part(created_ms), order.as_bytes()])
}

impl Plaza {
    pub fn list_orders(
        &self,
        who: &Principal,
        q: &OrderQuery,
    ) -> Result<Page<OrderSummary>, Error> {
        let tenant = who.tenant(CHECKOUT, "list orders")?;
        let at = page::position(q.limit, q.after.as_deref())?;
        let limit = at.limit;
        let range = prefix(&[tenant.as_bytes()]);
        let mut from = at.after;
        if let Some(since) = q.from_ms
            && let Some(earlier) = since.checked_sub(1)
        {
            // Just past every entry placed before `since`.
            let mut start = range.clone();
            start.extend_from_slice(&time_part(earlier));
            start.push(0xff);
            if from.as_ref().is_none_or(|f| *f < start) {
                from = Some(start);
            }
        }
        let until = q.until_ms.map(|u| {
            let mut end = range.clone();
            end.extend_from_slice(&time_part(u));
            end
        });
        let budget = limit.saturating_mul(SCAN_FACTOR);
        let entries = self
            .store
            .scan_keys(Table::OrderTimes, &range, from.as_deref(), budget)?;
        let mut items = Vec::new();
        let mut last = None;
        let mut exhausted = entries.len() < budget;
        for entry in entries {
            if until.as_ref().is_some_and(|end| entry >= *end) {
                exhausted = true;
                break;
            }
            let order_id = entry[range.len() + 9..].to_vec();
            let order_id = String::from_utf8(order_id).map_err(|_| {
                Error::Internal("an order-time index entry is not an order id".into())
            })?;
            let order = super::commission::read_order(&self.store, tenant, &order_id)?.ok_or_else(
                || Error::Internal(format!("order {order_id} is indexed but missing")),
            )?;
            if q.admits(&order) {
                items.push(OrderSummary::from(&order));
            }
            last = Some(entry);
            if items.len() == limit {
                break;
            }
        }
        let next = match last {
            Some(last) if !(exhausted && items.len() < limit) => Some(page::cursor(&last)),
            _ => None,
        };
        Ok(Page { items, next })
    }
}
