//! Claimed coupons: `/v1/coupons` (a merchant's or agency's templates, their claims and
//! code batches), `/v1/coupon-codes/{code}/claims` (an offline code claimed),
//! `/v1/coupon-claims/{claim}` and `/v1/buyers/{buyer}/coupons` (the wallet).

use super::extract::Paging;
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::UsableCoupons;
use crate::domain::{
    Claim, CodeBatch, NewClaim, NewCodeBatch, NewStockMove, NewTemplate, Page, PageQuery,
    StockMove, Template, WalletEntry,
};
use crate::executor::Cart;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

#[utoipa::path(post, path = "/v1/coupons", operation_id = "create_coupon", tag = "coupons", security(("bearer" = ["admin"])), request_body = NewTemplate,
    responses((status = 201, body = Template, description = "Defined: buyers can claim it"),
        (status = 200, body = Template, description = "The same template again: the stored one"),
        (status = 404, body = ErrorBody, description = "No such plan, step, or bound livestreamer or promoter"),
        (status = 409, body = ErrorBody, description = "`template_exists` (another template has this id) or `not_a_merchant`"),
        (status = 422, body = ErrorBody, description = "A bad field, `not_a_livestreamer`, or `binding_needs_touches` (an agency's coupon bound to touches)")))]
pub async fn create(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(new): Body<NewTemplate>,
) -> Result<(StatusCode, HeaderMap, Json<Template>), ApiError> {
    let (template, created) = app.plaza.create_template(&who, new).await?;
    let location = super::location(&["v1", "coupons", &template.id]);
    Ok((super::created_or_ok(created), location, Json(template)))
}

#[utoipa::path(get, path = "/v1/coupons", operation_id = "list_coupons", tag = "coupons", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<Template>, description = "The caller's coupon templates, by id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Template>>, ApiError> {
    Ok(Json(app.plaza.list_templates(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/coupons/{template}", operation_id = "get_coupon", tag = "coupons", security(("bearer" = ["admin", "author", "checkout"])),
    responses((status = 200, body = Template, description = "The template with what it has handed out"),
        (status = 404, body = ErrorBody, description = "No such template")))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(template): PathParams<String>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(app.plaza.template(&who, &template)?))
}

#[utoipa::path(delete, path = "/v1/coupons/{template}", operation_id = "end_coupon", tag = "coupons", security(("bearer" = ["admin"])),
    responses((status = 200, body = Template, description = "Claiming ended (or had ended); claims made stay valid"),
        (status = 404, body = ErrorBody, description = "No such template")))]
pub async fn end(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(template): PathParams<String>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(app.plaza.end_template(&who, &template).await?))
}

#[utoipa::path(post, path = "/v1/coupons/{template}/claims", operation_id = "claim_coupon", tag = "coupons", security(("bearer" = ["admin", "checkout"])), request_body = NewClaim,
    responses((status = 201, body = Claim, description = "Claimed: in the buyer's wallet"),
        (status = 200, body = Claim, description = "The same claim again: the first"),
        (status = 404, body = ErrorBody, description = "No such template"),
        (status = 409, body = ErrorBody, description = "`out_of_stock`, `room_out_of_stock` (the buyer's live room has none left), `claim_limit_reached`, `not_eligible` (a binding does not hold, or the buyer is in none of its live rooms: the message says which), `template_ended`, `template_expired` or `claim_id_taken`")))]
pub async fn claim(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(template): PathParams<String>,
    Body(new): Body<NewClaim>,
) -> Result<(StatusCode, HeaderMap, Json<Claim>), ApiError> {
    let (claim, created) = app.plaza.claim_coupon(&who, &template, new).await?;
    let location = super::location(&["v1", "coupon-claims", &claim.id]);
    Ok((super::created_or_ok(created), location, Json(claim)))
}

#[utoipa::path(post, path = "/v1/coupons/{template}/codes", operation_id = "issue_coupon_codes", tag = "coupons", security(("bearer" = ["admin"])), request_body = NewCodeBatch,
    responses((status = 201, body = CodeBatch, description = "Issued: each code took one unit of stock and can be claimed once"),
        (status = 200, body = CodeBatch, description = "The same batch again: its codes"),
        (status = 404, body = ErrorBody, description = "No such template"),
        (status = 409, body = ErrorBody, description = "`out_of_stock` (fewer units left than codes asked for), `template_ended`, `template_expired`, `batch_id_taken` or `live_room_coupon` (a coupon split over live rooms has no codes)")))]
