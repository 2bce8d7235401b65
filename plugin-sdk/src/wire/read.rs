//! Reading the encoded cart and step into the rule's view ([`Input`]), strings borrowed
//! from the buffers. Every offset is checked before use; nothing here can panic or read
//! out of bounds, and every loop is bounded by a count the buffer's length vouches for.

use super::{ABSENT, CART_HEADER, CART_MAGIC, LINE_RECORD, STEP_HEADER, STEP_MAGIC, WireError};
use crate::view::{Attribution, Buyer, Cart, Input, Line};
use crate::{Channel, Pipeline, StepContext, Texts, ThresholdBase};

type Result<T> = core::result::Result<T, WireError>;

fn bad<T>(what: &'static str) -> Result<T> {
    Err(WireError(what))
}

/// Fixed-width little-endian reads, refused past the end.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn get<const N: usize>(self, at: usize) -> Result<[u8; N]> {
        match at.checked_add(N).and_then(|end| self.0.get(at..end)) {
            Some(b) => Ok(b.try_into().unwrap_or([0; N])),
            None => bad("a field lies past the end"),
        }
    }
    fn u32(self, at: usize) -> Result<u32> {
        self.get::<4>(at).map(u32::from_le_bytes)
    }
    fn u16(self, at: usize) -> Result<u16> {
        self.get::<2>(at).map(u16::from_le_bytes)
    }
    fn i64(self, at: usize) -> Result<i64> {
        self.get::<8>(at).map(i64::from_le_bytes)
    }
    fn byte(self, at: usize) -> Result<u8> {
        self.get::<1>(at).map(|[b]| b)
    }
    fn pair(self, at: usize) -> Result<(usize, usize)> {
        Ok((self.u32(at)? as usize, self.u32(at + 4)? as usize))
    }
}

/// The cart's regions, checked against the buffer's length.
struct CartBytes<'a> {
    all: Bytes<'a>,
    lines: usize,
    spans: Bytes<'a>,
    text: &'a str,
}

impl<'a> CartBytes<'a> {
    fn new(buf: &'a [u8]) -> Result<Self> {
        let all = Bytes(buf);
        if all.get::<4>(0)? != CART_MAGIC {
            return bad("the cart does not start with PZC2");
        }
        let (lines, spans, text) = (
            all.u32(4)? as usize,
            all.u32(8)? as usize,
            all.u32(12)? as usize,
        );
        let spans_at = lines
            .checked_mul(LINE_RECORD)
            .and_then(|n| n.checked_add(CART_HEADER));
        let text_at = spans_at.and_then(|at| spans.checked_mul(8)?.checked_add(at));
        let end = text_at.and_then(|at| at.checked_add(text));
        let (Some(spans_at), Some(text_at), Some(end)) = (spans_at, text_at, end) else {
            return bad("the cart's counts overflow");
        };
        if end != buf.len() {
            return bad("the cart's length does not match its counts");
        }
        let Ok(text) = core::str::from_utf8(&buf[text_at..]) else {
            return bad("the cart's text is not UTF-8");
        };
        let cart = CartBytes {
            all,
            lines,
            spans: Bytes(&buf[spans_at..text_at]),
            text,
        };
        // Every list entry, checked once here, so that lists are read lazily (`Texts`).
        for i in 0..spans {
            cart.text(cart.spans.pair(i * 8)?)?;
        }
        Ok(cart)
    }

