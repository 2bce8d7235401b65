//! What the plaza brought an agency: per pool it carries or helps with, the orders, the
//! GMV of the lines it carried (net of refunds) and the commission it received and paid
//! on (net of reversals). An order is filed under each agency of its layers when it is
//! committed; the report reads the orders as they are now.

use crate::Money;
use crate::domain::report::ReportQuery;
use crate::domain::tenants::TenantKind;
use crate::domain::{Error, Order, Plaza, Principal, Role};
use crate::store::{Table, TxError, TxExt, key, time_part};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An order filed under an agency of its layers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Filed {
    pub merchant: String,
    pub order: String,
    /// `carrier/pool`.
    pub pool: String,
    /// `carrying_agency` or `helper_agency`.
    pub role: String,
}

/// One pool's figures for the agency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PoolFigures {
    /// `carrier/pool`.
    pub pool: String,
    /// The agency's role for these goods: `carrying_agency` or `helper_agency`.
    pub role: String,
    pub orders: u64,
    /// What buyers paid for the carried lines, less what was refunded.
    pub gmv: Money,
    /// Commission the agency received, less what refunds reversed.
    pub received: Money,
    /// Commission it paid on, less what refunds reversed.
    pub paid_out: Money,
    /// `received − paid_out`.
    pub net: Money,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PlazaReport {
    pub agency: String,
    /// By pool, then role.
    pub pools: Vec<PoolFigures>,
    pub total: PoolFigures,
}

/// File `order` (of `merchant`) under the agencies of its layers, in the order's
/// transaction.
pub(crate) fn file(
    tx: &mut dyn crate::store::Tx,
    merchant: &str,
    order: &Order,
) -> Result<(), TxError> {
    let Some(report) = &order.attribution else {
        return Ok(());
    };
    let Some(pool) = &report.pool else {
        return Ok(());
    };
    let chain = &report.resolved;
    for (role, agency) in [
        ("carrying_agency", &chain.carrying_agency),
        ("helper_agency", &chain.helper_agency),
    ] {
        let Some(agency) = agency else { continue };
        let filed = Filed {
            merchant: merchant.to_owned(),
            order: order.id.clone(),
            pool: pool.clone(),
            role: role.to_owned(),
        };
        let k = key(&[
            agency.as_bytes(),
            &time_part(order.created_ms),
            merchant.as_bytes(),
            order.id.as_bytes(),
            role.as_bytes(),
        ]);
        tx.put_json(Table::PlazaOrders, &k, &filed)?;
    }
    Ok(())
}

fn figures(agency: &str, role: &str, order: &Order) -> PoolFigures {
    let carried = super::carried_lines(order);
    let gmv = order
        .lines
        .iter()
        .filter(|l| carried.contains(&l.id.as_str()))
        .map(|l| l.payable - l.refunded)
        .sum();
    let kept = |c: &crate::domain::OrderCommission| c.amount - c.reversed - c.clawed_back;
    let received = order
        .commissions
        .iter()
        .filter(|c| c.payee == agency && c.payee_party == role)
        .map(kept)
        .sum();
    let paid_out = order
        .commissions
        .iter()
        .filter(|c| c.payer == agency && c.payer_party == role)
        .map(kept)
        .sum();
    PoolFigures {
        orders: 1,
        gmv,
        received,
        paid_out,
        net: received - paid_out,
        ..PoolFigures::default()
    }
}

fn add(into: &mut PoolFigures, f: &PoolFigures) {
    into.orders += f.orders;
    into.gmv += f.gmv;
    into.received += f.received;
    into.paid_out += f.paid_out;
    into.net += f.net;
}

impl Plaza {
    /// The calling agency's plaza report over the orders placed in the range.
    pub fn plaza_report(&self, who: &Principal, q: &ReportQuery) -> Result<PlazaReport, Error> {
        let agency = who.tenant(&[Role::Admin], "read plaza reports")?;
        self.tenant_of_kind(agency, TenantKind::Agency, "read plaza reports")?;
        let from = q.from_ms.unwrap_or(i64::MIN);
        let until = q.until_ms.unwrap_or(i64::MAX);
        let range = crate::store::prefix(&[agency.as_bytes()]);
        let mut pools: BTreeMap<(String, String), PoolFigures> = BTreeMap::new();
        let mut after = None;
        loop {
            let batch = self.store.scan_entries::<Filed>(
                Table::PlazaOrders,
                &range,
                after.as_deref(),
                1_000,
            )?;
            let last = batch.len() < 1_000;
            for (k, filed) in batch {
                after = Some(k);
                let Some(order) = super::super::commission::read_order(
                    &self.store,
                    &filed.merchant,
                    &filed.order,
                )?
                else {
                    continue;
                };
                if !(from..until).contains(&order.created_ms) {
                    continue;
                }
                let f = figures(agency, &filed.role, &order);
                let entry = pools
                    .entry((filed.pool.clone(), filed.role.clone()))
                    .or_insert_with(|| PoolFigures {
                        pool: filed.pool.clone(),
                        role: filed.role.clone(),
                        ..PoolFigures::default()
                    });
                add(entry, &f);
            }
            if last {
                break;
            }
        }
        let mut total = PoolFigures::default();
        for f in pools.values() {
            add(&mut total, f);
        }
        Ok(PlazaReport {
            agency: agency.to_owned(),
            pools: pools.into_values().collect(),
            total,
        })
    }
}
