//! `/v1/tenants`: the operator creates tenants; keys are issued by the operator or the
//! tenant's admin.

use super::extract::{Idempotency, Paging};
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{IssuedKey, KeyRecord, NewKey, NewTenant, Page, PageQuery, Tenant, Whoami};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

#[utoipa::path(post, path = "/v1/tenants", operation_id = "create_tenant", tag = "tenants", security(("bearer" = ["operator"])), request_body = NewTenant,
    responses((status = 201, body = Tenant), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.plaza.create_tenant(&who, new).await?),
    ))
}

#[utoipa::path(get, path = "/v1/tenants", operation_id = "list_tenants", tag = "tenants", security(("bearer" = ["operator"])), params(PageQuery),
    responses((status = 200, body = Page<Tenant>, description = "By id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Tenant>>, ApiError> {
    Ok(Json(app.plaza.list_tenants(&who, &at)?))
}

#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys", operation_id = "create_key", tag = "tenants", security(("bearer" = ["operator", "admin"])), request_body = NewKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried issue create no second key")),
    responses((status = 201, body = IssuedKey, description = "The key is shown this once"),
        (status = 200, body = IssuedKey, description = "A retry under the same Idempotency-Key: the first key's record, without the secret"),
        (status = 409, body = ErrorBody, description = "idempotency_key_reused")))]
pub async fn create_key(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(tenant): PathParams<String>,
    Idempotency(idempotency): Idempotency,
    Body(new): Body<NewKey>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    let (issued, created) = app
        .plaza
        .create_key(&who, &tenant, new, idempotency)
        .await?;
    Ok((super::created_or_ok(created), Json(issued)))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", operation_id = "list_keys", tag = "tenants", security(("bearer" = ["operator", "admin"])), params(PageQuery),
    responses((status = 200, body = Page<KeyRecord>, description = "Oldest first")))]
pub async fn list_keys(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(tenant): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<KeyRecord>>, ApiError> {
    Ok(Json(app.plaza.list_keys(&who, &tenant, &at)?))
}

#[utoipa::path(get, path = "/v1/me", operation_id = "whoami", tag = "tenants", security(("bearer" = ["operator", "admin", "author", "checkout", "beneficiary"])),
    responses((status = 200, body = Whoami, description = "Who the key stands for: its tenant (for a provider, the client it acts for), role, or beneficiary")))]
pub async fn me(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<Whoami>, ApiError> {
    Ok(Json(app.plaza.whoami(&who)?))
}
