//! `/v1/orders`: commit (idempotent by order id), read, ledger, lifecycle events, cancel,
//! a gift's recipients accepting or declining, refund.

use super::extract::{Paging, query};
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::gift_orders::AcceptGift;
use crate::domain::{
    CommitRequest, EventRequest, LedgerEntry, Order, OrderEvent, OrderQuery, OrderSummary, Page,
    PageQuery, PartyNet, RefundRequest, merchant_view,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

#[utoipa::path(post, path = "/v1/orders", operation_id = "commit_order", tag = "orders", security(("bearer" = ["admin", "checkout"])), request_body = CommitRequest,
    responses(
        (status = 201, body = Order, description = "Committed; budgets reserved"),
        (status = 200, body = Order, description = "A replay: the order as first committed"),
        (status = 404, body = ErrorBody, description = "not_found: the plan has no active version"),
        (status = 409, body = ErrorBody, description = "budget_exhausted, price_changed, order_id_reused, claim_used (a presented claim another order holds) or claim_not_redeemable (a presented claim expired, not yet valid, another buyer's, outside its live room, of another plan, or unknown)")))]
pub async fn commit(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(req): Body<CommitRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Order>), ApiError> {
    let (order, created) = app.plaza.commit(&who, req).await?;
    let location = super::location(&["v1", "orders", &order.id]);
    let seen = merchant_view::order(order);
    Ok((super::created_or_ok(created), location, Json(seen)))
}

#[utoipa::path(get, path = "/v1/orders", operation_id = "list_orders", tag = "orders", security(("bearer" = ["admin", "checkout"])), params(OrderQuery),
    responses((status = 200, body = Page<OrderSummary>, description = "Oldest first; `next` continues"),
        (status = 400, body = ErrorBody, description = "bad_query"),
        (status = 422, body = ErrorBody, description = "A limit or cursor out of range")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    uri: Uri,
) -> Result<Json<Page<OrderSummary>>, ApiError> {
    let q: OrderQuery = query(&uri)?;
    Ok(Json(app.plaza.list_orders(&who, &q)?))
}

#[utoipa::path(get, path = "/v1/orders/{order}", operation_id = "get_order", tag = "orders", security(("bearer" = ["admin", "checkout"])), responses((status = 200, body = Order)))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(merchant_view::order(app.plaza.order(&who, &order)?)))
}

#[utoipa::path(get, path = "/v1/orders/{order}/ledger", operation_id = "list_order_ledger", tag = "orders", security(("bearer" = ["admin", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<LedgerEntry>, description = "In the order they were written")))]
pub async fn ledger(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<LedgerEntry>>, ApiError> {
    Ok(Json(app.plaza.order_ledger(&who, &order, &at)?))
}

#[utoipa::path(get, path = "/v1/orders/{order}/parties", operation_id = "get_order_parties", tag = "orders", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = Vec<PartyNet>, description = "Each party's gross received, paid on and net kept, the merchant first")))]
pub async fn parties(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Vec<PartyNet>>, ApiError> {
    Ok(Json(app.plaza.order_parties(&who, &order)?))
}

#[utoipa::path(post, path = "/v1/orders/{order}/cancel", operation_id = "cancel_order", tag = "orders", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = Order), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Order>, ApiError> {
    let cancelled = app.plaza.cancel(&who, &order).await?;
    Ok(Json(merchant_view::order(cancelled)))
}

#[utoipa::path(post, path = "/v1/orders/{order}/gift/{recipient}/accept", operation_id = "accept_gift", tag = "orders", security(("bearer" = ["admin", "checkout"])), request_body = AcceptGift,
    responses((status = 200, body = Order), (status = 404, body = ErrorBody, description = "not_found: no such order, or no such recipient of it"),
        (status = 409, body = ErrorBody, description = "gift_settled, gift_expired, order_cancelled, or gift_switch_refused: another SPU or another price"),
        (status = 422, body = ErrorBody)))]
pub async fn accept_gift(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((order, recipient)): PathParams<(String, String)>,
    Body(req): Body<AcceptGift>,
) -> Result<Json<Order>, ApiError> {
    let accepted = app.plaza.accept_gift(&who, &order, &recipient, req).await?;
    Ok(Json(merchant_view::order(accepted)))
}

#[utoipa::path(post, path = "/v1/orders/{order}/gift/{recipient}/decline", operation_id = "decline_gift", tag = "orders", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = Order, description = "Declined: the recipient's units are refunded to the sender"),
        (status = 404, body = ErrorBody, description = "not_found: no such order, or no such recipient of it"),
        (status = 409, body = ErrorBody, description = "gift_settled: accepted, expired or cancelled")))]
pub async fn decline_gift(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((order, recipient)): PathParams<(String, String)>,
) -> Result<Json<Order>, ApiError> {
    let declined = app.plaza.decline_gift(&who, &order, &recipient).await?;
    Ok(Json(merchant_view::order(declined)))
}

#[utoipa::path(post, path = "/v1/orders/{order}/refunds", operation_id = "refund_order", tag = "orders", security(("bearer" = ["admin", "checkout"])), request_body = RefundRequest,
    responses((status = 200, body = Order), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn refund(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
    Body(req): Body<RefundRequest>,
) -> Result<Json<Order>, ApiError> {
    let refunded = app.plaza.refund(&who, &order, req).await?;
    Ok(Json(merchant_view::order(refunded)))
}

#[utoipa::path(post, path = "/v1/orders/{order}/events", operation_id = "report_order_event", tag = "orders", security(("bearer" = ["admin", "checkout"])), request_body = EventRequest,
    responses(
        (status = 200, body = OrderEvent, description = "Applied (or a replay: the event as first applied)"),
        (status = 404, body = ErrorBody, description = "not_found: no such order"),
        (status = 409, body = ErrorBody, description = "order_state: the event does not fit the order's state (named in the message; an unpaid order past its deadline has expired), or event_id_reused"),
        (status = 422, body = ErrorBody, description = "at_ms before the order's last event or in the future")))]
pub async fn event(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
    Body(req): Body<EventRequest>,
) -> Result<Json<OrderEvent>, ApiError> {
    Ok(Json(app.plaza.order_event(&who, &order, req).await?))
}
