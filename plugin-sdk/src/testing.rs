//! A native test harness: build a cart in a line or two and run a rule without wasm.
//!
//! The builder produces the contract's real encoded bytes, and [`run`] reads them exactly
//! as the plugin does inside Plaza, so a native test exercises the same path.
//!
//! ```
//! use plaza_plugin_sdk::testing::{cart, line};
//! use plaza_plugin_sdk::Money;
//!
//! let wire = cart()
//!     .line(line("tea", Money::yuan(120), 2).category("drinks"))
//!     .member("gold")
//!     .promoter("p-1")
//!     .input();
//! let input = wire.view();
//! assert_eq!(input.original_total(), Money::yuan(240));
//! assert_eq!(input.cart.lines[0].categories, vec!["drinks"]);
//! ```

use crate::wire::{CartEncoder, CartFields, LineFields, StepFields, encode_step};
use crate::{Channel, Effect, Input, Money, Rule, ThresholdBase};

/// Run `R` natively with a JSON configuration, as the host would: the configuration is
/// validated first, then the rule evaluates `input` (from [`CartBuilder::input`]), and its
/// answer travels through the contract's encoding as it does out of the sandbox.
pub fn run<R: Rule>(config: &str, input: &TestInput) -> Result<Vec<Effect>, String> {
    crate::validate_config::<R>(config)?;
    let answer = crate::evaluate::<R>(&input.with_config(config).view());
    crate::wire::decode_answer(&crate::wire::encode_answer(&answer))
        .expect("the SDK decodes what it encodes")
}

/// One evaluation's input as the host sends it: the encoded cart and step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestInput {
    /// The encoded cart.
    pub cart: Vec<u8>,
    /// The encoded step (every line visible).
    pub step: Vec<u8>,
    fields: StepState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct StepState {
    payable: Vec<i64>,
    shipping: i64,
    threshold_base: ThresholdBase,
}

impl TestInput {
    /// The rule's view, read from the bytes as inside Plaza.
    ///
    /// # Panics
    /// Never for bytes the builder made.
    pub fn view(&self) -> Input<'_> {
        Input::read(&self.cart, &self.step).expect("the builder encodes valid input")
    }

    /// The same input with the step's configuration set to `config`.
    pub fn with_config(&self, config: &str) -> TestInput {
        let mut out = self.clone();
        out.step = self.fields.encode(config);
        out
    }
}

impl StepState {
    fn encode(&self, config: &str) -> Vec<u8> {
        let visible: Vec<u32> = (0..self.payable.len() as u32).collect();
        let mut step = Vec::new();
        encode_step(
            &StepFields {
                visible: &visible,
                payable: &self.payable,
                shipping: self.shipping,
                order_total: self.payable.iter().sum::<i64>() + self.shipping,
                threshold_base: self.threshold_base,
                config,
            },
            &mut step,
        );
        step
    }
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
        points: 0,
        gift_recipients: 0,
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
    points: i64,
    gift_recipients: u16,
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
    /// The buyer's usable points (the host fills this from its points ledger).
    pub fn points(mut self, points: i64) -> Self {
        self.points = points;
        self
    }
    /// Make the order a gift (送礼) shared out to `recipients` friends.
    pub fn gift_to(mut self, recipients: u16) -> Self {
        self.gift_recipients = recipients;
        self
    }
    /// Judge thresholds on the original amount.
    pub fn threshold_on_original(mut self) -> Self {
        self.threshold_base = ThresholdBase::Original;
        self
    }

    /// The finished input, encoded as the host encodes it (configuration empty; [`run`]
    /// sets it). View it with [`TestInput::view`].
    pub fn input(self) -> TestInput {
        let mut cart = CartEncoder::new();
        let no_tags: Vec<String> = Vec::new();
        let ids: Vec<String> = (1..=self.lines.len()).map(|i| format!("l{i}")).collect();
        for (l, id) in self.lines.iter().zip(&ids) {
            cart.line(&LineFields {
                id,
                sku: &l.sku,
                spu: &l.spu,
                merchant: &l.merchant,
                categories: &l.categories,
                tags: &no_tags,
                quantity: l.quantity,
                unit_price: l.unit_price.0,
            });
        }
        let payable: Vec<i64> = match self.payable {
            Some(p) => p.into_iter().map(|m| m.0).collect(),
            None => self
                .lines
                .iter()
                .map(|l| l.unit_price.times(l.quantity).0)
                .collect(),
        };
        let a = &self.attribution;
        let cart = cart.finish(&CartFields {
            buyer_id: "b-1",
            member_tier: self.member_tier.as_deref(),
            new_customer: false,
            buyer_tags: &no_tags,
            channel: self.channel,
            attribution: [
                a.promoter.as_deref(),
                a.promoter_agency.as_deref(),
                a.creator.as_deref(),
                a.livestreamer.as_deref(),
                a.carrying_agency.as_deref(),
                a.helper_agency.as_deref(),
                a.share_link.as_deref(),
            ],
            coupon_codes: &self.coupons,
            gift: self.gift_recipients > 0,
            gift_recipients: self.gift_recipients,
            now_ms: 0,
            points: self.points,
        });
        let fields = StepState {
            payable,
            shipping: self.shipping.0,
            threshold_base: self.threshold_base,
        };
        TestInput {
            cart,
            step: fields.encode(""),
            fields,
        }
    }
}
