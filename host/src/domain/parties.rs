//! Net per party of one order: what each party received, what it paid on, and what it
//! keeps, read from the order and its commission shares as they stand (after refunds,
//! reversals and clawbacks).
//!
//! The merchant receives what the buyer paid (lines and shipping, less refunds) and pays
//! on the shares it pays itself; every other party receives its shares and pays on the
//! shares it passes down a waterfall. The nets add up to what the buyer paid. These are
//! the merchant's books: a carrying agency nets what the merchant paid it, and what it
//! passes on through its layer is on its own books.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::commission::{self, MERCHANT};
use super::commit::CHECKOUT;
use super::order::Order;
use super::{Error, Plaza, Principal};
use crate::Money;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One party of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartyNet {
    /// `merchant`, `carrying_agency`, `promoter` …
    pub party: String,
    /// The merchant's tenant id, or the beneficiary.
    pub id: String,
    /// Gross: what the buyer paid (the merchant), or the shares it was paid.
    pub received: Money,
    /// Shares it pays on out of what it received.
    pub paid_on: Money,
    /// `received − paid_on`: what it keeps.
    pub net: Money,
}

/// Every party of `order` (merchant `tenant`), the merchant first, then by party and id.
pub fn of_order(tenant: &str, order: &Order) -> Vec<PartyNet> {
    // Sums are of amounts already within an order's bounds, so they fit; kept wide anyway.
    let mut sums: BTreeMap<(String, String), (i128, i128)> = BTreeMap::new();
    let paid: i128 = order
        .lines
        .iter()
        .map(|l| i128::from((l.payable - l.refunded).0))
        .sum::<i128>()
        + i128::from((order.shipping - order.shipping_refunded).0);
    sums.insert((MERCHANT.to_owned(), tenant.to_owned()), (paid, 0));
    // The merchant's books: what a plaza layer passes on is the layer's.
    for c in order.commissions.iter().filter(|c| c.ledger.is_none()) {
        let left = i128::from(c.left().0);
        sums.entry((c.payee_party.clone(), c.payee.clone()))
            .or_default()
            .0 += left;
        sums.entry((c.payer_party.clone(), c.payer.clone()))
            .or_default()
            .1 += left;
    }
    let money = |v: i128| Money(i64::try_from(v).expect("an order's amounts fit in money"));
    let mut out: Vec<PartyNet> = sums
        .into_iter()
        .map(|((party, id), (received, paid_on))| PartyNet {
            party,
            id,
            received: money(received),
            paid_on: money(paid_on),
            net: money(received - paid_on),
        })
        .collect();
    // The merchant first: it is who the order belongs to.
    out.sort_by_key(|p| p.party != MERCHANT);
    out
}

impl Plaza {
    /// Net per party of one of the caller's orders.
    pub fn order_parties(&self, who: &Principal, id: &str) -> Result<Vec<PartyNet>, Error> {
        let tenant = who.tenant(CHECKOUT, "read orders")?;
        let order = commission::read_order(&self.store, tenant, id)?
            .ok_or_else(|| Error::not_found("order", id))?;
        Ok(of_order(tenant, &order))
    }
}
