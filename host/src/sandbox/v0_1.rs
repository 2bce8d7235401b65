//! The 0.1 adapter: components built against the frozen `plaza:rules@0.1.0` contract
//! (`plugin-sdk/wit/plaza-rules.wit`) keep loading and running. The host builds 0.1's
//! input from the same encoded cart and step a 0.2 plugin reads, and turns 0.1's answers
//! into the contract's types, so everything past the sandbox sees one contract.

use super::StoreState;
use plaza_plugin_sdk as sdk;

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit",
    world: "plaza:rules/rule",
});

use self::plaza::rules::types as wit;

/// The interface names a 0.1 plugin may import: the contract's, and nothing else.
pub const ALLOWED_IMPORTS: &[&str] = &["plaza:rules/types@0.1.0", "plaza:rules/host@0.1.0"];

impl plaza::rules::host::Host for StoreState {
    fn log(&mut self, message: String) {
        self.append_log(&message);
    }
}

impl wit::Host for StoreState {}

/// 0.1's input for the view a 0.2 plugin would get.
pub fn input(view: &sdk::Input<'_>) -> wit::Input {
    let mut w = Encoder::default();
    let c = &view.cart;
    let a = &c.attribution;
    let lines = c
        .lines
        .iter()
        .map(|l| wit::Line {
            id: w.text(l.id),
            sku: w.text(l.sku),
            spu: w.text(l.spu),
            merchant: w.text(l.merchant),
            categories: w.texts(&l.categories),
            tags: w.texts(&l.tags),
            quantity: l.quantity,
            unit_price: l.unit_price,
        })
        .collect();
    let cart = wit::Cart {
        lines,
        buyer: wit::Buyer {
            id: w.text(c.buyer.id),
            member_tier: c.buyer.member_tier.map(|t| w.text(t)),
            new_customer: c.buyer.new_customer,
            tags: w.texts(&c.buyer.tags),
        },
        channel: channel(c.channel),
        attribution: wit::Attribution {
            promoter: a.promoter.map(|s| w.text(s)),
            promoter_agency: a.promoter_agency.map(|s| w.text(s)),
            creator: a.creator.map(|s| w.text(s)),
            livestreamer: a.livestreamer.map(|s| w.text(s)),
            carrying_agency: a.carrying_agency.map(|s| w.text(s)),
            helper_agency: a.helper_agency.map(|s| w.text(s)),
            share_link: a.share_link.map(|s| w.text(s)),
        },
        coupon_codes: w.texts(&c.coupon_codes),
        gift: c.gift,
        now_ms: c.now_ms,
    };
    wit::Input {
        text: w.text,
        texts: w.texts,
        cart,
        state: wit::Pipeline {
            payable: view.state.payable.clone(),
            shipping: view.state.shipping,
            order_total: view.state.order_total,
        },
        step: wit::StepContext {
            threshold_base: match view.step.threshold_base {
                sdk::ThresholdBase::Original => wit::ThresholdBase::Original,
                sdk::ThresholdBase::Current => wit::ThresholdBase::Current,
            },
        },
        config: view.config.to_owned(),
    }
}

/// Packs strings into 0.1's one text buffer. Offsets fit `u32`: the input was read from
/// an encoded cart, whose offsets are `u32`.
#[derive(Default)]
struct Encoder {
    text: String,
    texts: Vec<wit::Text>,
}

impl Encoder {
    fn text(&mut self, s: &str) -> wit::Text {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        wit::Text {
            start,
            len: s.len() as u32,
        }
    }

    fn texts(&mut self, items: &sdk::Texts<'_>) -> wit::Texts {
        let start = self.texts.len() as u32;
        for item in items {
            let t = self.text(item);
            self.texts.push(t);
        }
        wit::Texts {
            start,
            len: items.len() as u32,
        }
    }
}

fn channel(c: sdk::Channel) -> wit::Channel {
    use sdk::Channel as C;
    match c {
        C::LiveRoom => wit::Channel::LiveRoom,
        C::ShortVideo => wit::Channel::ShortVideo,
        C::OfficialAccount => wit::Channel::OfficialAccount,
        C::MiniProgram => wit::Channel::MiniProgram,
        C::Search => wit::Channel::Search,
        C::Community => wit::Channel::Community,
        C::PrivateChat => wit::Channel::PrivateChat,
        C::OfflineQr => wit::Channel::OfflineQr,
    }
}

/// 0.1's descriptor in the contract's types.
pub fn descriptor(d: wit::Descriptor) -> sdk::Descriptor {
    use wit::Stage as S;
    sdk::Descriptor {
        name: d.name,
        version: d.version,
        stage: match d.stage {
            S::ItemPrice => sdk::Stage::ItemPrice,
            S::StorePromotion => sdk::Stage::StorePromotion,
            S::Coupon => sdk::Stage::Coupon,
            S::Points => sdk::Stage::Points,
            S::Shipping => sdk::Stage::Shipping,
            S::Commission => sdk::Stage::Commission,
        },
        description: d.description,
        config_schema: d.config_schema,
    }
}

fn party(p: wit::Party) -> sdk::Party {
    use wit::Party as P;
    match p {
        P::Merchant => sdk::Party::Merchant,
        P::CarryingAgency => sdk::Party::CarryingAgency,
        P::HelperAgency => sdk::Party::HelperAgency,
        P::Creator => sdk::Party::Creator,
        P::PromoterAgency => sdk::Party::PromoterAgency,
        P::Promoter => sdk::Party::Promoter,
        P::Livestreamer => sdk::Party::Livestreamer,
        P::Upline(level) => sdk::Party::Upline(level),
    }
}

/// 0.1's effect in the contract's types.
pub fn effect(e: wit::Effect) -> sdk::Effect {
    use wit::Effect as E;
    match e {
        E::LineAdjustment(a) => sdk::Effect::LineAdjustment(sdk::LineAdjustment {
            line: a.line,
            discount: a.discount,
            label: a.label,
            coupon: a.coupon,
        }),
        E::OrderAdjustment(a) => sdk::Effect::OrderAdjustment(sdk::OrderAdjustment {
            discount: a.discount,
            label: a.label,
            coupon: a.coupon,
            lines: a.lines,
        }),
        E::ShippingAdjustment(a) => sdk::Effect::ShippingAdjustment(sdk::ShippingAdjustment {
            discount: a.discount,
            label: a.label,
        }),
        E::Commission(c) => sdk::Effect::Commission(sdk::Commission {
            line: c.line,
            payer: party(c.payer),
            payee: party(c.payee),
            beneficiary: c.beneficiary,
            share: match c.share {
                wit::Share::Amount(a) => sdk::Share::Amount(a),
                wit::Share::Rate(r) => sdk::Share::Rate(r),
            },
            label: c.label,
        }),
        E::Gift(g) => sdk::Effect::Gift(sdk::Gift {
            sku: g.sku,
            quantity: g.quantity,
            value: g.value,
            label: g.label,
        }),
        E::Note(n) => sdk::Effect::Note(n),
    }
}
