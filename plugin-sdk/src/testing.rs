//! A native test harness: build a cart in a line or two and run a rule without wasm.
//!
//! The builder produces the contract's real wire shape, and [`run`] decodes it exactly as
//! the plugin does inside Plaza, so a native test exercises the same path.
//!
//! ```
//! use plaza_plugin_sdk::testing::{cart, line};
//! use plaza_plugin_sdk::{Input, Money};
//!
//! let wire = cart()
//!     .line(line("tea", Money::yuan(120), 2).category("drinks"))
//!     .member("gold")
//!     .promoter("p-1")
//!     .input();
//! let input = Input::decode(&wire);
//! assert_eq!(input.original_total(), Money::yuan(240));
//! assert_eq!(input.cart.lines[0].categories, vec!["drinks"]);
//! ```

use crate::bindings::plaza::rules::types as wire;
use crate::{Channel, Effect, Input, Money, Rule, ThresholdBase};

/// Run `R` natively with a JSON configuration, as the host would: the configuration is
/// validated first, then the rule evaluates `input` (from [`CartBuilder::input`]).
pub fn run<R: Rule>(config: &str, input: &wire::Input) -> Result<Vec<Effect>, String> {
    crate::validate_config::<R>(config)?;
    let mut view = Input::decode(input);
    view.config = config;
    crate::evaluate::<R>(&view)
}

/// A cart line with id `l{n}` (set by [`CartBuilder::line`]), sku and spu `sku`, merchant `m-1`.
pub fn line(sku: &str, unit_price: Money, quantity: u32) -> LineBuilder {
    LineBuilder {
        sku: sku.to_owned(),
        spu: sku.to_owned(),
        merchant: "m-1".to_owned(),
        categories: Vec::new(),
        quantity,
        unit_price,
    }
}

/// Builds one line.
#[derive(Debug, Clone)]
pub struct LineBuilder {
    sku: String,
    spu: String,
    merchant: String,
    categories: Vec<String>,
    quantity: u32,
    unit_price: Money,
}

impl LineBuilder {
    /// Add a category.
    pub fn category(mut self, category: &str) -> Self {
        self.categories.push(category.to_owned());
        self
    }
    /// Set the spu.
    pub fn spu(mut self, spu: &str) -> Self {
        self.spu = spu.to_owned();
        self
    }
    /// Set the merchant.
    pub fn merchant(mut self, merchant: &str) -> Self {
        self.merchant = merchant.to_owned();
        self
    }
}

/// Who brought the sale, for [`CartBuilder::attribution`].
#[derive(Debug, Clone, Default)]
pub struct TestAttribution {
    /// The promoter (推客).
    pub promoter: Option<String>,
    /// The promoter's agency.
    pub promoter_agency: Option<String>,
    /// The creator (达人).
    pub creator: Option<String>,
    /// The livestreamer (主播).
    pub livestreamer: Option<String>,
    /// The carrying agency.
    pub carrying_agency: Option<String>,
    /// The helper agency.
    pub helper_agency: Option<String>,
    /// The share link.
    pub share_link: Option<String>,
}

/// An empty cart from buyer `b-1` in a mini program, at time 0, thresholds judged on the
/// current amount, shipping free.
pub fn cart() -> CartBuilder {
    CartBuilder {
        lines: Vec::new(),
        member_tier: None,
        channel: Channel::MiniProgram,
        attribution: TestAttribution::default(),
        coupons: Vec::new(),
        payable: None,
        shipping: Money::ZERO,
        threshold_base: ThresholdBase::Current,
    }
}

/// Builds an input.
#[derive(Debug, Clone)]
pub struct CartBuilder {
    lines: Vec<LineBuilder>,
    member_tier: Option<String>,
    channel: Channel,
    attribution: TestAttribution,
    coupons: Vec<String>,
    payable: Option<Vec<Money>>,
    shipping: Money,
    threshold_base: ThresholdBase,
}

