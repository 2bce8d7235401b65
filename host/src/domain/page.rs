//! Pages of a list: at most `limit` items and an opaque cursor for the next page.
//!
//! A cursor is the store key of the last item a page returned (hex), so a listing walks
//! its index in key order: every item present when the listing started is returned exactly
//! once, in a stable order, whatever is written meanwhile. Cursors are checked to lie in
//! the caller's own key range before they are used.

use super::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// Items per page unless the request says otherwise.
pub const DEFAULT_PAGE_LIMIT: usize = 100;
/// The most items one page may ask for.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A page size from a request: 1 to [`MAX_PAGE_LIMIT`], [`DEFAULT_PAGE_LIMIT`] if absent.
pub fn limit(requested: Option<usize>) -> Result<usize, Error> {
    match requested {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Error::Invalid {
            field: "limit".into(),
            message: format!("must be 1 to {MAX_PAGE_LIMIT}"),
        }),
    }
}

pub fn cursor(key: &[u8]) -> String {
    hex::encode(key)
}

/// The store key a cursor stands for, if it lies under `prefix` (the caller's own range).
pub fn after(cursor: Option<&str>, prefix: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    match hex::decode(cursor) {
        Ok(key) if key.starts_with(prefix) => Ok(Some(key)),
        _ => Err(Error::Invalid {
            field: "after".into(),
            message: "not a cursor this listing gave out".into(),
        }),
    }
}
