//! Pages of a list: at most `limit` items and an opaque cursor for the next page.
//!
//! A cursor is the sort key of the last item a page returned (hex), so a listing walks its
//! index in key order: every item present when the listing started is returned exactly
//! once, in a stable order, whatever is written meanwhile. A cursor is only a position:
//! every listing scans the caller's own key range alone, so a cursor from elsewhere (or
//! made up) positions the listing at the start or the end of that range and can never
//! reach another tenant's items.

use super::Error;
use crate::store::{Store, StoreError, Table};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Items per page unless the request says otherwise.
pub const DEFAULT_PAGE_LIMIT: usize = 100;
/// The most items one page may ask for.
pub const MAX_PAGE_LIMIT: usize = 1000;
/// What a cursor looks like: the hex of a key (keys are at most a few hundred bytes).
pub const CURSOR_PATTERN: &str = "^([0-9a-f]{2}){1,1024}$";

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which page of a list: the query of every list but the orders' (which adds filters).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^([0-9a-f]{2}){1,1024}$")]
    pub after: Option<String>,
}

/// Where a page starts and how long it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub limit: usize,
    /// Items strictly after this key.
    pub after: Option<Vec<u8>>,
}

impl PageQuery {
    pub fn position(&self) -> Result<Position, Error> {
        position(self.limit, self.after.as_deref())
    }
}

/// A position from a request's `limit` and `after`: a limit of 1 to [`MAX_PAGE_LIMIT`]
/// ([`DEFAULT_PAGE_LIMIT`] if absent) and a cursor in hex.
pub fn position(limit: Option<usize>, after: Option<&str>) -> Result<Position, Error> {
    let limit = match limit {
        None => DEFAULT_PAGE_LIMIT,
        Some(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(Error::Invalid {
                field: "limit".into(),
                message: format!("must be 1 to {MAX_PAGE_LIMIT}"),
            });
        }
    };
    let after = match after {
        None => None,
        Some(cursor) if is_cursor(cursor) => hex::decode(cursor).ok(),
        Some(_) => {
            return Err(Error::Invalid {
                field: "after".into(),
                message: "not a cursor: the `next` of an earlier page".into(),
            });
        }
    };
    Ok(Position { limit, after })
}

/// Whether `text` matches [`CURSOR_PATTERN`]: lowercase hex of 1 to 1024 bytes.
fn is_cursor(text: &str) -> bool {
    (2..=2048).contains(&text.len())
        && text.len().is_multiple_of(2)
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn cursor(key: &[u8]) -> String {
    hex::encode(key)
}

/// A page of `items` that are in key order.
fn cut<T>(mut items: Vec<(Vec<u8>, T)>, limit: usize) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(k, _)| cursor(k))
    } else {
        None
    };
    Page {
        items: items.into_iter().map(|(_, v)| v).collect(),
        next,
    }
}

/// A page of the records stored under `prefix` (the caller's own range).
pub fn scan<T: DeserializeOwned>(
    store: &Store,
    table: Table,
    prefix: &[u8],
    at: &Position,
) -> Result<Page<T>, StoreError> {
    let entries = store.scan_entries(table, prefix, at.after.as_deref(), at.limit + 1)?;
    Ok(cut(entries, at.limit))
}

/// A page of a list held in memory, each item with its sort key.
pub fn of<T>(mut items: Vec<(Vec<u8>, T)>, at: &Position) -> Page<T> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(after) = &at.after {
        items.retain(|(k, _)| k > after);
    }
    items.truncate(at.limit + 1);
    cut(items, at.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(n: u8) -> Vec<(Vec<u8>, u8)> {
        (0..n).rev().map(|i| (vec![b'k', i], i)).collect()
    }

    #[test]
    fn pages_of_a_list_in_memory_return_each_item_once_in_key_order() {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let at = position(Some(3), after.as_deref()).unwrap();
            let page = of(keyed(10), &at);
            assert!(page.items.len() <= 3);
            seen.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_last_page_has_no_next() {
        let page = of(keyed(3), &position(Some(3), None).unwrap());
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.next, None);
    }

    #[test]
    fn limits_and_cursors_out_of_range_are_refused() {
        for limit in [0, MAX_PAGE_LIMIT + 1] {
            assert!(position(Some(limit), None).is_err());
        }
        for cursor in ["", "zz", "abc"] {
            assert!(position(None, Some(cursor)).is_err(), "{cursor}");
        }
        assert_eq!(position(None, None).unwrap().limit, DEFAULT_PAGE_LIMIT);
    }

    #[test]
    fn cursors_are_lowercase_hex_as_the_pattern_says() {
        let given = cursor(b"tenant\0plan\xff");
        assert!(is_cursor(&given) && CURSOR_PATTERN.contains("[0-9a-f]{2}"));
        for bad in ["AB", "a", "0g", &"00".repeat(1025)] {
            assert!(!is_cursor(bad), "{bad}");
        }
    }
}
