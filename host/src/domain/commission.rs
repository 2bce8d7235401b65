//! Commission shares: each one a record of its own, travelling `pending` (the order is
//! placed or paid) → `settleable` (its after-sale window closed) → `settled` (a settlement
//! run paid it).
//!
//! A share names both sides: who pays (the party and who that is: the merchant itself, or
//! the beneficiary that received on the same line as the paying party, for a waterfall) and
//! who is paid (the party and the beneficiary). A refund before settlement reverses a share
//! pro rata; after settlement it claws it back: the payee owes what was taken back and
//! carries it on its balance with the merchant into its next statement (a paying agency is
//! owed as much), never dropped.
//!
//! Shares live beside their order (`Table::Commissions`), not inside it, so that a
//! settlement run rewrites small share records and not whole orders. Two indexes follow a
//! share's state and are rewritten with it in the same transaction: the open shares of
//! each beneficiary (pending or settleable, with money left: its balance) and the
//! settleable shares of each merchant by the time they became settleable (what a
//! settlement run gathers).
//!
//! Each share is on one tenant's books: its **ledger**. The merchant's by default; a share
//! a plaza layer pays (the pool's helper rate, a carrying or helper agency's own plan) is
//! on that layer tenant's books: the layer's tenant pays it out of what the merchant paid
//! it, in its own settlement runs, and the merchant neither pays nor sees it. Such shares
//! have indexes of their own (`LayerOpenShares`, `LayerSettleable`) that name the
//! merchant whose order they are on.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::order::{Order, order_key};
use crate::Money;
use crate::executor::quote::CommissionLine;
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, key, time_part};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The paying party of a share the merchant pays itself.
pub const MERCHANT: &str = "merchant";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommissionState {
    /// Owed once the order completes; a refund reverses it.
    #[default]
    Pending,
    /// The order's after-sale window closed: the next settlement run pays it.
    Settleable,
    /// Paid by a settlement run; a refund now claws it back.
    Settled,
}

impl CommissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommissionState::Pending => "pending",
            CommissionState::Settleable => "settleable",
            CommissionState::Settled => "settled",
        }
    }
}

/// One commission share of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderCommission {
    pub step: String,
    /// The order line it is earned on.
    pub line: String,
    /// The paying party: `merchant`, or the party that passes on part of what it received
    /// (`carrying_agency`, `helper_agency` …).
    #[serde(default = "merchant")]
    pub payer_party: String,
    /// Who pays: the merchant's tenant id, or the beneficiary that received as
    /// `payer_party` on this line.
    #[serde(default)]
    pub payer: String,
    /// The paid party (`promoter`, `carrying_agency` …).
    #[serde(default)]
    pub payee_party: String,
    /// The beneficiary paid.
    pub payee: String,
    pub amount: Money,
    /// Taken back by refunds before settlement.
    pub reversed: Money,
    /// Taken back by refunds after settlement: the payee owes it, carried on its balance.
    #[serde(default)]
    pub clawed_back: Money,
    #[serde(default)]
    pub state: CommissionState,
    /// When it became settleable (the order's completion, host time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settleable_ms: Option<i64>,
    /// The settlement run that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<String>,
    /// What that run paid (its amount less reversals at the time).
    #[serde(default)]
    pub settled: Money,
    /// The tenant whose books the share is on, when not the order's merchant: the plaza
    /// layer that pays it (it is also the payer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

fn merchant() -> String {
    MERCHANT.to_owned()
}

impl OrderCommission {
    /// What is still owed on it (or was paid and not yet clawed back).
    pub fn left(&self) -> Money {
        self.amount - self.reversed - self.clawed_back
    }

    /// Whether the payer is a beneficiary with a balance on the ledger (not the ledger's
    /// own tenant: the merchant, or the layer that pays it).
    pub fn payer_has_balance(&self) -> bool {
        self.payer_party != MERCHANT && self.ledger.is_none()
    }

