//! Plan JSON → preparation against the example plugins (whose own `validate` judges each
//! configuration) → a quote of the demo cart: never a panic, refusals typed, and every
//! plan that prepares quotes to a result that reconciles to the fen.

use plaza::executor::{self, Plan};
use plaza::sandbox::Plugin;
use std::sync::OnceLock;

fn examples() -> &'static [Plugin] {
    static PLUGINS: OnceLock<Vec<Plugin>> = OnceLock::new();
    PLUGINS.get_or_init(|| {
        plaza::examples::load_examples(crate::sandbox()).expect("the example plugins load")
    })
}

pub fn check(data: &[u8]) {
    let Ok(plan) = serde_json::from_slice::<Plan>(data) else {
        return;
    };
    let prepared = match executor::prepare(&plan, crate::sandbox(), |r| {
        plaza::examples::find(examples(), &r.name, &r.version)
    }) {
        Ok(prepared) => prepared,
        // Typed by construction; its message must still be writable.
        Err(refusal) => {
            let _ = refusal.to_string();
            return;
        }
    };
    assert_eq!(prepared.steps.len(), plan.steps.len());
    assert!(
        prepared
            .steps
            .windows(2)
            .all(|w| executor::plan::stage_rank(w[0].stage)
                <= executor::plan::stage_rank(w[1].stage)),
        "steps run in stage order"
    );
    let cart = plaza::examples::demo_cart();
    match executor::quote(crate::sandbox(), &prepared, &cart) {
        Ok(quote) => {
            crate::assert_reconciles(&quote);
            assert_eq!(quote.explanation.len(), prepared.steps.len());
        }
        Err(refusal) => {
            let _ = refusal.to_string();
        }
    }
}
