//! "Which coupons can I use on this cart?": `POST /v1/plans/{plan}/usable-coupons`.
//!
//! The host reads the buyer's wallet (the plan owner's coupons) and sorts each claim into
//! usable, with what it saves on this cart alone, or unusable, with why: the claim's own
//! problem (expired, used, not in its live room …) or what its step said about this cart
//! (the rule's note, e.g. "spend 23.50 more", and the step's reason). It then chooses the
//! best combination deterministically: one claim per coupon code (the one that expires
//! first), all usable codes presented together so that the plan's stacking and exclusive
//! groups decide, the claims the plan set aside dropped, then claims dropped one at a time
//! while that does not raise what the buyer pays.
//! A quote or an order whose cart sets `best_claims` presents that combination.

use super::claim_key;
use super::claims::{CLAIMERS, Claim};
use super::redeem::Presented;
use super::templates::Template;
use crate::Money;
use crate::domain::gate::ServiceGate;
use crate::domain::{Error, Plaza, Principal};
use crate::executor::{self, Cart, ClaimProblem, Outcome, PreparedPlan, Quote, Reason};
use crate::store::{Table, prefix};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Most wallet entries one answer considers (the first by claim id).
pub const MAX_WALLET: usize = 100;

/// A claim that can be redeemed on the cart.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UsableClaim {
    pub claim: String,
    pub template: String,
    pub code: String,
    pub valid_until_ms: i64,
    /// The step that redeems it.
    pub step: String,
    /// What the buyer pays less with this claim alone.
    pub saves: Money,
}

/// A claim that cannot be redeemed on the cart, and why.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UnusableClaim {
    pub claim: String,
    pub template: String,
    pub code: String,
    pub valid_until_ms: i64,
    /// The claim's own problem (expired, used, another plan, not in its live room …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ClaimProblem>,
    /// Else why its step did not apply to this cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// What the step's rule said about this cart (e.g. how much more to spend).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The combination the host chose.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BestClaims {
    /// The claims to present, by claim id.
    pub claims: Vec<String>,
    /// What the buyer pays less with them than with none.
    pub saves: Money,
    /// What the buyer pays with them.
    pub payable: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UsableCoupons {
    pub buyer: String,
    /// By what they save, most first (then by claim id).
    pub usable: Vec<UsableClaim>,
    /// By claim id.
    pub unusable: Vec<UnusableClaim>,
    pub best: BestClaims,
    /// Wallet entries not considered (past the first 100, by claim id).
    pub not_considered: bool,
}

/// A wallet claim with its template.
struct Held {
    claim: Claim,
    template: Template,
}

impl Plaza {
    /// The buyer's claims sorted into usable and unusable on `cart`, and the best
    /// combination (the plan owner's checkout or admin).
    pub async fn usable_coupons(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        cart: Cart,
    ) -> Result<UsableCoupons, Error> {
        let tenant = who.tenant(CLAIMERS, "read wallets")?.to_owned();
        if !cart.claims.is_empty() || cart.best_claims {
            return Err(Error::Invalid {
                field: "claims".into(),
                message: "the host reads the buyer's wallet: send the cart without claims".into(),
            });
        }
        self.choose_claims(&tenant, plan, cart).await
    }

    /// Present the best combination of the buyer's claims when `cart` asks for it (a
    /// caller who may read wallets).
    pub(crate) async fn apply_best_claims(
        self: &Arc<Self>,
        who: &Principal,
        plan: &str,
        cart: &mut Cart,
    ) -> Result<(), Error> {
        if !cart.best_claims {
            return Ok(());
        }
        let tenant = who.tenant(CLAIMERS, "present the buyer's best claims")?;
        if !cart.claims.is_empty() {
            return Err(Error::Invalid {
                field: "best_claims".into(),
                message: "present claims or ask for the best ones, not both".into(),
            });
        }
        let mut asked = cart.clone();
        asked.best_claims = false;
        cart.claims = self.choose_claims(tenant, plan, asked).await?.best.claims;
        cart.best_claims = false;
        Ok(())
    }

