//! The cart as a rule sees it: plain Rust structs whose strings borrow from the encoded
//! cart (see [`crate::wire`]), so reading it copies no string; lists of strings are
//! [`Texts`], read only when a rule looks at them.

use crate::{Channel, Pipeline, StepContext, Texts};

/// One cart line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line's id in the checkout system.
    pub id: &'a str,
    /// Stock-keeping unit.
    pub sku: &'a str,
    /// Product (standard product unit) the sku belongs to.
    pub spu: &'a str,
    /// Merchant selling the line.
    pub merchant: &'a str,
    /// Categories of the product.
    pub categories: Texts<'a>,
    /// Free-form product tags.
    pub tags: Texts<'a>,
    /// Units bought.
    pub quantity: u32,
    /// List price of one unit, in fen.
    pub unit_price: i64,
}

/// The buyer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buyer<'a> {
    /// The buyer's id.
    pub id: &'a str,
    /// Member tier name ("gold", "silver" …), if the buyer is a member.
    pub member_tier: Option<&'a str>,
    /// First order with this merchant.
    pub new_customer: bool,
    /// Free-form buyer tags.
    pub tags: Texts<'a>,
    /// Points the buyer may spend with the merchant now (0 when the merchant runs no
    /// points program). The host fills it from its points ledger, never from the checkout.
    pub points: i64,
}

/// Who brought the sale, as the host resolved it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution<'a> {
    /// The promoter (推客) whose link or share brought the buyer.
    pub promoter: Option<&'a str>,
    /// The agency the promoter belongs to.
    pub promoter_agency: Option<&'a str>,
    /// The creator (达人) whose content sold the goods.
    pub creator: Option<&'a str>,
    /// The livestreamer (主播) whose room or link sold the goods.
    pub livestreamer: Option<&'a str>,
    /// The agency carrying the goods (二级团: the first agency of the chain).
    pub carrying_agency: Option<&'a str>,
    /// The helper agency the carrying agency passed the goods to.
    pub helper_agency: Option<&'a str>,
    /// The share link used, if any.
    pub share_link: Option<&'a str>,
}

/// The cart: only the lines in the step's scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart<'a> {
    /// The lines in the step's scope.
    pub lines: Vec<Line<'a>>,
    /// Who is buying.
    pub buyer: Buyer<'a>,
    /// Where the buyer came from.
    pub channel: Channel,
    /// Who brought the sale.
    pub attribution: Attribution<'a>,
    /// Coupon codes the buyer presented.
    pub coupon_codes: Texts<'a>,
    /// The order is a gift (送礼).
    pub gift: bool,
    /// How many friends the gift is shared out to: 1 to 100 when the order is sent as a
    /// gift at commit; what the checkout says at quote (0 when it does not).
    pub gift_recipients: u16,
    /// The request's time, milliseconds since the Unix epoch. Rules have no clock.
    pub now_ms: i64,
}

/// Everything a rule sees in one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    /// Line references in effects index `cart.lines`.
    pub cart: Cart<'a>,
    /// Current payable per line (same order as `cart.lines`), shipping, order total.
    pub state: Pipeline,
    /// How the plan runs this step (threshold base).
    pub step: StepContext,
    /// The step's configuration, JSON.
    pub config: &'a str,
}

impl<'a> Input<'a> {
    /// Read one evaluation's input from the contract's encoded cart and step (see
    /// [`crate::wire`]). Bytes the host would never send are refused, never trusted.
    pub fn read(cart: &'a [u8], step: &'a [u8]) -> Result<Input<'a>, crate::wire::WireError> {
        crate::wire::read(cart, step)
    }
}
