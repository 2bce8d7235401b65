//! A native test harness: build a cart in a line or two and run a rule without wasm.
//!
//! ```
//! use plaza_plugin_sdk::testing::{cart, line};
//! use plaza_plugin_sdk::Money;
//!
//! let input = cart()
//!     .line(line("tea", Money::yuan(120), 2).category("drinks"))
//!     .member("gold")
//!     .promoter("p-1")
//!     .input();
//! assert_eq!(input.original_total(), Money::yuan(240));
//! ```

use crate::{
    Attribution, Buyer, Cart, Channel, Effect, Input, Line, Money, Pipeline, Rule, StepContext,
    ThresholdBase,
};

/// Run `R` natively with a JSON configuration, as the host would: the configuration is
/// validated first, then the rule evaluates `input`.
pub fn run<R: Rule>(config: &str, input: &Input) -> Result<Vec<Effect>, String> {
    crate::validate_config::<R>(config)?;
    let mut input = input.clone();
    input.config = config.to_owned();
    crate::evaluate::<R>(&input)
}

/// A cart line with id `l{n}` (set by [`CartBuilder::line`]), sku and spu `sku`, merchant `m-1`.
pub fn line(sku: &str, unit_price: Money, quantity: u32) -> LineBuilder {
    LineBuilder(Line {
        id: String::new(),
        sku: sku.to_owned(),
        spu: sku.to_owned(),
        merchant: "m-1".to_owned(),
        categories: Vec::new(),
        tags: Vec::new(),
        quantity,
        unit_price: unit_price.0,
    })
}

/// Builds one [`Line`].
#[derive(Debug, Clone)]
pub struct LineBuilder(Line);

impl LineBuilder {
    /// Add a category.
    pub fn category(mut self, category: &str) -> Self {
        self.0.categories.push(category.to_owned());
        self
    }
    /// Set the spu.
    pub fn spu(mut self, spu: &str) -> Self {
        self.0.spu = spu.to_owned();
        self
    }
    /// Set the merchant.
    pub fn merchant(mut self, merchant: &str) -> Self {
        self.0.merchant = merchant.to_owned();
        self
    }
}

/// An empty cart from buyer `b-1` in a mini program, at time 0, thresholds judged on the
/// current amount, shipping free.
pub fn cart() -> CartBuilder {
    CartBuilder {
        cart: Cart {
            lines: Vec::new(),
            buyer: Buyer {
                id: "b-1".to_owned(),
                member_tier: None,
                new_customer: false,
                tags: Vec::new(),
            },
            channel: Channel::MiniProgram,
            attribution: Attribution {
                promoter: None,
                promoter_agency: None,
                creator: None,
                livestreamer: None,
                carrying_agency: None,
                helper_agency: None,
                share_link: None,
            },
            coupon_codes: Vec::new(),
            gift: false,
            now_ms: 0,
        },
        payable: None,
        shipping: Money::ZERO,
        threshold_base: ThresholdBase::Current,
    }
}

/// Builds an [`Input`].
#[derive(Debug, Clone)]
pub struct CartBuilder {
    cart: Cart,
    payable: Option<Vec<Money>>,
    shipping: Money,
    threshold_base: ThresholdBase,
}

impl CartBuilder {
    /// Add a line; its id becomes `l1`, `l2` … in order.
    pub fn line(mut self, line: LineBuilder) -> Self {
        let mut line = line.0;
        line.id = format!("l{}", self.cart.lines.len() + 1);
        self.cart.lines.push(line);
        self
    }
    /// The buyer's member tier.
    pub fn member(mut self, tier: &str) -> Self {
        self.cart.buyer.member_tier = Some(tier.to_owned());
        self
    }
    /// The channel.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.cart.channel = channel;
        self
    }
    /// Attribute the cart to a promoter.
    pub fn promoter(mut self, id: &str) -> Self {
        self.cart.attribution.promoter = Some(id.to_owned());
        self
    }
    /// Attribute the cart to a livestreamer.
    pub fn livestreamer(mut self, id: &str) -> Self {
        self.cart.attribution.livestreamer = Some(id.to_owned());
        self
    }
    /// Edit the attribution directly (agency chain, creator …).
    pub fn attribution(mut self, edit: impl FnOnce(&mut Attribution)) -> Self {
        edit(&mut self.cart.attribution);
        self
    }
    /// Present a coupon code.
    pub fn coupon(mut self, code: &str) -> Self {
        self.cart.coupon_codes.push(code.to_owned());
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
    /// The finished input (configuration empty; [`run`] fills it).
    pub fn input(self) -> Input {
        let payable: Vec<i64> = match self.payable {
            Some(p) => p.into_iter().map(|m| m.0).collect(),
            None => self.cart.lines.iter().map(|l| l.original().0).collect(),
        };
        let order_total = payable.iter().sum::<i64>() + self.shipping.0;
        Input {
            cart: self.cart,
            state: Pipeline {
                payable,
                shipping: self.shipping.0,
                order_total,
            },
            step: StepContext {
                threshold_base: self.threshold_base,
            },
            config: String::new(),
        }
    }
}
