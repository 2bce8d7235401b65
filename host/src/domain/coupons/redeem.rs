//! Redeeming claims: a cart presents claim ids; the host checks each (the buyer's, valid
//! now on the host's clock, unused, a 主播券 in its livestreamer's live room by the cart's
//! resolved attribution, its step in this plan) and shows the steps its coupon's code. A
//! step that a template names (a bound step) then redeems only codes a usable claim
//! presents: a typed code alone, or a claim that cannot be redeemed, holds the step back
//! with the reason. An order marks each redeemed claim used in its own transaction (a
//! counter that may not exceed 1, so of two orders presenting one claim one commits), and
//! a cancel, an expiry or a full refund gives it back when its template says so.

use super::claims::Claim;
use super::templates::{OnRefund, Template};
use super::{claim_key, template_key};
use crate::domain::budget::Bump;
use crate::domain::{Error, Plaza};
use crate::executor::{BudgetLimit, Cart, ClaimProblem, ClaimReport, Quote, Reason};
use crate::store::{Store, StoreError, Table, key};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use utoipa::ToSchema;

/// The counter that marks claim `claim` of `owner` used (0 or 1). Its second part is
/// empty, which no plan id is, so it never meets a budget counter.
pub(crate) fn use_key(owner: &str, claim: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), b"", b"claim", claim.as_bytes()])
}

/// A plan's steps that give claimed coupons → the codes of their templates.
pub(crate) type PlanBindings = Arc<BTreeMap<String, Vec<String>>>;

/// Steps that give claimed coupons, by tenant \0 plan. A quote shares its plan's entry.
pub(crate) type BoundSteps = HashMap<String, PlanBindings>;

fn plan_key(tenant: &str, plan: &str) -> String {
    format!("{tenant}\0{plan}")
}

/// Record that `t` binds its step (after the store accepted it).
pub(crate) fn bind(steps: &mut BoundSteps, t: &Template) {
    let plan = steps.entry(plan_key(&t.owner, &t.plan)).or_default();
    let codes = Arc::make_mut(plan).entry(t.step.clone()).or_default();
    if !codes.contains(&t.code) {
        codes.push(t.code.clone());
    }
}

/// Every stored template's binding (at startup).
pub(crate) fn load(store: &Store) -> Result<BoundSteps, StoreError> {
    let mut steps = BoundSteps::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page: Vec<(Vec<u8>, Template)> =
            store.scan_entries(Table::CouponTemplates, b"", after.as_deref(), 512)?;
        let full = page.len() == 512;
        for (k, t) in page {
            bind(&mut steps, &t);
            after = Some(k);
        }
        if !full {
            return Ok(steps);
        }
    }
}

/// A claim an order holds: marked used, given back on cancel or full refund when
/// `returns`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldClaim {
    pub claim: String,
    pub template: String,
    pub code: String,
    /// The step that redeemed it.
    pub step: String,
    pub returns: bool,
    pub returned: bool,
}

/// Mark `h` used inside the order's transaction: refused when another order holds it.
pub(in crate::domain) fn take(owner: &str, h: &HeldClaim) -> Bump {
    Bump {
        key: use_key(owner, &h.claim),
        delta: 1,
        max: Some(1),
        step: h.claim.clone(),
        limit: BudgetLimit::Claim,
    }
}

/// Give back the claims an order holds whose templates say so (a cancel, an expiry, or
/// the last of a refund).
pub(in crate::domain) fn give_back(owner: &str, held: &mut [HeldClaim], bumps: &mut Vec<Bump>) {
    for h in held.iter_mut().filter(|h| h.returns && !h.returned) {
        bumps.push(Bump {
            key: use_key(owner, &h.claim),
            delta: -1,
            max: None,
            step: h.claim.clone(),
            limit: BudgetLimit::Claim,
        });
        h.returned = true;
    }
}

/// The claims a cart presented, checked.
#[derive(Debug, Default)]
pub(crate) struct Presented {
    /// This plan's bound steps → the codes they give.
    bound: PlanBindings,
    /// Usable claims by code, by claim id.
    usable: BTreeMap<String, Vec<(String, Template)>>,
    /// What the cart presented, in its order.
    reports: Vec<ClaimReport>,
}

impl Presented {
    /// Why `step` may not redeem `coupons`, if it may not.
    pub fn check(&self, step: &str, coupons: &[&str]) -> Option<Reason> {
        let codes = self.bound.get(step)?;
        for code in coupons {
            if codes.iter().any(|c| c == code) && self.usable.contains_key(*code) {
                continue;
            }
            let refused = self
                .reports
                .iter()
                .find(|r| r.code.as_deref() == Some(code) && r.problem.is_some());
            return Some(match refused {
                Some(r) => Reason::ClaimRefused {
                    claim: r.claim.clone(),
                    problem: r.problem.unwrap_or(ClaimProblem::Unknown),
                },
                None => Reason::ClaimRequired {
                    code: (*code).to_owned(),
                },
            });
        }
        None
    }

    /// Why an order presenting these claims is refused: a claim it cannot redeem (used by
    /// another order, expired, another buyer's …) means the checkout priced something
    /// else; it quotes again without it.
    pub fn refusal(&self) -> Option<Error> {
        let r = self.reports.iter().find(|r| r.problem.is_some())?;
        let problem = r.problem?;
        Some(if problem == ClaimProblem::Used {
            Error::conflict(
                "claim_used",
                format!("claim {:?} was used by another order", r.claim),
            )
        } else {
            let why = serde_json::to_value(problem).unwrap_or_default();
            Error::conflict(
                "claim_not_redeemable",
                format!(
                    "claim {:?} cannot be redeemed: {}",
                    r.claim,
                    why.as_str().unwrap_or("")
                ),
            )
        })
    }

