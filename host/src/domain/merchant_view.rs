//! What a merchant (and its checkout) sees of a quote or an order that paid through the
//! plaza's layers: its own books. The commission its plan and its offers pay stays; what
//! the carrying and helper agencies pass on out of what they received, and their layers'
//! plans and steps, are theirs (each agency reads its own layer of an order on the plaza).
//! A merchant learns who carried the goods and what it paid them, never their rates.
//!
//! The domain keeps and answers the whole record; the HTTP edge shows the merchant this
//! view of it.

use super::order::Order;
use crate::executor::Quote;
use serde_json::Value;

/// `quote` as its merchant sees it.
pub fn quote(mut quote: Quote) -> Quote {
    quote.commissions.retain(|c| c.ledger.is_none());
    quote.layers.clear();
    quote
}

/// `order` as its merchant sees it: its shares, its plan's reservations, and its quote as
/// [`quote`] shows it.
pub fn order(mut order: Order) -> Order {
    order.commissions.retain(|c| c.ledger.is_none());
    order.reservations.retain(|r| r.layer.is_none());
    if let Value::Object(q) = &mut order.quote {
        q.remove("layers");
        if let Some(Value::Array(commissions)) = q.get_mut("commissions") {
            commissions.retain(|c| c.get("ledger").is_none());
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_merchant_keeps_its_own_shares_and_none_of_a_layers() {
        let order: Order = serde_json::from_value(json!({
            "id": "o-1",
            "plan": {"id": "p", "version": 1},
            "status": "placed",
            "created_ms": 0,
            "lines": [],
            "shipping": 0,
            "shipping_refunded": 0,
            "commissions": [
                {"step": "offer:o", "line": "l1", "payee": "c", "amount": 100, "reversed": 0},
                {"step": "pass-on", "line": "l1", "payee": "p-1", "amount": 40, "reversed": 0,
                 "payer_party": "carrying_agency", "payer": "c", "ledger": "c"},
            ],
            "reservations": [],
            "refunds": [],
            "cart": {"lines": [], "buyer": {"id": "b-1"}, "now_ms": 0},
            "request_sha256": "",
            "ledger_entries": 0,
            "quote": {
                "commissions": [{"step": "offer:o"}, {"step": "pass-on", "ledger": "c"}],
                "layers": [{"tenant": "c"}],
                "total": {"payable": 1},
            },
        }))
        .expect("an order");
        let seen = super::order(order);
        assert_eq!(seen.commissions.len(), 1);
        assert_eq!(seen.commissions[0].payee, "c");
        assert_eq!(
            seen.quote,
            json!({"commissions": [{"step": "offer:o"}], "total": {"payable": 1}})
        );
    }
}
