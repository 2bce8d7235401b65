//! GMV incentive events: `/v1/incentives` (run by the operator or a merchant), their
//! registrations and reviews, the facts the owner reports, and each participant's progress.

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::incentives::{Decision, Entrant, Facts, Incentive, NewIncentive, Progress};
use crate::domain::{Page, PageQuery};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

#[utoipa::path(post, path = "/v1/incentives", operation_id = "create_incentive", tag = "incentives", security(("bearer" = ["operator", "admin"])), request_body = NewIncentive,
    responses((status = 201, body = Incentive, description = "Taking registrations in its window; the operator's is the platform's, a merchant admin's counts its own orders"),
        (status = 200, body = Incentive, description = "The same event again: the stored one"),
        (status = 403, body = ErrorBody, description = "Not the operator or a merchant's admin"),
        (status = 409, body = ErrorBody, description = "`incentive_exists` (another event has the id) or `not_a_merchant`"),
        (status = 422, body = ErrorBody, description = "A bad field: windows, tiers not rising, a reward out of bounds")))]
pub async fn create(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewIncentive>,
) -> Result<(StatusCode, HeaderMap, Json<Incentive>), ApiError> {
    let (event, created) = app.plaza.create_incentive(&who, new).await?;
    let location = super::location(&["v1", "incentives", &event.terms.id]);
    Ok((super::created_or_ok(created), location, Json(event)))
}

#[utoipa::path(get, path = "/v1/incentives", operation_id = "list_incentives", tag = "incentives", security(("bearer" = ["operator", "admin", "author", "checkout", "beneficiary"])), params(PageQuery),
    responses((status = 200, body = Page<Incentive>, description = "Every event, by id: events are public so that participants find them")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Incentive>>, ApiError> {
    Ok(Json(app.plaza.list_incentives(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/incentives/{event}", operation_id = "get_incentive", tag = "incentives", security(("bearer" = ["operator", "admin", "author", "checkout", "beneficiary"])),
    responses((status = 200, body = Incentive, description = "The event's terms"),
        (status = 404, body = ErrorBody, description = "No such event")))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(event): PathParams<String>,
) -> Result<Json<Incentive>, ApiError> {
    Ok(Json(app.plaza.incentive(&who, &event)?))
}

#[utoipa::path(post, path = "/v1/incentives/{event}/registrations", operation_id = "register_for_incentive", tag = "incentives", security(("bearer" = ["admin", "beneficiary"])),
    responses((status = 201, body = Entrant, description = "Registered: a merchant or agency by its admin, a livestreamer by its own key; approved at once when the event reviews automatically"),
        (status = 200, body = Entrant, description = "Registered before: the registration"),
        (status = 404, body = ErrorBody, description = "No such event"),
        (status = 409, body = ErrorBody, description = "`registration_closed` (outside the registration window) or `not_eligible` (the event is not open to the caller's kind)")))]
pub async fn register(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(event): PathParams<String>,
) -> Result<(StatusCode, Json<Entrant>), ApiError> {
    let (entrant, created) = app.plaza.register_for_incentive(&who, &event).await?;
    Ok((super::created_or_ok(created), Json(entrant)))
}

#[utoipa::path(get, path = "/v1/incentives/{event}/registrations", operation_id = "list_incentive_registrations", tag = "incentives", security(("bearer" = ["operator", "admin"])), params(PageQuery),
    responses((status = 200, body = Page<Entrant>, description = "The event's registrations, by participant (the owner's view)"),
        (status = 404, body = ErrorBody, description = "No such event run by the caller")))]
pub async fn registrations(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(event): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Entrant>>, ApiError> {
    Ok(Json(app.plaza.list_entrants(&who, &event, &at)?))
}

#[utoipa::path(post, path = "/v1/incentives/{event}/registrations/{participant}/review", operation_id = "review_incentive_registration", tag = "incentives", security(("bearer" = ["operator", "admin"])), request_body = Decision,
    responses((status = 200, body = Entrant, description = "Reviewed (or the same decision again): an approved participant's orders count from now on"),
        (status = 404, body = ErrorBody, description = "No such event run by the caller, or no such registration"),
        (status = 409, body = ErrorBody, description = "`already_reviewed` (the other way) or `incentive_over`")))]
pub async fn review(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((event, participant)): PathParams<(String, String)>,
    Body(decision): Body<Decision>,
) -> Result<Json<Entrant>, ApiError> {
    Ok(Json(
        app.plaza
            .review_entrant(&who, &event, &participant, decision)
            .await?,
    ))
}

#[utoipa::path(put, path = "/v1/incentives/{event}/facts/{participant}", operation_id = "report_incentive_facts", tag = "incentives", security(("bearer" = ["operator", "admin"])), request_body = Facts,
    responses((status = 200, body = Entrant, description = "Merged into what was reported: the conditions are judged on them at each later commit"),
        (status = 404, body = ErrorBody, description = "No such event run by the caller, or the participant is not registered"),
        (status = 422, body = ErrorBody, description = "A fact's name is not an id, its value is out of bounds, or too many facts")))]
pub async fn facts(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((event, participant)): PathParams<(String, String)>,
    Body(facts): Body<Facts>,
) -> Result<Json<Entrant>, ApiError> {
    Ok(Json(
        app.plaza
            .report_facts(&who, &event, &participant, facts)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/incentives/{event}/progress/{participant}", operation_id = "get_incentive_progress", tag = "incentives", security(("bearer" = ["operator", "admin", "author", "checkout", "beneficiary"])),
    responses((status = 200, body = Progress, description = "GMV net of refunds, each tier, what the next needs, and the rewards ledger (the owner and the participant alone)"),
        (status = 404, body = ErrorBody, description = "No such event, or no registration of this participant the caller may see")))]
pub async fn progress(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((event, participant)): PathParams<(String, String)>,
) -> Result<Json<Progress>, ApiError> {
    Ok(Json(app.plaza.incentive_progress(
        &who,
        &event,
        &participant,
    )?))
}
