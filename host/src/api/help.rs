//! Invite-to-help (助力): `/v1/help-campaigns` (a merchant's or agency's campaigns), their
//! initiations and the helps that complete them.

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{Campaign, NewCampaign, NewHelp, NewInitiation, Page, PageQuery, Progress};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

#[utoipa::path(post, path = "/v1/help-campaigns", operation_id = "create_help_campaign", tag = "coupons", security(("bearer" = ["admin"])), request_body = NewCampaign,
    responses((status = 201, body = Campaign, description = "Running between its instants"),
        (status = 200, body = Campaign, description = "The same campaign again: the stored one"),
        (status = 404, body = ErrorBody, description = "No such coupon template"),
        (status = 409, body = ErrorBody, description = "`campaign_exists` or `not_a_merchant`"),
        (status = 422, body = ErrorBody, description = "A bad field, or `template_bound` (the reward's template is bound to a channel, a party or a live room)")))]
pub async fn create(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewCampaign>,
) -> Result<(StatusCode, HeaderMap, Json<Campaign>), ApiError> {
    let (campaign, created) = app.plaza.create_campaign(&who, new).await?;
    let location = super::location(&["v1", "help-campaigns", &campaign.id]);
    Ok((super::created_or_ok(created), location, Json(campaign)))
}

#[utoipa::path(get, path = "/v1/help-campaigns", operation_id = "list_help_campaigns", tag = "coupons", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<Campaign>, description = "The caller's campaigns, by id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Campaign>>, ApiError> {
    Ok(Json(app.plaza.list_campaigns(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/help-campaigns/{campaign}", operation_id = "get_help_campaign", tag = "coupons", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = Campaign, description = "The campaign with its counts"),
        (status = 404, body = ErrorBody, description = "No such campaign")))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(campaign): PathParams<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(app.plaza.campaign(&who, &campaign)?))
}

#[utoipa::path(post, path = "/v1/help-campaigns/{campaign}/initiations", operation_id = "start_help_initiation", tag = "coupons", security(("bearer" = ["admin", "checkout"])), request_body = NewInitiation,
    responses((status = 201, body = Progress, description = "Started: helpers can help until `expires_ms`"),
        (status = 200, body = Progress, description = "The buyer's initiation of this campaign, started before"),
        (status = 404, body = ErrorBody, description = "No such campaign"),
        (status = 409, body = ErrorBody, description = "`campaign_closed`, or the reward cannot be had (`out_of_stock`, `template_ended`, `template_expired`)")))]
pub async fn initiate(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(campaign): PathParams<String>,
    Body(new): Body<NewInitiation>,
) -> Result<(StatusCode, Json<Progress>), ApiError> {
    let (progress, created) = app.plaza.initiate(&who, &campaign, new).await?;
    Ok((super::created_or_ok(created), Json(progress)))
}

#[utoipa::path(get, path = "/v1/help-campaigns/{campaign}/initiations/{buyer}", operation_id = "get_help_initiation", tag = "coupons", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = Progress, description = "The initiation, its helpers and its state now"),
        (status = 404, body = ErrorBody, description = "No such initiation")))]
pub async fn progress(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((campaign, buyer)): PathParams<(String, String)>,
) -> Result<Json<Progress>, ApiError> {
    Ok(Json(app.plaza.initiation(&who, &campaign, &buyer)?))
}

#[utoipa::path(post, path = "/v1/help-campaigns/{campaign}/initiations/{buyer}/helps", operation_id = "help_initiation", tag = "coupons", security(("bearer" = ["admin", "checkout"])), request_body = NewHelp,
    responses((status = 201, body = Progress, description = "Counted; the help that completes the initiation issued the reward claim"),
        (status = 200, body = Progress, description = "This helper helped this initiation before: counted once"),
        (status = 404, body = ErrorBody, description = "No such campaign or initiation"),
        (status = 409, body = ErrorBody, description = "`already_helped` (another initiation of the campaign), `own_initiation`, `not_eligible` (new customers only), `already_complete`, `initiation_expired`, `campaign_closed`, or the reward cannot be claimed (`out_of_stock`, `claim_limit_reached`, `template_ended` …)")))]
pub async fn help(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((campaign, buyer)): PathParams<(String, String)>,
    Body(new): Body<NewHelp>,
) -> Result<(StatusCode, Json<Progress>), ApiError> {
    let (progress, counted) = app.plaza.help(&who, &campaign, &buyer, new).await?;
    Ok((super::created_or_ok(counted), Json(progress)))
}