    /// The tenant whose books the share is on, for an order of `merchant`.
    pub fn ledger_of<'a>(&'a self, merchant: &'a str) -> &'a str {
        self.ledger.as_deref().unwrap_or(merchant)
    }

    /// Still owed and not yet paid: on its beneficiaries' balances.
    fn open(&self) -> bool {
        self.state != CommissionState::Settled && self.left().0 != 0
    }
}

/// The shares of a quote's commissions, each paying side named: the merchant (`tenant`)
/// for the merchant's shares; for a waterfall, the beneficiary that received as the paying
/// party on the same line earlier in the quote (the executor only accepts a payment out of
/// what that party received there).
pub(super) fn from_quote(tenant: &str, commissions: &[CommissionLine]) -> Vec<OrderCommission> {
    let mut shares: Vec<OrderCommission> = Vec::with_capacity(commissions.len());
    for c in commissions {
        let payer = if c.payer == MERCHANT {
            tenant.to_owned()
        } else if let Some(layer) = &c.ledger {
            layer.clone()
        } else {
            shares
                .iter()
                .find(|s| s.line == c.line && s.payee_party == c.payer)
                .map_or_else(String::new, |s| s.payee.clone())
        };
        shares.push(OrderCommission {
            step: c.step.clone(),
            line: c.line.clone(),
            payer_party: c.payer.clone(),
            payer,
            payee_party: c.payee.clone(),
            payee: c.beneficiary.clone(),
            amount: c.amount,
            reversed: Money::ZERO,
            clawed_back: Money::ZERO,
            state: CommissionState::Pending,
            settleable_ms: None,
            settlement: None,
            settled: Money::ZERO,
            ledger: c.ledger.clone(),
        });
    }
    shares
}

/// The key of share `index` of an order.
pub fn share_key(tenant: &str, order: &str, index: u32) -> Vec<u8> {
    key(&[tenant.as_bytes(), order.as_bytes(), &index.to_be_bytes()])
}

/// Which side of a share a beneficiary is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Paid the share.
    Received,
    /// Paid it on, out of what it received.
    PaidOn,
}

impl Side {
    fn tag(self) -> &'static [u8] {
        match self {
            Side::Received => b"r",
            Side::PaidOn => b"p",
        }
    }

    pub(super) fn of_tag(tag: &[u8]) -> Option<Side> {
        match tag {
            b"r" => Some(Side::Received),
            b"p" => Some(Side::PaidOn),
            _ => None,
        }
    }

    /// The share as this side's balance sees it.
    pub fn signed(self, amount: Money) -> Money {
        match self {
            Side::Received => amount,
            Side::PaidOn => -amount,
        }
    }
}

/// The open-share index entry of `beneficiary` for share `index` of `order`.
pub(super) fn open_key(
    beneficiary: &str,
    tenant: &str,
    order: &str,
    index: u32,
    side: Side,
) -> Vec<u8> {
    key(&[
        beneficiary.as_bytes(),
        tenant.as_bytes(),
        order.as_bytes(),
        &index.to_be_bytes(),
        side.tag(),
    ])
}

/// The settleable index entry of a share that became settleable at `at_ms`.
pub(super) fn settleable_key(tenant: &str, at_ms: i64, order: &str, index: u32) -> Vec<u8> {
    key(&[
        tenant.as_bytes(),
        &time_part(at_ms),
        order.as_bytes(),
        &index.to_be_bytes(),
    ])
}

/// The open-share entry of `beneficiary` for share `index` of `merchant`'s `order`, paid
/// out of `ledger` (a layer's).
pub(super) fn layer_open_key(
    beneficiary: &str,
    ledger: &str,
    merchant: &str,
    order: &str,
    index: u32,
) -> Vec<u8> {
    key(&[
        beneficiary.as_bytes(),
        ledger.as_bytes(),
        merchant.as_bytes(),
        order.as_bytes(),
        &index.to_be_bytes(),
    ])
}

