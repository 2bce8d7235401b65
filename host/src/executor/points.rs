//! Points deduction as the executor sees it: what the host offers a cart (the buyer's
//! usable balance and the merchant's terms), and how a rule's proposal to spend points is
//! judged against them.
//!
//! A deduction is made in whole exchange units (`exchange.points` points are worth
//! `exchange.fen` fen), never more than the buyer can spend, never more than the
//! merchant's largest share of the order's goods, never more than the step's lines still
//! cost. Its value is allocated across those lines by what they still cost, exactly to
//! the fen.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use crate::{Money, Ppm, allocate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most points one account holds, and one grant or order earns: 10¹².
pub const MAX_POINTS: i64 = 1_000_000_000_000;
/// The largest side of an exchange rate.
pub const MAX_EXCHANGE: u32 = 1_000_000;

/// What points are worth: `points` points pay `fen` fen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub points: u32,
    /// 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub fen: u32,
}

impl Default for Exchange {
    /// 100 points pay 1 yuan.
    fn default() -> Self {
        Exchange {
            points: 100,
            fen: 100,
        }
    }
}

/// What the host offers a cart: set by the host from its points ledger, never by the
/// checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointsOffer {
    /// Points the buyer may spend (0 to [`MAX_POINTS`]).
    pub balance: i64,
    pub exchange: Exchange,
    /// The largest share of the order's goods points may pay.
    pub max_share: Ppm,
}

/// The points a quote spends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointsUse {
    /// Points spent.
    pub points: i64,
    /// What they paid, fen.
    pub value: Money,
    /// What the buyer could spend before this order.
    pub balance: i64,
}

/// Points spent so far in a quote, and what they paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    pub points: i64,
    pub value: Money,
}

/// How one proposal ended: the points spent and the fen each line gives for them (by the
/// position of the line in `lines`), and why less than proposed, if so.
#[derive(Debug, PartialEq, Eq)]
pub struct Deduction {
    pub points: i64,
    pub value: Money,
    pub parts: Vec<Money>,
    pub clipped: Option<String>,
}

/// Judge a proposal to spend `wanted` points (not negative) on `lines`, which still cost
/// `weights`. `goods` is what all the cart's lines still cost; `spent` what earlier
/// proposals of the quote already took.
pub fn judge(
    offer: Option<&PointsOffer>,
    spent: Spent,
    wanted: i64,
    weights: &[Money],
    goods: Money,
) -> Deduction {
    if wanted == 0 {
        return Deduction {
            points: 0,
            value: Money::ZERO,
            parts: vec![Money::ZERO; weights.len()],
            clipped: None,
        };
    }
    let nothing = |why: String| Deduction {
        points: 0,
        value: Money::ZERO,
        parts: vec![Money::ZERO; weights.len()],
        clipped: Some(why),
    };
    let Some(offer) = offer else {
        return nothing(format!(
            "{wanted} points clipped to 0: the buyer has no points to spend here"
        ));
    };
    let rate = offer.exchange;
    let (unit_points, unit_fen) = (i64::from(rate.points), i64::from(rate.fen));
    let available = (offer.balance - spent.points).max(0);
    let base: Money = weights.iter().copied().sum();
    // The share is of the goods as they stood before any points paid for them.
    let share_cap = (goods + spent.value).rate_floor(offer.max_share) - spent.value;
    let limits = [
        (available / unit_points, "the buyer's usable points"),
        (
            share_cap.0.max(0) / unit_fen,
            "the merchant's largest share",
        ),
        (base.0 / unit_fen, "what the lines still cost"),
        (wanted / unit_points, "whole exchange units"),
    ];
    // The first of the tightest limits names the clip.
    let (units, bound) = limits
        .iter()
        .copied()
        .min_by_key(|(units, _)| *units)
        .expect("four limits");
    // units ≤ base / unit_fen and ≤ wanted / unit_points: both products stay in range.
    let value = Money(units * unit_fen);
    let points = units * unit_points;
    if points == 0 {
        return nothing(format!(
            "{wanted} points clipped to 0 by {bound} ({} points pay {} fen)",
            rate.points, rate.fen
        ));
    }
    let clipped = (points < wanted).then(|| {
        format!(
            "{wanted} points clipped to {points} by {bound} ({} points pay {} fen)",
            rate.points, rate.fen
        )
    });
    Deduction {
        points,
        value,
        parts: allocate(value, weights),
        clipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(balance: i64, points: u32, fen: u32, share: u32) -> PointsOffer {
        PointsOffer {
            balance,
            exchange: Exchange { points, fen },
            max_share: Ppm(share),
        }
    }

    #[test]
    fn whole_units_within_every_bound() {
        let o = offer(1_050, 100, 100, 500_000);
        // 1,050 usable points at 100 = 1 yuan: 10 units, 1,000 points, 10 yuan.
        let d = judge(
            Some(&o),
            Spent::default(),
            5_000,
            &[Money(3_000), Money(1_000)],
            Money(4_000),
        );
        assert_eq!((d.points, d.value), (1_000, Money(1_000)));
        assert_eq!(d.parts, vec![Money(750), Money(250)]);
        assert!(d.clipped.unwrap().contains("usable points"));
    }

    #[test]
    fn the_share_counts_what_earlier_steps_paid() {
        let o = offer(100_000, 1, 1, 100_000);
        // 10 % of 10,000 goods; 600 already paid by points: 400 more at most.
        let spent = Spent {
            points: 600,
            value: Money(600),
        };
        let d = judge(Some(&o), spent, 5_000, &[Money(9_400)], Money(9_400));
        assert_eq!((d.points, d.value), (400, Money(400)));
        assert!(d.clipped.unwrap().contains("largest share"));
    }

    #[test]
    fn no_offer_or_too_few_points_spend_nothing() {
        let d = judge(None, Spent::default(), 100, &[Money(500)], Money(500));
        assert_eq!(d.points, 0);
        assert!(d.clipped.is_some());
        let o = offer(99, 100, 100, 1_000_000);
        let d = judge(Some(&o), Spent::default(), 99, &[Money(500)], Money(500));
        assert_eq!((d.points, d.value), (0, Money::ZERO));
        let d = judge(Some(&o), Spent::default(), 0, &[Money(500)], Money(500));
        assert_eq!((d.points, d.clipped), (0, None));
    }
}
