//! Layered commission across tenants. When the plaza carries a cart's goods (the
//! promoter's agency carries them, or helps a carrier one hop below it), one quote prices
//! the order through every layer that has a say:
//!
//! 1. the merchant's plan (prices, promotions, what it pays directly), then the offer's
//!    service rate, which the merchant pays the carrying agency on each carried line;
//! 2. with a helper: the pool's helper rate, which the carrier pays the helper out of what
//!    it received; then the carrier's own plan for the pool (`plan` of the pool);
//! 3. the helper's own plan for the pool (`plan` of its membership).
//!
//! Each layer is its own tenant's plan, plugins and breaker, pays only as the roles its
//! tenant holds in the chain and only out of what they received (the waterfall invariant,
//! across tenants), and a layer that has no plan, no active version, or fails pays
//! nothing further and says why. Rates are capped like any commission: at most 90 % of
//! what the payer received on the line, all its payments together.

use super::budget::LayerPlan;
use super::gate::ServiceGate;
use super::market::Carry;
use super::{Error, Plaza};
use crate::Money;
use crate::executor::dispose::{Role, Waterfall};
use crate::executor::layer::{Layer, commission_layer, waterfall_of};
use crate::executor::quote::{CommissionLine, LayerOutcome, LayerReport, PlanVersion};
use crate::executor::{Cart, MAX_COMMISSION, Quote};
use plaza_plugin_sdk::Ppm;

impl Plaza {
    /// Add the layers below the merchant to `quote` (on the evaluation pool: plugin code
    /// runs here). The plans that ran, whose budgets a commit reserves.
    pub(super) fn run_layers(
        &self,
        cart: &Cart,
        carry: &Carry,
        quote: &mut Quote,
    ) -> Result<Vec<LayerPlan>, Error> {
        let mut ran = Vec::new();
        let carrier = carry.carrier().to_owned();
        let lines: Vec<bool> = (0..cart.lines.len())
            .map(|i| carry.offer_for(cart, i).is_some())
            .collect();
        // The host's shares, each capped against one waterfall kept as they are added.
        let mut host = HostShares {
            waterfall: waterfall_of(cart, &quote.commissions),
            quote,
            cart,
        };
        // The offer's service rate: merchant → carrier.
        for i in 0..cart.lines.len() {
            let Some(offer) = carry.offer_for(cart, i) else {
                continue;
            };
            let due = host.quote.lines[i]
                .payable
                .rate_floor(Ppm(offer.terms.service_rate_ppm));
            let step = format!("{}{}", super::market::OFFER_STEP, offer.id);
            let to = (Role::CarryingAgency, carrier.as_str());
            host.pay(i, (Role::Merchant, None), to, due, step, "机构服务费");
        }
        // The pool's helper rate: carrier → helper.
        if let Some(helper) = &carry.helper {
            for i in (0..cart.lines.len()).filter(|i| lines[*i]) {
                let received = host.waterfall.received_by(i, Role::CarryingAgency);
                let due = received.rate_floor(Ppm(carry.pool.helper_rate_ppm));
                let step = format!("{}{}/{}", super::market::POOL_STEP, carrier, carry.pool.id);
                let to = (Role::HelperAgency, helper.as_str());
                let from = (Role::CarryingAgency, Some(carrier.as_str()));
                host.pay(i, from, to, due, step, "帮卖机构分成");
            }
        }
        let roles = |tenant: &str| -> Vec<Role> {
            let a = &cart.attribution;
            [
                (Role::CarryingAgency, &a.carrying_agency),
                (Role::HelperAgency, &a.helper_agency),
                (Role::PromoterAgency, &a.promoter_agency),
            ]
            .into_iter()
            .filter(|(_, who)| who.as_deref() == Some(tenant))
            .map(|(role, _)| role)
            .collect()
        };
        let mut layers = vec![(carrier.clone(), carry.pool.plan.clone())];
        if let Some(helper) = &carry.helper {
            layers.push((helper.clone(), carry.helper_plan.clone()));
        }
        for (tenant, plan) in layers {
            let payers = roles(&tenant);
            let mut report = LayerReport {
                tenant: tenant.clone(),
                roles: payers.iter().map(|r| r.name()).collect(),
                pool: format!("{}/{}", carrier, carry.pool.id),
                plan: None,
                outcome: LayerOutcome::Applied,
                explanation: Vec::new(),
                received: Money::ZERO,
                paid_out: Money::ZERO,
            };
            match plan.map(|p| (self.active_plan(&tenant, &p), p)) {
                None => report.outcome = LayerOutcome::NoPlan,
                Some((Err(_), _)) => report.outcome = LayerOutcome::PlanNotActive,
                Some((Ok(prepared), plan)) => {
                    report.plan = Some(PlanVersion {
                        id: prepared.id.clone(),
                        version: prepared.version,
                    });
                    let gate = ServiceGate::new(self, &tenant, &plan, &cart.buyer.id);
                    let layer = Layer {
                        payers: payers.clone(),
                        lines: lines.clone(),
                    };
                    match commission_layer(&self.sandbox, &prepared, cart, &gate, quote, &layer) {
                        Ok(run) => {
                            ran.push(LayerPlan {
                                tenant: tenant.clone(),
                                plan,
                                prepared: prepared.clone(),
                            });
                            quote.fuel += run.fuel;
                            // What the layer's plan pays is on its own tenant's books.
                            quote
                                .commissions
                                .extend(run.commissions.into_iter().map(|c| CommissionLine {
                                    ledger: Some(tenant.clone()),
                                    ..c
                                }));
                            report.explanation = run.explanation;
                        }
                        Err(e) => {
                            report.outcome = LayerOutcome::Failed {
                                message: e.to_string(),
                            }
                        }
                    }
                }
            }
            quote.layers.push(report);
        }
        // What flowed in and out of each layer, now that every layer has paid.
        for report in &mut quote.layers {
            for c in &quote.commissions {
                if c.beneficiary == report.tenant && report.roles.contains(&c.payee) {
                    report.received += c.amount;
                }
                if report.roles.contains(&c.payer) {
                    report.paid_out += c.amount;
                }
            }
        }
        Ok(ran)
    }
}

/// The shares the host itself pays in a layered quote (the offer's and the pool's rates),
/// with the waterfall they are capped against.
struct HostShares<'a> {
    quote: &'a mut Quote,
    cart: &'a Cart,
    waterfall: Waterfall,
}

impl HostShares<'_> {
    /// Pay `due` from `payer` (on the books of `ledger`, when not the merchant's) to
    /// `(payee, who)` on line `i`, capped so that everything the payer pays on the line
    /// stays within 90 % of what it received there.
    fn pay(
        &mut self,
        i: usize,
        (payer, ledger): (Role, Option<&str>),
        (payee, who): (Role, &str),
        due: Money,
        step: String,
        label: &str,
    ) {
        let received = match payer {
            Role::Merchant => self.quote.lines[i].payable,
            _ => self.waterfall.received_by(i, payer),
        };
        let headroom = received.rate_floor(MAX_COMMISSION) - self.waterfall.paid_by(i, payer);
        let amount = due.min(headroom);
        if amount > Money::ZERO && who != self.cart.buyer.id {
            self.waterfall.add(i, payer, payee, amount);
            self.quote.commissions.push(CommissionLine {
                step,
                line: self.cart.lines[i].id.to_string(),
                payer: payer.name(),
                payee: payee.name(),
                beneficiary: who.to_owned(),
                amount,
                label: label.to_owned(),
                ledger: ledger.map(str::to_owned),
            });
        }
    }
}
