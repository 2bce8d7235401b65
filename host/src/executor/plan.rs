//! Plans: an ordered, versioned composition of steps, and preparing one to run.

use super::cart::{Cart, CartLine, Channel};
pub use super::window::{Daily, Window};
use crate::Money;
use crate::sandbox::{Plugin, Sandbox, StepError};
use plaza_plugin_sdk::Stage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Stages in the order they run.
pub const STAGES: [Stage; 6] = [
    Stage::ItemPrice,
    Stage::StorePromotion,
    Stage::Coupon,
    Stage::Points,
    Stage::Shipping,
    Stage::Commission,
];

/// The stage's position in [`STAGES`].
pub fn stage_rank(stage: Stage) -> usize {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(STAGES.len())
}

/// A stage's name as plans and explanations spell it.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::ItemPrice => "item_price",
        Stage::StorePromotion => "store_promotion",
        Stage::Coupon => "coupon",
        Stage::Points => "points",
        Stage::Shipping => "shipping",
        Stage::Commission => "commission",
    }
}

/// A plan as authored: JSON in, validated by [`prepare`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    #[serde(default = "one")]
    pub version: u32,
    /// 1 to [`MAX_STEPS`] steps, each with its own id.
    #[schema(min_items = 1, max_items = 64)]
    pub steps: Vec<Step>,
    /// What a failing step does to the quote.
    #[serde(default)]
    pub on_failure: FailurePolicy,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// The failing step is skipped and explained; the rest of the plan runs.
    #[default]
    Skip,
    /// The whole quote fails.
    FailClosed,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique within the plan; names the step in explanations and its budget's counters.
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    /// The plugin, pinned by name and version.
    pub plugin: PluginRef,
    /// The plugin's configuration (checked by the plugin when the plan is prepared).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    #[serde(default)]
    pub scope: Scope,
    /// Within a stage, lower runs first; ties keep plan order.
    #[serde(default)]
    pub priority: i32,
    /// Steps sharing a group: only one of them applies.
    #[serde(default)]
    pub exclusive_group: Option<ExclusiveGroup>,
    #[serde(default)]
    pub stacking: Stacking,
    /// Whether thresholds are judged on the original or the current amount.
    #[serde(default)]
    pub threshold_base: ThresholdBase,
    /// When the step is live.
    #[serde(default)]
    pub window: Option<Window>,
    /// Budget and usage limits, reserved when an order is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Who pays for the step's discounts, as the merchant's reports show it.
    #[serde(default, skip_serializing_if = "Funder::is_merchant")]
    pub funded_by: Funder,
}

/// Who pays for a discount: the merchant itself, an agency that runs the promotion on the
/// merchant's goods, or the platform (a platform coupon).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Funder {
    #[default]
    Merchant,
    Agency,
    Platform,
}

impl Funder {
    fn is_merchant(&self) -> bool {
        *self == Funder::Merchant
    }
}

/// The largest count limit a budget may set (orders in all, per buyer, per coupon).
pub const MAX_BUDGET_COUNT: u64 = 1_000_000_000_000;
/// The largest money limit a budget may set: ¥1,000,000,000,000,000.00, far above any real
/// budget and far inside `i64` even with one more maximal cart on top.
pub const MAX_BUDGET_AMOUNT: Money = Money(100_000_000_000_000_000);

/// How much a step may give away, in all and per buyer or coupon code. Counted per plan
/// and step id, across plan versions: editing a plan does not refill its budget. Counts
/// are 1 to [`MAX_BUDGET_COUNT`], amounts 1 to [`MAX_BUDGET_AMOUNT`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Orders the step may apply to, in all.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_orders: Option<u64>,
    /// Money the step may give away (discount plus commission), in all.
    #[serde(default)]
    #[schema(schema_with = amount_schema)]
    pub max_amount: Option<Money>,
    /// Orders per buyer.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_orders_per_buyer: Option<u64>,
    /// Orders per coupon code the step redeems.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_orders_per_coupon: Option<u64>,
    /// Units the step may apply to, in all (a flash sale of 100 units): the quantities of
    /// the lines it adjusts.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_units: Option<u64>,
    /// Units per buyer (限购 N 件).
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_units_per_buyer: Option<u64>,
    /// Orders per day, in the time zone of the tenant whose budget it is.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_orders_per_day: Option<u64>,
    /// Money (discount plus commission) per day, in that time zone.
    #[serde(default)]
    #[schema(schema_with = amount_schema)]
    pub max_amount_per_day: Option<Money>,
    /// Units of free gifts (赠品) the step may give, in all: the gifts' own stock.
    #[serde(default)]
    #[schema(schema_with = count_schema)]
    pub max_gift_units: Option<u64>,
    #[serde(default)]
    pub release: Release,
}

