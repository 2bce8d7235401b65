//! `dispose` with arbitrary effects over arbitrary pipeline states: a sequence of steps in
//! stage order, each proposing structured arbitrary effects against the payable amounts,
//! shipping and commission waterfall the steps before it left. After every accepted step:
//! no line or shipping fee goes negative, every discount is in scope and positive, an order
//! discount is allocated exactly, the commission stage proposes only commission, and every
//! payer pays out at most 90 % of what it received on a line, within two upline levels;
//! points are spent only in the points stage, in whole exchange units, never more than the
//! buyer's balance nor the merchant's share of the goods.

use arbitrary::{Result, Unstructured};
use plaza::Money;
use plaza::executor::cart::{MAX_QUANTITY, MAX_UNIT_PRICE};
use plaza::executor::dispose::{Context, MAX_GIFT_QUANTITY, Role, Waterfall, dispose};
use plaza::executor::plan::{STAGES, stage_rank};
use plaza::executor::points::Spent;
use plaza::executor::{Exchange, PointsOffer};
use plaza::executor::{MAX_COMMISSION, MAX_UPLINE_LEVEL};
use plaza_plugin_sdk::{
    Commission, Effect, Gift, LineAdjustment, OrderAdjustment, Party, PointsDeduction, Ppm, Share,
    ShippingAdjustment, Stage,
};
use std::collections::BTreeMap;

/// The buyer of every fuzzed cart: never paid commission.
const BUYER: &str = "b-fuzz";

const CODES: [&str; 3] = ["SAVE20", "VIP", "LIVE5"];

