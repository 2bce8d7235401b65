//! The plan executor: quote a cart through a plan of sandboxed rules, judge every proposal
//! against the host's invariants, and explain each step.

pub mod attribution;
pub mod cart;
pub mod dispose;
pub mod layer;
pub mod plan;
pub mod points;
pub mod probe;
pub mod quote;
mod run;
mod select;
mod state;
pub mod window;

pub use attribution::{AttributionReport, AttributionSource, Claim, ClaimOutcome, Uncredited};
pub use cart::{Attribution, Cart, CartError, MAX_GIFT_RECIPIENTS};
pub use dispose::{MAX_COMMISSION, MAX_UPLINE_LEVEL};
pub use plan::{Budget, Plan, PlanError, PreparedPlan, PreparedStep, Release, prepare};
pub use points::{Exchange, PointsOffer, PointsUse};
pub use quote::{BudgetLimit, ClaimProblem, ClaimReport, Outcome, Quote, Reason, StepReport};
pub use run::{Gate, NoGate, Proposal, QuoteError, quote, quote_with};
