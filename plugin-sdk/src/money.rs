//! Money and rates: integer minor units and parts per million, with explicit rounding.
//!
//! Plaza never uses floating point for money. Every conversion that can lose a fen
//! says how it rounds, and [`allocate`] splits an amount across lines so that the parts
//! add up exactly to the whole.
//!
//! # Bounds
//!
//! Amounts are `i64` fen. The host refuses any unit price or shipping fee above
//! [`MAX_UNIT_PRICE`] (¥1,000,000,000.00), so that even the largest cart it accepts (500
//! lines of 99,999 units, plus shipping) totals at most about 5 × 10¹⁸ fen, inside `i64`.
//! Within those bounds no sum, difference or product of a quote overflows. Arithmetic on
//! `Money` is checked all the same: `+`, `-` and [`Money::times`] panic on overflow instead
//! of wrapping or saturating (a saturated sum would silently break
//! `original − discount = payable`); the `checked_*` methods return `None` instead.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount in minor units (fen). `Money(100)` is ¥1.00.
///
/// ```
/// use plaza_plugin_sdk::{Money, Ppm};
/// let price = Money::yuan(299);
/// assert_eq!(price, Money(29_900));
/// // 15 % off, rounded down: the discount never exceeds the exact value.
/// assert_eq!(price.rate_floor(Ppm::percent(15)), Money(4_485));
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", schema(example = 29900))]
pub struct Money(pub i64);

// Configuration schemas (see `Rule::config_schema`): plain integers, inlined where used so
// that a field's `#[schemars(range(..))]` lands on the integer itself.
impl schemars::JsonSchema for Money {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "description": "fen (1 = ¥0.01)"})
    }
}

/// The largest unit price or shipping fee the host accepts: ¥1,000,000,000.00.
pub const MAX_UNIT_PRICE: Money = Money(100_000_000_000);

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// Whole yuan. Panics (at compile time in a `const`) if the amount does not fit.
    pub const fn yuan(yuan: i64) -> Money {
        match yuan.checked_mul(100) {
            Some(fen) => Money(fen),
            None => panic!("Money::yuan: amount out of range"),
        }
    }

    /// The amount in minor units.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// `self × rate`, rounded toward zero. Never overflows for rates up to 100 %; panics
    /// when a larger rate takes the result out of range (see [`Money::checked_rate_floor`]).
    pub fn rate_floor(self, rate: Ppm) -> Money {
        self.checked_rate_floor(rate)
            .expect("Money::rate_floor: result out of range")
    }

    /// `self × rate`, rounded toward zero; `None` when the result does not fit.
    pub fn checked_rate_floor(self, rate: Ppm) -> Option<Money> {
        let exact = i128::from(self.0) * i128::from(rate.0) / i128::from(Ppm::ONE.0);
        i64::try_from(exact).ok().map(Money)
    }

    /// `self × quantity`. Panics on overflow (see [`Money::checked_times`]).
    pub fn times(self, quantity: u32) -> Money {
        self.checked_times(quantity)
            .expect("Money::times: result out of range")
    }

    /// `self × quantity`; `None` on overflow.
    pub fn checked_times(self, quantity: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(quantity)).map(Money)
    }

    /// `self + other`; `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`; `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Money) -> Money {
        Money(self.0.min(other.0))
    }

    /// The larger of two amounts.
    pub fn max(self, other: Money) -> Money {
        Money(self.0.max(other.0))
    }

    /// Clamp negatives to zero.
    pub fn non_negative(self) -> Money {
        self.max(Money::ZERO)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

/// Panics on overflow, in every build profile: an amount out of range is a bug upstream
/// (the host bounds every amount it accepts), never something to wrap or saturate.
impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        self.checked_add(rhs).expect("Money + Money overflowed")
    }
}

/// Panics on overflow, like `+`.
impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        self.checked_sub(rhs).expect("Money - Money overflowed")
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.checked_neg().expect("-Money overflowed"))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// A rate in parts per million. `Ppm(1_000_000)` is 100 %.
///
/// Rates arrive in different units in the wild (%, 1/10⁵, 1/10⁶); Plaza converts at the edge.
///
/// ```
/// use plaza_plugin_sdk::Ppm;
/// assert_eq!(Ppm::percent(5), Ppm(50_000));
/// assert_eq!(Ppm::per_100k(500), Ppm(5_000));
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Ppm(pub u32);

impl schemars::JsonSchema for Ppm {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ppm".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 0,
            "maximum": u32::MAX,
            "description": "parts per million (50000 = 5 %)"
        })
    }
}

impl Ppm {
    /// 100 %.
    pub const ONE: Ppm = Ppm(1_000_000);

    /// Whole percent. Panics (at compile time in a `const`) when it does not fit.
    pub const fn percent(p: u32) -> Ppm {
        match p.checked_mul(10_000) {
            Some(ppm) => Ppm(ppm),
            None => panic!("Ppm::percent: rate out of range"),
        }
    }

    /// Parts per hundred thousand (a unit some commission systems use). Panics when it does
    /// not fit.
    pub const fn per_100k(p: u32) -> Ppm {
        match p.checked_mul(10) {
            Some(ppm) => Ppm(ppm),
            None => panic!("Ppm::per_100k: rate out of range"),
        }
    }
}

/// The most of its base any commission payer may pass on: 90 %. The host refuses more, so
/// rules should refuse configurations above it when a plan is saved.
pub const MAX_COMMISSION_RATE: Ppm = Ppm(900_000);

