//! "Plugins propose, the host disposes": turn a plugin's proposed effects into a [`Delta`]
//! the host vouches for, or refuse them.
//!
//! - A discount is never negative and never exceeds what is still payable: larger ones are
//!   clipped, and the clip is recorded.
//! - An order discount is allocated across its lines by the host, exactly to the fen.
//! - A discount may redeem only a coupon code the buyer presented: coupon budgets are the
//!   buyer's codes, never whatever string a plugin names.
//! - Commission: only in the commission stage; tied to a sold line (never to a head); a rate
//!   of at most 90 % of its base; each payer pays out at most 90 % of what it received on the
//!   line (so never more than it received); at most two upline levels.
//!
//! A proposal that breaks an invariant (rather than merely exceeding a bound) fails the whole
//! step with [`StepError::InvariantBroken`]: nothing of it applies.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::points::{PointsOffer, Spent};
use super::quote::Adjustment;
use crate::sandbox::StepError;
use crate::{Money, Ppm, allocate};
use plaza_plugin_sdk::{Effect, Party, Share, Stage};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most of its base any commission payer may pass on (shared with the SDK's rules).
pub const MAX_COMMISSION: Ppm = plaza_plugin_sdk::MAX_COMMISSION_RATE;
/// How the violations of the anti-pyramid rules end, so that saving a plan can tell them
/// from the others ([`is_anti_pyramid`]).
const PYRAMID_ENDINGS: [&str; 3] = [
    "nothing is paid for recruiting",
    "paid upline levels (anti-pyramid rule)",
    "nobody earns on their own purchase",
];

/// Whether `violation` breaks an anti-pyramid rule: pay for recruiting (no sold line), a
/// third upline level, commission to the buyer.
pub fn is_anti_pyramid(violation: &str) -> bool {
    PYRAMID_ENDINGS.iter().any(|e| violation.ends_with(e))
}

/// Upline levels that may be paid (anti-pyramid rule).
pub const MAX_UPLINE_LEVEL: u8 = 2;
/// Most units of one gift line.
pub const MAX_GIFT_QUANTITY: u32 = 100;
/// Longest note kept, in bytes.
pub const MAX_NOTE_BYTES: usize = 256;

/// A party of the waterfall, ordered for deterministic maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Merchant,
    CarryingAgency,
    HelperAgency,
    Creator,
    PromoterAgency,
    Promoter,
    Livestreamer,
    Upline(u8),
}

impl Role {
    fn from_party(party: Party) -> Role {
        match party {
            Party::Merchant => Role::Merchant,
            Party::CarryingAgency => Role::CarryingAgency,
            Party::HelperAgency => Role::HelperAgency,
            Party::Creator => Role::Creator,
            Party::PromoterAgency => Role::PromoterAgency,
            Party::Promoter => Role::Promoter,
            Party::Livestreamer => Role::Livestreamer,
            Party::Upline(level) => Role::Upline(level),
        }
    }

    /// The role a [`Role::name`] names.
    pub fn from_name(name: &str) -> Option<Role> {
        Some(match name {
            "merchant" => Role::Merchant,
            "carrying_agency" => Role::CarryingAgency,
            "helper_agency" => Role::HelperAgency,
            "creator" => Role::Creator,
            "promoter_agency" => Role::PromoterAgency,
            "promoter" => Role::Promoter,
            "livestreamer" => Role::Livestreamer,
            other => Role::Upline(other.strip_prefix("upline_")?.parse().ok()?),
        })
    }

    pub fn name(self) -> String {
        match self {
            Role::Merchant => "merchant".into(),
            Role::CarryingAgency => "carrying_agency".into(),
            Role::HelperAgency => "helper_agency".into(),
            Role::Creator => "creator".into(),
            Role::PromoterAgency => "promoter_agency".into(),
            Role::Promoter => "promoter".into(),
            Role::Livestreamer => "livestreamer".into(),
            Role::Upline(level) => format!("upline_{level}"),
        }
    }
}

/// What each party received and paid on each line so far. The merchant's receipt on a line
/// is the line's payable amount.
#[derive(Clone, Debug, Default)]
pub struct Waterfall {
    received: BTreeMap<(usize, Role), Money>,
    paid: BTreeMap<(usize, Role), Money>,
}

impl Waterfall {
    fn received(&self, line: usize, role: Role, payable: &[Money]) -> Money {
        match role {
            Role::Merchant => payable[line],
            _ => self
                .received
                .get(&(line, role))
                .copied()
                .unwrap_or_default(),
        }
    }

    fn paid(&self, line: usize, role: Role) -> Money {
        self.paid.get(&(line, role)).copied().unwrap_or_default()
    }