    async fn choose_claims(
        self: &Arc<Self>,
        tenant: &str,
        plan: &str,
        cart: Cart,
    ) -> Result<UsableCoupons, Error> {
        let prepared = self.active_plan(tenant, plan)?;
        let buyer = cart.buyer.id.clone();
        let (held, not_considered) = self.wallet_of(tenant, &buyer)?;
        let attributed = crate::domain::attribution::attribute(self, tenant, cart)?;
        let (mut cart, live_room) = (attributed.cart, attributed.live_room);
        // Points and daily hours as a quote of this cart would have them.
        self.merchant_facts(tenant, &prepared, &mut cart)?;
        let now = self.now_ms();
        let mut unusable = Vec::new();
        // Per code, the claims that may be redeemed, the first to expire first.
        let mut by_code: BTreeMap<String, Vec<Held>> = BTreeMap::new();
        for h in held {
            let lr = live_room.as_deref();
            match self.problem(tenant, plan, &cart, lr, &h.claim, &h.template, now)? {
                Some(problem) => unusable.push(unusable_of(&h, Some(problem), None, vec![])),
                None => by_code.entry(h.claim.code.clone()).or_default().push(h),
            }
        }
        for claims in by_code.values_mut() {
            claims.sort_by(|a, b| {
                (a.claim.valid_until_ms, &a.claim.id).cmp(&(b.claim.valid_until_ms, &b.claim.id))
            });
        }
        let me = self.clone();
        let (owner, plan) = (tenant.to_owned(), plan.to_owned());
        let chosen = self
            .on_pool(tenant, move || {
                let run = |claims: Vec<String>| {
                    me.evaluate(&owner, &plan, &prepared, &cart, &live_room, claims)
                };
                let base = run(vec![])?;
                let payable = |q: &Quote| q.total.payable;
                // Promotions only take money off, so a payable never exceeds the base's.
                let saved = |q: &Quote| {
                    base.total
                        .payable
                        .checked_sub(q.total.payable)
                        .ok_or_else(|| Error::Internal("a saving outside i64".into()))
                };
                let mut usable = Vec::new();
                let mut refused = Vec::new();
                for claims in by_code.values() {
                    let first = &claims[0];
                    let q = run(vec![first.claim.id.clone()])?;
                    let step = &first.template.step;
                    let redeemed = q.claims.first().and_then(|r| r.redeemed_by.clone());
                    for h in claims {
                        match &redeemed {
                            Some(by) => usable.push(UsableClaim {
                                claim: h.claim.id.clone(),
                                template: h.template.id.clone(),
                                code: h.claim.code.clone(),
                                valid_until_ms: h.claim.valid_until_ms,
                                step: by.clone(),
                                saves: saved(&q)?,
                            }),
                            None => {
                                let (reason, notes) = step_said(&q, step);
                                refused.push(unusable_of(h, None, reason, notes));
                            }
                        }
                    }
                }
                usable.sort_by(|a, b| b.saves.cmp(&a.saves).then_with(|| a.claim.cmp(&b.claim)));
                // One claim per code (the first to expire), the most saving codes first.
                let mut picked: Vec<&UsableClaim> = Vec::new();
                for u in &usable {
                    if picked.len() < executor::cart::MAX_CLAIMS
                        && !picked.iter().any(|p| p.code == u.code)
                    {
                        let first = &by_code[&u.code][0].claim.id;
                        if *first == u.claim {
                            picked.push(u);
                        }
                    }
                }
                let picked = picked.iter().map(|u| u.claim.clone()).collect();
                let (best, best_q) = search(&run, &base, picked)?;
                let saves = saved(&best_q)?;
                Ok::<_, Error>((
                    usable,
                    refused,
                    BestClaims {
                        claims: best,
                        saves,
                        payable: payable(&best_q),
                    },
                ))
            })
            .await??;
        let (usable, refused, best) = chosen;
        unusable.extend(refused);
        unusable.sort_by(|a, b| a.claim.cmp(&b.claim));
        Ok(UsableCoupons {
            buyer,
            usable,
            unusable,
            best,
            not_considered,
        })
    }

