//! Operations: health, readiness, metrics, the OpenAPI document, and the JSON 404/405.

use super::{ApiError, AppState, Caller, ErrorBody};
use crate::domain::{Error, Principal, Startup};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;

#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "operations", security(()),
    responses((status = 200, description = "The process is up")))]
pub async fn health() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", operation_id = "ready", tag = "operations", security(()),
    responses((status = 200, body = Startup, description = "Plugins and plans are loaded"),
        (status = 503, body = ErrorBody, description = "Shutting down")))]
pub async fn ready(State(app): State<AppState>) -> Result<Json<Startup>, ApiError> {
    if app.draining.load(Ordering::Relaxed) {
        return Err(crate::domain::Error::Unavailable("shutting down").into());
    }
    Ok(Json(app.startup))
}

/// The operator's only: the metrics name every tenant's plugins.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations", security(("bearer" = ["operator"])),
    responses((status = 200, description = "Prometheus text format"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Not the operator key")))]
pub async fn metrics(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<impl IntoResponse, ApiError> {
    if who != Principal::Operator {
        return Err(Error::Forbidden {
            role: "tenant",
            action: "read the metrics (the operator's only)",
        }
        .into());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.plaza.metrics.render(),
    ))
}

/// The document as bytes, with an ETag: the console loads it with every composer, and an
/// unchanged binary answers 304 instead of the document again.
pub async fn openapi(request: HeaderMap) -> Response {
    let (body, etag) = super::openapi::served();
    let mut headers = HeaderMap::new();
    if let Some(unchanged) = super::conditional::not_modified(&request, etag, &mut headers) {
        return unchanged;
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (headers, body.clone()).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