    pub fn record(&mut self, c: &AcceptedCommission) {
        self.add(c.line, c.payer, c.payee, c.amount);
    }

    /// `payer` paid `payee` `amount` on `line`.
    pub fn add(&mut self, line: usize, payer: Role, payee: Role, amount: Money) {
        *self.paid.entry((line, payer)).or_default() += amount;
        *self.received.entry((line, payee)).or_default() += amount;
    }

    /// What `role` (not the merchant) received on `line`.
    pub fn received_by(&self, line: usize, role: Role) -> Money {
        self.received
            .get(&(line, role))
            .copied()
            .unwrap_or_default()
    }

    /// What `role` paid on `line`.
    pub fn paid_by(&self, line: usize, role: Role) -> Money {
        self.paid(line, role)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedCommission {
    pub line: usize,
    pub payer: Role,
    pub payee: Role,
    pub beneficiary: String,
    pub amount: Money,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedGift {
    pub sku: String,
    pub quantity: u32,
    pub value: Money,
    pub label: String,
}

/// A step's effects as the host accepted them, ready to apply.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    /// (cart line index, adjustment).
    pub line_discounts: Vec<(usize, Adjustment)>,
    pub shipping_discounts: Vec<Adjustment>,
    pub commissions: Vec<AcceptedCommission>,
    pub gifts: Vec<AcceptedGift>,
    /// Points spent, and the fen they paid (in `line_discounts` too).
    pub points: Spent,
    pub notes: Vec<String>,
    pub clipped: Vec<String>,
}

impl Delta {
    pub fn discount(&self) -> Money {
        self.line_discounts
            .iter()
            .map(|(_, a)| a.amount)
            .sum::<Money>()
            + self
                .shipping_discounts
                .iter()
                .map(|a| a.amount)
                .sum::<Money>()
    }

    pub fn commission(&self) -> Money {
        self.commissions.iter().map(|c| c.amount).sum()
    }

    /// Whether the step changes anything the buyer or a party sees in money or goods.
    pub fn applies(&self) -> bool {
        self.discount().0 > 0 || self.commission().0 > 0 || !self.gifts.is_empty()
    }
}

/// The state a step's proposals are judged against.
#[derive(Debug)]
pub struct Context<'a> {
    pub step: &'a str,
    pub stage: Stage,
    /// Plugin's line index → cart line index.
    pub visible: &'a [usize],
    /// Current payable per cart line.
    pub payable: &'a [Money],
    pub shipping: Money,
    pub line_ids: &'a [&'a str],
    pub waterfall: &'a Waterfall,
    /// The coupon codes the buyer presented with the cart.
    pub presented: &'a [String],
    /// The buyer, who is never paid commission on their own purchase.
    pub buyer: &'a str,
    /// In another tenant's layer: the roles whose money it may spend.
    pub payers: Option<&'a [Role]>,
    /// The buyer's points and the merchant's terms (none in another tenant's layer), and
    /// what earlier steps spent of them.
    pub points: Option<&'a PointsOffer>,
    pub points_spent: Spent,
}

impl Context<'_> {
    /// A violation when `coupon` names a code the buyer did not present.
    fn foreign_coupon(&self, at: EffectAt, coupon: Option<&str>) -> Option<String> {
        let code = coupon?;
        (!self.presented.iter().any(|c| c == code)).then(|| {
            format!(
                "{at}: coupon {:?} was not presented by the buyer; a step may redeem only the buyer's codes",
                clip_text(code.to_owned(), 64)
            )
        })
    }
}

