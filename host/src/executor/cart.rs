//! The cart a checkout system sends: JSON in, validated, encoded for the rule contract.
//!
//! Validation is where Plaza's money bounds are enforced: every unit price and the
//! shipping fee are at most [`MAX_UNIT_PRICE`], so that quantity × price summed over the
//! largest cart, plus shipping, provably stays inside `i64` (checked at compile time
//! below). Past this edge, quote arithmetic cannot overflow.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use crate::Money;
use plaza_plugin_sdk as wit;
pub use plaza_plugin_sdk::MAX_UNIT_PRICE;
use plaza_plugin_sdk::wire::{CartEncoder, CartFields, LineFields};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// Most lines a cart may have.
pub const MAX_LINES: usize = 500;
/// Most units on one line.
pub const MAX_QUANTITY: u32 = 99_999;
pub use crate::shape::MAX_TEXT_CHARS as MAX_TEXT;
/// The most a valid cart can total: every line at the largest quantity and unit price,
/// plus the largest shipping fee (about 5 × 10¹⁸ fen).
pub const MAX_CART_TOTAL: i128 =
    MAX_LINES as i128 * MAX_QUANTITY as i128 * MAX_UNIT_PRICE.0 as i128 + MAX_UNIT_PRICE.0 as i128;
const _: () = assert!(
    MAX_CART_TOTAL < i64::MAX as i128,
    "the largest valid cart must total inside i64"
);

/// A cart to quote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cart {
    /// 1 to [`MAX_LINES`] lines, each with its own id.
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<CartLine>,
    pub buyer: Buyer,
    #[serde(default = "default_channel")]
    pub channel: Channel,
    #[serde(default)]
    pub attribution: Attribution,
    #[serde(default)]
    #[schema(schema_with = crate::shape::texts_schema)]
    pub coupon_codes: Vec<String>,
    /// Claimed coupons the buyer presents (claim ids, at most [`MAX_CLAIMS`]): the host
    /// checks each and shows the steps its coupon's code. Rules never see the ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = claims_schema)]
    pub claims: Vec<String>,
    /// Ask the host to present the best combination of the buyer's claims (instead of
    /// `claims`): a quote and an order choose the same way `usable-coupons` does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub best_claims: bool,
    #[serde(default)]
    pub gift: bool,
    /// How many friends a gift order is shared out to, for rules that give per recipient
    /// (0 to [`MAX_GIFT_RECIPIENTS`]; only with `gift`). A commit that sends the order as a
    /// gift sets it from `gift.recipients`.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schema(maximum = 100)]
    pub gift_recipients: u16,
    /// The shipping fee before any promotion.
    #[serde(default)]
    #[schema(schema_with = price_schema)]
    pub shipping_fee: Money,
    /// The request's time, milliseconds since the Unix epoch: rules see this, never a clock.
    pub now_ms: i64,
    /// The buyer's points and the merchant's terms: set by the host from its points
    /// ledger, never read from a request.
    #[serde(skip)]
    pub points: Option<super::PointsOffer>,
    /// The merchant's time zone, minutes east of UTC, for daily windows: set by the host
    /// from the merchant's settings (UTC+8 when unset).
    #[serde(skip)]
    pub utc_offset_minutes: Option<i32>,
}

/// Claims one cart may present.
pub const MAX_CLAIMS: usize = 20;
/// Most recipients of one gift order.
pub const MAX_GIFT_RECIPIENTS: u16 = 100;

fn is_zero(n: &u16) -> bool {
    *n == 0
}

fn claims_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::shape::id_schema())
        .max_items(Some(MAX_CLAIMS))
        .build()
}

fn default_channel() -> Channel {
    Channel::MiniProgram
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    /// Shared with the quote's lines (a clone is a count, not a copy).
    #[serde(deserialize_with = "shared_str")]
    #[schema(schema_with = crate::shape::text_schema)]
    pub id: Arc<str>,
    #[serde(deserialize_with = "shared_str")]
    #[schema(schema_with = crate::shape::text_schema)]
    pub sku: Arc<str>,
    /// Defaults to the sku.
    #[serde(default)]
    pub spu: Option<String>,
    #[schema(schema_with = crate::shape::text_schema)]
    pub merchant: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[schema(schema_with = quantity_schema)]
    pub quantity: u32,
    #[schema(schema_with = price_schema)]
    pub unit_price: Money,
}

