//! The HTTP edge's one error type: every failure becomes a JSON body
//! `{"error": {"type", "message", "field"?, "detail"?}}` with a status that fits. Client
//! errors keep their detail; internal ones are logged and answered with a generic 500.

use crate::domain::Error;
use crate::executor::QuoteError;
use crate::sandbox::LoadError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    /// Stable, machine-readable: match on this, not on the message.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    /// The offending field, as a path into the request (`cart.lines[0].quantity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: an error travels through every handler's `Result`, kept small.
    pub info: Box<ErrorInfo>,
    /// Seconds for `Retry-After` (429 and 503; 1 when not set).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            info: Box::new(ErrorInfo {
                kind: kind.to_owned(),
                message: message.into(),
                field: None,
                detail: None,
            }),
            retry_after_secs: None,
        }
    }

    /// Ask the client to wait `wait` (rounded up to whole seconds) before retrying.
    pub fn retry_after(mut self, wait: std::time::Duration) -> ApiError {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.info.field = Some(field.into());
        self
    }

    fn detail(mut self, detail: impl Serialize) -> ApiError {
        self.info.detail = serde_json::to_value(detail).ok();
        self
    }
}

/// The `type` of a serde-tagged error enum.
fn tag(value: &impl Serialize) -> String {
    crate::error_type(value).unwrap_or_else(|| "invalid".to_owned())
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            Error::Unauthenticated => ApiError::new(S::UNAUTHORIZED, "unauthenticated", message),
            Error::Forbidden { .. } => ApiError::new(S::FORBIDDEN, "forbidden", message),
            Error::NotFound { .. } => ApiError::new(S::NOT_FOUND, "not_found", message),
            Error::Invalid { field, .. } => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
            }
            Error::Conflict { kind, .. } => ApiError::new(S::CONFLICT, kind, message),
            Error::Unprocessable { kind, field, .. } => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, kind, message).field(field)
            }
            Error::Load(load) => {
                let status = match load {
                    LoadError::TooLarge { .. } => S::PAYLOAD_TOO_LARGE,
                    _ => S::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, &tag(&load), message).detail(&load)
            }
            Error::CompileTimeout { .. } => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, "compile_timeout", message)
            }
            Error::CompileStopped { .. } => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, "compile_stopped", message)
            }
            Error::Plan(plan) => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, &tag(&plan), message).detail(&plan)
            }
            Error::Quote(QuoteError::Cart(cart)) => {
                let field = match &cart {
                    crate::executor::CartError::Invalid { field, .. } => {
                        Some(format!("cart.{field}"))
                    }
                    _ => Some("cart.lines".to_owned()),
                };
                let mut err =
                    ApiError::new(S::UNPROCESSABLE_ENTITY, "invalid_cart", message).detail(&cart);
                err.info.field = field;
                err
            }
            Error::Quote(q @ QuoteError::InputTooLarge { .. }) => {
                ApiError::new(S::PAYLOAD_TOO_LARGE, "input_too_large", message).detail(&q)
            }
            Error::Quote(q @ QuoteError::StepFailed { .. }) => {
                ApiError::new(S::UNPROCESSABLE_ENTITY, "step_failed", message).detail(&q)
            }
            Error::BudgetExhausted { ref step, limit } => {
                ApiError::new(S::CONFLICT, "budget_exhausted", message.clone())
                    .detail(serde_json::json!({ "step": step, "limit": limit }))
            }
            Error::PriceChanged { expected, actual } => {
                ApiError::new(S::CONFLICT, "price_changed", message)
                    .field("expected_payable")
                    .detail(serde_json::json!({ "expected": expected, "actual": actual }))
            }
            Error::BudgetUnreadable { ref step } => {
                tracing::error!(error = %message, "budget counter unreadable");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "budget_unreadable",
                    message.clone(),
                )
                .detail(serde_json::json!({ "step": step }))
            }
            Error::PreconditionFailed { expected, latest } => {
                ApiError::new(S::PRECONDITION_FAILED, "precondition_failed", message)
                    .field("If-Match")
                    .detail(serde_json::json!({ "expected": expected, "latest": latest }))
            }
            Error::QuotaExceeded { quota, limit } => {
                ApiError::new(S::FORBIDDEN, "quota_exceeded", message)
                    .detail(serde_json::json!({ "quota": quota, "limit": limit }))
            }
            Error::Busy(_) => ApiError::new(S::TOO_MANY_REQUESTS, "busy", message),
            Error::Unavailable(_) => ApiError::new(S::SERVICE_UNAVAILABLE, "unavailable", message),
            Error::Store(StoreError::Unavailable(_)) => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; send the request again shortly",
            )
            .retry_after(std::time::Duration::from_secs(1)),
            Error::Store(_) | Error::Internal(_) => {
                tracing::error!(error = %message, "internal error");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after_secs;
        let mut response = (status, axum::Json(ErrorBody { error: *self.info })).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.unwrap_or(1)),
            );
        }
        response
    }
}