/// Split `total` across `weights` in proportion, exactly to the fen.
///
/// Each part is `total × weight / Σweights` rounded down; the fen left over go one each to
/// the parts with the largest remainders, ties to the earlier index. The parts always sum to
/// `total`, and when `0 ≤ total ≤ Σweights` no part exceeds its weight. Weights must not be
/// negative. With all weights zero, everything goes to the first part.
///
/// ```
/// use plaza_plugin_sdk::{allocate, Money};
/// let parts = allocate(Money(100), &[Money(1), Money(1), Money(1)]);
/// assert_eq!(parts, vec![Money(34), Money(33), Money(33)]);
/// ```
pub fn allocate(total: Money, weights: &[Money]) -> Vec<Money> {
    let mut parts = vec![Money::ZERO; weights.len()];
    if weights.is_empty() {
        return parts;
    }
    let sum: i128 = weights.iter().map(|w| i128::from(w.0.max(0))).sum();
    if sum == 0 {
        parts[0] = total;
        return parts;
    }
    let total_wide = i128::from(total.0);
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = total_wide * i128::from(w.0.max(0));
        let part = exact.div_euclid(sum);
        given += part;
        // |part| ≤ |total|: a share of the total never exceeds it.
        parts[i] = Money(i64::try_from(part).expect("a part is within the total"));
        remainders.push((exact.rem_euclid(sum), i));
    }
    // The fen left over go one each to the largest remainders, ties to the lower index. The
    // remainders sum to `left × sum` and each is below `sum`, so `0 ≤ left < weights.len()`.
    let left = usize::try_from(total_wide - given).expect("fewer fen left than weights");
    if left > 0 {
        remainders.select_nth_unstable_by_key(left - 1, |&(r, i)| (std::cmp::Reverse(r), i));
        for &(_, i) in &remainders[..left] {
            parts[i].0 += 1;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_gives_leftover_fen_to_largest_remainders() {
        let parts = allocate(Money(1000), &[Money(3333), Money(3333), Money(3334)]);
        assert_eq!(parts.iter().copied().sum::<Money>(), Money(1000));
        assert_eq!(parts, vec![Money(333), Money(333), Money(334)]);
    }

    #[test]
    fn allocation_never_exceeds_a_weight_when_total_fits() {
        let weights = [Money(1), Money(0), Money(2), Money(7)];
        let parts = allocate(Money(10), &weights);
        assert_eq!(parts, weights.to_vec());
    }

    #[test]
    fn rate_floor_rounds_toward_zero() {
        assert_eq!(Money(999).rate_floor(Ppm::percent(10)), Money(99));
        assert_eq!(Money(i64::MAX).rate_floor(Ppm::ONE), Money(i64::MAX));
    }

    #[test]
    fn arithmetic_that_would_overflow_is_refused_not_saturated() {
        assert_eq!(Money(i64::MAX).checked_add(Money(1)), None);
        assert_eq!(Money(i64::MIN).checked_sub(Money(1)), None);
        assert_eq!(Money(i64::MAX).checked_times(2), None);
        assert_eq!(Money(i64::MAX).checked_rate_floor(Ppm(2_000_000)), None);
        assert_eq!(
            Money(10).checked_rate_floor(Ppm(2_000_000)),
            Some(Money(20))
        );
        assert!(std::panic::catch_unwind(|| Money(i64::MAX) + Money(1)).is_err());
        assert!(std::panic::catch_unwind(|| Money(i64::MIN) - Money(1)).is_err());
        assert!(std::panic::catch_unwind(|| Money(i64::MAX).times(3)).is_err());
    }

    #[test]
    fn the_largest_cart_the_host_accepts_fits_in_i64() {
        // 500 lines × 99,999 units × the largest unit price, plus the largest shipping fee.
        let total = i128::from(MAX_UNIT_PRICE.0) * 500 * 99_999 + i128::from(MAX_UNIT_PRICE.0);
        assert!(total < i128::from(i64::MAX));
    }

    #[test]
    fn money_displays_as_yuan() {
        assert_eq!(Money(-12_305).to_string(), "-¥123.05");
    }

    /// The reference: every remainder sorted, largest first, ties by index.
    fn allocate_by_sorting(total: Money, weights: &[Money]) -> Vec<Money> {
        let sum: i128 = weights.iter().map(|w| i128::from(w.0.max(0))).sum();
        if weights.is_empty() || sum == 0 {
            return allocate(total, weights);
        }
        let exact: Vec<i128> = weights
            .iter()
            .map(|w| i128::from(total.0) * i128::from(w.0.max(0)))
            .collect();
        let mut parts: Vec<i128> = exact.iter().map(|e| e.div_euclid(sum)).collect();
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(exact[i].rem_euclid(sum)));
        let left = i128::from(total.0) - parts.iter().sum::<i128>();
        for &i in order.iter().take(usize::try_from(left).unwrap()) {
            parts[i] += 1;
        }
        parts
            .into_iter()
            .map(|p| Money(i64::try_from(p).unwrap()))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn allocation_matches_the_sorting_reference(
            total in -1_000_000i64..1_000_000_000,
            weights in proptest::collection::vec(0i64..100_000, 0..60),
        ) {
            let weights: Vec<Money> = weights.into_iter().map(Money).collect();
            proptest::prop_assert_eq!(
                allocate(Money(total), &weights),
                allocate_by_sorting(Money(total), &weights)
            );
        }
    }
}