/// Judge `effects` against the invariants.
pub fn dispose(cx: &Context<'_>, effects: Vec<Effect>) -> Result<Delta, StepError> {
    let mut delta = Delta::default();
    let mut violations = Vec::new();
    let mut payable = cx.payable.to_vec();
    let mut shipping = cx.shipping;
    let mut waterfall = cx.waterfall.clone();
    let commission_stage = cx.stage == Stage::Commission;
    let step: Arc<str> = cx.step.into();
    let line_of = |i: u32| cx.visible.get(usize::try_from(i).ok()?).copied();

    for (n, effect) in effects.into_iter().enumerate() {
        let at = EffectAt(n);
        let money_effect = !matches!(effect, Effect::Note(_) | Effect::Commission(_));
        if commission_stage && money_effect {
            violations.push(format!(
                "{at}: the commission stage may only propose commission and notes"
            ));
            continue;
        }
        match effect {
            Effect::LineAdjustment(a) => {
                if let Some(v) = cx.foreign_coupon(at, a.coupon.as_deref()) {
                    violations.push(v);
                    continue;
                }
                let Some(line) = line_of(a.line) else {
                    violations.push(format!("{at}: line {} is not in the step's scope", a.line));
                    continue;
                };
                let Some(wanted) = non_negative(a.discount, at, &mut violations) else {
                    continue;
                };
                let amount = wanted.min(payable[line]);
                if amount < wanted {
                    delta.clipped.push(format!(
                        "{at}: discount {wanted} on line {} clipped to {amount}, what was still payable",
                        cx.line_ids[line]
                    ));
                }
                if amount.0 > 0 {
                    payable[line] -= amount;
                    delta.line_discounts.push((
                        line,
                        adjustment(&step, a.label.into(), a.coupon.map(Into::into), amount),
                    ));
                }
            }
            Effect::OrderAdjustment(a) => {
                if let Some(v) = cx.foreign_coupon(at, a.coupon.as_deref()) {
                    violations.push(v);
                    continue;
                }
                let mut lines = Vec::new();
                if a.lines.is_empty() {
                    lines.extend_from_slice(cx.visible);
                } else {
                    for i in &a.lines {
                        match line_of(*i) {
                            Some(line) if !lines.contains(&line) => lines.push(line),
                            Some(_) => {}
                            None => violations
                                .push(format!("{at}: line {i} is not in the step's scope")),
                        }
                    }
                }
                let Some(wanted) = non_negative(a.discount, at, &mut violations) else {
                    continue;
                };
                let weights: Vec<Money> = lines.iter().map(|&l| payable[l]).collect();
                let base: Money = weights.iter().copied().sum();
                let amount = wanted.min(base);
                if amount < wanted {
                    delta.clipped.push(format!(
                        "{at}: order discount {wanted} clipped to {amount}, what was still payable"
                    ));
                }
                if amount.0 <= 0 {
                    continue;
                }
                let (label, coupon): (Arc<str>, Option<Arc<str>>) =
                    (a.label.into(), a.coupon.map(Into::into));
                for (&line, part) in lines.iter().zip(allocate(amount, &weights)) {
                    if part.0 > 0 {
                        payable[line] -= part;
                        delta
                            .line_discounts
                            .push((line, adjustment(&step, label.clone(), coupon.clone(), part)));
                    }
                }
            }
            Effect::ShippingAdjustment(a) => {
                let Some(wanted) = non_negative(a.discount, at, &mut violations) else {
                    continue;
                };
                let amount = wanted.min(shipping);
                if amount < wanted {
                    delta.clipped.push(format!(
                        "{at}: shipping discount {wanted} clipped to {amount}"
                    ));
                }
                if amount.0 > 0 {
                    shipping -= amount;
                    delta
                        .shipping_discounts
                        .push(adjustment(&step, a.label.into(), None, amount));
                }
            }
            Effect::Commission(c) => {
                if !commission_stage {
                    violations.push(format!(
                        "{at}: commission may only be proposed in the commission stage"
                    ));
                    continue;
                }
                match judge_commission(c, at, cx, &payable, &waterfall) {
                    Ok(Some(accepted)) => {
                        waterfall.record(&accepted);
                        delta.commissions.push(accepted);
                    }
                    Ok(None) => {}
                    Err(v) => violations.push(v),
                }
            }
            Effect::Gift(g) => {
                if g.sku.is_empty()
                    || g.sku.len() > 128
                    || g.quantity == 0
                    || g.quantity > MAX_GIFT_QUANTITY
                    || g.value < 0
                {
                    violations.push(format!(
                        "{at}: a gift needs a sku, 1 to {MAX_GIFT_QUANTITY} units and a value that is not negative"
                    ));
                    continue;
                }
                delta.gifts.push(AcceptedGift {
                    sku: g.sku,
                    quantity: g.quantity,
                    value: Money(g.value),
                    label: g.label,
                });
            }
            Effect::PointsDeduction(p) => {
                if cx.stage != Stage::Points {
                    violations.push(format!(
                        "{at}: points may only be deducted in the points stage"
                    ));
                    continue;
                }
                let Some(wanted) = non_negative(p.points, at, &mut violations) else {
                    continue;
                };
                let weights: Vec<Money> = cx.visible.iter().map(|&l| payable[l]).collect();
                let goods: Money = payable.iter().copied().sum();
                let spent = Spent {
                    points: cx.points_spent.points + delta.points.points,
                    value: cx.points_spent.value + delta.points.value,
                };
                let d = super::points::judge(cx.points, spent, wanted.0, &weights, goods);
                if let Some(why) = d.clipped {
                    delta.clipped.push(format!("{at}: {why}"));
                }
                delta.points.points += d.points;
                delta.points.value += d.value;
                let label: Arc<str> = p.label.into();
                for (&line, part) in cx.visible.iter().zip(d.parts) {
                    if part.0 > 0 {
                        payable[line] -= part;
                        delta
                            .line_discounts
                            .push((line, adjustment(&step, label.clone(), None, part)));
                    }
                }
            }
            Effect::Note(text) => delta.notes.push(clip_text(text, MAX_NOTE_BYTES)),
        }
    }
    if violations.is_empty() {
        Ok(delta)
    } else {
        Err(StepError::InvariantBroken { violations })
    }
}

