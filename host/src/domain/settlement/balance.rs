//! A beneficiary's balance with each tenant whose books pay it (the merchants it earns
//! from, and the plaza agencies whose layers pay it): what is pending, what is
//! settleable, what it carries (clawbacks of paid shares, or a negative statement, not
//! yet netted), and what it was paid out.
//!
//! Pending and settleable are read from the beneficiary's open shares (an index written
//! with each share, so commits add no shared record that every order would contend on);
//! what it carries and was paid lives in one small record per beneficiary and merchant,
//! written only by clawbacks and settlement runs.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::super::commission::{CommissionState, OrderCommission, Side, share_key};
use super::super::{Error, Plaza, Principal, Role};
use crate::Money;
use crate::store::{StoreError, Table, Tx, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What a beneficiary carries with one merchant and was paid by it: beneficiary \0
/// merchant → this.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Balance {
    /// Owed to it (positive) or by it (negative), not yet in a statement.
    pub carried: Money,
    /// Every statement's payout so far.
    pub paid_out: Money,
}

pub(super) fn balance_key(beneficiary: &str, tenant: &str) -> Vec<u8> {
    key(&[beneficiary.as_bytes(), tenant.as_bytes()])
}

/// The merchant's index of beneficiaries that carry something: merchant \0 beneficiary.
fn carried_key(tenant: &str, beneficiary: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), beneficiary.as_bytes()])
}

fn out_of_range(beneficiary: &str) -> TxError {
    TxError::Store(StoreError::Backend(format!(
        "the balance of {beneficiary:?} would leave the range of money"
    )))
}

pub(super) fn read(tx: &mut dyn Tx, tenant: &str, beneficiary: &str) -> Result<Balance, TxError> {
    Ok(tx
        .get_json(Table::Balances, &balance_key(beneficiary, tenant))?
        .unwrap_or_default())
}

pub(super) fn write(
    tx: &mut dyn Tx,
    tenant: &str,
    beneficiary: &str,
    balance: &Balance,
) -> Result<(), TxError> {
    tx.put_json(Table::Balances, &balance_key(beneficiary, tenant), balance)?;
    let k = carried_key(tenant, beneficiary);
    if balance.carried.0 != 0 {
        tx.put(Table::Carried, &k, &[])
    } else {
        tx.remove(Table::Carried, &k)
    }
}

/// Add `amount` to what `beneficiary` carries with merchant `tenant` (a clawback: negative
/// for the payee, positive for an agency that paid it on).
pub(crate) fn carry(
    tx: &mut dyn Tx,
    tenant: &str,
    beneficiary: &str,
    amount: Money,
) -> Result<(), TxError> {
    let mut balance = read(tx, tenant, beneficiary)?;
    balance.carried = balance
        .carried
        .checked_add(amount)
        .ok_or_else(|| out_of_range(beneficiary))?;
    write(tx, tenant, beneficiary, &balance)
}

/// A balance's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct BalanceFigures {
    /// Shares whose order has not completed (received, less what it paid on).
    pub pending: Money,
    /// Shares the next settlement run pays.
    pub settleable: Money,
    /// Carried into the next statement: negative when it owes clawbacks.
    pub carried: Money,
    /// Paid out by settlement runs so far.
    pub paid_out: Money,
}

/// The same figures, summed wide so that no partial sum can overflow.
#[derive(Default)]
struct Sums([i128; 4]);

impl Sums {
    fn add(&mut self, f: &BalanceFigures) {
        for (sum, v) in self
            .0
            .iter_mut()
            .zip([f.pending, f.settleable, f.carried, f.paid_out])
        {
            *sum += i128::from(v.0);
        }
    }

