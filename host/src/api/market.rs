//! The marketplace's parties and attribution: `/v1/promoters` (an agency invites,
//! suspends, reinstates and unbinds its promoters and creators; a promoter accepts with
//! its invite token and gets its own key), `/v1/touches` and `/v1/buyers/{buyer}/touches`
//! (a merchant's checkout records who opened which share link), and
//! `/v1/settings/attribution`.

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::promoters::Change;
use crate::domain::{
    AcceptInvite, Acceptance, AttributionSettings, Invitation, NewPromoter, NewTouch, Page,
    PageQuery, Promoter, Touch,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

#[utoipa::path(post, path = "/v1/promoters", operation_id = "invite_promoter", tag = "promoters", security(("bearer" = ["admin"])), request_body = NewPromoter,
    responses((status = 201, body = Invitation, description = "Invited: the token is shown this once; inviting again while the invitation is open gives a new token"),
        (status = 409, body = ErrorBody, description = "`promoter_bound` (another agency binds it, or it already accepted) or `not_an_agency`"),
        (status = 422, body = ErrorBody, description = "A bad id or name")))]
pub async fn invite(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewPromoter>,
) -> Result<(StatusCode, HeaderMap, Json<Invitation>), ApiError> {
    let invitation = app.plaza.invite_promoter(&who, new).await?;
    let location = super::location(&["v1", "promoters", &invitation.promoter.id]);
    Ok((StatusCode::CREATED, location, Json(invitation)))
}

#[utoipa::path(get, path = "/v1/promoters", operation_id = "list_promoters", tag = "promoters", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Promoter>, description = "The agency's promoters and creators (invited, active, suspended), by id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Promoter>>, ApiError> {
    Ok(Json(app.plaza.list_promoters(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/promoters/{promoter}", operation_id = "get_promoter", tag = "promoters", security(("bearer" = ["admin", "beneficiary"])),
    responses((status = 200, body = Promoter, description = "To the agency that binds it, or to the promoter's own key")))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(promoter): PathParams<String>,
) -> Result<Json<Promoter>, ApiError> {
    Ok(Json(app.plaza.promoter(&who, &promoter)?))
}

#[utoipa::path(post, path = "/v1/promoters/{promoter}/accept", operation_id = "accept_invite", tag = "promoters", security(()), request_body = AcceptInvite,
    responses((status = 201, body = Acceptance, description = "Bound and active: the promoter's own key (to read its earnings) is shown this once"),
        (status = 409, body = ErrorBody, description = "`invite_invalid`: no open invitation with that token"),
        (status = 422, body = ErrorBody, description = "Not a promoter id")))]
pub async fn accept(
    State(app): State<AppState>,
    PathParams(promoter): PathParams<String>,
    Body(accept): Body<AcceptInvite>,
) -> Result<(StatusCode, Json<Acceptance>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.plaza.accept_invite(&promoter, accept).await?),
    ))
}

async fn change(
    app: &AppState,
    who: &crate::domain::Principal,
    id: &str,
    change: Change,
) -> Result<Json<Promoter>, ApiError> {
    Ok(Json(app.plaza.change_promoter(who, id, change).await?))
}

#[utoipa::path(post, path = "/v1/promoters/{promoter}/suspend", operation_id = "suspend_promoter", tag = "promoters", security(("bearer" = ["admin"])),
    responses((status = 200, body = Promoter, description = "Suspended: its new touches are refused and it is credited with nothing until reinstated"),
        (status = 409, body = ErrorBody, description = "`promoter_state`: it is not active; or `not_an_agency`")))]
pub async fn suspend(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(promoter): PathParams<String>,
) -> Result<Json<Promoter>, ApiError> {
    change(&app, &who, &promoter, Change::Suspend).await
}

#[utoipa::path(post, path = "/v1/promoters/{promoter}/reinstate", operation_id = "reinstate_promoter", tag = "promoters", security(("bearer" = ["admin"])),
    responses((status = 200, body = Promoter, description = "Active again"),
        (status = 409, body = ErrorBody, description = "`promoter_state`: it is not suspended; or `not_an_agency`")))]
pub async fn reinstate(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(promoter): PathParams<String>,
) -> Result<Json<Promoter>, ApiError> {
    change(&app, &who, &promoter, Change::Reinstate).await
}

#[utoipa::path(delete, path = "/v1/promoters/{promoter}", operation_id = "unbind_promoter", tag = "promoters", security(("bearer" = ["admin"])),
    responses((status = 200, body = Promoter, description = "Unbound: credited with nothing more; another agency may invite it"),
        (status = 409, body = ErrorBody, description = "`not_an_agency`")))]
pub async fn unbind(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(promoter): PathParams<String>,
) -> Result<Json<Promoter>, ApiError> {
    change(&app, &who, &promoter, Change::Unbind).await
}

#[utoipa::path(post, path = "/v1/touches", operation_id = "record_touch", tag = "attribution", security(("bearer" = ["admin", "checkout"])), request_body = NewTouch,
    responses((status = 201, body = Touch, description = "Recorded"),
        (status = 200, body = Touch, description = "The same touch again: the first recording"),
        (status = 409, body = ErrorBody, description = "`touch_id_reused`: that id was recorded with another body"),
        (status = 422, body = ErrorBody, description = "`unknown_promoter`, `promoter_not_active`, or a bad field (`at_ms` in the future …)")))]
pub async fn record_touch(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewTouch>,
) -> Result<(StatusCode, HeaderMap, Json<Touch>), ApiError> {
    let (touch, created) = app.plaza.record_touch(&who, new).await?;
    let location = super::location(&["v1", "touches", &touch.touch_id]);
    Ok((super::created_or_ok(created), location, Json(touch)))
}

#[utoipa::path(get, path = "/v1/touches/{touch}", operation_id = "get_touch", tag = "attribution", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = Touch)))]
pub async fn touch(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(touch): PathParams<String>,
) -> Result<Json<Touch>, ApiError> {
    Ok(Json(app.plaza.touch(&who, &touch)?))
}

#[utoipa::path(get, path = "/v1/buyers/{buyer}/touches", operation_id = "list_buyer_touches", tag = "attribution", security(("bearer" = ["admin", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<Touch>, description = "The buyer's touches at this merchant, oldest first (orders that renewed a lock included)")))]
pub async fn buyer_touches(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(buyer): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Touch>>, ApiError> {
    Ok(Json(app.plaza.buyer_touches(&who, &buyer, &at)?))
}

#[utoipa::path(get, path = "/v1/settings/attribution", operation_id = "get_attribution_settings", tag = "settings", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = AttributionSettings, description = "The defaults until the tenant saves its own")))]
pub async fn get_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<AttributionSettings>, ApiError> {
    Ok(Json(app.plaza.attribution_settings(&who)?))
}

#[utoipa::path(put, path = "/v1/settings/attribution", operation_id = "set_attribution_settings", tag = "settings", security(("bearer" = ["admin"])), request_body = AttributionSettings,
    responses((status = 200, body = AttributionSettings, description = "Saved: quotes and new orders resolve under them; an order keeps the attribution it was committed with"),
        (status = 422, body = ErrorBody, description = "A setting out of its bounds")))]
pub async fn set_settings(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(settings): Body<AttributionSettings>,
) -> Result<Json<AttributionSettings>, ApiError> {
    Ok(Json(
        app.plaza.set_attribution_settings(&who, settings).await?,
    ))
}
