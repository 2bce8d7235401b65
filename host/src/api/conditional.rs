//! Conditional GET for what the binary serves unchanged until it is upgraded (the console's
//! files, the OpenAPI document): a strong ETag from the content's sha256, revalidated on
//! every load (`Cache-Control: no-cache`) and answered 304 while it matches.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The strong ETag of content whose sha256 is `digest`.
pub fn etag(digest: &[u8]) -> String {
    format!("\"{}\"", hex::encode(digest))
}

/// Set the ETag and the caching rule in `headers`. When the request's `If-None-Match` names
/// `etag`, answer 304 with those headers; otherwise `None`: the caller sends the content.
pub fn not_modified(request: &HeaderMap, etag: &str, headers: &mut HeaderMap) -> Option<Response> {
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let unchanged = (request.get(header::IF_NONE_MATCH))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    unchanged.then(|| (StatusCode::NOT_MODIFIED, std::mem::take(headers)).into_response())
}
