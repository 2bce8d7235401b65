//! Extractors that answer in the API's error format: the caller (from the bearer key and,
//! for a service provider, the `Plaza-Tenant` it acts for; rate limited per tenant), path
//! parameters, a list's page, the `Idempotency-Key` header, and strict JSON bodies.

use super::strict::Strict;
use super::{ApiError, AppState};
use crate::domain::{Error, IdempotencyKey, PageQuery, Position, Principal};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use serde::de::DeserializeOwned;

/// The authenticated caller.
#[derive(Debug)]
pub struct Caller(pub Principal);

/// The key of `Authorization: Bearer <key>`; the scheme is case-insensitive (RFC 9110).
fn bearer(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let (scheme, key) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(bearer)
            .ok_or(Error::Unauthenticated)?;
        // An empty `Plaza-Tenant` names no client: the key acts for its own tenant.
        let client = match parts.headers.get(crate::domain::grants::ACT_FOR_HEADER) {
            Some(value) if !value.is_empty() => {
                Some(value.to_str().map_err(|_| Error::Invalid {
                    field: "Plaza-Tenant".into(),
                    message: "must be a tenant id".into(),
                })?)
            }
            _ => None,
        };
        let principal = app.plaza.authenticate_for(key, client)?;
        // Beneficiaries are limited too, each on its own (ids never contain '/', so their
        // limiter names cannot meet a tenant's).
        let limited = match &principal {
            Principal::Member { tenant, .. } => Some(std::borrow::Cow::Borrowed(tenant.as_str())),
            Principal::Beneficiary { id } => Some(format!("beneficiary/{id}").into()),
            Principal::Operator => None,
        };
        if let Some(name) = limited
            && let Err(wait) = app.limiter.check(&name)
        {
            app.plaza.metrics.busy_refusal();
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "this tenant is over its request rate on this host; retry after the given seconds",
            )
            .retry_after(wait));
        }
        Ok(Caller(principal))
    }
}

/// Path parameters; a segment that does not parse (not UTF-8, not a number where one is
/// expected) is 400 `bad_path` in the API's error format.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|rejection| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_path", rejection.body_text())
            })
    }
}

/// Which page of a list a request asks for (`limit` and `after`).
#[derive(Debug)]
pub struct Paging(pub Position);

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q: PageQuery = query(&parts.uri)?;
        Ok(Paging(q.position()?))
    }
}

/// The optional `Idempotency-Key` header of a creating request.
#[derive(Debug)]
pub struct Idempotency(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Idempotency(None));
        };
        let text = value.to_str().map_err(|_| {
            ApiError::from(Error::Invalid {
                field: "Idempotency-Key".into(),
                message: "must be visible ASCII".into(),
            })
        })?;
        Ok(Idempotency(Some(IdempotencyKey::parse(text)?)))
    }
}

/// A JSON body, parsed strictly: syntax errors are 400 `malformed_json`; a body that does
/// not fit the type (unknown field, wrong type, missing field) is 422 `invalid_body` naming
/// the field; a body over the limit is 413 `body_too_large`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = raw(req, state).await?;
        parse_json(&bytes).map(Body)
    }
}

/// The raw body, within the body limit.
pub async fn raw<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "request body is over the size limit",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", rejection.body_text())
        }
    })
}

/// A JSON body as `T`; an array is never read as a struct ([`Strict`]). A number written
/// with a zero fraction (`2441.0`, `1e3`) counts as the integer it is, as JSON Schema counts
/// it, up to 2^53 (where floats stop being exact); that second reading happens only when
/// the first fails, so it costs nothing otherwise.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = serde_path_to_error::deserialize(Strict(&mut de));
    let value = match first {
        Ok(value) => value,
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => return Err(body_error(e)),
        Err(e) => {
            let mut json: serde_json::Value = serde_json::from_slice(bytes).map_err(|syntax| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    format!("malformed JSON: {syntax}"),
                )
            })?;
            if !integral_floats_to_integers(&mut json) {
                return Err(body_error(e));
            }
            return serde_path_to_error::deserialize(Strict(json)).map_err(body_error);
        }
    };
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// The largest integer every float below it can hold exactly.
const EXACT_FLOAT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Rewrite every float with a zero fraction (within ±2^53) as an integer; whether any was.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() <= EXACT_FLOAT_INTEGERS {
                // Exact: |f| ≤ 2^53 with no fraction is an integer an i64 holds.
                #[allow(clippy::cast_possible_truncation)]
                let integer = f as i64;
                *value = Value::from(integer);
                true
            } else {
                false
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        Value::Object(fields) => fields
            .values_mut()
            .fold(false, |any, v| integral_floats_to_integers(v) | any),
        _ => false,
    }
}

/// 422 `invalid_body` naming the field that does not fit.
fn invalid_body(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let field = e.path().to_string();
    let err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        e.inner().to_string(),
    );
    if field == "." { err } else { err.field(field) }
}

/// 400 `malformed_json` for JSON that does not parse, else 422 `invalid_body` naming the
/// field that does not fit.
fn body_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    if e.inner().is_syntax() || e.inner().is_eof() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {}", e.inner()),
        );
    }
    invalid_body(&e)
}

/// The query string, parsed strictly (400 `bad_query` otherwise).
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_a_key_is_required() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(bearer(&v("Bearer k1")), Some("k1"));
        assert_eq!(bearer(&v("bearer k1")), Some("k1"));
        assert_eq!(bearer(&v("BEARER  k1 ")), Some("k1"));
        assert_eq!(bearer(&v("Basic k1")), None);
        assert_eq!(bearer(&v("Bearer ")), None);
        assert_eq!(bearer(&v("Bearerk1")), None);
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Line {
        quantity: u32,
        price: i64,
    }

    #[test]
    fn a_number_with_a_zero_fraction_is_the_integer_it_names() {
        let line: Line = parse_json(br#"{"quantity": 2.0, "price": 29900e0}"#).unwrap();
        assert_eq!(
            line,
            Line {
                quantity: 2,
                price: 29900
            }
        );
        for bad in [
            r#"{"quantity": 2.5, "price": 1}"#,
            r#"{"quantity": 1, "price": 1e300}"#,
            r#"{"quantity": -1.0, "price": 1}"#,
            r#"{"quantity": 1, "price": 9007199254740994.0}"#,
        ] {
            let err = parse_json::<Line>(bad.as_bytes()).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let err = parse_json::<Line>(br#"{"quantity": 1.0, "price": }"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
