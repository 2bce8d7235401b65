//! What a quote returns: the priced cart, commission, and an explanation for every step.
//! Deterministic: no maps with random order, no clocks, so equal inputs serialize
//! byte-identically.

use crate::Money;
use crate::sandbox::StepError;
use serde::Serialize;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub plan: PlanVersion,
    pub lines: Vec<QuotedLine>,
    pub gifts: Vec<GiftLine>,
    /// Sum over the lines.
    pub items: Amounts,
    pub shipping: Amounts,
    pub shipping_adjustments: Vec<Adjustment>,
    /// Items plus shipping: what the buyer pays.
    pub total: Amounts,
    pub commissions: Vec<CommissionLine>,
    /// Coupon codes a discount redeemed.
    pub coupons_redeemed: Vec<String>,
    pub notes: Vec<Note>,
    pub explanation: Vec<StepReport>,
    /// Instructions used by all plugin calls.
    pub fuel: u64,
    /// Who brought the sale: set by the host's attribution before the plan ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<super::AttributionReport>,
    /// The layers below the merchant's plan (the plaza's carrying and helper agencies),
    /// each with what flowed in and out of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerReport>,
    /// The claimed coupons the cart presented, in its order: redeemed (by which step),
    /// or why not. Set by the host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimReport>,
    /// The buyer's points the plan spent (in the lines' adjustments too): an order
    /// reserves them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<super::PointsUse>,
}

/// What became of one presented claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClaimReport {
    pub claim: String,
    /// The coupon code it presents (absent for an unknown claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The step that redeemed it; an order commits it as used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeemed_by: Option<String>,
    /// Why it cannot be redeemed (absent for a usable claim no step redeemed, e.g. a
    /// threshold not met: the step's explanation says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ClaimProblem>,
}

/// Why a presented claim cannot be redeemed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimProblem {
    /// No claim of the merchant's has this id.
    Unknown,
    /// Another buyer holds it.
    OtherBuyer,
    NotYetValid,
    Expired,
    /// Another order used it.
    Used,
    /// A 主播券 outside its livestreamer's live room (by the cart's resolved attribution).
    NotInLiveRoom,
    /// Its coupon is given by a step of another plan.
    OtherPlan,
}

/// One tenant's layer of a quote.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LayerReport {
    pub tenant: String,
    /// The roles the tenant holds in the chain, whose money the layer spends.
    pub roles: Vec<String>,
    /// The pool (`carrier/pool`) that brought the goods.
    pub pool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanVersion>,
    pub outcome: LayerOutcome,
    /// The layer's own steps.
    pub explanation: Vec<StepReport>,
    /// What the tenant received on the order.
    pub received: Money,
    /// What it paid on.
    pub paid_out: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerOutcome {
    Applied,
    /// The pool or membership names no plan: the layer pays nothing further.
    NoPlan,
    /// The named plan has no active version.
    PlanNotActive,
    /// The plan failed closed: the layer pays nothing further.
    Failed {
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PlanVersion {
    pub id: String,
    pub version: u32,
}

/// Before, taken off, and left to pay. `original - discount = payable`, always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Amounts {
    pub original: Money,
    pub discount: Money,
    pub payable: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuotedLine {
    #[schema(value_type = String)]
    pub id: Arc<str>,
    #[schema(value_type = String)]
    pub sku: Arc<str>,
    pub quantity: u32,
    pub unit_price: Money,
    pub original: Money,
    pub discount: Money,
    pub payable: Money,
    /// Every amount taken off this line, by step; they sum to `discount`.
    pub adjustments: Vec<Adjustment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Adjustment {
    /// Shared by every line of one step's order discount (one string, not one per line).
    #[schema(value_type = String)]
    pub step: Arc<str>,
    #[schema(value_type = String)]
    pub label: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub coupon: Option<Arc<str>>,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GiftLine {
    pub step: String,
    pub sku: String,
    pub quantity: u32,
    /// List value, for accounting; the buyer pays nothing.
    pub value: Money,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CommissionLine {
    pub step: String,
    /// The cart line id the commission is earned on.
    pub line: String,
    pub payer: String,
    pub payee: String,
    pub beneficiary: String,
    pub amount: Money,
    pub label: String,
    /// The tenant whose ledger pays it, when not the merchant's: a plaza layer's tenant
    /// (the carrier for its pool's helper rate and its own plan, the helper for its plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Note {
    pub step: String,
    pub text: String,
}

/// What one step did, and why.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepReport {
    pub step: String,
    pub plugin: String,
    pub stage: &'static str,
    #[serde(flatten)]
    #[schema(value_type = OutcomeFields)]
    pub outcome: Outcome,
    /// Instructions the plugin used (0 when it did not run).
    pub fuel: u64,
    /// Money the step took off lines and shipping.
    pub discount: Money,
    /// Commission the step granted.
    pub commission: Money,
    /// Proposals the host reduced to fit its invariants, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clipped: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub log_truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    NotApplied { reason: Reason },
    Failed { error: StepError },
}

/// How an [`Outcome`] reads inside a [`StepReport`], for the API document: one object
/// whose `outcome` says which of `reason` or `error` is there (a tagged union flattened
/// into another object is more than common client generators read).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OutcomeFields {
    outcome: OutcomeKind,
    /// Why the step did not apply (with `not_applied`).
    reason: Option<Reason>,
    /// What went wrong (with `failed`).
    error: Option<StepError>,
}

#[derive(Debug, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum OutcomeKind {
    Applied,
    NotApplied,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reason {
    /// The request time is outside the step's window.
    OutsideWindow,
    ChannelNotInScope,
    AudienceNotInScope,
    /// No line is in the step's product scope (or, for an exclusive step, undiscounted).
    NoLinesInScope,
    /// The plugin proposed nothing with money in it (a threshold not met, no coupon …).
    NoEffect,
    /// Item price is best-of: another step gave every line a better price.
    Superseded {
        by: String,
    },
    /// Another member of the exclusive group was kept.
    ExcludedByGroup {
        group: String,
        kept: String,
    },
    /// The step's budget or a usage limit has no room for this cart.
    BudgetExhausted {
        limit: BudgetLimit,
    },
    /// The step's budget counters cannot be read: the step is held back rather than
    /// treating its budget as unused.
    BudgetUnreadable,
    /// The step gives claimed coupons only, and no usable claim presents this code.
    ClaimRequired {
        code: String,
    },
    /// The claim presenting this code cannot be redeemed.
    ClaimRefused {
        claim: String,
        problem: ClaimProblem,
    },
}

/// Which of a step's budget limits ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetLimit {
    Orders,
    Amount,
    PerBuyer,
    PerCoupon,
    /// A claimed coupon's single use.
    Claim,
    Units,
    UnitsPerBuyer,
    OrdersPerDay,
    AmountPerDay,
    GiftUnits,
}

impl BudgetLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetLimit::Orders => "orders",
            BudgetLimit::Amount => "amount",
            BudgetLimit::PerBuyer => "per_buyer",
            BudgetLimit::PerCoupon => "per_coupon",
            BudgetLimit::Claim => "claim",
            BudgetLimit::Units => "units",
            BudgetLimit::UnitsPerBuyer => "units_per_buyer",
            BudgetLimit::OrdersPerDay => "orders_per_day",
            BudgetLimit::AmountPerDay => "amount_per_day",
            BudgetLimit::GiftUnits => "gift_units",
        }
    }
}
