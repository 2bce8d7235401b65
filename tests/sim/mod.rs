//! Deterministic simulation of the money domain.
//!
//! One seed drives many buyers' quotes, commits, cancels and refunds (of carts the host
//! attributes from stored touches, some paying through other tenants' layers) against the
//! real [`plaza::domain::Plaza`] (real plugins in the real sandbox, the real executor,
//! budgets and ledger) on
//! a [`SimBackend`] that fails writes, flushes and reads and kills the process between
//! them, restarting it over what was flushed. After every step the invariants are checked
//! against the store and the reference [`model`]:
//! - every stored order is sound (amounts within bounds, its ledger sums to what it
//!   holds, reservations add up, and on every line each layer still holds what it passed
//!   on);
//! - every budget counter equals what the stored orders reserve and never passes its
//!   limit;
//! - every acknowledged commit, refund and cancel is in the store, exactly as the model
//!   computes it, across any crash; nothing else is there but requests whose answer was
//!   an error (a client retries those with the same id until the answer is definite);
//! - every order counts towards the GMV incentive events the rules say, and every
//!   participant's standing and reward ledger follow from its orders (see
//!   `sim/incentives.rs`).
//!
//! The same seed takes the same steps and sees the same faults: a failure names its seed
//! and step, and `plaza-sim --seed N` replays it.

pub mod backend;
mod incentives;
mod market;
pub mod model;
mod ops;
mod world;

pub use backend::{FaultCounts, FaultRates, SimBackend};
pub use world::{OPERATOR_KEY, World, open_on};

/// What one seed's run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub seed: u64,
    pub steps: u64,
    pub quotes: u64,
    pub commits: u64,
    /// Acknowledged orders that paid through the plaza's layers.
    pub layered: u64,
    /// Free gift units the acknowledged orders carried.
    pub gift_units: u64,
    pub refused_commits: u64,
    pub refunds: u64,
    /// Gift sub-orders declined by their recipients (refunded to the sender).
    pub declines: u64,
    pub cancels: u64,
    /// Lifecycle events applied (paid, shipped, received).
    pub events: u64,
    /// Timers fired: payment deadlines and after-sale windows.
    pub timers_fired: u64,
    /// Commission shares paid by settlement runs.
    pub settled: u64,
    /// Incentive rewards granted (instant and post-event) and clawed back, at the end.
    pub incentive_rewards: u64,
    pub incentive_clawbacks: u64,
    /// Coupon claims that clawbacks took back.
    pub incentive_claims_revoked: u64,
    pub refused_changes: u64,
    pub retries: u64,
    pub restarts: u64,
    pub faults: FaultCounts,
    /// A hash of every step's request and answer: equal runs have equal digests.
    pub digest: u64,
}

/// Run `steps` steps of seed `seed` with faults at `rates`.
pub fn run(seed: u64, steps: u64, rates: FaultRates) -> anyhow::Result<Summary> {
    let mut world = World::new(seed, rates)?;
    for step in 0..steps {
        world
            .step()
            .map_err(|e| e.context(format!("seed {seed}, step {step}")))?;
    }
    world
        .finish()
        .map_err(|e| e.context(format!("seed {seed}, after {steps} steps")))
}