    fn text(&self, (start, len): (usize, usize)) -> Result<&'a str> {
        match start
            .checked_add(len)
            .and_then(|end| self.text.get(start..end))
        {
            Some(s) => Ok(s),
            None => bad("a string lies outside the text or splits a character"),
        }
    }

    fn span(&self, at: usize) -> Result<&'a str> {
        self.text(self.all.pair(at)?)
    }

    fn opt(&self, at: usize) -> Result<Option<&'a str>> {
        let (start, len) = self.all.pair(at)?;
        if start == ABSENT as usize {
            return Ok(None);
        }
        self.text((start, len)).map(Some)
    }

    fn list(&self, at: usize) -> Result<Texts<'a>> {
        let (start, len) = self.all.pair(at)?;
        self.list_at(start, len)
    }

    fn list_at(&self, start: usize, len: usize) -> Result<Texts<'a>> {
        let bounds = start
            .checked_mul(8)
            .zip(start.checked_add(len).and_then(|end| end.checked_mul(8)));
        match bounds.and_then(|(from, to)| self.spans.0.get(from..to)) {
            Some(spans) => Ok(Texts::new(spans, self.text)),
            None => bad("a list lies outside the span table"),
        }
    }

    fn line(&self, index: usize) -> Result<Line<'a>> {
        if index >= self.lines {
            return bad("a step names a line the cart does not have");
        }
        // One bounds check for the whole record; its fields are then read at constant
        // offsets of a fixed-size array, which checks nothing more (a line is read once per
        // step, and 200 lines are most of a large cart's reading).
        let at = CART_HEADER + index * LINE_RECORD;
        let Some(Ok(record)) = self
            .all
            .0
            .get(at..at + LINE_RECORD)
            .map(<&[u8; LINE_RECORD]>::try_from)
        else {
            return bad("a field lies past the end");
        };
        let word = |i: usize| {
            u32::from_le_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]) as usize
        };
        let span = |i: usize| self.text((word(i), word(i + 4)));
        let list = |i: usize| self.list_at(word(i), word(i + 4));
        let price: [u8; 8] = record[56..64].try_into().unwrap_or([0; 8]);
        Ok(Line {
            id: span(0)?,
            sku: span(8)?,
            spu: span(16)?,
            merchant: span(24)?,
            categories: list(32)?,
            tags: list(40)?,
            quantity: word(48) as u32,
            unit_price: i64::from_le_bytes(price),
        })
    }
}

/// Read the rule's view of one evaluation: the cart's lines the step sees, in the step's
/// order, with their payable amounts, and the step's configuration.
pub fn read<'a>(cart: &'a [u8], step: &'a [u8]) -> Result<Input<'a>> {
    let c = CartBytes::new(cart)?;
    let s = Bytes(step);
    if s.get::<4>(0)? != STEP_MAGIC {
        return bad("the step does not start with PZS2");
    }
    let (m, config_len) = (s.u32(4)? as usize, s.u32(8)? as usize);
    let indices_len = m.checked_mul(4).map(|n| n.next_multiple_of(8));
    let payable_at = indices_len.and_then(|n| n.checked_add(STEP_HEADER));
    let config_at = payable_at.and_then(|at| m.checked_mul(8)?.checked_add(at));
    let end = config_at.and_then(|at| at.checked_add(config_len));
    let (Some(payable_at), Some(config_at), Some(end)) = (payable_at, config_at, end) else {
        return bad("the step's counts overflow");
    };
    if end != step.len() {
        return bad("the step's length does not match its counts");
    }
    let Ok(config) = core::str::from_utf8(&step[config_at..]) else {
        return bad("the configuration is not UTF-8");
    };
    let threshold_base = match s.byte(12)? {
        0 => ThresholdBase::Original,
        1 => ThresholdBase::Current,
        _ => return bad("unknown threshold base"),
    };
    // The length check above vouches for both regions; `get` keeps that a refusal.
    let (Some(indices), Some(amounts)) = (
        step.get(STEP_HEADER..STEP_HEADER + 4 * m),
        step.get(payable_at..config_at),
    ) else {
        return bad("the step's counts overflow");
    };
    let mut lines = Vec::with_capacity(m);
    let mut payable = Vec::with_capacity(m);
    for (index, amount) in indices.chunks_exact(4).zip(amounts.chunks_exact(8)) {
        let index = u32::from_le_bytes([index[0], index[1], index[2], index[3]]);
        lines.push(c.line(index as usize)?);
        payable.push(i64::from_le_bytes(amount.try_into().unwrap_or([0; 8])));
    }
    let h = c.all;
    let Some(&channel) = Channel::ALL.get(h.byte(24)? as usize) else {
        return bad("unknown channel");
    };
    let party = |i: usize| c.opt(64 + 8 * i);
    Ok(Input {
        cart: Cart {
            lines,
            buyer: Buyer {
                id: c.span(32)?,
                member_tier: c.opt(40)?,
                new_customer: h.byte(26)? != 0,
                tags: c.list(48)?,
                points: h.i64(120)?,
            },
            channel,
            attribution: Attribution {
                promoter: party(0)?,
                promoter_agency: party(1)?,
                creator: party(2)?,
                livestreamer: party(3)?,
                carrying_agency: party(4)?,
                helper_agency: party(5)?,
                share_link: party(6)?,
            },
            coupon_codes: c.list(56)?,
            gift: h.byte(25)? != 0,
            gift_recipients: h.u16(27)?,
            now_ms: h.i64(16)?,
        },
        state: Pipeline {
            payable,
            shipping: s.i64(16)?,
            order_total: s.i64(24)?,
        },
        step: StepContext { threshold_base },
        config,
    })
}
