//! An evaluation's answer on the wire: the plugin encodes it (the SDK does this), the host
//! decodes it. Layout in [`crate::wire`]; every count and span is checked before use.

use super::cart::pair;
use super::{ABSENT, ANSWER_HEADER, ANSWER_MAGIC, EFFECT_RECORD, WireError};
use crate::{
    Commission, Effect, Gift, LineAdjustment, OrderAdjustment, Party, PointsDeduction, Share,
    ShippingAdjustment,
};

type Result<T> = core::result::Result<T, WireError>;

const LINE_ADJUSTMENT: u8 = 0;
const ORDER_ADJUSTMENT: u8 = 1;
const SHIPPING_ADJUSTMENT: u8 = 2;
const COMMISSION: u8 = 3;
const GIFT: u8 = 4;
const NOTE: u8 = 5;
const POINTS_DEDUCTION: u8 = 6;

/// A party's two bytes: its index among the named parties (7 for an upline) and the
/// upline's level.
fn party_bytes(party: Party) -> [u8; 2] {
    match party {
        Party::Merchant => [0, 0],
        Party::CarryingAgency => [1, 0],
        Party::HelperAgency => [2, 0],
        Party::Creator => [3, 0],
        Party::PromoterAgency => [4, 0],
        Party::Promoter => [5, 0],
        Party::Livestreamer => [6, 0],
        Party::Upline(level) => [7, level],
    }
}

fn party_of([index, level]: [u8; 2]) -> Result<Party> {
    Ok(match index {
        0 => Party::Merchant,
        1 => Party::CarryingAgency,
        2 => Party::HelperAgency,
        3 => Party::Creator,
        4 => Party::PromoterAgency,
        5 => Party::Promoter,
        6 => Party::Livestreamer,
        7 => Party::Upline(level),
        _ => return Err(WireError("unknown party")),
    })
}

/// Writes one answer into a buffer sized exactly once.
struct Writer {
    out: Vec<u8>,
    lists_at: usize,
    lists: u32,
    text_at: usize,
    text: u32,
}

impl Writer {
    fn span(&mut self, s: &str) -> [u8; 8] {
        let start = self.text;
        let at = self.text_at + start as usize;
        self.out[at..at + s.len()].copy_from_slice(s.as_bytes());
        self.text += s.len() as u32;
        pair(start, s.len() as u32)
    }

    fn opt(&mut self, s: Option<&str>) -> [u8; 8] {
        s.map_or(pair(ABSENT, 0), |s| self.span(s))
    }

    fn list(&mut self, items: &[u32]) -> [u8; 8] {
        let start = self.lists;
        for item in items {
            let at = self.lists_at + 4 * self.lists as usize;
            self.out[at..at + 4].copy_from_slice(&item.to_le_bytes());
            self.lists += 1;
        }
        pair(start, items.len() as u32)
    }
}

fn text_len(effect: &Effect) -> usize {
    match effect {
        Effect::LineAdjustment(a) => a.label.len() + a.coupon.as_ref().map_or(0, String::len),
        Effect::OrderAdjustment(a) => a.label.len() + a.coupon.as_ref().map_or(0, String::len),
        Effect::ShippingAdjustment(a) => a.label.len(),
        Effect::Commission(c) => c.label.len() + c.beneficiary.len(),
        Effect::Gift(g) => g.label.len() + g.sku.len(),
        Effect::PointsDeduction(p) => p.label.len(),
        Effect::Note(n) => n.len(),
    }
}

