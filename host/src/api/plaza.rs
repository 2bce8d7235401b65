//! The 二级团 plaza: `/v1/offers` (a merchant opens products to agencies at a service
//! rate), `/v1/pools` (an agency publishes a pool of what it carries, with the rate it
//! offers helpers), `/v1/plaza/…` (what an agency may see: offers, pools with filters,
//! joining and leaving a pool), `/v1/memberships`.

use super::extract::{Paging, query};
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{
    AgencyOrder, JoinPool, Membership, NewOffer, NewPool, Offer, Page, PageQuery, PlazaReport,
    PoolQuery, ProductPool, ReportQuery,
};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};

#[utoipa::path(put, path = "/v1/offers/{offer}", operation_id = "save_offer", tag = "plaza", security(("bearer" = ["admin"])), request_body = NewOffer,
    responses((status = 200, body = Offer, description = "Opened (or changed): pools that carry it follow the new terms from now on"),
        (status = 409, body = ErrorBody, description = "`not_a_merchant`"),
        (status = 422, body = ErrorBody, description = "`rate_over_cap`, or a bad field")))]
pub async fn save_offer(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(offer): PathParams<String>,
    Body(new): Body<NewOffer>,
) -> Result<Json<Offer>, ApiError> {
    Ok(Json(app.plaza.save_offer(&who, &offer, new).await?))
}

#[utoipa::path(get, path = "/v1/offers", operation_id = "list_offers", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Offer>, description = "The merchant's own offers, by id")))]
pub async fn list_offers(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Offer>>, ApiError> {
    Ok(Json(app.plaza.list_offers(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plaza/offers", operation_id = "plaza_offers", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Offer>, description = "Offers opened to every agency or to the caller, by merchant and id")))]
pub async fn plaza_offers(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Offer>>, ApiError> {
    Ok(Json(app.plaza.plaza_offers(&who, &at)?))
}

#[utoipa::path(put, path = "/v1/pools/{pool}", operation_id = "save_pool", tag = "plaza", security(("bearer" = ["admin"])), request_body = NewPool,
    responses((status = 200, body = ProductPool, description = "Published (or changed)"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`"),
        (status = 422, body = ErrorBody, description = "`not_opened` (an item not opened to this agency), `second_hop` (an item it received through another agency's pool), `rate_over_cap`, or a bad field")))]
pub async fn save_pool(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(pool): PathParams<String>,
    Body(new): Body<NewPool>,
) -> Result<Json<ProductPool>, ApiError> {
    Ok(Json(app.plaza.save_pool(&who, &pool, new).await?))
}

#[utoipa::path(get, path = "/v1/pools/{pool}/members", operation_id = "list_pool_members", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Membership>, description = "The helper agencies of the caller's pool, by id")))]
pub async fn pool_members(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(pool): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Membership>>, ApiError> {
    Ok(Json(app.plaza.pool_members(&who, &pool, &at)?))
}

#[utoipa::path(get, path = "/v1/plaza/pools", operation_id = "plaza_pools", tag = "plaza", security(("bearer" = ["admin"])), params(PoolQuery),
    responses((status = 200, body = Page<ProductPool>, description = "The pools the caller may see (public, published to it, its own), filtered, by carrier and id")))]
pub async fn plaza_pools(
    State(app): State<AppState>,
    Caller(who): Caller,
    uri: Uri,
) -> Result<Json<Page<ProductPool>>, ApiError> {
    let q: PoolQuery = query(&uri)?;
    Ok(Json(app.plaza.plaza_pools(&who, &q)?))
}

#[utoipa::path(get, path = "/v1/plaza/pools/{carrier}/{pool}", operation_id = "get_plaza_pool", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 200, body = ProductPool)))]
pub async fn plaza_pool(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((carrier, pool)): PathParams<(String, String)>,
) -> Result<Json<ProductPool>, ApiError> {
    Ok(Json(app.plaza.plaza_pool(&who, &carrier, &pool)?))
}

#[utoipa::path(post, path = "/v1/plaza/pools/{carrier}/{pool}/members", operation_id = "join_pool", tag = "plaza", security(("bearer" = ["admin"])), request_body = JoinPool,
    responses((status = 201, body = Membership, description = "Joined: the caller's promoters now sell the pool's goods, one hop from their carrier"),
        (status = 200, body = Membership, description = "Already a member on these terms"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`"),
        (status = 422, body = ErrorBody, description = "`own_pool`")))]
pub async fn join(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((carrier, pool)): PathParams<(String, String)>,
    Body(join): Body<JoinPool>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let (membership, created) = app.plaza.join_pool(&who, &carrier, &pool, join).await?;
    Ok((super::created_or_ok(created), Json(membership)))
}

#[utoipa::path(delete, path = "/v1/plaza/pools/{carrier}/{pool}/members", operation_id = "leave_pool", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 204, description = "Left: the pool's goods no longer reach the caller's promoters")))]
pub async fn leave(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((carrier, pool)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.plaza.leave_pool(&who, &carrier, &pool).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/memberships", operation_id = "list_memberships", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Membership>, description = "The pools the caller joined, by carrier and pool")))]
pub async fn memberships(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Membership>>, ApiError> {
    Ok(Json(app.plaza.list_memberships(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plaza/report", operation_id = "plaza_report", tag = "plaza", security(("bearer" = ["admin"])), params(ReportQuery),
    responses((status = 200, body = PlazaReport, description = "Per pool the agency carries or helps with: orders placed in the range, GMV of the carried lines and commission received and paid on, net of refunds"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn report(
    State(app): State<AppState>,
    Caller(who): Caller,
    uri: Uri,
) -> Result<Json<PlazaReport>, ApiError> {
    let q: ReportQuery = query(&uri)?;
    Ok(Json(app.plaza.plaza_report(&who, &q)?))
}

#[utoipa::path(get, path = "/v1/plaza/orders", operation_id = "list_plaza_orders", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<AgencyOrder>, description = "The orders the agency carried or helped with, oldest first: its lines, its shares, its own layer"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn orders(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<AgencyOrder>>, ApiError> {
    Ok(Json(app.plaza.agency_orders(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plaza/orders/{merchant}/{order}", operation_id = "get_plaza_order", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 200, body = AgencyOrder, description = "One order the agency carried or helped with, as the agency sees it"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn order(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((merchant, order)): PathParams<(String, String)>,
) -> Result<Json<AgencyOrder>, ApiError> {
    Ok(Json(app.plaza.agency_order(&who, &merchant, &order)?))
}
