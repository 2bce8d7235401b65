//! Order records: what a commit request carries, and what an order, its lines, commissions,
//! reservations and refunds hold once committed. Every amount is exact to the fen: see
//! [`share`] for how a part of what is left is split off.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

pub use super::commission::OrderCommission;
use super::lifecycle::{OrderEvent, OrderState};
use crate::Money;
use crate::executor::quote::PlanVersion;
use crate::executor::{Cart, Release};
use crate::store::key;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The checkout's order id: committing it again returns the same order.
    #[schema(schema_with = crate::shape::id_schema)]
    pub order_id: String,
    /// The plan whose active version prices the order.
    #[schema(schema_with = crate::shape::id_schema)]
    pub plan: String,
    pub cart: Cart,
    /// What the buyer was shown; if the order now costs something else, nothing is
    /// committed and the answer is 409 `price_changed`.
    #[serde(default)]
    pub expected_payable: Option<Money>,
    /// Send the order as a gift (送礼): each recipient's units, which must be every unit of
    /// every line. The sender pays; each recipient accepts, declines or lets it expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift: Option<super::gift_orders::GiftRequest>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub plan: PlanVersion,
    /// What was given back: nothing, part, all (a cancelled or expired order gave back
    /// all of it).
    pub status: OrderStatus,
    /// Where the order is in its lifecycle.
    #[serde(default)]
    pub state: OrderState,
    pub created_ms: i64,
    /// A placed order expires unpaid at this time (host clock, ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_by_ms: Option<i64>,
    /// A received order completes at this time: its after-sale window closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_sale_ends_ms: Option<i64>,
    /// What the checkout reported, oldest first.
    #[serde(default)]
    pub events: Vec<OrderEvent>,
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub shipping_refunded: Money,
    /// Its commission shares (stored beside the order, each with its own state).
    pub commissions: Vec<OrderCommission>,
    /// How many shares it has (the order record keeps the count, not the shares).
    #[serde(default)]
    pub commission_shares: u32,
    pub reservations: Vec<Reservation>,
    /// The claimed coupons it redeemed (each marked used while the order holds it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<super::coupons::HeldClaim>,
    /// The free gifts (赠品) it carries: lines the buyer pays nothing for, given back with
    /// the order when it is cancelled, expires or is refunded in full.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gifts: Vec<OrderGift>,
    /// A gift order's sub-orders, one per recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_sending: Option<super::gift_orders::GiftSending>,
    /// The buyer's points it spent and earned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<super::points::orders::OrderPoints>,
    /// The GMV incentive events it counts towards, and for whom.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incentives: Vec<super::incentives::OrderIncentive>,
    pub refunds: Vec<Refund>,
    /// The pricing as committed, with its explanation.
    #[schema(value_type = Object)]
    pub quote: serde_json::Value,
    /// The cart as priced: its attribution is the resolved chain.
    pub cart: Cart,
    /// How the chain was resolved: the touch that won and what became of each claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::executor::AttributionReport>,
    /// sha256 of the commit request: a replay must match it.
    pub request_sha256: String,
    /// Ledger entries written so far.
    pub ledger_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub id: String,
    pub quantity: u32,
    pub refunded_quantity: u32,
    pub payable: Money,
    pub refunded: Money,
}

/// A free gift line (赠品) of an order, as a step of its plan gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderGift {
    pub step: String,
    pub sku: String,
    pub quantity: u32,
    /// List value, for the books; the buyer paid nothing for it.
    pub value: Money,
    pub label: String,
    /// It came back with its order (cancelled, expired or refunded in full).
    pub returned: bool,
}

impl OrderGift {
    /// The order lines for the gifts of `quote`.
    pub fn all_of(quote: &crate::executor::Quote) -> Vec<OrderGift> {
        (quote.gifts.iter())
            .map(|g| OrderGift {
                step: g.step.clone(),
                sku: g.sku.clone(),
                quantity: g.quantity,
                value: g.value,
                label: g.label.clone(),
                returned: false,
            })
            .collect()
    }
}

/// What one budgeted step reserved for this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub step: String,
    /// Money reserved (the step's discount plus commission).
    pub amount: Money,
    pub released: Money,
    /// The unreleased share of `amount` on each order line.
    pub line_shares: Vec<Money>,
    /// Count counters reserved (+1 each): `orders`, `buyer/<id>`, `coupon/<code>`.
    #[schema(schema_with = counts_schema)]
    pub counts: Vec<(String, Option<String>)>,
    /// Unit counters reserved (+`units` each): `units`, `buyer_units/<id>`; released with
    /// the counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = counts_schema)]
    pub unit_counts: Vec<(String, Option<String>)>,
    /// Units of the lines the step adjusted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub units: u64,
    /// Of `units`, those still held on each order line (0 on a line the step did not
    /// adjust): a refund of a line's units gives them back when the budget releases on
    /// refund.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_units: Vec<u32>,
    /// Units of the free gifts it gave (on the step's `gift_units` counter); released
    /// with the counts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gift_units: u64,
    pub counts_released: bool,
    pub release: Release,
    /// The day (in its budget's time zone) whose money counter holds `amount`, when the
    /// step's budget caps money per day; its day's order count is among `counts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// The plaza layer whose plan's budget it is on, when not the order's merchant's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerBudget>,
}