    fn figures(&self) -> Result<BalanceFigures, Error> {
        let money = |v: i128| {
            i64::try_from(v)
                .map(Money)
                .map_err(|_| Error::Internal("a balance exceeds the range of money".into()))
        };
        Ok(BalanceFigures {
            pending: money(self.0[0])?,
            settleable: money(self.0[1])?,
            carried: money(self.0[2])?,
            paid_out: money(self.0[3])?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct MerchantBalance {
    /// The tenant whose books pay it: a merchant, or a plaza agency for the shares its
    /// layers pass on.
    pub merchant: String,
    pub figures: BalanceFigures,
}

/// What a beneficiary has with each merchant, and in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct BeneficiaryBalance {
    pub beneficiary: String,
    /// By merchant id (only the caller's own merchant, for a merchant's key).
    pub merchants: Vec<MerchantBalance>,
    pub total: BalanceFigures,
}

impl Principal {
    /// The merchants whose part of `beneficiary`'s records the caller may read: its own
    /// (a merchant's admin), or every one (the beneficiary's own key). Anyone else finds
    /// no such beneficiary.
    pub(crate) fn beneficiary_scope(
        &self,
        beneficiary: &str,
        action: &'static str,
    ) -> Result<Option<&str>, Error> {
        let scope = match self {
            Principal::Beneficiary { id } if id == beneficiary => None,
            Principal::Beneficiary { .. } => {
                return Err(Error::not_found("beneficiary", beneficiary));
            }
            _ => Some(self.tenant(&[Role::Admin], action)?),
        };
        // No record is ever filed under what is not an id.
        if !crate::shape::is_id(beneficiary) {
            return Err(Error::not_found("beneficiary", beneficiary));
        }
        Ok(scope)
    }
}

impl Plaza {
    /// `beneficiary`'s balance (see the module docs).
    pub fn beneficiary_balance(
        &self,
        who: &Principal,
        beneficiary: &str,
    ) -> Result<BeneficiaryBalance, Error> {
        let merchant = who.beneficiary_scope(beneficiary, "read beneficiary balances")?;
        let parts: Vec<&[u8]> = match merchant {
            Some(m) => vec![beneficiary.as_bytes(), m.as_bytes()],
            None => vec![beneficiary.as_bytes()],
        };
        let range = prefix(&parts);
        let mut by_merchant: BTreeMap<String, BalanceFigures> = BTreeMap::new();
        let whose = prefix(&[beneficiary.as_bytes()]);
        let mut open: Vec<(String, Vec<u8>, Side)> = Vec::new();
        for k in self
            .store
            .scan_keys(Table::OpenShares, &range, None, usize::MAX)?
        {
            let (tenant, order, index, side) = open_subject(&whose, &k)?;
            open.push((tenant.clone(), share_key(&tenant, &order, index), side));
        }
        for k in self
            .store
            .scan_keys(Table::LayerOpenShares, &range, None, usize::MAX)?
        {
            let (ledger, merchant, order, index) = layer_open_subject(&whose, &k)?;
            open.push((ledger, share_key(&merchant, &order, index), Side::Received));
        }
        for (ledger, at, side) in open {
            let share: Option<OrderCommission> = self.store.get(Table::Commissions, &at)?;
            let Some(share) = share else { continue };
            let f = by_merchant.entry(ledger).or_default();
            let amount = side.signed(share.left());
            let slot = match share.state {
                CommissionState::Pending => &mut f.pending,
                CommissionState::Settleable => &mut f.settleable,
                CommissionState::Settled => continue,
            };
            *slot = slot
                .checked_add(amount)
                .ok_or_else(|| Error::Internal("a balance exceeds the range of money".into()))?;
        }
        let balances: Vec<(Vec<u8>, Balance)> = match merchant {
            Some(m) => {
                let k = balance_key(beneficiary, m);
                let held = self.store.get(Table::Balances, &k)?;
                held.map(|b| (k, b)).into_iter().collect()
            }
            None => self
                .store
                .scan_entries(Table::Balances, &whose, None, usize::MAX)?,
        };
        for (k, b) in balances {
            let tenant = String::from_utf8_lossy(&k[whose.len()..]).into_owned();
            let f = by_merchant.entry(tenant).or_default();
            f.carried = b.carried;
            f.paid_out = b.paid_out;
        }
        let mut total = Sums::default();
        let merchants = by_merchant
            .into_iter()
            .map(|(merchant, figures)| {
                total.add(&figures);
                MerchantBalance { merchant, figures }
            })
            .collect();
        Ok(BeneficiaryBalance {
            beneficiary: beneficiary.to_owned(),
            merchants,
            total: total.figures()?,
        })
    }
}

/// The merchant, order, share index and side an open-share key names
/// (beneficiary \0 merchant \0 order \0 index (4) \0 side).
fn open_subject(whose: &[u8], k: &[u8]) -> Result<(String, String, u32, Side), StoreError> {
    let corrupt = || StoreError::Corrupt {
        key: crate::store::show_key(k),
        message: "not an open-share entry".into(),
    };
    let rest = k.get(whose.len()..).ok_or_else(corrupt)?;
    let tenant_end = rest.iter().position(|b| *b == 0).ok_or_else(corrupt)?;
    let tenant = String::from_utf8(rest[..tenant_end].to_vec()).map_err(|_| corrupt())?;
    let rest = &rest[tenant_end + 1..];
    // order \0 index (4) \0 side (1)
    let split = rest.len().checked_sub(7).ok_or_else(corrupt)?;
    let order = String::from_utf8(rest[..split].to_vec()).map_err(|_| corrupt())?;
    let index: [u8; 4] = rest[split + 1..split + 5]
        .try_into()
        .map_err(|_| corrupt())?;
    let side = Side::of_tag(&rest[split + 6..]).ok_or_else(corrupt)?;
    Ok((tenant, order, u32::from_be_bytes(index), side))
}

/// The ledger, merchant, order and share index a layer's open-share key names
/// (beneficiary \0 ledger \0 merchant \0 order \0 index (4)).
fn layer_open_subject(whose: &[u8], k: &[u8]) -> Result<(String, String, String, u32), StoreError> {
    let corrupt = || StoreError::Corrupt {
        key: crate::store::show_key(k),
        message: "not a layer's open-share entry".into(),
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| corrupt());
    let rest = k.get(whose.len()..).ok_or_else(corrupt)?;
    let split = rest.len().checked_sub(5).ok_or_else(corrupt)?;
    let (names, index) = (&rest[..split], &rest[split + 1..]);
    let mut parts = names.splitn(3, |b| *b == 0);
    let (Some(ledger), Some(merchant), Some(order)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt());
    };
    let index: [u8; 4] = index.try_into().map_err(|_| corrupt())?;
    Ok((
        text(ledger)?,
        text(merchant)?,
        text(order)?,
        u32::from_be_bytes(index),
    ))
}