fn count_schema() -> utoipa::openapi::schema::Object {
    let max = i64::try_from(MAX_BUDGET_COUNT).expect("MAX_BUDGET_COUNT fits in i64");
    crate::shape::optional_integer(1, max, "1 to MAX_BUDGET_COUNT")
}

fn amount_schema() -> utoipa::openapi::schema::Object {
    crate::shape::optional_integer(1, MAX_BUDGET_AMOUNT.0, "Fen, 1 to MAX_BUDGET_AMOUNT")
}

/// Whether a cancelled or refunded order gives its reservation back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Release {
    /// A cancelled order releases everything it reserved.
    pub on_cancel: bool,
    /// A refund releases the refunded share of the money and the refunded units (of
    /// lines the step adjusted); a fully refunded order also releases its order, buyer,
    /// coupon and day counts and its gifts' units.
    pub on_refund: bool,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            on_cancel: true,
            on_refund: true,
        }
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Which plugin a step runs. A saved plan version records all four parts (the server fills
/// in the owner and the content hash it resolved at save time), and runs exactly those
/// bytes forever after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    /// The tenant that owns the plugin: the plan's own tenant when absent, else the only
    /// tenant sharing that name@version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The sha256 of the component: when given, the step runs only these bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusiveGroup {
    pub name: String,
    #[serde(default)]
    pub keep: GroupKeep,
}

/// Which member of an exclusive group is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKeep {
    /// The member giving the buyer the most (commission: paying the most).
    #[default]
    Best,
    /// The first member, in run order, that applies.
    First,
}

/// Whether the step stacks on earlier discounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Applies on top of earlier discounts.
    #[default]
    Stack,
    /// 不与其他优惠同享: sees only lines no earlier step discounted.
    Exclusive,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdBase {
    Original,
    #[default]
    Current,
}

/// Which carts and lines a step applies to. Every empty list means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub merchants: Vec<String>,
    #[serde(default)]
    pub skus: Vec<String>,
    #[serde(default)]
    pub spus: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub member_tiers: Vec<String>,
    #[serde(default)]
    pub buyer_tags: Vec<String>,
    #[serde(default)]
    pub new_customers_only: bool,
}

impl Scope {
    /// Channel and audience checks: `None` when the cart qualifies, else the reason.
    pub fn cart_excluded(&self, cart: &Cart) -> Option<&'static str> {
        if !self.channels.is_empty() && !self.channels.contains(&cart.channel) {
            return Some("channel");
        }
        let tier_ok = self.member_tiers.is_empty()
            || cart
                .buyer
                .member_tier
                .as_ref()
                .is_some_and(|t| self.member_tiers.contains(t));
        let tags_ok = self.buyer_tags.is_empty()
            || cart.buyer.tags.iter().any(|t| self.buyer_tags.contains(t));
        if !tier_ok || !tags_ok || (self.new_customers_only && !cart.buyer.new_customer) {
            return Some("audience");
        }
        None
    }

    /// Whether a line is in the product scope.
    pub fn covers(&self, line: &CartLine) -> bool {
        let spu = line.spu.as_deref().unwrap_or(&line.sku);
        (self.merchants.is_empty() || self.merchants.contains(&line.merchant))
            && (self.skus.is_empty() || self.skus.iter().any(|s| **s == *line.sku))
            && (self.spus.is_empty() || self.spus.iter().any(|s| s == spu))
            && (self.categories.is_empty()
                || line.categories.iter().any(|c| self.categories.contains(c)))
    }
}

