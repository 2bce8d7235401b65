//! `/v1/settings/recording`, `/v1/recordings`, `/v1/plans/{plan}/shadow` and
//! `/v1/plans/{plan}/live-shadow`: the sample of quotes kept for shadow runs, a candidate
//! version run over it, and a candidate run next to live traffic.

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{
    LiveShadowReport, LiveShadowRequest, Page, PageQuery, PlanHead, Recorded, RecordingSettings,
    ShadowReport, ShadowRequest,
};
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/v1/settings/recording", operation_id = "get_recording_settings", tag = "settings", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = RecordingSettings, description = "The defaults (on, one quote in 100, 1000 carts, 7 days) until the tenant saves its own")))]
pub async fn get_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<RecordingSettings>, ApiError> {
    Ok(Json(app.plaza.recording_settings(&who)?))
}

#[utoipa::path(put, path = "/v1/settings/recording", operation_id = "set_recording_settings", tag = "settings", security(("bearer" = ["admin"])), request_body = RecordingSettings,
    responses((status = 200, body = RecordingSettings, description = "Saved: the next quotes are sampled by it"),
        (status = 422, body = ErrorBody, description = "A setting out of its bounds")))]
pub async fn set_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(settings): Body<RecordingSettings>,
) -> Result<Json<RecordingSettings>, ApiError> {
    Ok(Json(
        app.plaza.set_recording_settings(&who, settings).await?,
    ))
}

#[utoipa::path(get, path = "/v1/recordings", operation_id = "list_recordings", tag = "plans", security(("bearer" = ["admin", "author"])), params(PageQuery),
    responses((status = 200, body = Page<Recorded>, description = "The recorded quotes kept, in ring order (each with its number, `seq`)")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Recorded>>, ApiError> {
    Ok(Json(app.plaza.list_recordings(&who, &at)?))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/shadow", operation_id = "shadow_plan", tag = "plans", security(("bearer" = ["admin", "author"])), request_body = ShadowRequest,
    responses((status = 200, body = ShadowReport, description = "The candidate version against the version that answered, over the plan's recorded carts; nothing is written"),
        (status = 404, body = ErrorBody, description = "not_found: no such plan or version"),
        (status = 422, body = ErrorBody, description = "The candidate or a recorded version no longer prepares (a plugin refused its configuration)")))]
pub async fn shadow(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Body(request): Body<ShadowRequest>,
) -> Result<Json<ShadowReport>, ApiError> {
    Ok(Json(app.plaza.shadow(&who, &plan, request).await?))
}

#[utoipa::path(put, path = "/v1/plans/{plan}/live-shadow", operation_id = "set_live_shadow", tag = "plans", security(("bearer" = ["admin", "author"])), request_body = LiveShadowRequest,
    responses((status = 200, body = PlanHead, description = "From now on the version runs next to the active one on each recorded quote (its `shadow`), never answering; `null` stops it"),
        (status = 404, body = ErrorBody, description = "not_found: no such plan or version"),
        (status = 422, body = ErrorBody, description = "The version no longer prepares (a plugin refused its configuration)")))]
pub async fn set_live(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Body(request): Body<LiveShadowRequest>,
) -> Result<Json<PlanHead>, ApiError> {
    Ok(Json(
        app.plaza
            .set_live_shadow(&who, &plan, request.version)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/plans/{plan}/live-shadow", operation_id = "live_shadow_report", tag = "plans", security(("bearer" = ["admin", "author"])),
    responses((status = 200, body = LiveShadowReport, description = "What the running candidate would have changed on the quotes recorded so far"),
        (status = 404, body = ErrorBody, description = "not_found: no such plan")))]
pub async fn live_report(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
) -> Result<Json<LiveShadowReport>, ApiError> {
    Ok(Json(app.plaza.live_shadow_report(&who, &plan)?))
}
