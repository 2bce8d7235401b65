//! `/v1/settings/orders`: the caller's own order settings (payment timeout, after-sale
//! window).

use super::{ApiError, AppState, Body, Caller, ErrorBody};
use crate::domain::OrderSettings;
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/v1/settings/orders", operation_id = "get_order_settings", tag = "settings", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = OrderSettings, description = "The defaults until the tenant saves its own")))]
pub async fn get_orders(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<OrderSettings>, ApiError> {
    Ok(Json(app.plaza.order_settings(&who)?))
}

#[utoipa::path(put, path = "/v1/settings/orders", operation_id = "set_order_settings", tag = "settings", security(("bearer" = ["admin"])), request_body = OrderSettings,
    responses((status = 200, body = OrderSettings, description = "Saved: new orders get the new payment timeout, newly received ones the new window"),
        (status = 422, body = ErrorBody, description = "A setting out of its bounds")))]
pub async fn set_orders(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(settings): Body<OrderSettings>,
) -> Result<Json<OrderSettings>, ApiError> {
    Ok(Json(app.plaza.set_order_settings(&who, settings).await?))
}