/// The settleable entry, in layer `ledger`, of share `index` of `merchant`'s `order`.
pub(super) fn layer_settleable_key(
    ledger: &str,
    at_ms: i64,
    merchant: &str,
    order: &str,
    index: u32,
) -> Vec<u8> {
    key(&[
        ledger.as_bytes(),
        &time_part(at_ms),
        merchant.as_bytes(),
        order.as_bytes(),
        &index.to_be_bytes(),
    ])
}

/// The tables an order write touches besides the order itself.
pub(super) const SHARE_TABLES: [Table; 7] = [
    Table::Commissions,
    Table::OpenShares,
    Table::Settleable,
    Table::Balances,
    Table::Carried,
    Table::LayerOpenShares,
    Table::LayerSettleable,
];

/// Put `k` in `table` when `on`, else take it out.
fn set_index(tx: &mut dyn Tx, table: Table, k: &[u8], on: bool) -> Result<(), TxError> {
    if on {
        tx.put(table, k, &[])
    } else {
        tx.remove(table, k)
    }
}

/// Write `share` (number `index` of `order`) and bring its index entries in line with its
/// state.
pub(super) fn put_share(
    tx: &mut dyn Tx,
    tenant: &str,
    order: &str,
    index: u32,
    share: &OrderCommission,
) -> Result<(), TxError> {
    tx.put_json(Table::Commissions, &share_key(tenant, order, index), share)?;
    let due = share.state == CommissionState::Settleable && share.left().0 != 0;
    if let Some(layer) = &share.ledger {
        let k = layer_open_key(&share.payee, layer, tenant, order, index);
        set_index(tx, Table::LayerOpenShares, &k, share.open())?;
        if let Some(at) = share.settleable_ms {
            let k = layer_settleable_key(layer, at, tenant, order, index);
            set_index(tx, Table::LayerSettleable, &k, due)?;
        }
        return Ok(());
    }
    let sides = [(Side::Received, &share.payee), (Side::PaidOn, &share.payer)];
    for (side, who) in sides {
        if side == Side::PaidOn && !share.payer_has_balance() {
            continue;
        }
        let k = open_key(who, tenant, order, index, side);
        set_index(tx, Table::OpenShares, &k, share.open())?;
    }
    if let Some(at) = share.settleable_ms {
        let k = settleable_key(tenant, at, order, index);
        set_index(tx, Table::Settleable, &k, due)?;
    }
    Ok(())
}

/// Write `order` with its shares beside it (the order record keeps their count, not the
/// shares). Clawbacks since `before` are carried onto the balances they change.
pub(super) fn put_order(
    tx: &mut dyn Tx,
    tenant: &str,
    before: Option<&Order>,
    order: &mut Order,
) -> Result<(), TxError> {
    let shares = std::mem::take(&mut order.commissions);
    order.commission_shares = u32::try_from(shares.len()).expect("a quote's shares fit in u32");
    let written = tx.put_json(Table::Orders, &order_key(tenant, &order.id), &*order);
    order.commissions = shares;
    written?;
    // An order read in the inline form (written before shares had records of their own)
    // has none stored yet: every share is written.
    let stored = before.filter(|b| b.commission_shares > 0);
    for (i, share) in order.commissions.iter().enumerate() {
        let index = u32::try_from(i).expect("counted above");
        let earlier = stored.and_then(|b| b.commissions.get(i));
        if earlier == Some(share) {
            continue;
        }
        put_share(tx, tenant, &order.id, index, share)?;
        let clawed = share.clawed_back - earlier.map_or(Money::ZERO, |e| e.clawed_back);
        if clawed.0 != 0 {
            let ledger = share.ledger_of(tenant);
            super::settlement::carry(tx, ledger, &share.payee, -clawed)?;
            if share.payer_has_balance() {
                super::settlement::carry(tx, ledger, &share.payer, clawed)?;
            }
        }
    }
    Ok(())
}

