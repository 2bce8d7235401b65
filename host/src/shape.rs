//! What values in requests may be — ids, names, short texts and bounded integers: the rule
//! the server checks and the JSON Schema the API document states, from one definition, so
//! the two cannot drift apart.
//!
//! Lengths count characters (Unicode scalar values), as JSON Schema's `minLength` and
//! `maxLength` do. Patterns name characters by explicit ranges rather than `\s` or
//! `\p{..}`, whose meaning differs between regex engines.

use utoipa::openapi::schema::{
    Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type,
};

/// Longest id: tenants, plans, steps, orders, refunds.
pub const MAX_ID_CHARS: usize = 128;
/// Longest sku, line id, merchant, coupon code, buyer id or key name.
pub const MAX_TEXT_CHARS: usize = 128;
/// Longest display name.
pub const MAX_NAME_CHARS: usize = 256;

/// Characters that are not visible: Unicode's control characters (`Cc`) and its
/// `White_Space` characters, exactly those for which Rust's `char::is_control` or
/// `char::is_whitespace` holds.
const INVISIBLE: &[(char, char)] = &[
    ('\u{0}', '\u{20}'),
    ('\u{7f}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

fn visible(c: char) -> bool {
    !INVISIBLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Whether `c` may appear in an id: visible, and no `/` (ids appear in paths and are key
/// parts in the store).
pub fn id_char(c: char) -> bool {
    c != '/' && visible(c)
}

/// An id: 1 to [`MAX_ID_CHARS`] characters, each an [`id_char`].
pub fn is_id(text: &str) -> bool {
    within(text, 1, MAX_ID_CHARS) && text.chars().all(id_char)
}

/// A short text: 1 to [`MAX_TEXT_CHARS`] characters of any kind.
pub fn is_text(text: &str) -> bool {
    within(text, 1, MAX_TEXT_CHARS)
}

/// A display name: 1 to [`MAX_NAME_CHARS`] characters, at least one of them visible.
pub fn is_name(text: &str) -> bool {
    within(text, 1, MAX_NAME_CHARS) && text.chars().any(visible)
}

/// A label: at most [`MAX_TEXT_CHARS`] characters, empty allowed.
pub fn is_label(text: &str) -> bool {
    text.is_empty() || is_text(text)
}

fn within(text: &str, least: usize, most: usize) -> bool {
    // A character is at most 4 bytes: skip the count when the bytes already decide.
    let bytes = text.len();
    if bytes < least || bytes > most * 4 {
        return false;
    }
    // No more characters than bytes: a short text with at least one is within.
    if least <= 1 && bytes <= most {
        return true;
    }
    (least..=most).contains(&text.chars().count())
}

/// The invisible characters (and `extra`) as the inside of a regex character class, in
/// `\uXXXX` form, which ECMA-262, Python and Rust regexes all read the same way.
fn invisible_ranges(extra: &str) -> String {
    let mut out = String::new();
    for &(lo, hi) in INVISIBLE {
        out.push_str(&format!("\\u{:04x}", u32::from(lo)));
        if hi != lo {
            out.push_str(&format!("-\\u{:04x}", u32::from(hi)));
        }
    }
    out.push_str(extra);
    out
}

fn string(min: usize, max: usize, pattern: Option<String>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern)
        .description(Some(description))
        .build()
}

/// The schema of an id ([`is_id`]).
pub fn id_schema() -> Object {
    string(
        1,
        MAX_ID_CHARS,
        Some(format!("^[^{}]+$", invisible_ranges("/"))),
        "1–128 characters: no spaces, control characters or '/'",
    )
}

/// The schema of a short text ([`is_text`]).
pub fn text_schema() -> Object {
    string(1, MAX_TEXT_CHARS, None, "1–128 characters")
}

/// The schema of an optional short text: [`text_schema`], or `null` (an `Option<String>`
/// field takes either).
pub fn optional_text_schema() -> Object {
    let mut schema = text_schema();
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// The schema of a display name ([`is_name`]).
pub fn name_schema() -> Object {
    string(
        1,
        MAX_NAME_CHARS,
        Some(format!("[^{}]", invisible_ranges(""))),
        "1–256 characters, not all of them spaces",
    )
}

/// The schema of a label ([`is_label`]).
pub fn label_schema() -> Object {
    string(0, MAX_TEXT_CHARS, None, "At most 128 characters")
}

/// The schema of a list of short texts.
pub fn texts_schema() -> Array {
    ArrayBuilder::new().items(text_schema()).build()
}

/// An integer (int64) from `min` to `max`.
pub fn integer(min: i64, max: i64, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .build()
}

/// `null` or an integer from `min` to `max`.
pub fn optional_integer(min: i64, max: i64, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_is_exactly_rusts_control_and_whitespace() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(
                visible(c),
                !(c.is_control() || c.is_whitespace()),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn ids_count_characters_not_bytes() {
        assert!(is_id(&"茶".repeat(MAX_ID_CHARS)));
        assert!(!is_id(&"茶".repeat(MAX_ID_CHARS + 1)));
        assert!(is_id(&"a".repeat(MAX_ID_CHARS)));
        for bad in ["", "a/b", "a b", "a\u{0}", "a\u{3000}b", "\u{85}"] {
            assert!(!is_id(bad), "{bad:?}");
        }
        assert!(is_name(" teahouse ") && !is_name(" \u{3000}\t") && !is_name(""));
        assert!(is_text(" ") && !is_text(&"x".repeat(MAX_TEXT_CHARS + 1)));
    }

    #[test]
    fn the_id_pattern_names_the_same_characters() {
        let pattern = id_schema().pattern.unwrap();
        assert!(pattern.starts_with("^[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680"));
        assert!(pattern.ends_with("\\u3000/]+$"), "{pattern}");
    }
}
