//! Service providers' access: `/v1/grants` (a merchant or agency grants a provider one
//! role, changes it, revokes it) and `/v1/clients` (the tenants a provider acts for, by
//! naming them in the `Plaza-Tenant` header).

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{Grant, NewGrant, Page, PageQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

#[utoipa::path(put, path = "/v1/grants/{provider}", operation_id = "grant_provider", tag = "grants", security(("bearer" = ["admin"])), request_body = NewGrant,
    responses((status = 200, body = Grant, description = "Granted (or the role changed): the provider's keys act for the caller in that role from their next request"),
        (status = 409, body = ErrorBody, description = "`not_a_provider` (the named tenant is not a service provider) or `provider_cannot_grant`"),
        (status = 422, body = ErrorBody, description = "A bad id, or the role `admin`")))]
pub async fn grant(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(provider): PathParams<String>,
    Body(new): Body<NewGrant>,
) -> Result<Json<Grant>, ApiError> {
    Ok(Json(app.plaza.grant(&who, &provider, new).await?))
}

#[utoipa::path(delete, path = "/v1/grants/{provider}", operation_id = "revoke_grant", tag = "grants", security(("bearer" = ["admin"])),
    responses((status = 204, description = "Revoked: the provider's next request for the caller is refused")))]
pub async fn revoke(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(provider): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    app.plaza.revoke_grant(&who, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/grants", operation_id = "list_grants", tag = "grants", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Grant>, description = "The providers the caller granted access, by provider")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Grant>>, ApiError> {
    Ok(Json(app.plaza.list_grants(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/clients", operation_id = "list_clients", tag = "grants", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<Grant>, description = "The tenants that granted the calling provider access, by client")))]
pub async fn clients(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Grant>>, ApiError> {
    Ok(Json(app.plaza.list_clients(&who, &at)?))
}
