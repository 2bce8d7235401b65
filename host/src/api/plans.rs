//! `/v1/plans`: save versions, activate, roll back, history, diff, budgets, and quote.

use super::extract::{Idempotency, Paging, query};
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{Page, PageQuery, PlanDiff, PlanHead, PlanSummary, PlanVersionInfo, StepUsage};
use crate::executor::{Cart, Plan, Quote};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The version to make active; `null` deactivates the plan.
    pub version: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    from: u32,
    to: u32,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuoteParams {
    /// Quote with this stored version instead of the active one (to replay a quote).
    version: Option<u32>,
}

#[utoipa::path(post, path = "/v1/plans", tag = "plans", request_body = Plan,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried save return the first answer instead of saving another version"),
        ("If-Match" = Option<String>, Header, description = "The plan's `ETag` (its latest version, quoted) the change was based on; `\"0\"` for a new plan")),
    responses((status = 201, body = PlanHead, description = "Saved as the next version"),
        (status = 200, body = PlanHead, description = "A retry under the same Idempotency-Key: the first answer; nothing new saved"),
        (status = 409, body = ErrorBody, description = "idempotency_key_reused"),
        (status = 412, body = ErrorBody, description = "precondition_failed: someone saved another version since the If-Match one"),
        (status = 403, body = ErrorBody, description = "quota_exceeded"),
        (status = 422, body = ErrorBody, description = "A plugin is unknown, ambiguous or refused its configuration")))]
pub async fn save(
    State(app): State<AppState>,
    Caller(who): Caller,
    Idempotency(key): Idempotency,
    headers: HeaderMap,
    Body(plan): Body<Plan>,
) -> Result<(StatusCode, HeaderMap, Json<PlanHead>), ApiError> {
    let based_on = if_match(&headers)?;
    let (head, created) = app.plaza.save_plan(&who, plan, key, based_on).await?;
    let version = head.latest.to_string();
    let mut out = super::location(&["v1", "plans", &head.id, "versions", &version]);
    out.extend(etag(&head));
    Ok((super::created_or_ok(created), out, Json(head)))
}

/// A plan's `ETag`: its latest version, quoted.
fn etag(head: &PlanHead) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", head.latest)) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// The version an `If-Match` header names (`"3"`, `3` or `W/"3"`).
fn if_match(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().map(Some).map_err(|_| {
        ApiError::from(crate::domain::Error::Invalid {
            field: "If-Match".into(),
            message: "must be the plan's ETag: its latest version number, quoted".into(),
        })
    })
}

#[utoipa::path(get, path = "/v1/plans", tag = "plans", params(PageQuery),
    responses((status = 200, body = Page<PlanSummary>, description = "By id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<PlanSummary>>, ApiError> {
    Ok(Json(app.plaza.list_plans(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/versions", tag = "plans", params(PageQuery),
    responses((status = 200, body = Page<PlanVersionInfo>, description = "Oldest first")))]
pub async fn versions(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<PlanVersionInfo>>, ApiError> {
    Ok(Json(app.plaza.list_versions(&who, &plan, &at)?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}", tag = "plans",
    responses((status = 200, body = PlanHead, description = "Versions and activation history")))]
pub async fn head(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<(HeaderMap, Json<PlanHead>), ApiError> {
    let head = app.plaza.plan_head(&who, &plan)?;
    Ok((etag(&head), Json(head)))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/versions/{version}", tag = "plans",
    responses((status = 200, body = Plan)))]
pub async fn version(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((plan, version)): PathParams<(String, u32)>,
) -> Result<Json<Plan>, ApiError> {
    Ok(Json(app.plaza.plan_version(&who, &plan, version)?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/activate", tag = "plans", request_body = ActivateRequest,
    responses((status = 200, body = PlanHead)))]
pub async fn activate(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Body(req): Body<ActivateRequest>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(app.plaza.activate(&who, &plan, req.version).await?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/rollback", tag = "plans",
    responses((status = 200, body = PlanHead, description = "The previously active version is active again"),
        (status = 409, body = ErrorBody)))]
pub async fn rollback(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(app.plaza.rollback(&who, &plan).await?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/diff", tag = "plans", params(DiffParams),
    responses((status = 200, body = PlanDiff)))]
pub async fn diff(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    uri: Uri,
) -> Result<Json<PlanDiff>, ApiError> {
    let params: DiffParams = query(&uri)?;
    Ok(Json(app.plaza.diff_plan(
        &who,
        &plan,
        params.from,
        params.to,
    )?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/budgets", tag = "plans",
    responses((status = 200, body = Vec<StepUsage>)))]
pub async fn budgets(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<Vec<StepUsage>>, ApiError> {
    Ok(Json(app.plaza.budget_usage(&who, &plan)?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/quote", tag = "quote", params(QuoteParams),
    request_body = Cart,
    responses((status = 200, body = Quote, description = "The priced cart and an explanation per step"),
        (status = 422, body = ErrorBody)))]
pub async fn quote(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    uri: Uri,
    Body(cart): Body<Cart>,
) -> Result<Json<Quote>, ApiError> {
    let params: QuoteParams = query(&uri)?;
    Ok(Json(
        app.plaza.quote(&who, &plan, params.version, cart).await?,
    ))
}
