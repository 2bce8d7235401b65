//! Affiliations on the plaza: `/v1/plaza/affiliates` (an agency invites promoter agencies
//! to sell its goods, lists and ends those it invited) and `/v1/plaza/affiliations` (a
//! promoter agency accepts, lists and ends the agencies whose goods it sells).

use super::extract::Paging;
use super::{ApiError, AppState, Caller, ErrorBody, PathParams};
use crate::domain::{Affiliation, Page, PageQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

#[utoipa::path(put, path = "/v1/plaza/affiliates/{agency}", operation_id = "invite_affiliate", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 201, body = Affiliation, description = "Invited: once it accepts, the promoter agency's promoters sell the caller's goods"),
        (status = 200, body = Affiliation, description = "Invited (or affiliated) already"),
        (status = 404, body = ErrorBody, description = "No such agency"),
        (status = 409, body = ErrorBody, description = "`not_an_agency` (the caller or the invited tenant)"),
        (status = 422, body = ErrorBody, description = "A bad id, or `own_agency`")))]
pub async fn invite(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(agency): PathParams<String>,
) -> Result<(StatusCode, Json<Affiliation>), ApiError> {
    let (affiliation, created) = app.plaza.invite_affiliate(&who, &agency).await?;
    Ok((super::created_or_ok(created), Json(affiliation)))
}

#[utoipa::path(delete, path = "/v1/plaza/affiliates/{agency}", operation_id = "end_affiliate", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 204, description = "Ended: the agency's promoters no longer sell the caller's goods from their next cart"),
        (status = 404, body = ErrorBody, description = "No such affiliation"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn end_affiliate(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(agency): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    app.plaza.end_affiliation(&who, &agency, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/plaza/affiliates", operation_id = "list_affiliates", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Affiliation>, description = "The promoter agencies the caller invited, by id"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn affiliates(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Affiliation>>, ApiError> {
    Ok(Json(app.plaza.list_affiliations(&who, true, &at)?))
}

#[utoipa::path(put, path = "/v1/plaza/affiliations/{upstream}", operation_id = "accept_affiliation", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 200, body = Affiliation, description = "Accepted (or accepted already): the caller's promoters sell the upstream agency's goods"),
        (status = 404, body = ErrorBody, description = "No invitation from that agency"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn accept(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(upstream): PathParams<String>,
) -> Result<Json<Affiliation>, ApiError> {
    Ok(Json(app.plaza.accept_affiliation(&who, &upstream).await?))
}

#[utoipa::path(delete, path = "/v1/plaza/affiliations/{upstream}", operation_id = "end_affiliation", tag = "plaza", security(("bearer" = ["admin"])),
    responses((status = 204, description = "Ended: the caller's promoters no longer sell the upstream agency's goods from their next cart"),
        (status = 404, body = ErrorBody, description = "No such affiliation"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn end_affiliation(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(upstream): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    app.plaza.end_affiliation(&who, &upstream, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/plaza/affiliations", operation_id = "list_affiliations", tag = "plaza", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Affiliation>, description = "The agencies whose goods the caller's promoters sell (or that invited it), by id"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn affiliations(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Affiliation>>, ApiError> {
    Ok(Json(app.plaza.list_affiliations(&who, false, &at)?))
}
