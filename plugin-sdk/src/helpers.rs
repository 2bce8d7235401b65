//! Conveniences on the contract types, so a rule reads like the promotion it implements.

use crate::{
    Commission, Effect, Gift, Input, Line, LineAdjustment, Money, OrderAdjustment, Party, Ppm,
    Share, ShippingAdjustment, ThresholdBase,
};

impl Line<'_> {
    /// List price × quantity.
    pub fn original(&self) -> Money {
        Money(self.unit_price).times(self.quantity)
    }

    /// True when the line carries any of `categories`.
    pub fn in_any_category(&self, categories: &[String]) -> bool {
        self.categories
            .iter()
            .any(|c| categories.iter().any(|x| x == c))
    }
}

impl Input<'_> {
    /// The lines with their index (for effects) and current payable amount.
    pub fn lines(&self) -> impl Iterator<Item = (u32, &Line<'_>, Money)> {
        self.cart
            .lines
            .iter()
            .zip(self.state.payable.iter())
            .enumerate()
            .map(|(i, (line, payable))| (i as u32, line, Money(*payable)))
    }

    /// The current payable amount of line `index`.
    pub fn payable(&self, index: u32) -> Money {
        Money(self.state.payable.get(index as usize).copied().unwrap_or(0))
    }

    /// Sum of the original amounts of all lines this step sees.
    pub fn original_total(&self) -> Money {
        self.cart.lines.iter().map(Line::original).sum()
    }

    /// Sum of the current payable amounts of all lines this step sees.
    pub fn payable_total(&self) -> Money {
        self.state.payable.iter().copied().map(Money).sum()
    }

    /// The amount a threshold is judged on, as the plan step says: original or current.
    pub fn threshold_amount(&self) -> Money {
        match self.step.threshold_base {
            ThresholdBase::Original => self.original_total(),
            ThresholdBase::Current => self.payable_total(),
        }
    }

    /// The same as [`Input::threshold_amount`], for one line.
    pub fn threshold_amount_of(&self, index: u32) -> Money {
        match self.step.threshold_base {
            ThresholdBase::Original => self
                .cart
                .lines
                .get(index as usize)
                .map(Line::original)
                .unwrap_or(Money::ZERO),
            ThresholdBase::Current => self.payable(index),
        }
    }

    /// Total number of items (sum of quantities) this step sees.
    pub fn item_count(&self) -> u64 {
        self.cart.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// True when the buyer presented `code`.
    pub fn has_coupon(&self, code: &str) -> bool {
        self.cart.coupon_codes.contains(code)
    }
}

impl Effect {
    /// Take `discount` off one line.
    pub fn line_discount(line: u32, discount: Money, label: impl Into<String>) -> Effect {
        Effect::LineAdjustment(LineAdjustment {
            line,
            discount: discount.0,
            label: label.into(),
            coupon: None,
        })
    }

    /// Take `discount` off the whole order; the host allocates it across all lines.
    pub fn order_discount(discount: Money, label: impl Into<String>) -> Effect {
        Effect::OrderAdjustment(OrderAdjustment {
            discount: discount.0,
            label: label.into(),
            coupon: None,
            lines: Vec::new(),
        })
    }

    /// Take `discount` off the given lines; the host allocates it across them.
    pub fn lines_discount(lines: Vec<u32>, discount: Money, label: impl Into<String>) -> Effect {
        Effect::OrderAdjustment(OrderAdjustment {
            discount: discount.0,
            label: label.into(),
            coupon: None,
            lines,
        })
    }

    /// Mark a discount as redeeming coupon `code`.
    pub fn with_coupon(mut self, code: impl Into<String>) -> Effect {
        match &mut self {
            Effect::LineAdjustment(a) => a.coupon = Some(code.into()),
            Effect::OrderAdjustment(a) => a.coupon = Some(code.into()),
            _ => {}
        }
        self
    }

    /// Take `discount` off the shipping fee.
    pub fn shipping_discount(discount: Money, label: impl Into<String>) -> Effect {
        Effect::ShippingAdjustment(ShippingAdjustment {
            discount: discount.0,
            label: label.into(),
        })
    }

    /// A commission share on `line` at `rate` of what `payer` received on that line.
    pub fn commission_rate(
        line: u32,
        payer: Party,
        payee: Party,
        beneficiary: impl Into<String>,
        rate: Ppm,
        label: impl Into<String>,
    ) -> Effect {
        Effect::Commission(Commission {
            line,
            payer,
            payee,
            beneficiary: beneficiary.into(),
            share: Share::Rate(rate.0),
            label: label.into(),
        })
    }

    /// A free gift line.
    pub fn gift(
        sku: impl Into<String>,
        quantity: u32,
        value: Money,
        label: impl Into<String>,
    ) -> Effect {
        Effect::Gift(Gift {
            sku: sku.into(),
            quantity,
            value: value.0,
            label: label.into(),
        })
    }

    /// Pay with `points` of the buyer's points (points stage): the host converts them at
    /// the merchant's rate and clips them to the buyer's balance and the merchant's share.
    pub fn points(points: i64, label: impl Into<String>) -> Effect {
        Effect::PointsDeduction(crate::PointsDeduction {
            points,
            label: label.into(),
        })
    }

    /// A note shown with the quote.
    pub fn note(text: impl Into<String>) -> Effect {
        Effect::Note(text.into())
    }
}
