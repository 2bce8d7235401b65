//! [`Texts`]: a list of strings (a line's categories and tags, the buyer's tags, the coupon
//! codes) read from the encoded cart only when a rule looks at it.

/// A list of strings borrowed from the encoded cart. Reading the cart checks every entry
/// once; a rule then iterates, indexes or searches it without allocating.
#[derive(Clone, Copy, Default)]
pub struct Texts<'a> {
    /// `(u32 start, u32 len)` entries into `text`, each checked by the reader.
    spans: &'a [u8],
    text: &'a str,
}

impl<'a> Texts<'a> {
    /// `spans` are whole 8-byte entries, each a valid range of `text` (the reader has
    /// checked them; an entry that is not reads as `""`, never out of bounds).
    pub(crate) fn new(spans: &'a [u8], text: &'a str) -> Self {
        Texts { spans, text }
    }

    /// How many strings.
    pub fn len(&self) -> usize {
        self.spans.len() / 8
    }

    /// No strings.
    pub fn is_empty(&self) -> bool {
        self.spans.len() < 8
    }

    /// The `i`-th string.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let at = i.checked_mul(8)?;
        let entry = self.spans.get(at..at.checked_add(8)?)?;
        Some(entry_text(self.text, entry))
    }

    /// The strings in order.
    pub fn iter(&self) -> TextsIter<'a> {
        TextsIter {
            entries: self.spans.chunks_exact(8),
            text: self.text,
        }
    }

    /// Whether `s` is one of the strings.
    pub fn contains(&self, s: &str) -> bool {
        self.iter().any(|t| t == s)
    }

    /// The strings, collected.
    pub fn to_vec(&self) -> Vec<&'a str> {
        self.iter().collect()
    }
}

fn entry_text<'a>(text: &'a str, entry: &[u8]) -> &'a str {
    let word = |at: usize| {
        entry
            .get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (start, len) = (word(0), word(4));
    start
        .checked_add(len)
        .and_then(|end| text.get(start..end))
        .unwrap_or("")
}

/// The strings of a [`Texts`], in order.
#[derive(Clone, Debug)]
pub struct TextsIter<'a> {
    entries: core::slice::ChunksExact<'a, u8>,
    text: &'a str,
}

impl<'a> Iterator for TextsIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.entries.next().map(|e| entry_text(self.text, e))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for TextsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| entry_text(self.text, e))
    }
}

impl ExactSizeIterator for TextsIter<'_> {}

impl<'a> IntoIterator for Texts<'a> {
    type Item = &'a str;
    type IntoIter = TextsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &Texts<'a> {
    type Item = &'a str;
    type IntoIter = TextsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl core::fmt::Debug for Texts<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Texts<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Texts<'_> {}

impl PartialEq<[&str]> for Texts<'_> {
    fn eq(&self, other: &[&str]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

impl PartialEq<Vec<&str>> for Texts<'_> {
    fn eq(&self, other: &Vec<&str>) -> bool {
        *self == other[..]
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Texts<'_> {
    fn eq(&self, other: &[&str; N]) -> bool {
        *self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use crate::Money;
    use crate::testing::{cart, line};
    use crate::wire::{CART_HEADER, LINE_RECORD, read};

    #[test]
    fn a_list_reads_like_a_slice() {
        let wire = cart()
            .line(line("tea", Money(100), 1).category("茶").category("hot"))
            .line(line("cup", Money(100), 1))
            .coupon("SAVE5")
            .input();
        let input = wire.view();
        let categories = input.cart.lines[0].categories;
        assert_eq!((categories.len(), categories.is_empty()), (2, false));
        assert_eq!(
            (categories.get(0), categories.get(1)),
            (Some("茶"), Some("hot"))
        );
        assert_eq!(categories.get(2), None);
        assert_eq!(categories.get(usize::MAX), None);
        assert!(categories.contains("hot") && !categories.contains("ho"));
        assert_eq!(categories.iter().rev().collect::<Vec<_>>(), ["hot", "茶"]);
        assert_eq!(format!("{categories:?}"), r#"["茶", "hot"]"#);
        assert!(input.cart.lines[1].categories.is_empty());
        assert_eq!(input.cart.coupon_codes, ["SAVE5"]);
        assert!(input.has_coupon("SAVE5") && !input.has_coupon("SAVE"));
    }

    #[test]
    fn a_list_entry_outside_the_text_is_refused_when_the_cart_is_read() {
        let wire = cart()
            .line(line("tea", Money(100), 1).category("茶"))
            .input();
        let table = CART_HEADER + LINE_RECORD;
        // The entry's length past the text; its start inside 茶 (3 bytes).
        for (at, value) in [(table + 4, u32::MAX), (table + 4, 1 << 20)] {
            let mut c = wire.cart.clone();
            c[at..at + 4].copy_from_slice(&value.to_le_bytes());
            assert!(read(&c, &wire.step).is_err(), "{at} = {value}");
        }
        let mut c = wire.cart.clone();
        let start = u32::from_le_bytes(c[table..table + 4].try_into().unwrap());
        c[table..table + 4].copy_from_slice(&(start + 1).to_le_bytes());
        assert!(read(&c, &wire.step).is_err(), "a split character");
        assert!(read(&wire.cart, &wire.step).is_ok());
    }
}
