//! The plan executor: quote a cart through a plan of sandboxed rules, judge every proposal
//! against the host's invariants, and explain each step.

pub mod cart;
mod dispose;
pub mod plan;
pub mod quote;
mod run;

pub use cart::{Cart, CartError};
pub use dispose::{MAX_COMMISSION, MAX_UPLINE_LEVEL};
pub use plan::{Plan, PlanError, PreparedPlan, prepare};
pub use quote::{Outcome, Quote, Reason, StepReport};
pub use run::{QuoteError, quote};