/// Why a plan cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanError {
    #[error("a plan needs at least one step")]
    Empty,
    /// A commission step, probed at save, broke an anti-pyramid rule.
    #[error("step {step}: {violation}")]
    PyramidRefused { step: String, violation: String },
    #[error("{count} steps; the limit is {limit}")]
    TooManySteps { count: usize, limit: usize },
    #[error("step id {step:?} is used twice")]
    DuplicateStep { step: String },
    #[error("step {step}: plugin {name}@{version} is not registered")]
    UnknownPlugin {
        step: String,
        name: String,
        version: String,
    },
    #[error(
        "step {step}: several tenants share {name}@{version} ({}); name the owner",
        owners.join(", ")
    )]
    AmbiguousPlugin {
        step: String,
        name: String,
        version: String,
        owners: Vec<String>,
    },
    #[error(
        "step {step}: {name}@{version} is pinned to sha256 {pinned}, but the registry holds {registered}"
    )]
    PluginChanged {
        step: String,
        name: String,
        version: String,
        pinned: String,
        registered: String,
    },
    #[error("step {step}: configuration refused by the plugin: {message}")]
    InvalidConfig { step: String, message: String },
    #[error("step {step}: validating the configuration failed: {error}")]
    ConfigCheckFailed { step: String, error: StepError },
    #[error("step {step}: exclusive group {group:?} mixes stages")]
    GroupAcrossStages { step: String, group: String },
}

/// Most steps in one plan.
pub const MAX_STEPS: usize = 64;

/// A step resolved against its plugin, ready to run.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    pub step: Step,
    pub plugin: Plugin,
    pub stage: Stage,
    /// The configuration as the JSON text the plugin receives.
    pub config_json: String,
    /// `name@version`, for explanations.
    pub plugin_label: String,
    /// `owner/name@version` (`name@version` for a step its plan does not pin to an owner),
    /// for each tenant's plugin figures.
    pub stats_label: String,
}

/// A plan whose plugins are resolved and whose configurations the plugins accepted; steps
/// in run order. Immutable: swapping a plan version is replacing one of these.
#[derive(Debug, Clone)]
pub struct PreparedPlan {
    pub id: String,
    pub version: u32,
    pub on_failure: FailurePolicy,
    pub steps: Vec<PreparedStep>,
}

/// Resolve and check a plan: plugins exist, configurations are accepted by the plugins
/// themselves, groups stay within one stage. Steps are sorted into run order.
pub fn prepare(
    plan: &Plan,
    sandbox: &Sandbox,
    lookup: impl Fn(&PluginRef) -> Option<Plugin>,
) -> Result<PreparedPlan, PlanError> {
    if plan.steps.is_empty() {
        return Err(PlanError::Empty);
    }
    if plan.steps.len() > MAX_STEPS {
        return Err(PlanError::TooManySteps {
            count: plan.steps.len(),
            limit: MAX_STEPS,
        });
    }
    let mut ids = BTreeSet::new();
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        if !ids.insert(step.id.as_str()) {
            return Err(PlanError::DuplicateStep {
                step: step.id.clone(),
            });
        }
        let plugin = lookup(&step.plugin).ok_or_else(|| PlanError::UnknownPlugin {
            step: step.id.clone(),
            name: step.plugin.name.clone(),
            version: step.plugin.version.clone(),
        })?;
        let config_json = step.config.to_string();
        match sandbox.validate_config(&plugin, &config_json) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                return Err(PlanError::InvalidConfig {
                    step: step.id.clone(),
                    message,
                });
            }
            Err(error) => {
                return Err(PlanError::ConfigCheckFailed {
                    step: step.id.clone(),
                    error,
                });
            }
        }
        let plugin_label = format!("{}@{}", plugin.descriptor.name, plugin.descriptor.version);
        steps.push(PreparedStep {
            stage: plugin.descriptor.stage,
            stats_label: match &step.plugin.owner {
                Some(owner) => format!("{owner}/{plugin_label}"),
                None => plugin_label.clone(),
            },
            plugin_label,
            plugin,
            config_json,
            step: step.clone(),
        });
    }
    // Stable sort: within a stage and priority, plan order decides.
    steps.sort_by_key(|s| (stage_rank(s.stage), s.step.priority));
    for s in &steps {
        if let Some(group) = &s.step.exclusive_group {
            let mixed = steps.iter().any(|o| {
                o.stage != s.stage
                    && o.step
                        .exclusive_group
                        .as_ref()
                        .is_some_and(|g| g.name == group.name)
            });
            if mixed {
                return Err(PlanError::GroupAcrossStages {
                    step: s.step.id.clone(),
                    group: group.name.clone(),
                });
            }
        }
    }
    Ok(PreparedPlan {
        id: plan.id.clone(),
        version: plan.version,
        on_failure: plan.on_failure,
        steps,
    })
}