    /// The claims `quote` redeems (the first usable claim of each code a bound step
    /// applied), with the quote's claim reports filled in.
    pub fn redeem(&self, quote: &mut Quote) -> Vec<HeldClaim> {
        let mut held = Vec::new();
        for step in self.bound.keys() {
            let applied = quote
                .explanation
                .iter()
                .any(|r| r.step == *step && r.outcome == crate::executor::Outcome::Applied);
            if !applied {
                continue;
            }
            let mut codes: Vec<&str> = quote
                .lines
                .iter()
                .flat_map(|l| &l.adjustments)
                .chain(&quote.shipping_adjustments)
                .filter(|a| *a.step == **step)
                .filter_map(|a| a.coupon.as_deref())
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                let Some((claim, t)) = self.usable.get(code).and_then(|c| c.first()) else {
                    continue;
                };
                if held.iter().any(|h: &HeldClaim| h.claim == *claim) {
                    continue;
                }
                held.push(HeldClaim {
                    claim: claim.clone(),
                    template: t.id.clone(),
                    code: code.to_owned(),
                    step: step.clone(),
                    returns: t.on_refund == OnRefund::Return,
                    returned: false,
                });
            }
        }
        quote.claims = self
            .reports
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.redeemed_by = held
                    .iter()
                    .find(|h| h.claim == r.claim)
                    .map(|h| h.step.clone());
                r
            })
            .collect();
        held
    }
}

impl Plaza {
    /// Check the claims `cart` presents for `tenant`'s `plan`, and show the steps the
    /// code of each. `live_room` is the livestreamer whose room the buyer is in, as the
    /// cart's attribution was resolved (never the cart's unconfirmed word).
    pub(crate) fn present(
        &self,
        tenant: &str,
        plan: &str,
        cart: &mut Cart,
        live_room: Option<&str>,
    ) -> Result<Presented, Error> {
        let mut p = Presented {
            bound: crate::domain::read(&self.coupon_steps)
                .get(&plan_key(tenant, plan))
                .map(Arc::clone)
                .unwrap_or_default(),
            ..Presented::default()
        };
        if cart.claims.is_empty() {
            return Ok(p);
        }
        let now = self.now_ms();
        let mut templates: HashMap<String, Template> = HashMap::new();
        for id in &cart.claims {
            let mut report = ClaimReport {
                claim: id.clone(),
                code: None,
                redeemed_by: None,
                problem: None,
            };
            let Some(claim) = self
                .store
                .get::<Claim>(Table::CouponClaims, &claim_key(tenant, id))?
            else {
                report.problem = Some(ClaimProblem::Unknown);
                p.reports.push(report);
                continue;
            };
            let t = self.template_for(&mut templates, &claim)?;
            report.code = Some(claim.code.clone());
            report.problem = self.problem(tenant, plan, cart, live_room, &claim, &t, now)?;
            // Shown also for a claim that cannot be redeemed, so that the step's explanation
            // says why it did not apply.
            if !cart.coupon_codes.contains(&claim.code) {
                cart.coupon_codes.push(claim.code.clone());
            }
            if report.problem.is_none() {
                let usable = p.usable.entry(claim.code.clone()).or_default();
                if !usable.iter().any(|(c, _)| *c == claim.id) {
                    usable.push((claim.id.clone(), t));
                    usable.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
            p.reports.push(report);
        }
        Ok(p)
    }

    /// The template of `claim` (its owner's), read once per template into `cache`.
    pub(super) fn template_for(
        &self,
        cache: &mut HashMap<String, Template>,
        claim: &Claim,
    ) -> Result<Template, Error> {
        if let Some(t) = cache.get(&claim.template) {
            return Ok(t.clone());
        }
        let t: Template = self
            .store
            .get(
                Table::CouponTemplates,
                &template_key(&claim.owner, &claim.template),
            )?
            .ok_or_else(|| Error::Internal(format!("claim {} has no template", claim.id)))?;
        cache.insert(t.id.clone(), t.clone());
        Ok(t)
    }

    /// Why `claim` cannot be redeemed on `cart` through `plan`, if it cannot.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn problem(
        &self,
        tenant: &str,
        plan: &str,
        cart: &Cart,
        live_room: Option<&str>,
        claim: &Claim,
        t: &Template,
        now: i64,
    ) -> Result<Option<ClaimProblem>, Error> {
        Ok(Some(if claim.buyer != cart.buyer.id {
            ClaimProblem::OtherBuyer
        } else if t.plan != plan {
            ClaimProblem::OtherPlan
        } else if now < claim.valid_from_ms {
            ClaimProblem::NotYetValid
        } else if now >= claim.valid_until_ms {
            ClaimProblem::Expired
        } else if self.store.counter(&use_key(tenant, &claim.id))? > 0 {
            ClaimProblem::Used
        } else if (claim.live_room.as_ref())
            .or(t.bindings.livestreamer.as_ref())
            .is_some_and(|l| live_room != Some(l.as_str()))
        {
            ClaimProblem::NotInLiveRoom
        } else {
            return Ok(None);
        }))
    }
}