pub async fn codes(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(template): PathParams<String>,
    Body(new): Body<NewCodeBatch>,
) -> Result<(StatusCode, Json<CodeBatch>), ApiError> {
    let (batch, created) = app.plaza.issue_codes(&who, &template, new).await?;
    Ok((super::created_or_ok(created), Json(batch)))
}

#[utoipa::path(post, path = "/v1/coupon-codes/{code}/claims", operation_id = "claim_coupon_code", tag = "coupons", security(("bearer" = ["admin", "checkout"])), request_body = NewClaim,
    responses((status = 201, body = Claim, description = "Claimed: in the buyer's wallet"),
        (status = 200, body = Claim, description = "The same claim again: the first"),
        (status = 404, body = ErrorBody, description = "No such code"),
        (status = 409, body = ErrorBody, description = "`code_used`, `claim_limit_reached`, `not_eligible`, `template_ended`, `template_expired` or `claim_id_taken`"),
        (status = 422, body = ErrorBody, description = "`bad_code`: not 16 characters with a valid check character")))]
pub async fn claim_code(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(code): PathParams<String>,
    Body(new): Body<NewClaim>,
) -> Result<(StatusCode, HeaderMap, Json<Claim>), ApiError> {
    let (claim, created) = app.plaza.claim_code(&who, &code, new).await?;
    let location = super::location(&["v1", "coupon-claims", &claim.id]);
    Ok((super::created_or_ok(created), location, Json(claim)))
}

#[utoipa::path(get, path = "/v1/coupon-claims/{claim}", operation_id = "get_coupon_claim", tag = "coupons", security(("bearer" = ["admin", "checkout"])),
    responses((status = 200, body = WalletEntry, description = "The claim and its state now"),
        (status = 404, body = ErrorBody, description = "No such claim")))]
pub async fn get_claim(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(claim): PathParams<String>,
) -> Result<Json<WalletEntry>, ApiError> {
    Ok(Json(app.plaza.coupon_claim(&who, &claim)?))
}

#[utoipa::path(get, path = "/v1/buyers/{buyer}/coupons", operation_id = "buyer_wallet", tag = "coupons", security(("bearer" = ["admin", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<WalletEntry>, description = "The buyer's claims of the caller's coupons, by claim id, each with its state now")))]
pub async fn wallet(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(buyer): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<WalletEntry>>, ApiError> {
    Ok(Json(app.plaza.wallet(&who, &buyer, &at)?))
}

#[utoipa::path(post, path = "/v1/coupons/{template}/stock-moves", operation_id = "move_coupon_stock", tag = "coupons", security(("bearer" = ["admin"])), request_body = NewStockMove,
    responses((status = 201, body = StockMove, description = "Moved: the template's rooms after the move"),
        (status = 200, body = StockMove, description = "The same move again: the first"),
        (status = 404, body = ErrorBody, description = "No such template, no such room to move from, or no such party to move to"),
        (status = 409, body = ErrorBody, description = "`no_live_rooms` (the coupon is not split over live rooms), `not_enough_stock` (fewer unclaimed units in the room) or `move_id_taken`"),
        (status = 422, body = ErrorBody, description = "A bad field (`to` the same room, more than 50 rooms) or `not_a_livestreamer`")))]
pub async fn move_stock(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(template): PathParams<String>,
    Body(new): Body<NewStockMove>,
) -> Result<(StatusCode, Json<StockMove>), ApiError> {
    let (moved, created) = app.plaza.move_stock(&who, &template, new).await?;
    Ok((super::created_or_ok(created), Json(moved)))
}

#[utoipa::path(post, path = "/v1/plans/{plan}/usable-coupons", operation_id = "usable_coupons", tag = "coupons", security(("bearer" = ["admin", "checkout"])), request_body = Cart,
    responses((status = 200, body = UsableCoupons, description = "The buyer's claims usable on the cart (with what each saves alone) and unusable (with why), and the best combination"),
        (status = 404, body = ErrorBody, description = "No such plan, or none active"),
        (status = 422, body = ErrorBody, description = "A bad cart, or a cart that presents claims (the host reads the wallet)")))]
pub async fn usable(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(plan): PathParams<String>,
    Body(cart): Body<Cart>,
) -> Result<Json<UsableCoupons>, ApiError> {
    Ok(Json(app.plaza.usable_coupons(&who, &plan, cart).await?))
}
