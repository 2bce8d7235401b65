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
    /// Do it at this time (ms since the epoch, after the host's clock) instead of now:
    /// the plan's `scheduled` shows it until it fires or is cancelled.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 253_402_300_799_999i64)]
    pub at_ms: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    from: u32,
    to: u32,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    /// Quote with this stored version instead of the active one (to replay a quote).
    version: Option<u32>,
}

#[utoipa::path(post, path = "/v1/plans", operation_id = "save_plan", tag = "plans", security(("bearer" = ["admin", "author"])), request_body = Plan,
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

/// What an `If-Match` may be: a version number of up to 9 digits, as an ETag (`"3"`, weak
/// `W/"3"`) or bare (`3`).
pub const IF_MATCH_PATTERN: &str = r#"^((W/)?"[0-9]{1,9}"|[0-9]{1,9})$"#;

/// The version an `If-Match` header names ([`IF_MATCH_PATTERN`]).
fn if_match(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let digits = match tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted,
        None if tag.len() == text.len() => text,
        None => "",
    };
    let valid = (1..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    match digits.parse() {
        Ok(version) if valid => Ok(Some(version)),
        _ => Err(ApiError::from(crate::domain::Error::Invalid {
            field: "If-Match".into(),
            message: "must be the plan's ETag: its latest version number, quoted".into(),
        })),
    }
}

#[utoipa::path(get, path = "/v1/plans", operation_id = "list_plans", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<PlanSummary>, description = "By id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<PlanSummary>>, ApiError> {
    Ok(Json(app.plaza.list_plans(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/versions", operation_id = "list_plan_versions", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<PlanVersionInfo>, description = "Oldest first")))]
pub async fn versions(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<PlanVersionInfo>>, ApiError> {
    Ok(Json(app.plaza.list_versions(&who, &plan, &at)?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}", operation_id = "get_plan", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = PlanHead, description = "Versions and activation history")))]
pub async fn head(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<(HeaderMap, Json<PlanHead>), ApiError> {
    let head = app.plaza.plan_head(&who, &plan)?;
    Ok((etag(&head), Json(head)))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/versions/{version}", operation_id = "get_plan_version", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = Plan)))]
pub async fn version(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((plan, version)): PathParams<(String, u32)>,
) -> Result<Json<Plan>, ApiError> {
    Ok(Json(app.plaza.plan_version(&who, &plan, version)?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/activate", operation_id = "activate_plan", tag = "plans", security(("bearer" = ["admin", "author"])), request_body = ActivateRequest,
    responses((status = 200, body = PlanHead, description = "Active now, or (with `at_ms`) scheduled: a quote sees the version from then on"),
        (status = 422, body = ErrorBody, description = "A version that cannot run, or `at_ms` not after the host's clock")))]
pub async fn activate(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Body(req): Body<ActivateRequest>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(match req.at_ms {
        Some(at_ms) => {
            (app.plaza)
                .schedule_activation(&who, &plan, req.version, at_ms)
                .await?
        }
        None => app.plaza.activate(&who, &plan, req.version).await?,
    }))
}

#[utoipa::path(delete, path = "/v1/plans/{plan}/scheduled-activation", operation_id = "cancel_scheduled_activation", tag = "plans", security(("bearer" = ["admin", "author"])),
    responses((status = 200, body = PlanHead, description = "No activation scheduled any more (also when none was)")))]
pub async fn cancel_schedule(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(
        app.plaza.cancel_scheduled_activation(&who, &plan).await?,
    ))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/rollback", operation_id = "rollback_plan", tag = "plans", security(("bearer" = ["admin", "author"])),
    responses((status = 200, body = PlanHead, description = "The previously active version is active again"),
        (status = 409, body = ErrorBody)))]
pub async fn rollback(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(app.plaza.rollback(&who, &plan).await?))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/diff", operation_id = "diff_plan", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])), params(DiffParams),
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

#[utoipa::path(get, path = "/v1/plans/{plan}/budgets", operation_id = "get_plan_budgets", tag = "plans", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = Vec<StepUsage>)))]
pub async fn budgets(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<Vec<StepUsage>>, ApiError> {
    Ok(Json(app.plaza.budget_usage(&who, &plan)?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/quote", operation_id = "quote", tag = "quote", security(("bearer" = ["admin", "author", "checkout"])), params(QuoteParams),
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
    let quote = app.plaza.quote(&who, &plan, params.version, cart).await?;
    Ok(Json(crate::domain::merchant_view::quote(quote)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_a_quoted_weak_or_bare_version_and_nothing_else() {
        let parse = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, HeaderValue::from_static(v));
            if_match(&headers).ok().flatten()
        };
        assert_eq!(parse("\"3\""), Some(3));
        assert_eq!(parse("W/\"3\""), Some(3));
        assert_eq!(parse("12"), Some(12));
        assert_eq!(parse("\"999999999\""), Some(999_999_999));
        for bad in [
            "W/3",
            "\"3",
            "3\"",
            "\"\"",
            "latest",
            "\"1234567890\"",
            " 3",
            "-1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
