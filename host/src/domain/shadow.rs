//! Shadow runs: a candidate plan version run over recorded carts (`recording.rs`) next to
//! the version that answered each, with what it would have changed, per cart and in total.
//!
//! Both versions run the same recorded cart with the merchant's facts as they are now,
//! without budgets, breakers or claim redemption (a replay reserves nothing and never
//! changes a live breaker): the difference is the versions' alone. Nothing is written.

use super::plans::AUTHORS;
use super::recording::{self, Recorded};
use super::{Error, Page, Plaza, Position, Principal, page};
use crate::executor::{self, NoGate, Quote};
use crate::{Money, store::Table, store::prefix};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// What to replay.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowRequest {
    /// The candidate: a stored version of the plan.
    #[schema(minimum = 1)]
    pub version: u32,
    /// Carts quoted at or after (ms since the epoch, host clock) [default: the oldest kept].
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Carts quoted before [default: now].
    #[serde(default)]
    pub to_ms: Option<i64>,
}

/// What one version made of a cart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    pub payable: Money,
    pub discount: Money,
    pub commission: Money,
    /// Why the version could not quote the cart (then the amounts are 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One recorded cart, as it was answered and as the candidate would have.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShadowCart {
    /// The recording's number.
    pub seq: u64,
    pub at_ms: i64,
    pub buyer: String,
    /// The version that answered it.
    pub version: u32,
    pub baseline: Outcome,
    pub candidate: Outcome,
}

/// Sums over the carts replayed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    pub payable: Money,
    pub discount: Money,
    pub commission: Money,
    /// Carts the version could not quote.
    pub errors: u64,
}

/// A shadow run's report.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShadowReport {
    pub plan: String,
    pub candidate_version: u32,
    /// Recorded carts replayed.
    pub carts: u64,
    /// Carts whose payable, discount, commission or error differs.
    pub changed: u64,
    pub baseline: Totals,
    pub candidate: Totals,
    /// Candidate minus baseline (errors: more or fewer carts failing).
    pub difference: ShadowDifference,
    /// Every cart, in the order recorded.
    pub items: Vec<ShadowCart>,
}

/// Candidate minus baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ShadowDifference {
    pub payable: Money,
    pub discount: Money,
    pub commission: Money,
    pub errors: i64,
}

pub(super) fn outcome(quoted: Result<Quote, Error>) -> Outcome {
    match quoted {
        Ok(q) => Outcome {
            payable: q.total.payable,
            discount: q.total.discount,
            commission: q.commissions.iter().map(|c| c.amount).sum(),
            error: None,
        },
        Err(e) => Outcome {
            error: Some(e.to_string()),
            ..Outcome::default()
        },
    }
}

/// A sum too large for the fen's range (no real set of carts reaches it).
fn overflow() -> Error {
    Error::Unprocessable {
        kind: "amount_out_of_range",
        field: "version".into(),
        message: "the replayed carts' amounts do not total within the money range".into(),
    }
}

/// Baseline and candidate outcomes added up, cart by cart.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub carts: u64,
    pub changed: u64,
    pub baseline: Totals,
    pub candidate: Totals,
}

impl Tally {
    pub(super) fn add(&mut self, base: &Outcome, cand: &Outcome) -> Result<(), Error> {
        self.baseline.add(base)?;
        self.candidate.add(cand)?;
        self.carts += 1;
        self.changed += u64::from(base != cand);
        Ok(())
    }

    pub(super) fn difference(&self) -> Result<ShadowDifference, Error> {
        self.candidate.minus(&self.baseline)
    }
}

impl Totals {
    fn add(&mut self, o: &Outcome) -> Result<(), Error> {
        self.payable = self.payable.checked_add(o.payable).ok_or_else(overflow)?;
        self.discount = self.discount.checked_add(o.discount).ok_or_else(overflow)?;
        self.commission = (self.commission)
            .checked_add(o.commission)
            .ok_or_else(overflow)?;
        self.errors += u64::from(o.error.is_some());
        Ok(())
    }

    fn minus(&self, base: &Totals) -> Result<ShadowDifference, Error> {
        Ok(ShadowDifference {
            payable: self
                .payable
                .checked_sub(base.payable)
                .ok_or_else(overflow)?,
            discount: (self.discount.checked_sub(base.discount)).ok_or_else(overflow)?,
            commission: (self.commission.checked_sub(base.commission)).ok_or_else(overflow)?,
            errors: i64::try_from(self.errors).unwrap_or(i64::MAX)
                - i64::try_from(base.errors).unwrap_or(i64::MAX),
        })
    }
}

impl Plaza {
    /// The caller's recorded quotes, a page at a time (in ring order).
    pub fn list_recordings(&self, who: &Principal, at: &Position) -> Result<Page<Recorded>, Error> {
        let tenant = who.tenant(AUTHORS, "read recorded quotes")?;
        Ok(page::scan(
            &self.store,
            Table::Recordings,
            &prefix(&[tenant.as_bytes()]),
            at,
        )?)
    }

    /// Run version `request.version` of `plan` over the recorded carts of `plan`.
    pub async fn shadow(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        request: ShadowRequest,
    ) -> Result<ShadowReport, Error> {
        let tenant = who.tenant(AUTHORS, "run shadow replays")?.to_owned();
        let candidate = self.load_version(&tenant, plan, request.version)?;
        let now = self.now_ms();
        let range = (
            request.from_ms.unwrap_or(i64::MIN),
            request.to_ms.unwrap_or(i64::MAX),
        );
        let carts = recording::recorded(&self.store, &tenant, plan, range, now)?;
        let (mut tally, mut items) = (Tally::default(), Vec::with_capacity(carts.len()));
        let candidate = self.prepare_on_pool(&tenant, candidate).await?.plan;
        let mut baselines = std::collections::HashMap::new();
        for r in carts {
            let baseline = match baselines.get(&r.version) {
                Some(p) => Arc::clone(p),
                None => {
                    let stored = self.load_version(&tenant, plan, r.version)?;
                    let prepared = self.prepare_on_pool(&tenant, stored).await?.plan;
                    baselines.insert(r.version, Arc::clone(&prepared));
                    prepared
                }
            };
            let base = outcome(self.shadow_quote(&tenant, baseline, &r.cart).await);
            let cand = outcome(
                self.shadow_quote(&tenant, Arc::clone(&candidate), &r.cart)
                    .await,
            );
            tally.add(&base, &cand)?;
            items.push(ShadowCart {
                seq: r.seq,
                at_ms: r.at_ms,
                buyer: r.cart.buyer.id.clone(),
                version: r.version,
                baseline: base,
                candidate: cand,
            });
        }
        Ok(ShadowReport {
            plan: plan.to_owned(),
            candidate_version: request.version,
            carts: tally.carts,
            changed: tally.changed,
            difference: tally.difference()?,
            baseline: tally.baseline,
            candidate: tally.candidate,
            items,
        })
    }

    /// Quote a recorded `cart` through `prepared`, on the pool, touching nothing.
    pub(super) async fn shadow_quote(
        self: &Arc<Self>,
        tenant: &str,
        prepared: Arc<executor::PreparedPlan>,
        cart: &crate::executor::Cart,
    ) -> Result<Quote, Error> {
        let me = self.clone();
        let (owner, mut cart) = (tenant.to_owned(), cart.clone());
        self.on_pool(tenant, move || {
            me.merchant_facts(&owner, &prepared, &mut cart)?;
            Ok::<_, Error>(executor::quote_with(
                &me.sandbox,
                &prepared,
                &cart,
                &NoGate,
            )?)
        })
        .await?
    }
}
