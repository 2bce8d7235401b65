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
    /// Indices of the cart's lines the step sees.
    visible: Vec<u32>,
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
        let mut step = Vec::new();
        encode_step(
            &StepFields {
                visible: &self.visible,
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
        id: None,
        tags: Vec::new(),
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
    id: Option<String>,
    tags: Vec<String>,
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
    /// Add a product tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.to_owned());
        self
    }
    /// Set the line's id (default `l{n}`).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
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
/// current amount, shipping free, every line in the step's scope.
pub fn cart() -> CartBuilder {
    CartBuilder {
        buyer: "b-1".to_owned(),
        new_customer: false,
        buyer_tags: Vec::new(),
        now_ms: 0,
        gift: false,
        scope: None,
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
    buyer: String,
    new_customer: bool,
    buyer_tags: Vec<String>,
    now_ms: i64,
    gift: bool,
    scope: Option<Vec<u32>>,
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
    /// The buyer's id.
    pub fn buyer(mut self, id: &str) -> Self {
        self.buyer = id.to_owned();
        self
    }
    /// The buyer's first order with this merchant.
    pub fn new_customer(mut self) -> Self {
        self.new_customer = true;
        self
    }
    /// Add a buyer tag.
    pub fn buyer_tag(mut self, tag: &str) -> Self {
        self.buyer_tags.push(tag.to_owned());
        self
    }
    /// The request's time, milliseconds since the Unix epoch.
    pub fn now(mut self, ms: i64) -> Self {
        self.now_ms = ms;
        self
    }
    /// The lines the step sees (indices into the lines added, in order); the rest are out
    /// of its scope. [`CartBuilder::payable`] then lists these lines' amounts.
    pub fn scope(mut self, lines: &[u32]) -> Self {
        self.scope = Some(lines.to_vec());
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
        self.gift = true;
        self.gift_recipients = recipients;
        self
    }
    /// Make the order a gift (送礼), its recipients not yet known.
    pub fn gift(mut self) -> Self {
        self.gift = true;
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
        let ids: Vec<String> = (self.lines.iter().enumerate())
            .map(|(i, l)| l.id.clone().unwrap_or_else(|| format!("l{}", i + 1)))
            .collect();
        for (l, id) in self.lines.iter().zip(&ids) {
            cart.line(&LineFields {
                id,
                sku: &l.sku,
                spu: &l.spu,
                merchant: &l.merchant,
                categories: &l.categories,
                tags: &l.tags,
                quantity: l.quantity,
                unit_price: l.unit_price.0,
            });
        }
        let visible: Vec<u32> = match self.scope {
            Some(lines) => lines,
            None => (0..self.lines.len() as u32).collect(),
        };
        let payable: Vec<i64> = match self.payable {
            Some(p) => p.into_iter().map(|m| m.0).collect(),
            None => (visible.iter())
                .map(|&i| {
                    self.lines[i as usize]
                        .unit_price
                        .times(self.lines[i as usize].quantity)
                        .0
                })
                .collect(),
        };
        let a = &self.attribution;
        let cart = cart.finish(&CartFields {
            buyer_id: &self.buyer,
            member_tier: self.member_tier.as_deref(),
            new_customer: self.new_customer,
            buyer_tags: &self.buyer_tags,
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
            gift: self.gift,
            gift_recipients: self.gift_recipients,
            now_ms: self.now_ms,
            points: self.points,
        });
        let fields = StepState {
            visible,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The builder can set every field of the contract, and the rule's view reads each back.
    #[test]
    fn every_field_of_the_contract_can_be_set() {
        let wire = cart()
            .line(line("tea", Money(6_800), 2).category("tea").tag("new"))
            .line(
                line("cup", Money(3_900), 1)
                    .spu("cups")
                    .merchant("m-2")
                    .id("x9"),
            )
            .buyer("b-7")
            .member("gold")
            .new_customer()
            .buyer_tag("vip")
            .channel(Channel::LiveRoom)
            .promoter("p-1")
            .livestreamer("ls-1")
            .attribution(|a| {
                a.promoter_agency = Some("ag-p".into());
                a.creator = Some("c-1".into());
                a.carrying_agency = Some("ag-c".into());
                a.helper_agency = Some("ag-h".into());
                a.share_link = Some("s-1".into());
            })
            .coupon("SAVE20")
            .gift_to(3)
            .now(1_795_000_000_000)
            .points(500)
            .shipping(Money(800))
            .scope(&[1])
            .payable(vec![Money(3_500)])
            .threshold_on_original()
            .input()
            .with_config(r#"{"k":1}"#);
        let input = wire.view();
        let c = &input.cart;
        assert_eq!(c.lines.len(), 1, "only the line in scope");
        let l = &c.lines[0];
        assert_eq!(
            (l.id, l.sku, l.spu, l.merchant),
            ("x9", "cup", "cups", "m-2")
        );
        assert_eq!((l.quantity, l.unit_price), (1, 3_900));
        assert_eq!(c.buyer.id, "b-7");
        assert_eq!(c.buyer.member_tier, Some("gold"));
        assert!(c.buyer.new_customer);
        assert_eq!(c.buyer.tags, vec!["vip"]);
        assert_eq!(c.buyer.points, 500);
        assert_eq!(c.channel, Channel::LiveRoom);
        let a = &c.attribution;
        assert_eq!(
            [a.promoter, a.promoter_agency, a.creator, a.livestreamer],
            [Some("p-1"), Some("ag-p"), Some("c-1"), Some("ls-1")]
        );
        assert_eq!(
            [a.carrying_agency, a.helper_agency, a.share_link],
            [Some("ag-c"), Some("ag-h"), Some("s-1")]
        );
        assert_eq!(c.coupon_codes, vec!["SAVE20"]);
        assert!(c.gift);
        assert_eq!(c.gift_recipients, 3);
        assert_eq!(c.now_ms, 1_795_000_000_000);
        assert_eq!(input.state.payable, vec![3_500]);
        assert_eq!(input.state.shipping, 800);
        assert_eq!(input.state.order_total, 4_300);
        assert_eq!(input.step.threshold_base, ThresholdBase::Original);
        assert_eq!(input.config, r#"{"k":1}"#);

        let all = cart()
            .line(line("tea", Money(100), 1).tag("a").category("b"))
            .input();
        let view = all.view();
        assert_eq!(view.cart.lines[0].tags, vec!["a"]);
        assert_eq!(view.cart.lines[0].categories, vec!["b"]);
        assert!(!view.cart.gift);
    }
}
