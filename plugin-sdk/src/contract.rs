//! The contract's value types, `plaza:rules@0.2.0`: what a rule sees besides the cart, and
//! what it proposes. The host and the plugins share these definitions; on the wire a
//! plugin's answer is their binary form (see [`crate::wire`]), in the host's API their JSON.
//!
//! Money is always integer minor units (fen) as `i64`; rates are parts per million.

use serde::{Deserialize, Serialize};

/// Pipeline stages, run in this order; each stage sees the result of the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Member price, flash-sale price, livestreamer price: best of, never stacked.
    ItemPrice,
    /// 满减, 满折, 每满减, N件M折.
    StorePromotion,
    /// Store, agency and livestreamer coupons.
    Coupon,
    /// Points deduction.
    Points,
    /// Shipping fee adjustments.
    Shipping,
    /// Commission shares (distribution); sees the final payable amounts.
    Commission,
}

/// Where the buyer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
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
    /// Every channel, in wire order: a channel travels as its index here.
    pub const ALL: [Channel; 8] = [
        Channel::LiveRoom,
        Channel::ShortVideo,
        Channel::OfficialAccount,
        Channel::MiniProgram,
        Channel::Search,
        Channel::Community,
        Channel::PrivateChat,
        Channel::OfflineQr,
    ];
}

/// Which amount a threshold ("spend 300") is judged on: a step setting of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdBase {
    /// List price × quantity, before any discount.
    Original,
    /// What is payable after the earlier steps of the plan.
    Current,
}

/// How the plan runs this step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepContext {
    /// What thresholds are judged on.
    pub threshold_base: ThresholdBase,
}

/// The pipeline state so far, for the lines the step sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Current payable amount of each line, in the order of `cart.lines`.
    pub payable: Vec<i64>,
    /// Current shipping fee.
    pub shipping: i64,
    /// Sum of `payable` plus `shipping`.
    pub order_total: i64,
}

/// Take `discount` off one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineAdjustment {
    /// Index into `input.cart.lines`.
    pub line: u32,
    /// Positive amount to take off.
    pub discount: i64,
    /// Shown to the buyer.
    pub label: String,
    /// The coupon code this discount redeems, if any.
    #[serde(default)]
    pub coupon: Option<String>,
}

/// Take `discount` off the order; the host allocates it across lines exactly to the fen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderAdjustment {
    /// Positive amount to take off.
    pub discount: i64,
    /// Shown to the buyer.
    pub label: String,
    /// The coupon code this discount redeems, if any.
    #[serde(default)]
    pub coupon: Option<String>,
    /// Lines to allocate over (indices into `input.cart.lines`); empty means all.
    #[serde(default)]
    pub lines: Vec<u32>,
}

/// Take `discount` off the shipping fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAdjustment {
    /// Positive amount to take off.
    pub discount: i64,
    /// Shown to the buyer.
    pub label: String,
}

/// A party of the distribution waterfall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Party {
    Merchant,
    CarryingAgency,
    HelperAgency,
    Creator,
    PromoterAgency,
    Promoter,
    Livestreamer,
    /// A promoter's upline, level 1 or 2. The host refuses any deeper level.
    Upline(u8),
}

/// How big a commission share is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    /// A fixed amount.
    Amount(i64),
    /// A rate of what the payer received on the line, in parts per million.
    Rate(u32),
}

/// A commission share on one line, paid by `payer` out of what it received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commission {
    /// Index into `input.cart.lines`.
    pub line: u32,
    /// Who pays.
    pub payer: Party,
    /// Who is paid, by role.
    pub payee: Party,
    /// Who is paid (promoter id, agency id …).
    pub beneficiary: String,
    /// How much.
    pub share: Share,
    /// Shown in the explanation and the ledger.
    pub label: String,
}

/// A free gift line added to the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gift {
    /// The gift's sku.
    pub sku: String,
    /// Units given.
    pub quantity: u32,
    /// List value of the gift, recorded for accounting; the buyer pays nothing for it.
    pub value: i64,
    /// Shown to the buyer.
    pub label: String,
}

/// Pay part of the order with the buyer's points (points stage only). The host converts
/// points to fen at the merchant's exchange rate, in whole exchange units, and clips the
/// deduction to the buyer's usable balance, to the merchant's largest share of the order
/// and to what the step's lines still cost; it allocates the value across those lines
/// exactly to the fen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsDeduction {
    /// Points to spend (not negative).
    pub points: i64,
    /// Shown to the buyer.
    pub label: String,
}

/// One proposal of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Effect {
    LineAdjustment(LineAdjustment),
    OrderAdjustment(OrderAdjustment),
    ShippingAdjustment(ShippingAdjustment),
    Commission(Commission),
    Gift(Gift),
    PointsDeduction(PointsDeduction),
    /// Text for the explanation; changes nothing.
    Note(String),
}

/// What a plugin says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    /// Stable name, kebab-case.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// The stage the rule runs in.
    pub stage: Stage,
    /// One line for people browsing plugins.
    pub description: String,
    /// JSON Schema of the configuration.
    pub config_schema: String,
}
