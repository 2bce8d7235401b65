//! A commission layer: another tenant's plan run over a priced quote, paying out of what
//! its party received there. Only the plan's commission steps run (prices are the
//! merchant's); each sees the lines the layer carries, the final payable amounts and the
//! waterfall so far, and may pay only as the roles the layer's tenant holds in the chain.

use super::cart::Cart;
use super::dispose::{Role, Waterfall};
use super::plan::{PreparedPlan, PreparedStep};
use super::quote::{CommissionLine, Quote, StepReport};
use super::run::{Exec, Gate, QuoteError};
use super::state::State;
use crate::sandbox::Sandbox;
use plaza_plugin_sdk::Stage;

/// Who a layer pays as, and which lines it carries.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The roles whose money the layer spends (its tenant's roles in the chain).
    pub payers: Vec<Role>,
    /// Per cart line: whether the layer carries it.
    pub lines: Vec<bool>,
}

/// What a layer's plan added.
#[derive(Clone, Debug, Default)]
pub struct LayerRun {
    pub commissions: Vec<CommissionLine>,
    pub explanation: Vec<StepReport>,
    pub fuel: u64,
}

/// The waterfall of `quote`'s commissions (each line named by its id in `cart`).
pub fn waterfall_of(cart: &Cart, commissions: &[CommissionLine]) -> Waterfall {
    let mut waterfall = Waterfall::default();
    for c in commissions {
        let line = cart.lines.iter().position(|l| *l.id == *c.line);
        let (Some(line), Some(payer), Some(payee)) =
            (line, Role::from_name(&c.payer), Role::from_name(&c.payee))
        else {
            continue;
        };
        waterfall.add(line, payer, payee, c.amount);
    }
    waterfall
}

/// Run `plan`'s commission steps as `layer` over `quote` (already priced for `cart`).
pub fn commission_layer(
    sandbox: &Sandbox,
    plan: &PreparedPlan,
    cart: &Cart,
    gate: &dyn Gate,
    quote: &Quote,
    layer: &Layer,
) -> Result<LayerRun, QuoteError> {
    let encoded = cart.encode();
    let line_ids: Vec<&str> = cart.lines.iter().map(|l| &*l.id).collect();
    let mut st = State::start(
        quote.lines.iter().map(|l| l.payable).collect(),
        quote.shipping.payable,
        waterfall_of(cart, &quote.commissions),
    );
    let exec = Exec {
        sandbox,
        plan,
        cart,
        encoded: &encoded,
        line_ids: &line_ids,
        gate,
        layer: Some(layer),
    };
    let steps: Vec<&PreparedStep> = plan
        .steps
        .iter()
        .filter(|s| s.stage == Stage::Commission)
        .collect();
    let mut input = Vec::new();
    exec.stage(&steps, &mut st, &mut input)?;
    Ok(LayerRun {
        commissions: st.commissions,
        explanation: st.reports,
        fuel: st.fuel,
    })
}
