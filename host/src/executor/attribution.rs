//! Who brought a sale, as the host resolved it for one quote or order: the chain the
//! plan saw, the touch that won, and what became of each party the checkout claimed.

use super::cart::Attribution;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a merchant's attribution comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionSource {
    /// The host resolves the chain from stored touches, bindings and memberships; the
    /// cart's attribution is a hint.
    #[default]
    Touches,
    /// The cart's attribution is taken as sent (a checkout with its own attribution).
    /// A party that is the buyer is still dropped.
    Checkout,
}

/// What became of one party the checkout claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimOutcome {
    /// The host resolved the same party.
    Confirmed,
    /// The host resolved another party.
    Overridden,
    /// The host resolved nobody for it (no touch, a suspended promoter, the buyer itself).
    Ignored,
    /// Kept as sent: Plaza keeps no record to check this party against.
    Unverified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    /// The attribution field: `promoter`, `creator`, …
    pub field: String,
    pub claimed: String,
    pub outcome: ClaimOutcome,
}

/// Why no promoter or creator was credited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Uncredited {
    /// No touch by an active promoter inside the lock window before the cart's time.
    NoTouchInWindow,
    /// The only touches were the buyer's own: nobody earns on their own purchase.
    SelfPurchase,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttributionReport {
    pub source: AttributionSource,
    /// The chain the plan saw.
    pub resolved: Attribution,
    /// The touch that won.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touch: Option<String>,
    /// The plaza pool that carries the goods to the promoter's agency (`carrier/pool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// When the winning touch's lock ends (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until_ms: Option<i64>,
    /// Why nobody was credited, when nobody was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncredited: Option<Uncredited>,
    /// Each party the cart claimed, and what became of the claim.
    pub claims: Vec<Claim>,
}