/// A string read straight into an `Arc<str>`: one allocation, as a `String` takes (serde's
/// own `Arc<str>` goes through a `Box<str>`, one allocation and copy more per string).
fn shared_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
    struct Shared;
    impl serde::de::Visitor<'_> for Shared {
        type Value = Arc<str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Arc<str>, E> {
            Ok(Arc::from(s))
        }
    }
    d.deserialize_str(Shared)
}

/// A unit price or shipping fee: 0 to [`MAX_UNIT_PRICE`] fen.
fn price_schema() -> utoipa::openapi::schema::Object {
    crate::shape::integer(0, MAX_UNIT_PRICE.0, "Fen, 0 to MAX_UNIT_PRICE")
}

/// Units on a line: 1 to [`MAX_QUANTITY`].
fn quantity_schema() -> utoipa::openapi::schema::Object {
    crate::shape::integer(1, MAX_QUANTITY.into(), "Units, 1 to 99,999")
}

impl CartLine {
    /// List price × quantity.
    pub fn original(&self) -> Money {
        self.unit_price.times(self.quantity)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    #[schema(schema_with = crate::shape::text_schema)]
    pub id: String,
    #[serde(default)]
    pub member_tier: Option<String>,
    #[serde(default)]
    pub new_customer: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    #[serde(default)]
    pub promoter: Option<String>,
    #[serde(default)]
    pub promoter_agency: Option<String>,
    #[serde(default)]
    pub creator: Option<String>,
    #[serde(default)]
    pub livestreamer: Option<String>,
    #[serde(default)]
    pub carrying_agency: Option<String>,
    #[serde(default)]
    pub helper_agency: Option<String>,
    #[serde(default)]
    pub share_link: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    LiveRoom,
    ShortVideo,
    OfficialAccount,
    MiniProgram,
    Search,
    Community,
    PrivateChat,
    OfflineQr,
}

impl Channel {
    /// The channel's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::LiveRoom => "live_room",
            Channel::ShortVideo => "short_video",
            Channel::OfficialAccount => "official_account",
            Channel::MiniProgram => "mini_program",
            Channel::Search => "search",
            Channel::Community => "community",
            Channel::PrivateChat => "private_chat",
            Channel::OfflineQr => "offline_qr",
        }
    }
}

