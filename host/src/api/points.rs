//! Member points: `/v1/settings/points` (the caller's program), `/v1/buyers/{buyer}/points`
//! (a buyer's account with the caller), its ledger, and the caller's grants.

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::points::Entry;
use crate::domain::{NewPointsGrant, Page, PageQuery, PointsAccount, PointsGrant, PointsSettings};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

#[utoipa::path(get, path = "/v1/settings/points", operation_id = "get_points_settings", tag = "points", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = PointsSettings, description = "The defaults (earn nothing, spend nothing) until the tenant saves its own")))]
pub async fn get_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<PointsSettings>, ApiError> {
    Ok(Json(app.plaza.points_settings(&who)?))
}

#[utoipa::path(put, path = "/v1/settings/points", operation_id = "set_points_settings", tag = "points", security(("bearer" = ["admin"])), request_body = PointsSettings,
    responses((status = 200, body = PointsSettings, description = "Saved: new orders earn and spend on these terms; placed ones keep theirs"),
        (status = 422, body = ErrorBody, description = "A setting out of its bounds")))]
pub async fn set_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(settings): Body<PointsSettings>,
) -> Result<Json<PointsSettings>, ApiError> {
    Ok(Json(app.plaza.set_points_settings(&who, settings).await?))
}

#[utoipa::path(get, path = "/v1/buyers/{buyer}/points", operation_id = "buyer_points", tag = "points", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = PointsAccount, description = "The buyer's points with the caller now (an empty account for a buyer who has none)"),
        (status = 422, body = ErrorBody, description = "`invalid`: the buyer is not an id")))]
pub async fn account(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(buyer): PathParams<String>,
) -> Result<Json<PointsAccount>, ApiError> {
    Ok(Json(app.plaza.points_account(&who, &buyer)?))
}

#[utoipa::path(get, path = "/v1/buyers/{buyer}/points/ledger", operation_id = "buyer_points_ledger", tag = "points", security(("bearer" = ["admin", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<Entry>, description = "The buyer's points ledger with the caller, oldest first: each entry's points and held add up to the account")))]
pub async fn ledger(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(buyer): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Entry>>, ApiError> {
    Ok(Json(app.plaza.points_ledger(&who, &buyer, &at)?))
}

#[utoipa::path(post, path = "/v1/buyers/{buyer}/points/grants", operation_id = "grant_points", tag = "points", security(("bearer" = ["admin"])), request_body = NewPointsGrant,
    responses((status = 201, body = PointsGrant, description = "Granted: on the buyer's balance until it expires"),
        (status = 200, body = PointsGrant, description = "The same grant again: the first"),
        (status = 409, body = ErrorBody, description = "`grant_id_reused` (another request had this id) or `points_balance_full`"),
        (status = 422, body = ErrorBody, description = "A bad field (points out of range, an expiry not in the future)")))]
pub async fn grant(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(buyer): PathParams<String>,
    Body(new): Body<NewPointsGrant>,
) -> Result<(StatusCode, HeaderMap, Json<PointsGrant>), ApiError> {
    let (grant, created) = app.plaza.grant_points(&who, &buyer, new).await?;
    let location = super::location(&["v1", "buyers", &buyer, "points", "ledger"]);
    Ok((super::created_or_ok(created), location, Json(grant)))
}
