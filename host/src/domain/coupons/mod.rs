//! Coupons that are claimed: templates with their stock, claims in a buyer's wallet, and
//! batches of codes for offline distribution.
//!
//! A merchant (or an agency) defines a template: which step of its plan gives the coupon
//! its value (and the code that step's rule matches), the total stock, how many a buyer
//! may claim, how long a claim is valid (between two instants, or N days from claiming)
//! and who may claim it (channel, livestreamer, promoter or share link, member tier, new
//! customers only). A claim checks stock, the buyer's limit and the bindings in one
//! transaction, so concurrent claims never hand out more than the stock. Each code of a
//! batch takes one unit of stock when the batch is issued and is claimable once.
//!
//! Livestreamer, promoter and share-link bindings are decided by the buyer's stored
//! touches inside the merchant's lock window (the host's facts), never by the request's
//! say-so; channel, member tier and new customer are the checkout's word, as in a cart.

mod claims;
mod codes;
pub(crate) mod granted;
mod help;
pub(crate) mod redeem;
mod rooms;
mod templates;
mod usable;

pub use claims::{Claim, ClaimBuyer, ClaimState, NewClaim, WalletEntry};
pub use codes::{CodeBatch, NewCodeBatch};
pub use help::{
    Campaign, Initiation, InitiationState, NewCampaign, NewHelp, NewInitiation, Progress,
};
pub use redeem::HeldClaim;
pub use rooms::{LiveRoom, NewLiveRoom, NewStockMove, StockMove};
pub use templates::{Bindings, NewTemplate, OnRefund, Template, Validity};
pub use usable::{BestClaims, UnusableClaim, UsableClaim, UsableCoupons};

use crate::store::key;

/// owner \0 template
fn template_key(owner: &str, template: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), template.as_bytes()])
}

/// owner \0 template \0 buyer: how many of the template the buyer claimed.
fn holder_key(owner: &str, template: &str, buyer: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), template.as_bytes(), buyer.as_bytes()])
}

/// owner \0 claim
fn claim_key(owner: &str, claim: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), claim.as_bytes()])
}

/// owner \0 buyer \0 claim: the buyer's wallet.
fn wallet_key(owner: &str, buyer: &str, claim: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), buyer.as_bytes(), claim.as_bytes()])
}