/// Encode an evaluation's answer: the effects, or the rule's error message.
///
/// # Panics
/// When the answer passes 4 GiB (the host refuses far smaller answers unread).
pub fn encode_answer(answer: &core::result::Result<Vec<Effect>, String>) -> Vec<u8> {
    let (effects, error) = match answer {
        Ok(effects) => (effects.as_slice(), None),
        Err(message) => (&[][..], Some(message.as_str())),
    };
    let lists: usize = effects
        .iter()
        .map(|e| match e {
            Effect::OrderAdjustment(a) => a.lines.len(),
            _ => 0,
        })
        .sum();
    let text = error.map_or(0, str::len) + effects.iter().map(text_len).sum::<usize>();
    let lists_at = ANSWER_HEADER + EFFECT_RECORD * effects.len();
    let text_at = lists_at + (4 * lists).next_multiple_of(8);
    let total = text_at + text;
    assert!(u32::try_from(total).is_ok(), "an answer stays under 4 GiB");
    let mut w = Writer {
        out: vec![0; total],
        lists_at,
        lists: 0,
        text_at,
        text: 0,
    };
    w.out[..4].copy_from_slice(&ANSWER_MAGIC);
    w.out[4] = u8::from(error.is_some());
    w.out[8..12].copy_from_slice(&(effects.len() as u32).to_le_bytes());
    w.out[12..16].copy_from_slice(&(lists as u32).to_le_bytes());
    w.out[16..20].copy_from_slice(&(text as u32).to_le_bytes());
    if let Some(message) = error {
        w.span(message);
    }
    for (i, effect) in effects.iter().enumerate() {
        let record = encode_effect(&mut w, effect);
        let at = ANSWER_HEADER + EFFECT_RECORD * i;
        w.out[at..at + EFFECT_RECORD].copy_from_slice(&record);
    }
    w.out
}

fn encode_effect(w: &mut Writer, effect: &Effect) -> [u8; EFFECT_RECORD] {
    let mut r = [0u8; EFFECT_RECORD];
    let (kind, number, amount, label, extra, lines) = match effect {
        Effect::LineAdjustment(a) => (
            LINE_ADJUSTMENT,
            a.line,
            a.discount,
            w.span(&a.label),
            w.opt(a.coupon.as_deref()),
            pair(0, 0),
        ),
        Effect::OrderAdjustment(a) => (
            ORDER_ADJUSTMENT,
            0,
            a.discount,
            w.span(&a.label),
            w.opt(a.coupon.as_deref()),
            w.list(&a.lines),
        ),
        Effect::ShippingAdjustment(a) => (
            SHIPPING_ADJUSTMENT,
            0,
            a.discount,
            w.span(&a.label),
            pair(ABSENT, 0),
            pair(0, 0),
        ),
        Effect::Commission(c) => {
            r[1..3].copy_from_slice(&party_bytes(c.payer));
            r[3..5].copy_from_slice(&party_bytes(c.payee));
            let amount = match c.share {
                Share::Amount(fen) => fen,
                Share::Rate(ppm) => {
                    r[5] = 1;
                    i64::from(ppm)
                }
            };
            (
                COMMISSION,
                c.line,
                amount,
                w.span(&c.label),
                w.span(&c.beneficiary),
                pair(0, 0),
            )
        }
        Effect::Gift(g) => (
            GIFT,
            g.quantity,
            g.value,
            w.span(&g.label),
            w.span(&g.sku),
            pair(0, 0),
        ),
        Effect::PointsDeduction(p) => (
            POINTS_DEDUCTION,
            0,
            p.points,
            w.span(&p.label),
            pair(ABSENT, 0),
            pair(0, 0),
        ),
        Effect::Note(n) => (NOTE, 0, 0, w.span(n), pair(ABSENT, 0), pair(0, 0)),
    };
    r[0] = kind;
    r[8..12].copy_from_slice(&number.to_le_bytes());
    r[16..24].copy_from_slice(&amount.to_le_bytes());
    r[24..32].copy_from_slice(&label);
    r[32..40].copy_from_slice(&extra);
    r[40..48].copy_from_slice(&lines);
    r
}

