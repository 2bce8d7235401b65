//! `/v1/settlements`, `/v1/beneficiaries` and `/v1/reports`: a merchant pays out
//! settleable commission in runs of statements and reads what it sold, gave and owes; a
//! beneficiary (or the merchant, for its own part) reads its balance and statements; the
//! operator issues beneficiaries their keys.

use super::extract::{Idempotency, Paging, query};
use super::{ApiError, AppState, Body, Caller, ErrorBody, PathParams};
use crate::domain::{
    BeneficiaryBalance, IssuedBeneficiaryKey, NewBeneficiaryKey, Page, PageQuery, Report,
    ReportQuery, Settlement, SettlementRequest, Statement,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

#[utoipa::path(post, path = "/v1/settlements", operation_id = "run_settlement", tag = "settlements", security(("bearer" = ["admin"])), request_body = SettlementRequest,
    responses(
        (status = 201, body = Settlement, description = "Run: every settleable share up to `until_ms` paid, one statement per beneficiary"),
        (status = 200, body = Settlement, description = "A replay: the run as first answered; nothing paid twice"),
        (status = 409, body = ErrorBody, description = "settlement_id_reused"),
        (status = 422, body = ErrorBody, description = "until_ms in the future or out of range")))]
pub async fn run(
    State(app): State<AppState>,
    Caller(who): Caller,
    Body(req): Body<SettlementRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Settlement>), ApiError> {
    let (run, created) = app.plaza.settle(&who, req).await?;
    let location = super::location(&["v1", "settlements", &run.id]);
    Ok((super::created_or_ok(created), location, Json(run)))
}

#[utoipa::path(get, path = "/v1/settlements", operation_id = "list_settlements", tag = "settlements", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Settlement>, description = "By id")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<Settlement>>, ApiError> {
    Ok(Json(app.plaza.list_settlements(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/settlements/{settlement}", operation_id = "get_settlement", tag = "settlements", security(("bearer" = ["admin"])),
    responses((status = 200, body = Settlement)))]
pub async fn get(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(settlement): PathParams<String>,
) -> Result<Json<Settlement>, ApiError> {
    Ok(Json(app.plaza.settlement(&who, &settlement)?))
}

#[utoipa::path(get, path = "/v1/settlements/{settlement}/statements", operation_id = "list_settlement_statements", tag = "settlements", security(("bearer" = ["admin"])), params(PageQuery),
    responses((status = 200, body = Page<Statement>, description = "By beneficiary")))]
pub async fn statements(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(settlement): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Statement>>, ApiError> {
    Ok(Json(app.plaza.settlement_statements(
        &who,
        &settlement,
        &at,
    )?))
}

#[utoipa::path(get, path = "/v1/beneficiaries/{beneficiary}/balance", operation_id = "get_beneficiary_balance", tag = "beneficiaries", security(("bearer" = ["admin", "beneficiary"])),
    responses((status = 200, body = BeneficiaryBalance, description = "With every merchant (the beneficiary's own key) or with the caller's merchant")))]
pub async fn balance(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(beneficiary): PathParams<String>,
) -> Result<Json<BeneficiaryBalance>, ApiError> {
    Ok(Json(app.plaza.beneficiary_balance(&who, &beneficiary)?))
}

#[utoipa::path(get, path = "/v1/beneficiaries/{beneficiary}/statements", operation_id = "list_beneficiary_statements", tag = "beneficiaries", security(("bearer" = ["admin", "beneficiary"])), params(PageQuery),
    responses((status = 200, body = Page<Statement>, description = "By merchant, then oldest first: from every merchant (the beneficiary's own key) or from the caller's merchant")))]
pub async fn beneficiary_statements(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(beneficiary): PathParams<String>,
    Paging(at): Paging,
) -> Result<Json<Page<Statement>>, ApiError> {
    Ok(Json(app.plaza.beneficiary_statements(
        &who,
        &beneficiary,
        &at,
    )?))
}

#[utoipa::path(post, path = "/v1/beneficiaries/{beneficiary}/keys", operation_id = "create_beneficiary_key", tag = "beneficiaries", security(("bearer" = ["operator"])), request_body = NewBeneficiaryKey,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried issue create no second key")),
    responses((status = 201, body = IssuedBeneficiaryKey, description = "The key is shown this once"),
        (status = 200, body = IssuedBeneficiaryKey, description = "A retry under the same Idempotency-Key: the first key's record, without the secret"),
        (status = 409, body = ErrorBody, description = "idempotency_key_reused")))]
pub async fn create_key(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams(beneficiary): PathParams<String>,
    Idempotency(idempotency): Idempotency,
    Body(new): Body<NewBeneficiaryKey>,
) -> Result<(StatusCode, Json<IssuedBeneficiaryKey>), ApiError> {
    let (issued, created) = app
        .plaza
        .create_beneficiary_key(&who, &beneficiary, new, idempotency)
        .await?;
    Ok((super::created_or_ok(created), Json(issued)))
}

#[utoipa::path(get, path = "/v1/reports/summary", operation_id = "get_report", tag = "reports", security(("bearer" = ["admin"])), params(ReportQuery),
    responses((status = 200, body = Report, description = "GMV, refunds, discount cost by step and funder, commission by party and beneficiary, over the orders placed in the range")))]
pub async fn report(
    State(app): State<AppState>,
    Caller(who): Caller,
    uri: Uri,
) -> Result<Json<Report>, ApiError> {
    let q: ReportQuery = query(&uri)?;
    Ok(Json(app.plaza.report(&who, &q)?))
}
