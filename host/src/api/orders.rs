//! `/v1/orders`: commit (idempotent by order id), read, ledger, cancel, refund.

use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{CommitRequest, LedgerEntry, Order, RefundRequest};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = CommitRequest,
    responses(
        (status = 201, body = Order, description = "Committed; budgets reserved"),
        (status = 200, body = Order, description = "A replay: the order as first committed"),
        (status = 409, body = ErrorBody, description = "budget_exhausted, price_changed or order_id_reused")))]
pub async fn commit(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(req): Body<CommitRequest>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let (order, created) = app.plaza.commit(&who, req).await?;
    Ok((super::created_or_ok(created), Json(order)))
}

#[utoipa::path(get, path = "/v1/orders/{order}", tag = "orders", responses((status = 200, body = Order)))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(app.plaza.order(&who, &order)?))
}

#[utoipa::path(get, path = "/v1/orders/{order}/ledger", tag = "orders",
    responses((status = 200, body = Vec<LedgerEntry>)))]
pub async fn ledger(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Vec<LedgerEntry>>, ApiError> {
    Ok(Json(app.plaza.order_ledger(&who, &order)?))
}

#[utoipa::path(post, path = "/v1/orders/{order}/cancel", tag = "orders",
    responses((status = 200, body = Order), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(app.plaza.cancel(&who, &order).await?))
}

#[utoipa::path(post, path = "/v1/orders/{order}/refunds", tag = "orders", request_body = RefundRequest,
    responses((status = 200, body = Order), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn refund(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(order): PathParams<String>,
    Body(req): Body<RefundRequest>,
) -> Result<Json<Order>, ApiError> {
    Ok(Json(app.plaza.refund(&who, &order, req).await?))
}