/// What is wrong with a cart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CartError {
    #[error("a cart needs at least one line")]
    Empty,
    #[error("{count} lines; the limit is {limit}")]
    TooManyLines { count: usize, limit: usize },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CartError {
    CartError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// `field` is only called (to name the field) when the check fails.
fn check_text(field: impl FnOnce() -> String, value: &str) -> Result<(), CartError> {
    if !crate::shape::is_text(value) {
        return Err(invalid(
            field(),
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

impl Cart {
    /// Check the cart before any rule sees it.
    pub fn validate(&self) -> Result<(), CartError> {
        if self.lines.is_empty() {
            return Err(CartError::Empty);
        }
        if self.lines.len() > MAX_LINES {
            return Err(CartError::TooManyLines {
                count: self.lines.len(),
                limit: MAX_LINES,
            });
        }
        check_text(|| "buyer.id".into(), &self.buyer.id)?;
        if !(0..=MAX_UNIT_PRICE.0).contains(&self.shipping_fee.0) {
            return Err(invalid(
                "shipping_fee",
                format!("must be 0 to {}", MAX_UNIT_PRICE.0),
            ));
        }
        // foldhash, not SipHash: the ids are at most MAX_LINES, so there is no flood to
        // resist, and SipHash was a tenth of a 200-line quote.
        let mut ids: HashSet<&str, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(self.lines.len(), Default::default());
        for (i, line) in self.lines.iter().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            check_text(|| at("id"), &line.id)?;
            check_text(|| at("sku"), &line.sku)?;
            check_text(|| at("merchant"), &line.merchant)?;
            if !ids.insert(&*line.id) {
                return Err(invalid(
                    at("id"),
                    format!("duplicate line id {:?}", line.id),
                ));
            }
            if line.quantity == 0 || line.quantity > MAX_QUANTITY {
                return Err(invalid(
                    at("quantity"),
                    format!("must be 1 to {MAX_QUANTITY}"),
                ));
            }
            if !(0..=MAX_UNIT_PRICE.0).contains(&line.unit_price.0) {
                return Err(invalid(
                    at("unit_price"),
                    format!("must be 0 to {} fen", MAX_UNIT_PRICE.0),
                ));
            }
        }
        for (i, code) in self.coupon_codes.iter().enumerate() {
            check_text(|| format!("coupon_codes[{i}]"), code)?;
        }
        if self.claims.len() > MAX_CLAIMS {
            return Err(invalid("claims", format!("at most {MAX_CLAIMS}")));
        }
        if self.gift_recipients > MAX_GIFT_RECIPIENTS {
            return Err(invalid(
                "gift_recipients",
                format!("at most {MAX_GIFT_RECIPIENTS}"),
            ));
        }
        if self.gift_recipients > 0 && !self.gift {
            return Err(invalid("gift_recipients", "only for a gift (`gift: true`)"));
        }
        for (i, claim) in self.claims.iter().enumerate() {
            if !crate::shape::is_id(claim) {
                return Err(invalid(format!("claims[{i}]"), "not a claim id"));
            }
        }
        Ok(())
    }

    /// The cart encoded for the rule contract (see `plaza_plugin_sdk::wire`): once per
    /// quote; each step names the lines it sees.
    pub fn encode(&self) -> Vec<u8> {
        let texts = |v: &[String]| v.iter().map(String::len).sum::<usize>();
        let (mut items, mut bytes) = (0, 0);
        for l in &self.lines {
            items += l.categories.len() + l.tags.len();
            // The spu is the sku's when the line has none (see below).
            let spu = l.spu.as_deref().unwrap_or(&l.sku).len();
            bytes += l.id.len() + l.sku.len() + spu + l.merchant.len();
            bytes += texts(&l.categories) + texts(&l.tags);
        }
        // Room for the lines; the few strings of the cart's header may grow it once.
        let mut w = CartEncoder::with_capacity(self.lines.len(), items, bytes + 256);
        for line in &self.lines {
            w.line(&LineFields {
                id: &line.id,
                sku: &line.sku,
                spu: line.spu.as_deref().unwrap_or(&line.sku),
                merchant: &line.merchant,
                categories: &line.categories,
                tags: &line.tags,
                quantity: line.quantity,
                unit_price: line.unit_price.0,
            });
        }
        let a = &self.attribution;
        w.finish(&CartFields {
            buyer_id: &self.buyer.id,
            member_tier: self.buyer.member_tier.as_deref(),
            new_customer: self.buyer.new_customer,
            buyer_tags: &self.buyer.tags,
            channel: self.channel.to_contract(),
            attribution: [
                a.promoter.as_deref(),
                a.promoter_agency.as_deref(),
                a.creator.as_deref(),
                a.livestreamer.as_deref(),
                a.carrying_agency.as_deref(),
                a.helper_agency.as_deref(),
                a.share_link.as_deref(),
            ],
            coupon_codes: &self.coupon_codes,
            gift: self.gift,
            gift_recipients: self.gift_recipients,
            now_ms: self.now_ms,
            points: self.points.map_or(0, |p| p.balance),
        })
    }
}

impl Channel {
    fn to_contract(self) -> wit::Channel {
        match self {
            Channel::LiveRoom => wit::Channel::LiveRoom,
            Channel::ShortVideo => wit::Channel::ShortVideo,
            Channel::OfficialAccount => wit::Channel::OfficialAccount,
            Channel::MiniProgram => wit::Channel::MiniProgram,
            Channel::Search => wit::Channel::Search,
            Channel::Community => wit::Channel::Community,
            Channel::PrivateChat => wit::Channel::PrivateChat,
            Channel::OfflineQr => wit::Channel::OfflineQr,
        }
    }
}