/// A plaza layer's plan, whose step budgets an order reserves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LayerBudget {
    pub tenant: String,
    pub plan: String,
}

impl Reservation {
    /// The counters it holds, on an order of `merchant`'s `plan`.
    pub fn counters(&self, merchant: &str, plan: &str) -> super::budget::Counters {
        match &self.layer {
            Some(l) => super::budget::Counters::new(&l.tenant, &l.plan, &self.step),
            None => super::budget::Counters::new(merchant, plan, &self.step),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: String,
    pub lines: Vec<RefundLine>,
    pub shipping: Money,
    pub amount: Money,
    pub at_ms: i64,
    pub request_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundLine {
    pub line: String,
    pub quantity: u32,
    pub amount: Money,
    /// Commission on the merchant's books taken back (a plaza layer's own shares are
    /// reversed on its books).
    pub commission_reversed: Money,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Idempotency key of the refund within the order.
    #[schema(schema_with = crate::shape::id_schema)]
    pub refund_id: String,
    /// The order's lines to refund, by line id, each by units or by amount.
    #[serde(default)]
    pub lines: Vec<RefundLineRequest>,
    /// Shipping to give back (fen), at most what the order still holds of it.
    #[serde(default)]
    #[schema(schema_with = positive_amount_schema)]
    pub shipping: Option<Money>,
    /// Give back everything the order still holds: every unit of every line and the
    /// shipping. Names no lines or shipping with it.
    #[serde(default)]
    pub all: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineRequest {
    pub line: String,
    /// Units to refund (they return): all units still held when neither this nor
    /// `amount` is given.
    #[serde(default)]
    #[schema(schema_with = refund_quantity_schema)]
    pub quantity: Option<u32>,
    /// Money to give back on the line without units returning (fen), at most what the line
    /// still holds: spread over the line's commission and budget pro rata.
    #[serde(default)]
    #[schema(schema_with = positive_amount_schema)]
    pub amount: Option<Money>,
}

fn positive_amount_schema() -> utoipa::openapi::schema::Object {
    crate::shape::optional_integer(1, i64::MAX, "Fen, 1 to what is still refundable")
}

/// `[kind, key?]` pairs.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn counts_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let part = ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
    let pair = ArrayBuilder::new()
        .items(part)
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new().items(pair).build()
}

fn refund_quantity_schema() -> utoipa::openapi::schema::Object {
    let most = crate::executor::cart::MAX_QUANTITY.into();
    crate::shape::optional_integer(1, most, "Units, 1 to the units still held")
}

pub(super) fn order_key(tenant: &str, order: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), order.as_bytes()])
}

/// `remaining × part / whole` (rounded down), and everything left when `part` is the whole:
/// refunding k of the r units a line holds, or an amount of the money it holds, one part at
/// a time always adds up to exactly what was paid.
pub(super) fn portion(remaining: Money, part: i128, whole: i128) -> Money {
    if part >= whole || whole <= 0 {
        return remaining;
    }
    let part = i128::from(remaining.0) * part / whole;
    // |part| < |remaining|: part < whole.
    Money(i64::try_from(part).expect("a share is smaller than the whole"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(remaining: Money, k: u32, r: u32) -> Money {
        portion(remaining, i128::from(k), i128::from(r))
    }

    #[test]
    fn shares_of_successive_partial_refunds_add_up_to_the_whole() {
        let mut left = Money(1001);
        let mut held = 3;
        let mut paid_back = Money::ZERO;
        for k in [1, 1, 1] {
            let back = share(left, k, held);
            left -= back;
            held -= k;
            paid_back += back;
        }
        assert_eq!(paid_back, Money(1001));
        assert_eq!(left, Money::ZERO);
    }

    #[test]
    fn a_share_rounds_down_until_the_last_unit() {
        assert_eq!(share(Money(1001), 1, 3), Money(333));
        assert_eq!(share(Money(1001), 3, 3), Money(1001));
    }

    #[test]
    fn a_share_of_the_largest_line_does_not_overflow() {
        let whole = Money(99_999 * 100_000_000_000);
        assert_eq!(
            share(whole, 99_998, 99_999),
            Money(99_998 * 100_000_000_000)
        );
    }
}
