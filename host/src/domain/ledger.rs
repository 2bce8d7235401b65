//! The ledger: every money movement of an order as an append-only entry.
//!
//! An order's entries sum to what it still owes and pays out: sales and shipping minus
//! refunds equal the buyer's remaining payable; commission entries minus reversals equal
//! the commission still due. Entries are numbered per order, written in the same
//! transaction as the order change that caused them, and never changed or removed.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commission::OrderCommission;
use super::order::{Order, order_key};
use super::page::{self, Page, Position};
use super::{Error, Plaza, Principal, Role};
use crate::Money;
use crate::store::{Table, Tx, TxError, TxExt, key, prefix};
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
    /// Commission taken back after a refund or cancel, before it was paid (negative).
    CommissionReversed,
    /// Commission taken back after a settlement paid it (negative): the payee owes it and
    /// carries it on its balance into its next statement.
    CommissionClawback,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    pub seq: u32,
    pub kind: LedgerKind,
    /// The cart line it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Who is paid (commission): the beneficiary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The paid party of a commission (`promoter`, `carrying_agency` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payee_party: Option<String>,
    /// The paying party of a commission (`merchant`, `carrying_agency` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_party: Option<String>,
    /// Who pays a commission: the merchant, or the beneficiary that passes it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The plan step a commission comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The plaza layer whose books a commission is on, when not the merchant's. The
    /// merchant's view of the ledger leaves such entries out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    pub amount: Money,
    /// The order or refund id that caused it.
    pub reference: String,
    pub at_ms: i64,
}

/// A movement before it is numbered.
pub(super) struct Movement {
    pub kind: LedgerKind,
    pub line: Option<String>,
    /// The commission share it moves, if any.
    pub share: Option<ShareParties>,
    pub amount: Money,
}

/// Who a commission movement is between.
pub(super) struct ShareParties {
    payee: String,
    payee_party: String,
    payer_party: String,
    payer: String,
    step: String,
    ledger: Option<String>,
}

impl Movement {
    /// Money of the buyer's: a sale, shipping, or a refund of either.
    pub fn money(kind: LedgerKind, line: Option<&str>, amount: Money) -> Self {
        Movement {
            kind,
            line: line.map(str::to_owned),
            share: None,
            amount,
        }
    }

    /// A commission share's movement.
    pub fn commission(kind: LedgerKind, c: &OrderCommission, amount: Money) -> Self {
        Movement {
            kind,
            line: Some(c.line.clone()),
            share: Some(ShareParties {
                payee: c.payee.clone(),
                payee_party: c.payee_party.clone(),
                payer_party: c.payer_party.clone(),
                payer: c.payer.clone(),
                step: c.step.clone(),
                ledger: c.ledger.clone(),
            }),
            amount,
        }
    }
}

fn entry_key(tenant: &str, order: &str, seq: u32) -> Vec<u8> {
    key(&[tenant.as_bytes(), order.as_bytes(), &seq.to_be_bytes()])
}

/// Number `movements` after the order's last entry (dropping zero amounts).
pub(super) fn number(
    order: &mut Order,
    reference: &str,
    movements: Vec<Movement>,
    at_ms: i64,
) -> Vec<LedgerEntry> {
    movements
        .into_iter()
        .filter(|m| m.amount.0 != 0)
        .map(|m| {
            order.ledger_entries += 1;
            let (party, payee_party, payer_party, payer, step, ledger) = match m.share {
                Some(s) => (
                    Some(s.payee),
                    Some(s.payee_party),
                    Some(s.payer_party),
                    Some(s.payer),
                    Some(s.step),
                    s.ledger,
                ),
                None => (None, None, None, None, None, None),
            };
            LedgerEntry {
                seq: order.ledger_entries,
                kind: m.kind,
                line: m.line,
                party,
                payee_party,
                payer_party,
                payer,
                step,
                ledger,
                amount: m.amount,
                reference: reference.to_owned(),
                at_ms,
            }
        })
        .collect()
}

/// Append `entries` to the order's ledger inside `tx`.
pub(super) fn append(
    tx: &mut dyn Tx,
    tenant: &str,
    order: &str,
    entries: &[LedgerEntry],
) -> Result<(), TxError> {
    for e in entries {
        tx.put_json(Table::Ledger, &entry_key(tenant, order, e.seq), e)?;
    }
    Ok(())
}

impl Plaza {
    /// An order's ledger entries, in the order they were written: the merchant's books
    /// (a plaza layer's entries are its own).
    pub fn order_ledger(
        &self,
        who: &Principal,
        order: &str,
        at: &Position,
    ) -> Result<Page<LedgerEntry>, Error> {
        let tenant = who.tenant(&[Role::Admin, Role::Checkout], "read orders")?;
        if !self
            .store
            .contains(Table::Orders, &order_key(tenant, order))?
        {
            return Err(Error::not_found("order", order));
        }
        let range = prefix(&[tenant.as_bytes(), order.as_bytes()]);
        let mut page: Page<LedgerEntry> = page::scan(&self.store, Table::Ledger, &range, at)?;
        page.items.retain(|e| e.ledger.is_none());
        Ok(page)
    }
}