impl CartBuilder {
    /// Add a line; its id becomes `l1`, `l2` … in order.
    pub fn line(mut self, line: LineBuilder) -> Self {
        self.lines.push(line);
        self
    }
    /// The buyer's member tier.
    pub fn member(mut self, tier: &str) -> Self {
        self.member_tier = Some(tier.to_owned());
        self
    }
    /// The channel.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = channel;
        self
    }
    /// Attribute the cart to a promoter.
    pub fn promoter(mut self, id: &str) -> Self {
        self.attribution.promoter = Some(id.to_owned());
        self
    }
    /// Attribute the cart to a livestreamer.
    pub fn livestreamer(mut self, id: &str) -> Self {
        self.attribution.livestreamer = Some(id.to_owned());
        self
    }
    /// Edit the attribution directly (agency chain, creator …).
    pub fn attribution(mut self, edit: impl FnOnce(&mut TestAttribution)) -> Self {
        edit(&mut self.attribution);
        self
    }
    /// Present a coupon code.
    pub fn coupon(mut self, code: &str) -> Self {
        self.coupons.push(code.to_owned());
        self
    }
    /// Current payable amount per line (defaults to the original amounts).
    pub fn payable(mut self, payable: Vec<Money>) -> Self {
        self.payable = Some(payable);
        self
    }
    /// The shipping fee.
    pub fn shipping(mut self, fee: Money) -> Self {
        self.shipping = fee;
        self
    }
    /// Judge thresholds on the original amount.
    pub fn threshold_on_original(mut self) -> Self {
        self.threshold_base = ThresholdBase::Original;
        self
    }

    /// The finished input in the contract's wire shape (configuration empty; [`run`] sets
    /// it). View it with [`Input::decode`].
    pub fn input(self) -> wire::Input {
        let mut w = Encoder::default();
        let lines: Vec<wire::Line> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| wire::Line {
                id: w.text(&format!("l{}", i + 1)),
                sku: w.text(&l.sku),
                spu: w.text(&l.spu),
                merchant: w.text(&l.merchant),
                categories: w.texts(&l.categories),
                tags: w.texts(&[]),
                quantity: l.quantity,
                unit_price: l.unit_price.0,
            })
            .collect();
        let payable: Vec<i64> = match self.payable {
            Some(p) => p.into_iter().map(|m| m.0).collect(),
            None => self
                .lines
                .iter()
                .map(|l| l.unit_price.times(l.quantity).0)
                .collect(),
        };
        let a = &self.attribution;
        let cart = wire::Cart {
            lines,
            buyer: wire::Buyer {
                id: w.text("b-1"),
                member_tier: w.opt(&self.member_tier),
                new_customer: false,
                tags: w.texts(&[]),
            },
            channel: self.channel,
            attribution: wire::Attribution {
                promoter: w.opt(&a.promoter),
                promoter_agency: w.opt(&a.promoter_agency),
                creator: w.opt(&a.creator),
                livestreamer: w.opt(&a.livestreamer),
                carrying_agency: w.opt(&a.carrying_agency),
                helper_agency: w.opt(&a.helper_agency),
                share_link: w.opt(&a.share_link),
            },
            coupon_codes: w.texts(&self.coupons),
            gift: false,
            now_ms: 0,
        };
        let order_total = payable.iter().sum::<i64>() + self.shipping.0;
        wire::Input {
            text: w.text,
            texts: w.texts,
            cart,
            state: wire::Pipeline {
                payable,
                shipping: self.shipping.0,
                order_total,
            },
            step: wire::StepContext {
                threshold_base: self.threshold_base,
            },
            config: String::new(),
        }
    }
}

/// Packs strings into the wire shape's one text buffer, as the host does.
#[derive(Default)]
struct Encoder {
    text: String,
    texts: Vec<wire::Text>,
}

impl Encoder {
    fn text(&mut self, s: &str) -> wire::Text {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        wire::Text {
            start,
            len: s.len() as u32,
        }
    }

    fn opt(&mut self, s: &Option<String>) -> Option<wire::Text> {
        s.as_deref().map(|s| self.text(s))
    }

    fn texts(&mut self, items: &[String]) -> wire::Texts {
        let start = self.texts.len() as u32;
        for item in items {
            let t = self.text(item);
            self.texts.push(t);
        }
        wire::Texts {
            start,
            len: items.len() as u32,
        }
    }
}