    /// `cart` (attribution resolved) through `prepared` presenting `claims`, as a quote.
    fn evaluate(
        &self,
        tenant: &str,
        plan: &str,
        prepared: &PreparedPlan,
        cart: &Cart,
        live_room: &Option<String>,
        claims: Vec<String>,
    ) -> Result<Quote, Error> {
        let mut cart = cart.clone();
        cart.claims = claims;
        let presented: Presented = self.present(tenant, plan, &mut cart, live_room.as_deref())?;
        let gate = ServiceGate::new(self, tenant, plan, &cart.buyer.id).with_claims(&presented);
        let mut quote = executor::quote_with(&self.sandbox, prepared, &cart, &gate)?;
        presented.redeem(&mut quote);
        Ok(quote)
    }

    /// The first [`MAX_WALLET`] claims of `buyer`'s wallet with their templates, and
    /// whether there are more.
    fn wallet_of(&self, owner: &str, buyer: &str) -> Result<(Vec<Held>, bool), Error> {
        let p = prefix(&[owner.as_bytes(), buyer.as_bytes()]);
        let ids: Vec<(Vec<u8>, String)> =
            self.store
                .scan_entries(Table::CouponWallets, &p, None, MAX_WALLET + 1)?;
        let more = ids.len() > MAX_WALLET;
        let mut templates = std::collections::HashMap::new();
        let mut held = Vec::new();
        for (_, id) in ids.into_iter().take(MAX_WALLET) {
            let claim: Claim = self
                .store
                .get(Table::CouponClaims, &claim_key(owner, &id))?
                .ok_or_else(|| Error::Internal(format!("wallet entry {id} has no claim")))?;
            let template = self.template_for(&mut templates, &claim)?;
            held.push(Held { claim, template });
        }
        Ok((held, more))
    }
}

fn unusable_of(
    h: &Held,
    problem: Option<ClaimProblem>,
    reason: Option<Reason>,
    notes: Vec<String>,
) -> UnusableClaim {
    UnusableClaim {
        claim: h.claim.id.clone(),
        template: h.template.id.clone(),
        code: h.claim.code.clone(),
        valid_until_ms: h.claim.valid_until_ms,
        problem,
        reason,
        notes,
    }
}

/// Why `step` did not apply in `q`, and its rule's notes.
fn step_said(q: &Quote, step: &str) -> (Option<Reason>, Vec<String>) {
    let reason = q
        .explanation
        .iter()
        .find(|r| r.step == step)
        .and_then(|r| match &r.outcome {
            Outcome::NotApplied { reason } => Some(reason.clone()),
            _ => None,
        });
    let notes = (q.notes.iter())
        .filter(|n| n.step == step)
        .map(|n| n.text.clone())
        .collect();
    (reason, notes)
}

/// The best of `picked` (claims, the most saving first): all of them, less those the plan
/// set aside (an exclusive group's other members), then less one claim at a time while
/// that does not raise what the buyer pays (ties go to fewer claims, then to dropping the
/// earliest in the list). Returns the claims the chosen quote redeems, and that quote.
fn search(
    run: &dyn Fn(Vec<String>) -> Result<Quote, Error>,
    base: &Quote,
    picked: Vec<String>,
) -> Result<(Vec<String>, Quote), Error> {
    let quote = |claims: &[String]| match claims.is_empty() {
        true => Ok(base.clone()),
        false => run(claims.to_vec()),
    };
    let redeemed =
        |q: &Quote, c: &String| (q.claims.iter()).any(|r| r.claim == *c && r.redeemed_by.is_some());
    let mut best_q = quote(&picked)?;
    let mut best: Vec<String> = picked
        .iter()
        .filter(|c| redeemed(&best_q, c))
        .cloned()
        .collect();
    if best.len() < picked.len() {
        best_q = quote(&best)?;
    }
    'search: loop {
        for i in 0..best.len() {
            let mut fewer = best.clone();
            fewer.remove(i);
            let q = quote(&fewer)?;
            if q.total.payable <= best_q.total.payable {
                (best, best_q) = (fewer, q);
                continue 'search;
            }
        }
        break;
    }
    best.retain(|c| redeemed(&best_q, c));
    Ok((best, best_q))
}