pub fn check(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

/// What the pipeline holds between steps, kept by the check itself.
struct Pipeline {
    payable: Vec<Money>,
    shipping: Money,
    waterfall: Waterfall,
    /// Received and paid by (line, party) through commission (the merchant receives the
    /// line's payable amount).
    received: BTreeMap<(usize, Role), Money>,
    paid: BTreeMap<(usize, Role), Money>,
    /// Points spent so far, and the goods when the points stage began.
    points: Spent,
    goods_at_points: Option<Money>,
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let lines = u.int_in_range(1..=8usize)?;
    let most_per_line = MAX_UNIT_PRICE.0 * i64::from(MAX_QUANTITY);
    let mut p = Pipeline {
        payable: (0..lines)
            .map(|_| amount_in(u, most_per_line))
            .collect::<Result<_>>()?,
        shipping: amount_in(u, MAX_UNIT_PRICE.0)?,
        waterfall: Waterfall::default(),
        received: BTreeMap::new(),
        paid: BTreeMap::new(),
        points: Spent::default(),
        goods_at_points: None,
    };
    let offer = if u.arbitrary()? {
        Some(PointsOffer {
            balance: amount_in(u, plaza::executor::points::MAX_POINTS)?.0,
            exchange: Exchange {
                points: u.int_in_range(1..=1_000_000)?,
                fen: u.int_in_range(1..=1_000_000)?,
            },
            max_share: Ppm(u.int_in_range(0..=1_000_000)?),
        })
    } else {
        None
    };
    let ids: Vec<String> = (0..lines).map(|i| format!("l{i}")).collect();
    let line_ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut presented = Vec::new();
    for code in CODES {
        if u.arbitrary()? {
            presented.push(code.to_owned());
        }
    }
    let mut stages = Vec::new();
    for _ in 0..u.int_in_range(1..=6)? {
        stages.push(*u.choose(&STAGES)?);
    }
    stages.sort_by_key(|s| stage_rank(*s));
    for (k, stage) in stages.into_iter().enumerate() {
        let mut visible = Vec::new();
        for line in 0..lines {
            if u.ratio(3, 4)? {
                visible.push(line);
            }
        }
        let mut effects = Vec::new();
        for _ in 0..u.int_in_range(0..=6)? {
            effects.push(effect(u, visible.len())?);
        }
        let step = format!("s{k}");
        let cx = Context {
            step: &step,
            stage,
            visible: &visible,
            payable: &p.payable,
            shipping: p.shipping,
            line_ids: &line_ids,
            waterfall: &p.waterfall,
            presented: &presented,
            buyer: BUYER,
            payers: None,
            points: offer.as_ref(),
            points_spent: p.points,
        };
        if stage == Stage::Points && p.goods_at_points.is_none() {
            p.goods_at_points = Some(p.payable.iter().copied().sum());
        }
        for e in &effects {
            if let Effect::OrderAdjustment(a) = e {
                exact_alone(&cx, a);
            }
        }
        if let Ok(delta) = dispose(&cx, effects) {
            spend(&mut p, stage, offer.as_ref(), &delta);
            apply(&mut p, stage, &visible, delta);
        }
    }
    Ok(())
}

/// An order discount judged on its own is allocated to the fen: exactly what was asked,
/// or all that its lines still had to pay.
fn exact_alone(cx: &Context<'_>, a: &OrderAdjustment) {
    let Ok(delta) = dispose(cx, vec![Effect::OrderAdjustment(a.clone())]) else {
        return;
    };
    let mut lines: Vec<usize> = if a.lines.is_empty() {
        cx.visible.to_vec()
    } else {
        a.lines.iter().map(|&i| cx.visible[i as usize]).collect()
    };
    lines.sort_unstable();
    lines.dedup();
    let base: Money = lines.iter().map(|&l| cx.payable[l]).sum();
    let given: Money = delta.line_discounts.iter().map(|(_, a)| a.amount).sum();
    assert_eq!(given, Money(a.discount).min(base), "{a:?} over {lines:?}");
    assert!(delta.line_discounts.iter().all(|(l, _)| lines.contains(l)));
}

/// The points a step spent: only in the points stage, only what the offer allows.
fn spend(
    p: &mut Pipeline,
    stage: Stage,
    offer: Option<&PointsOffer>,
    delta: &plaza::executor::dispose::Delta,
) {
    let spent = delta.points;
    assert!(spent.points >= 0 && spent.value.0 >= 0);
    if spent.points == 0 {
        assert_eq!(spent.value, Money::ZERO);
        return;
    }
    assert_eq!(stage, Stage::Points, "points spent outside their stage");
    let offer = offer.expect("points spent without an offer");
    let ex = offer.exchange;
    assert_eq!(
        spent.points % i64::from(ex.points),
        0,
        "a part of an exchange unit"
    );
    assert_eq!(
        i128::from(spent.value.0) * i128::from(ex.points),
        i128::from(spent.points) * i128::from(ex.fen),
        "not at the exchange rate"
    );
    p.points.points += spent.points;
    p.points.value += spent.value;
    assert!(p.points.points <= offer.balance, "more than the balance");
    let goods = p.goods_at_points.expect("set when the stage began");
    assert!(
        p.points.value <= goods.rate_floor(offer.max_share),
        "more than the merchant's share"
    );
}

fn apply(
    p: &mut Pipeline,
    stage: Stage,
    visible: &[usize],
    delta: plaza::executor::dispose::Delta,
) {
    let commission_stage = stage == Stage::Commission;
    if commission_stage {
        assert!(delta.line_discounts.is_empty() && delta.shipping_discounts.is_empty());
        assert!(delta.gifts.is_empty());
    } else {
        assert!(delta.commissions.is_empty(), "commission outside its stage");
    }
    assert!(
        delta.commissions.iter().all(|c| c.beneficiary != BUYER),
        "commission to the buyer"
    );
    let mut taken = vec![Money::ZERO; p.payable.len()];
    for (line, a) in &delta.line_discounts {
        assert!(
            visible.contains(line),
            "a discount on line {line}, out of scope"
        );
        assert!(a.amount.0 > 0);
        taken[*line] += a.amount;
    }
    for (line, amount) in taken.into_iter().enumerate() {
        assert!(
            amount <= p.payable[line],
            "line {line} discounted past what it owed"
        );
        p.payable[line] -= amount;
    }
    let shipping: Money = delta.shipping_discounts.iter().map(|a| a.amount).sum();
    assert!(delta.shipping_discounts.iter().all(|a| a.amount.0 > 0));
    assert!(shipping <= p.shipping, "shipping discounted below zero");
    p.shipping -= shipping;
    for g in &delta.gifts {
        assert!((1..=MAX_GIFT_QUANTITY).contains(&g.quantity) && g.value.0 >= 0);
    }
    for c in &delta.commissions {
        assert!(visible.contains(&c.line) && c.amount.0 > 0);
        assert!(c.payee != Role::Merchant && c.payer != c.payee);
        for role in [c.payer, c.payee] {
            if let Role::Upline(level) = role {
                assert!((1..=MAX_UPLINE_LEVEL).contains(&level), "upline {level}");
            }
        }
        *p.paid.entry((c.line, c.payer)).or_default() += c.amount;
        *p.received.entry((c.line, c.payee)).or_default() += c.amount;
        p.waterfall.record(c);
    }
    for (&(line, payer), &paid) in &p.paid {
        let received = match payer {
            Role::Merchant => p.payable[line],
            other => p.received.get(&(line, other)).copied().unwrap_or_default(),
        };
        assert!(
            paid <= received.rate_floor(MAX_COMMISSION),
            "{payer:?} paid {paid} of the {received} it received on line {line}"
        );
    }
}

/// An amount from 0 to `most`, drawn towards the edges.
fn amount_in(u: &mut Unstructured<'_>, most: i64) -> Result<Money> {
    Ok(Money(match u.int_in_range(0..=3)? {
        0 => 0,
        1 => most,
        2 => u.int_in_range(0..=10_000)?,
        _ => u.int_in_range(0..=most)?,
    }))
}

/// Any i64 a plugin might propose, drawn towards the edges.
fn proposed(u: &mut Unstructured<'_>) -> Result<i64> {
    Ok(match u.int_in_range(0..=5)? {
        0 => 0,
        1 => u.int_in_range(1..=100_000)?,
        2 => -u.int_in_range(1..=100_000)?,
        3 => *u.choose(&[i64::MAX, i64::MIN, i64::MAX / 2, MAX_UNIT_PRICE.0])?,
        _ => u.arbitrary()?,
    })
}

fn index(u: &mut Unstructured<'_>, visible: usize) -> Result<u32> {
    // Mostly in scope; now and then one past it, or anything.
    Ok(match u.int_in_range(0..=9)? {
        0 => u.arbitrary()?,
        1 => u32::try_from(visible).unwrap_or(u32::MAX),
        _ => u.int_in_range(0..=u32::try_from(visible.max(1) - 1).unwrap_or(0))?,
    })
}

fn coupon(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(match u.int_in_range(0..=4)? {
        0 => Some("NOT-PRESENTED".into()),
        1 | 2 => Some((*u.choose(&CODES)?).into()),
        _ => None,
    })
}

fn party(u: &mut Unstructured<'_>) -> Result<Party> {
    Ok(match u.int_in_range(0..=7)? {
        0 => Party::Merchant,
        1 => Party::CarryingAgency,
        2 => Party::HelperAgency,
        3 => Party::Creator,
        4 => Party::PromoterAgency,
        5 => Party::Promoter,
        6 => Party::Livestreamer,
        _ => Party::Upline(u.int_in_range(0..=3)?),
    })
}

pub(super) fn effect(u: &mut Unstructured<'_>, visible: usize) -> Result<Effect> {
    let label = String::from(*u.choose(&["满减", "coupon", ""])?);
    Ok(match u.int_in_range(0..=6)? {
        0 => Effect::LineAdjustment(LineAdjustment {
            line: index(u, visible)?,
            discount: proposed(u)?,
            label,
            coupon: coupon(u)?,
        }),
        1 => {
            let mut lines = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                lines.push(index(u, visible)?);
            }
            Effect::OrderAdjustment(OrderAdjustment {
                discount: proposed(u)?,
                label,
                coupon: coupon(u)?,
                lines,
            })
        }
        2 => Effect::ShippingAdjustment(ShippingAdjustment {
            discount: proposed(u)?,
            label,
        }),
        3 => Effect::Commission(Commission {
            line: index(u, visible)?,
            payer: party(u)?,
            payee: party(u)?,
            beneficiary: (*u.choose(&["p-1", "", "agency-9", BUYER])?).into(),
            share: if u.arbitrary()? {
                Share::Rate(match u.int_in_range(0..=2)? {
                    0 => u.arbitrary()?,
                    _ => u.int_in_range(0..=MAX_COMMISSION.0 + 1)?,
                })
            } else {
                Share::Amount(proposed(u)?)
            },
            label,
        }),
        4 => Effect::Gift(Gift {
            sku: (*u.choose(&["gift-1", ""])?).into(),
            quantity: u.int_in_range(0..=MAX_GIFT_QUANTITY + 1)?,
            value: proposed(u)?,
            label,
        }),
        5 => Effect::PointsDeduction(PointsDeduction {
            points: proposed(u)?,
            label,
        }),
        _ => Effect::Note(u.arbitrary()?),
    })
}
