//! An agency's own view of the orders its layers took part in: the lines it carried, the
//! shares it received and paid on, and its own layer's explanation. Nothing of another
//! tenant's layer: the merchant's plan and the other agency's steps stay theirs.

use super::report::Filed;
use crate::domain::tenants::TenantKind;
use crate::domain::{
    Error, Order, OrderCommission, OrderLine, OrderState, Page, Plaza, Position, Principal, Role,
};
use crate::store::{Table, prefix};
use serde::Serialize;
use utoipa::ToSchema;

/// One order as an agency of its layers sees it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AgencyOrder {
    pub merchant: String,
    pub order: String,
    pub created_ms: i64,
    pub state: OrderState,
    /// `carrier/pool`.
    pub pool: String,
    /// The lines the pool carried.
    pub lines: Vec<OrderLine>,
    /// The shares the agency received or paid on.
    pub shares: Vec<OrderCommission>,
    /// The agency's own layer of the quote (its plan's steps and what flowed in and out),
    /// when it has one.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<serde_json::Value>,
}

/// `order` as `agency` sees it, if the agency carried or helped with it.
fn view(agency: &str, merchant: &str, order: &Order) -> Option<AgencyOrder> {
    let report = order.attribution.as_ref()?;
    let chain = &report.resolved;
    let involved = [&chain.carrying_agency, &chain.helper_agency]
        .iter()
        .any(|a| a.as_deref() == Some(agency));
    if !involved {
        return None;
    }
    let carried = super::carried_lines(order);
    let layer = order.quote["layers"]
        .as_array()
        .and_then(|layers| layers.iter().find(|l| l["tenant"] == agency))
        .cloned();
    Some(AgencyOrder {
        merchant: merchant.to_owned(),
        order: order.id.clone(),
        created_ms: order.created_ms,
        state: order.state,
        pool: report.pool.clone().unwrap_or_default(),
        lines: order
            .lines
            .iter()
            .filter(|l| carried.contains(&l.id.as_str()))
            .cloned()
            .collect(),
        shares: order
            .commissions
            .iter()
            .filter(|c| c.payee == agency || c.payer == agency)
            .cloned()
            .collect(),
        layer,
    })
}

impl Plaza {
    /// One order the calling agency carried or helped with.
    pub fn agency_order(
        &self,
        who: &Principal,
        merchant: &str,
        id: &str,
    ) -> Result<AgencyOrder, Error> {
        let agency = who.tenant(&[Role::Admin], "read plaza orders")?;
        self.tenant_of_kind(agency, TenantKind::Agency, "read plaza orders")?;
        crate::domain::commission::read_order(&self.store, merchant, id)?
            .and_then(|order| view(agency, merchant, &order))
            .ok_or_else(|| Error::not_found("order", format!("{merchant}/{id}")))
    }

    /// The orders the calling agency carried or helped with, oldest first.
    pub fn agency_orders(
        &self,
        who: &Principal,
        at: &Position,
    ) -> Result<Page<AgencyOrder>, Error> {
        let agency = who.tenant(&[Role::Admin], "read plaza orders")?;
        self.tenant_of_kind(agency, TenantKind::Agency, "read plaza orders")?;
        let filed: Page<Filed> = crate::domain::page::scan(
            &self.store,
            Table::PlazaOrders,
            &prefix(&[agency.as_bytes()]),
            at,
        )?;
        let mut items = Vec::with_capacity(filed.items.len());
        for f in filed.items {
            if let Some(order) =
                crate::domain::commission::read_order(&self.store, &f.merchant, &f.order)?
                && let Some(seen) = view(agency, &f.merchant, &order)
            {
                items.push(seen);
            }
        }
        Ok(Page {
            items,
            next: filed.next,
        })
    }
}
