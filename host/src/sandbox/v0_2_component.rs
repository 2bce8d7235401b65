//! Contract 0.2 in its component form (`plugin-sdk/wit/component/rule.wit`), for
//! toolchains that build components rather than core modules: JavaScript through
//! componentize-js (`plugin-sdk/js`). The rule reads the same cart and step bytes a 0.2
//! module reads and answers its effects as JSON, the form the host's API shows them in;
//! the component imports nothing. Every evaluation instantiates it afresh.

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit/component",
    world: "plaza:rules/rule",
});

use super::{Failure, StoreState};
use plaza_plugin_sdk::{Descriptor, Effect};
use wasmtime::Store;

/// Ask the rule for its descriptor (JSON).
pub fn describe(
    pre: &RulePre<StoreState>,
    store: &mut Store<StoreState>,
) -> Result<Descriptor, Failure> {
    let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
    let json = rule.call_describe(&mut *store).map_err(Failure::Call)?;
    serde_json::from_str(&json)
        .map_err(|e| Failure::Output(format!("the descriptor is not the contract's JSON: {e}")))
}

/// Ask the rule whether `config` is acceptable.
pub fn validate(
    pre: &RulePre<StoreState>,
    store: &mut Store<StoreState>,
    config: &str,
) -> Result<Result<(), String>, Failure> {
    let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
    rule.call_validate(&mut *store, config)
        .map_err(Failure::Call)
}

/// Evaluate the rule on an encoded cart and step.
pub fn evaluate(
    pre: &RulePre<StoreState>,
    store: &mut Store<StoreState>,
    cart: &[u8],
    step: &[u8],
) -> Result<Result<Vec<Effect>, String>, Failure> {
    let rule = pre.instantiate(&mut *store).map_err(Failure::Instantiate)?;
    let evaluation = rule
        .call_evaluate(&mut *store, cart, step)
        .map_err(Failure::Call)?;
    let max_lift = store.data().max_lift_bytes;
    let Evaluation {
        answer,
        log,
        log_truncated,
    } = evaluation;
    store.data_mut().set_log(log, log_truncated);
    match answer {
        Ok(json) if json.len() > max_lift => Err(Failure::OverCopyLimit),
        Ok(json) => serde_json::from_str(&json)
            .map(Ok)
            .map_err(|e| Failure::Output(format!("the effects are not the contract's JSON: {e}"))),
        Err(message) => Ok(Err(message)),
    }
}
