//! The ledger: every money movement of an order as an append-only entry.
//!
//! An order's entries sum to what it still owes and pays out: sales and shipping minus
//! refunds equal the buyer's remaining payable; commission entries minus reversals equal
//! the commission still due. Entries are never changed or removed.

use super::{Error, Plaza, Principal, Role};
use crate::Money;
use crate::store::{self, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// The buyer pays for a line.
    Sale,
    /// The buyer pays for shipping.
    Shipping,
    /// Commission owed on a line, pending payment and the after-sale window.
    CommissionPending,
    /// Money back to the buyer for a line (negative).
    Refund,
    /// Shipping back to the buyer (negative).
    ShippingRefund,
    /// Commission taken back after a refund or cancel (negative).
    CommissionReversed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    pub seq: u32,
    pub kind: LedgerKind,
    /// The cart line it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Who is paid (commission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    pub amount: Money,
    /// The order or refund id that caused it.
    pub reference: String,
    pub at_ms: i64,
}

pub fn entry_key(tenant: &str, order: &str, seq: u32) -> Vec<u8> {
    key(&[tenant.as_bytes(), order.as_bytes(), &seq.to_be_bytes()])
}

impl Plaza {
    /// An order's ledger, oldest first.
    pub fn order_ledger(&self, who: &Principal, order: &str) -> Result<Vec<LedgerEntry>, Error> {
        let tenant = who.tenant(&[Role::Admin, Role::Checkout], "read orders")?;
        if self
            .store
            .orders
            .get(key(&[tenant.as_bytes(), order.as_bytes()]))?
            .is_none()
        {
            return Err(Error::not_found("order", order));
        }
        Ok(store::scan(
            &self.store.ledger,
            &prefix(&[tenant.as_bytes(), order.as_bytes()]),
        )?)
    }
}
