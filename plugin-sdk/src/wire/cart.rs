//! Encoding a cart (the host does this once per quote; the SDK's test harness too).

use super::{ABSENT, CART_HEADER, CART_MAGIC, LINE_RECORD};
use crate::Channel;

/// One line to encode.
#[derive(Clone, Copy, Debug)]
pub struct LineFields<'a> {
    /// The line's id.
    pub id: &'a str,
    /// Stock-keeping unit.
    pub sku: &'a str,
    /// Product the sku belongs to.
    pub spu: &'a str,
    /// Merchant selling the line.
    pub merchant: &'a str,
    /// Categories of the product.
    pub categories: &'a [String],
    /// Product tags.
    pub tags: &'a [String],
    /// Units bought.
    pub quantity: u32,
    /// List price of one unit, in fen.
    pub unit_price: i64,
}

/// The cart's fields besides its lines.
#[derive(Clone, Copy, Debug)]
pub struct CartFields<'a> {
    /// The buyer's id.
    pub buyer_id: &'a str,
    /// The buyer's member tier.
    pub member_tier: Option<&'a str>,
    /// First order with this merchant.
    pub new_customer: bool,
    /// Buyer tags.
    pub buyer_tags: &'a [String],
    /// Where the buyer came from.
    pub channel: Channel,
    /// Promoter, promoter agency, creator, livestreamer, carrying agency, helper agency,
    /// share link: in this order.
    pub attribution: [Option<&'a str>; 7],
    /// Coupon codes presented.
    pub coupon_codes: &'a [String],
    /// The order is a gift.
    pub gift: bool,
    /// How many friends a gift order is shared out to (0 when the checkout does not say).
    pub gift_recipients: u16,
    /// The request's time.
    pub now_ms: i64,
    /// The buyer's usable points with the merchant (0 without a points program).
    pub points: i64,
}

/// Builds an encoded cart: add the lines, then [`CartEncoder::finish`].
///
/// Offsets are `u32`: the host refuses a cart over its input limit (far below 4 GiB)
/// before a plugin sees it, and the encoder panics rather than wrap.
#[derive(Debug, Default)]
pub struct CartEncoder {
    lines: Vec<u8>,
    line_count: u32,
    spans: Vec<u8>,
    span_count: u32,
    text: Vec<u8>,
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).expect("an encoded cart stays under 4 GiB")
}

impl CartEncoder {
    /// An empty cart.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cart with room for `lines` lines, `list_items` list entries and
    /// `text_bytes` bytes of strings, so that encoding does not reallocate.
    pub fn with_capacity(lines: usize, list_items: usize, text_bytes: usize) -> Self {
        CartEncoder {
            lines: Vec::with_capacity(lines * LINE_RECORD),
            spans: Vec::with_capacity(list_items * 8),
            text: Vec::with_capacity(text_bytes),
            ..Self::default()
        }
    }

    /// Append one line.
    pub fn line(&mut self, line: &LineFields<'_>) {
        let mut record = [0u8; LINE_RECORD];
        for (i, s) in [line.id, line.sku, line.spu, line.merchant]
            .iter()
            .enumerate()
        {
            let span = self.text(s);
            record[i * 8..i * 8 + 8].copy_from_slice(&span);
        }
        let categories = self.list(line.categories);
        record[32..40].copy_from_slice(&categories);
        let tags = self.list(line.tags);
        record[40..48].copy_from_slice(&tags);
        record[48..52].copy_from_slice(&line.quantity.to_le_bytes());
        record[56..64].copy_from_slice(&line.unit_price.to_le_bytes());
        self.lines.extend_from_slice(&record);
        self.line_count += 1;
    }

    /// The encoded cart.
    pub fn finish(mut self, cart: &CartFields<'_>) -> Vec<u8> {
        let mut header = [0u8; CART_HEADER];
        let buyer_id = self.text(cart.buyer_id);
        let tier = self.opt(cart.member_tier);
        let buyer_tags = self.list(cart.buyer_tags);
        let coupons = self.list(cart.coupon_codes);
        header[32..40].copy_from_slice(&buyer_id);
        header[40..48].copy_from_slice(&tier);
        header[48..56].copy_from_slice(&buyer_tags);
        header[56..64].copy_from_slice(&coupons);
        for (i, party) in cart.attribution.iter().enumerate() {
            let span = self.opt(*party);
            header[64 + i * 8..72 + i * 8].copy_from_slice(&span);
        }
        header[..4].copy_from_slice(&CART_MAGIC);
        header[4..8].copy_from_slice(&self.line_count.to_le_bytes());
        header[8..12].copy_from_slice(&self.span_count.to_le_bytes());
        header[12..16].copy_from_slice(&u32_of(self.text.len()).to_le_bytes());
        header[16..24].copy_from_slice(&cart.now_ms.to_le_bytes());
        header[120..128].copy_from_slice(&cart.points.to_le_bytes());
        let channel = Channel::ALL
            .iter()
            .position(|c| *c == cart.channel)
            .expect("every channel is in ALL");
        header[24] = channel as u8;
        header[25] = u8::from(cart.gift);
        header[26] = u8::from(cart.new_customer);
        header[27..29].copy_from_slice(&cart.gift_recipients.to_le_bytes());
        let mut out =
            Vec::with_capacity(CART_HEADER + self.lines.len() + self.spans.len() + self.text.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.lines);
        out.extend_from_slice(&self.spans);
        out.extend_from_slice(&self.text);
        u32_of(out.len());
        out
    }

    fn text(&mut self, s: &str) -> [u8; 8] {
        let start = u32_of(self.text.len());
        self.text.extend_from_slice(s.as_bytes());
        pair(start, u32_of(s.len()))
    }

    fn opt(&mut self, s: Option<&str>) -> [u8; 8] {
        match s {
            Some(s) => self.text(s),
            None => pair(ABSENT, 0),
        }
    }

    fn list(&mut self, items: &[String]) -> [u8; 8] {
        let start = self.span_count;
        for item in items {
            let span = self.text(item);
            self.spans.extend_from_slice(&span);
            self.span_count += 1;
        }
        pair(start, u32_of(items.len()))
    }
}

/// Two `u32`s, little-endian: a span or a list as the wire writes it.
pub(super) fn pair(a: u32, b: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&a.to_le_bytes());
    out[4..].copy_from_slice(&b.to_le_bytes());
    out
}