/// Decode an answer: the effects, or the rule's error message. Bytes that do not follow
/// the layout are refused; nothing is read out of bounds and every loop is bounded by a
/// count the buffer's length vouches for.
pub fn decode_answer(bytes: &[u8]) -> Result<core::result::Result<Vec<Effect>, String>> {
    let u32_at = |at: usize| -> Result<u32> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(WireError("a field lies past the end"))
    };
    if bytes.get(..4) != Some(&ANSWER_MAGIC[..]) {
        return Err(WireError("the answer does not start with PZA2"));
    }
    let status = bytes.get(4).copied().unwrap_or(u8::MAX);
    let (n, lists, text) = (
        u32_at(8)? as usize,
        u32_at(12)? as usize,
        u32_at(16)? as usize,
    );
    // Counts are u32, so these cannot overflow a 64-bit usize; on 32 bits they are checked.
    let lists_at = n
        .checked_mul(EFFECT_RECORD)
        .and_then(|r| r.checked_add(ANSWER_HEADER));
    let text_at = lists_at.and_then(|at| at.checked_add(lists.checked_mul(4)?.next_multiple_of(8)));
    let end = text_at.and_then(|at| at.checked_add(text));
    let (Some(lists_at), Some(text_at), Some(end)) = (lists_at, text_at, end) else {
        return Err(WireError("the answer's counts overflow"));
    };
    if end != bytes.len() {
        return Err(WireError("the answer's length does not match its counts"));
    }
    let Ok(text) = core::str::from_utf8(&bytes[text_at..]) else {
        return Err(WireError("the answer's text is not UTF-8"));
    };
    let reader = Reader {
        bytes,
        lists: &bytes[lists_at..lists_at + 4 * lists],
        text,
    };
    match status {
        0 => {}
        1 if n == 0 && lists == 0 => return Ok(Err(text.to_owned())),
        1 => return Err(WireError("an error answer carries effects")),
        _ => return Err(WireError("unknown answer status")),
    }
    (0..n)
        .map(|i| reader.effect(ANSWER_HEADER + EFFECT_RECORD * i))
        .collect::<Result<Vec<_>>>()
        .map(Ok)
}

struct Reader<'a> {
    bytes: &'a [u8],
    lists: &'a [u8],
    text: &'a str,
}

impl Reader<'_> {
    fn pair(&self, at: usize) -> (usize, usize) {
        let u = |at: usize| {
            let b = &self.bytes[at..at + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        };
        (u(at), u(at + 4))
    }

    fn span(&self, at: usize) -> Result<String> {
        let (start, len) = self.pair(at);
        start
            .checked_add(len)
            .and_then(|end| self.text.get(start..end))
            .map(str::to_owned)
            .ok_or(WireError(
                "a string lies outside the text or splits a character",
            ))
    }

    fn opt(&self, at: usize) -> Result<Option<String>> {
        if self.pair(at).0 == ABSENT as usize {
            return Ok(None);
        }
        self.span(at).map(Some)
    }

    fn list(&self, at: usize) -> Result<Vec<u32>> {
        let (start, len) = self.pair(at);
        let end = start.checked_add(len).and_then(|end| end.checked_mul(4));
        let bounds = start.checked_mul(4).zip(end);
        let Some(entries) = bounds.and_then(|(from, to)| self.lists.get(from..to)) else {
            return Err(WireError("a list lies outside the list table"));
        };
        Ok(entries
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The effect whose record starts at `at` (inside the buffer: the counts vouch).
    fn effect(&self, at: usize) -> Result<Effect> {
        let r = &self.bytes[at..at + EFFECT_RECORD];
        let number = u32::from_le_bytes([r[8], r[9], r[10], r[11]]);
        let amount = i64::from_le_bytes([r[16], r[17], r[18], r[19], r[20], r[21], r[22], r[23]]);
        let label = || self.span(at + 24);
        Ok(match r[0] {
            LINE_ADJUSTMENT => Effect::LineAdjustment(LineAdjustment {
                line: number,
                discount: amount,
                label: label()?,
                coupon: self.opt(at + 32)?,
            }),
            ORDER_ADJUSTMENT => Effect::OrderAdjustment(OrderAdjustment {
                discount: amount,
                label: label()?,
                coupon: self.opt(at + 32)?,
                lines: self.list(at + 40)?,
            }),
            SHIPPING_ADJUSTMENT => Effect::ShippingAdjustment(ShippingAdjustment {
                discount: amount,
                label: label()?,
            }),
            COMMISSION => Effect::Commission(Commission {
                line: number,
                payer: party_of([r[1], r[2]])?,
                payee: party_of([r[3], r[4]])?,
                beneficiary: self.span(at + 32)?,
                share: match r[5] {
                    0 => Share::Amount(amount),
                    1 => Share::Rate(
                        u32::try_from(amount).map_err(|_| WireError("a rate passes u32"))?,
                    ),
                    _ => return Err(WireError("unknown share kind")),
                },
                label: label()?,
            }),
            GIFT => Effect::Gift(Gift {
                sku: self.span(at + 32)?,
                quantity: number,
                value: amount,
                label: label()?,
            }),
            POINTS_DEDUCTION => Effect::PointsDeduction(PointsDeduction {
                points: amount,
                label: label()?,
            }),
            NOTE => Effect::Note(label()?),
            _ => return Err(WireError("unknown effect kind")),
        })
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