/// An order's shares, read one by one with `get` (from a transaction or the store).
fn read_shares<E: From<StoreError>>(
    tenant: &str,
    order: &Order,
    mut get: impl FnMut(&[u8]) -> Result<Option<OrderCommission>, E>,
) -> Result<Vec<OrderCommission>, E> {
    (0..order.commission_shares)
        .map(|i| {
            let k = share_key(tenant, &order.id, i);
            get(&k)?.ok_or_else(|| {
                E::from(StoreError::Corrupt {
                    key: crate::store::show_key(&k),
                    message: "an order's commission share is missing".into(),
                })
            })
        })
        .collect()
}

/// Read an order with its shares inside a transaction.
pub(super) fn load_order(
    tx: &mut dyn Tx,
    tenant: &str,
    id: &str,
) -> Result<Option<Order>, TxError> {
    let Some(mut order) = tx.get_json::<Order>(Table::Orders, &order_key(tenant, id))? else {
        return Ok(None);
    };
    // An order written before shares had records of their own keeps them inline.
    if order.commission_shares > 0 {
        order.commissions = read_shares(tenant, &order, |k| tx.get_json(Table::Commissions, k))?;
    }
    Ok(Some(order))
}

/// Read an order with its shares.
pub(super) fn read_order(
    store: &Store,
    tenant: &str,
    id: &str,
) -> Result<Option<Order>, StoreError> {
    let Some(mut order) = store.get::<Order>(Table::Orders, &order_key(tenant, id))? else {
        return Ok(None);
    };
    if order.commission_shares > 0 {
        order.commissions = read_shares(tenant, &order, |k| store.get(Table::Commissions, k))?;
    }
    Ok(Some(order))
}

/// Make the order's pending shares settleable (it completed at `at_ms`).
pub(super) fn make_settleable(order: &mut Order, at_ms: i64) {
    for share in &mut order.commissions {
        if share.state == CommissionState::Pending {
            share.state = CommissionState::Settleable;
            share.settleable_ms = Some(at_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        step: &str,
        line: &str,
        payer: &str,
        payee: &str,
        who: &str,
        fen: i64,
    ) -> CommissionLine {
        CommissionLine {
            step: step.into(),
            line: line.into(),
            payer: payer.into(),
            payee: payee.into(),
            beneficiary: who.into(),
            amount: Money(fen),
            label: String::new(),
            ledger: None,
        }
    }

    #[test]
    fn a_waterfall_names_who_pays_each_share_from_what_it_received_on_that_line() {
        let quote = [
            line("w", "l1", "merchant", "carrying_agency", "agency-a", 2000),
            line("w", "l2", "merchant", "carrying_agency", "agency-b", 1000),
            line("w", "l1", "carrying_agency", "promoter", "p-1", 800),
            line("w", "l2", "carrying_agency", "promoter", "p-1", 400),
        ];
        let shares = from_quote("shop", &quote);
        let payers: Vec<(&str, &str)> = shares
            .iter()
            .map(|s| (s.payer_party.as_str(), s.payer.as_str()))
            .collect();
        assert_eq!(
            payers,
            [
                ("merchant", "shop"),
                ("merchant", "shop"),
                ("carrying_agency", "agency-a"),
                ("carrying_agency", "agency-b")
            ]
        );
        assert!(!shares[0].payer_has_balance() && shares[2].payer_has_balance());
    }

    #[test]
    fn what_is_left_of_a_share_counts_reversals_and_clawbacks() {
        let mut s = from_quote(
            "shop",
            &[line("w", "l1", "merchant", "promoter", "p", 1000)],
        )
        .remove(0);
        s.reversed = Money(300);
        s.clawed_back = Money(200);
        assert_eq!(s.left(), Money(500));
        assert!(s.open());
        s.state = CommissionState::Settled;
        assert!(!s.open());
    }
}
