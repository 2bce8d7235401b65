//! The cart as a rule sees it: ordinary owned Rust types, decoded inside the plugin from the
//! contract's compact wire shape (strings as spans of one buffer, see `plaza-rules.wit`).

use crate::bindings::plaza::rules::types as wire;
use crate::{Channel, Pipeline, StepContext};

/// One cart line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The line's id in the checkout system.
    pub id: String,
    /// Stock-keeping unit.
    pub sku: String,
    /// Product (standard product unit) the sku belongs to.
    pub spu: String,
    /// Merchant selling the line.
    pub merchant: String,
    /// Categories of the product.
    pub categories: Vec<String>,
    /// Free-form product tags.
    pub tags: Vec<String>,
    /// Units bought.
    pub quantity: u32,
    /// List price of one unit, in fen.
    pub unit_price: i64,
}

/// The buyer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buyer {
    /// The buyer's id.
    pub id: String,
    /// Member tier name ("gold", "silver" …), if the buyer is a member.
    pub member_tier: Option<String>,
    /// First order with this merchant.
    pub new_customer: bool,
    /// Free-form buyer tags.
    pub tags: Vec<String>,
}

/// Who brought the sale, as the host resolved it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The promoter (推客) whose link or share brought the buyer.
    pub promoter: Option<String>,
    /// The agency the promoter belongs to.
    pub promoter_agency: Option<String>,
    /// The creator (达人) whose content sold the goods.
    pub creator: Option<String>,
    /// The livestreamer (主播) whose room or link sold the goods.
    pub livestreamer: Option<String>,
    /// The agency carrying the goods (二级团: the first agency of the chain).
    pub carrying_agency: Option<String>,
    /// The helper agency the carrying agency passed the goods to.
    pub helper_agency: Option<String>,
    /// The share link used, if any.
    pub share_link: Option<String>,
}

/// The cart: only the lines in the step's scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    /// The lines in the step's scope.
    pub lines: Vec<Line>,
    /// Who is buying.
    pub buyer: Buyer,
    /// Where the buyer came from.
    pub channel: Channel,
    /// Who brought the sale.
    pub attribution: Attribution,
    /// Coupon codes the buyer presented.
    pub coupon_codes: Vec<String>,
    /// The order is a gift (送礼).
    pub gift: bool,
    /// The request's time, milliseconds since the Unix epoch. Rules have no clock.
    pub now_ms: i64,
}

/// Everything a rule sees in one evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Line references in effects index `cart.lines`.
    pub cart: Cart,
    /// Current payable per line (same order as `cart.lines`), shipping, order total.
    pub state: Pipeline,
    /// How the plan runs this step (threshold base).
    pub step: StepContext,
    /// The step's configuration, JSON.
    pub config: String,
}

impl Input {
    /// Decode the contract's wire shape. Out-of-range spans (which the host never sends)
    /// decode as empty strings rather than panicking.
    pub fn decode(wire: wire::Input) -> Input {
        let d = Decoder {
            text: &wire.text,
            texts: &wire.texts,
        };
        let c = wire.cart;
        let a = c.attribution;
        Input {
            cart: Cart {
                lines: c
                    .lines
                    .iter()
                    .map(|l| Line {
                        id: d.text(l.id),
                        sku: d.text(l.sku),
                        spu: d.text(l.spu),
                        merchant: d.text(l.merchant),
                        categories: d.texts(l.categories),
                        tags: d.texts(l.tags),
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                    })
                    .collect(),
                buyer: Buyer {
                    id: d.text(c.buyer.id),
                    member_tier: d.opt(c.buyer.member_tier),
                    new_customer: c.buyer.new_customer,
                    tags: d.texts(c.buyer.tags),
                },
                channel: c.channel,
                attribution: Attribution {
                    promoter: d.opt(a.promoter),
                    promoter_agency: d.opt(a.promoter_agency),
                    creator: d.opt(a.creator),
                    livestreamer: d.opt(a.livestreamer),
                    carrying_agency: d.opt(a.carrying_agency),
                    helper_agency: d.opt(a.helper_agency),
                    share_link: d.opt(a.share_link),
                },
                coupon_codes: d.texts(c.coupon_codes),
                gift: c.gift,
                now_ms: c.now_ms,
            },
            state: wire.state,
            step: wire.step,
            config: wire.config,
        }
    }
}

struct Decoder<'a> {
    text: &'a str,
    texts: &'a [wire::Text],
}

impl Decoder<'_> {
    fn text(&self, t: wire::Text) -> String {
        let (start, end) = (t.start as usize, t.start as usize + t.len as usize);
        self.text.get(start..end).unwrap_or_default().to_owned()
    }

    fn opt(&self, t: Option<wire::Text>) -> Option<String> {
        t.map(|t| self.text(t))
    }

    fn texts(&self, run: wire::Texts) -> Vec<String> {
        let (start, end) = (run.start as usize, run.start as usize + run.len as usize);
        self.texts
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|t| self.text(*t))
            .collect()
    }
}
