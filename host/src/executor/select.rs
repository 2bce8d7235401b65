//! Which proposals a stage keeps: pure choices, apart from running anything.
//!
//! - An exclusive group keeps one member: the best (the most money to the buyer, or paid
//!   out for commission; the earlier member on ties) or the first that applies.
//! - Item price is best-of per line: each line keeps the single step offering it the
//!   largest discount (the earlier step on ties); steps do not stack.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::plan::GroupKeep;
use crate::Money;

/// The member a group keeps, given each member's value when it applies (`None`: it does
/// not apply).
pub fn group_member(keep: GroupKeep, values: &[Option<Money>]) -> Option<usize> {
    match keep {
        GroupKeep::First => values.iter().position(Option::is_some),
        GroupKeep::Best => values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .fold(None, |best: Option<(usize, Money)>, (i, v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((i, v)),
            })
            .map(|(i, _)| i),
    }
}

/// For each of `lines` lines, the step (index into `offers`) whose discount on it is the
/// largest, with that discount. `offers[s]` lists step `s`'s (line, discount) proposals, or
/// is `None` when the step's proposal does not count (failed, held back). Discounts of one
/// step on one line add up; a line with no positive offer keeps none.
pub fn best_per_line(
    lines: usize,
    offers: &[Option<Vec<(usize, Money)>>],
) -> Vec<Option<(usize, Money)>> {
    let mut winner: Vec<Option<(usize, Money)>> = vec![None; lines];
    for (s, offer) in offers.iter().enumerate() {
        let Some(offer) = offer else { continue };
        let mut per_line = vec![Money::ZERO; lines];
        for (line, amount) in offer {
            per_line[*line] += *amount;
        }
        for (line, amount) in per_line.into_iter().enumerate() {
            if amount.0 > 0 && winner[line].is_none_or(|(_, best)| amount > best) {
                winner[line] = Some((s, amount));
            }
        }
    }
    winner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_keeps_the_largest_and_the_earlier_member_on_ties() {
        let values = [Some(Money(300)), None, Some(Money(500)), Some(Money(500))];
        assert_eq!(group_member(GroupKeep::Best, &values), Some(2));
        assert_eq!(group_member(GroupKeep::Best, &[None, None]), None);
    }

    #[test]
    fn first_keeps_the_first_member_that_applies_whatever_it_is_worth() {
        let values = [None, Some(Money(1)), Some(Money(9_999))];
        assert_eq!(group_member(GroupKeep::First, &values), Some(1));
        assert_eq!(group_member(GroupKeep::First, &[None]), None);
    }

    #[test]
    fn each_line_keeps_its_own_best_offer_and_offers_never_stack() {
        let offers = [
            Some(vec![(0, Money(100)), (1, Money(50))]),
            None,
            Some(vec![(1, Money(30)), (1, Money(30)), (2, Money(0))]),
            Some(vec![(0, Money(100))]),
        ];
        let winners = best_per_line(3, &offers);
        assert_eq!(
            winners[0],
            Some((0, Money(100))),
            "ties keep the earlier step"
        );
        assert_eq!(
            winners[1],
            Some((2, Money(60))),
            "one step's offers on a line add up"
        );
        assert_eq!(winners[2], None, "a zero offer wins nothing");
    }
}