fn judge_commission(
    c: plaza_plugin_sdk::Commission,
    at: EffectAt,
    cx: &Context<'_>,
    payable: &[Money],
    waterfall: &Waterfall,
) -> Result<Option<AcceptedCommission>, String> {
    let Some(line) = usize::try_from(c.line)
        .ok()
        .and_then(|i| cx.visible.get(i).copied())
    else {
        return Err(format!(
            "{at}: commission must be earned on a sold line in scope (line {} is not): nothing is paid for recruiting",
            c.line
        ));
    };
    let (payer, payee) = (Role::from_party(c.payer), Role::from_party(c.payee));
    for role in [payer, payee] {
        if let Role::Upline(level) = role
            && (level == 0 || level > MAX_UPLINE_LEVEL)
        {
            return Err(format!(
                "{at}: upline level {level} refused: at most {MAX_UPLINE_LEVEL} paid upline levels (anti-pyramid rule)"
            ));
        }
    }
    if payee == Role::Merchant || payer == payee {
        return Err(format!(
            "{at}: {} cannot pay {}",
            payer.name(),
            payee.name()
        ));
    }
    // A beneficiary is an id the host files balances and statements under.
    if c.beneficiary.len() > 128 || !crate::shape::is_id(&c.beneficiary) {
        return Err(format!(
            "{at}: beneficiary must be an id: 1 to 128 bytes without spaces, control characters or '/'"
        ));
    }
    if let Some(own) = cx.payers
        && !own.contains(&payer)
    {
        return Err(format!(
            "{at}: this layer pays only as {}; {} is not its to spend",
            own.iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(" or "),
            payer.name()
        ));
    }
    if c.beneficiary == cx.buyer {
        return Err(format!(
            "{at}: commission to the buyer refused: nobody earns on their own purchase"
        ));
    }
    let base = waterfall.received(line, payer, payable);
    let cap = base.rate_floor(MAX_COMMISSION);
    let amount = match c.share {
        Share::Rate(rate) if Ppm(rate) > MAX_COMMISSION => {
            return Err(format!(
                "{at}: rate {rate} ppm exceeds the {} ppm (90 %) commission limit",
                MAX_COMMISSION.0
            ));
        }
        Share::Rate(rate) => base.rate_floor(Ppm(rate)),
        Share::Amount(amount) if amount < 0 => {
            return Err(format!("{at}: negative commission {}", Money(amount)));
        }
        Share::Amount(amount) if Money(amount) > cap => {
            return Err(format!(
                "{at}: {} exceeds 90 % of the {base} {} received on line {}",
                Money(amount),
                payer.name(),
                cx.line_ids[line]
            ));
        }
        Share::Amount(amount) => Money(amount),
    };
    let paid = waterfall.paid(line, payer) + amount;
    if paid > cap {
        return Err(format!(
            "{at}: waterfall broken: {} would pay out {paid} of the {base} it received on line {} (at most 90 %)",
            payer.name(),
            cx.line_ids[line]
        ));
    }
    if amount.0 == 0 {
        return Ok(None);
    }
    Ok(Some(AcceptedCommission {
        line,
        payer,
        payee,
        beneficiary: c.beneficiary,
        amount,
        label: c.label,
    }))
}

fn non_negative(discount: i64, at: EffectAt, violations: &mut Vec<String>) -> Option<Money> {
    if discount < 0 {
        violations.push(format!(
            "{at}: negative discount {} (a surcharge) refused",
            Money(discount)
        ));
        return None;
    }
    Some(Money(discount))
}

fn adjustment(
    step: &Arc<str>,
    label: Arc<str>,
    coupon: Option<Arc<str>>,
    amount: Money,
) -> Adjustment {
    Adjustment {
        step: step.clone(),
        label,
        coupon,
        amount,
    }
}

/// Names an effect ("effect 3") in clip and violation messages. Formatted only when a
/// message is written: most effects are accepted as proposed.
#[derive(Clone, Copy)]
struct EffectAt(usize);

impl std::fmt::Display for EffectAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "effect {}", self.0)
    }
}

fn clip_text(mut text: String, max: usize) -> String {
    text.truncate(text.floor_char_boundary(max));
    text
}

#[cfg(test)]
mod tests;
